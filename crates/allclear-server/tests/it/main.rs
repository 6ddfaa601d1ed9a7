//! The server over real HTTP on loopback: an in-process server on 127.0.0.1:0 with a clock
//! the test moves, driven by ureq like a browser without JavaScript (cookies kept by hand,
//! redirects not followed, so every step is asserted).

mod access;
mod accounts;
mod ingest;

use std::collections::BTreeMap;
use std::sync::Arc;

use allclear_server::{Config, ManualClock, Server};
use allclear_store::Store;

pub const T0: i64 = 1_800_000_000;
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestServer {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub store: Store,
    pub setup_link: String,
    pub dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    pub fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(T0));
        let (server, store, setup_link) = runtime.block_on(async {
            let store = Store::open(dir.path()).await.unwrap();
            let mut config = Config::new("127.0.0.1:0".parse().unwrap());
            // Many sign-ins from one address in a test; the per-address limit has its own test.
            config.attempts_per_minute = 1000;
            configure(&mut config);
            let server = Server::bind(store.clone(), config, clock.clone())
                .await
                .unwrap();
            let link = server
                .setup_link()
                .await
                .unwrap()
                .expect("a fresh server offers setup");
            (server, store, link)
        });
        let base = format!("http://{}", server.local_addr().unwrap());
        runtime.spawn(server.run(std::future::pending()));
        TestServer {
            base,
            clock,
            store,
            setup_link,
            dir,
            runtime,
        }
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// The current TOTP code for a secret, at the server's clock.
    pub fn code(&self, secret: &str) -> String {
        let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
        let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
        totp.generate(u64::try_from(self.clock_now()).unwrap())
            .to_string()
    }

    pub fn clock_now(&self) -> i64 {
        use allclear_server::Clock;
        self.clock.now()
    }

    /// Creates the owner through the setup link and enrols TOTP; returns the signed-in
    /// browser and the TOTP secret.
    pub fn owner(&self, username: &str) -> (Browser, String) {
        let path = self.setup_link.strip_prefix(&self.base).unwrap().to_owned();
        let token = path.split("token=").nth(1).unwrap().to_owned();
        self.accept(
            &path,
            &[
                ("token", &token),
                ("username", username),
                ("password", PASSWORD),
            ],
        )
    }

    /// Accepts a setup or invitation link, then enrols TOTP.
    pub fn accept(&self, path: &str, fields: &[(&str, &str)]) -> (Browser, String) {
        let mut browser = self.browser();
        let form = browser.get(path);
        assert_eq!(form.status, 200, "{}", form.body);
        let created = browser.post("/setup", &form.csrf(), fields);
        assert_eq!(created.status, 303, "{}", created.body);
        assert_eq!(created.location.as_deref(), Some("/account/totp"));
        let secret = self.enrol(&mut browser);
        (browser, secret)
    }

    pub fn enrol(&self, browser: &mut Browser) -> String {
        let page = browser.get("/account/totp");
        assert_eq!(page.status, 200, "{}", page.body);
        let secret = page.field("secret");
        let code = self.code(&secret);
        let done = browser.post(
            "/account/totp",
            &page.csrf(),
            &[("secret", &secret), ("code", &code)],
        );
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("recovery codes"), "{}", done.body);
        // Each code works once: the next sign-in needs the next time step.
        self.clock.advance(30);
        secret
    }

    /// Signs in with password and TOTP in a new browser.
    pub fn sign_in(&self, username: &str, secret: &str) -> Browser {
        let mut browser = self.browser();
        let form = browser.get("/signin");
        let step1 = browser.post(
            "/signin",
            &form.csrf(),
            &[("username", username), ("password", PASSWORD)],
        );
        assert_eq!(
            step1.location.as_deref(),
            Some("/signin/totp"),
            "{}",
            step1.body
        );
        let form = browser.get("/signin/totp");
        let code = self.code(secret);
        let step2 = browser.post("/signin/totp", &form.csrf(), &[("code", &code)]);
        assert_eq!(step2.location.as_deref(), Some("/"), "{}", step2.body);
        self.clock.advance(30);
        browser
    }

    /// Invites a user (as the owner's browser), who accepts and enrols.
    pub fn invite(&self, owner: &mut Browser, username: &str) -> (Browser, String) {
        let admin = owner.get("/admin");
        let created = owner.post("/admin/invites", &admin.csrf(), &[("username", username)]);
        assert_eq!(created.status, 200, "{}", created.body);
        let link = created.between(&format!("{}/setup?token=", self.base), "<");
        let path = format!("/setup?token={link}");
        self.accept(&path, &[("token", &link), ("password", PASSWORD)])
    }
}

pub struct Page {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
}

impl Page {
    /// The value of a form field on the page.
    pub fn field(&self, name: &str) -> String {
        self.between(&format!("name=\"{name}\" value=\""), "\"")
    }

    pub fn csrf(&self) -> String {
        self.field("csrf")
    }

    pub fn between(&self, start: &str, end: &str) -> String {
        let from = self
            .body
            .find(start)
            .unwrap_or_else(|| panic!("{start:?} not on the page:\n{}", self.body))
            + start.len();
        let len = self.body[from..].find(end).unwrap();
        self.body[from..from + len].to_owned()
    }
}

/// A cookie-keeping HTTP client that does not follow redirects.
pub struct Browser {
    base: String,
    agent: ureq::Agent,
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .build()
            .into();
        Browser {
            base: base.to_owned(),
            agent,
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn finish(&mut self, mut response: ureq::http::Response<ureq::Body>) -> Page {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        Page {
            status: response.status().as_u16(),
            body: response.body_mut().read_to_string().unwrap_or_default(),
            location,
        }
    }

    pub fn get(&mut self, path: &str) -> Page {
        let response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .call()
            .unwrap();
        self.finish(response)
    }

    /// Posts a form with the CSRF token (pass "" to leave it out).
    pub fn post(&mut self, path: &str, csrf: &str, fields: &[(&str, &str)]) -> Page {
        self.post_with(path, csrf, fields, &[])
    }

    pub fn post_with(
        &mut self,
        path: &str,
        csrf: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        if !csrf.is_empty() {
            all.push(("csrf", csrf));
        }
        let mut request = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send_form(all).unwrap();
        self.finish(response)
    }
}

/// An API call with a bearer token.
pub fn api(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{base}{path}");
    let response = match (method, body) {
        ("GET", _) => {
            let mut request = agent.get(&url);
            if let Some(token) = token {
                request = request.header("Authorization", &format!("Bearer {token}"));
            }
            request.call()
        }
        (_, body) => {
            let mut request = agent.post(&url).content_type("application/json");
            if let Some(token) = token {
                request = request.header("Authorization", &format!("Bearer {token}"));
            }
            request.send(body.unwrap_or("{}"))
        }
    };
    let mut response = response.unwrap();
    let status = response.status().as_u16();
    (
        status,
        response
            .body_mut()
            .with_config()
            .limit(1 << 24)
            .read_to_string()
            .unwrap_or_default(),
    )
}

/// Creates a project (as a signed-in browser) and an API token for it; returns the token.
pub fn project_with_token(browser: &mut Browser, slug: &str, role: &str) -> String {
    let overview = browser.get("/");
    let created = browser.post(
        "/projects",
        &overview.csrf(),
        &[("slug", slug), ("name", slug)],
    );
    assert_eq!(created.status, 303, "{}", created.body);
    let page = browser.get(&format!("/projects/{slug}"));
    let token = browser.post(
        &format!("/projects/{slug}/tokens"),
        &page.csrf(),
        &[("name", "ci"), ("role", role)],
    );
    assert_eq!(token.status, 200, "{}", token.body);
    token.between("<code class=\"secret\">", "<")
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}
