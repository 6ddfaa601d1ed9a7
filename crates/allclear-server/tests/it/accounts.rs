use crate::{PASSWORD, TestServer};

#[test]
fn setup_then_mandatory_totp_then_sign_in_with_password_and_code() {
    let server = TestServer::start();
    let mut anonymous = server.browser();
    assert_eq!(anonymous.get("/").location.as_deref(), Some("/signin"));

    // The setup link creates the account, which can do nothing before enrolling TOTP.
    let path = server
        .setup_link
        .strip_prefix(&server.base)
        .unwrap()
        .to_owned();
    let token = path.split("token=").nth(1).unwrap().to_owned();
    let mut owner = server.browser();
    let form = owner.get(&path);
    let short = owner.post(
        "/setup",
        &form.csrf(),
        &[
            ("token", &token),
            ("username", "ada"),
            ("password", "short"), // allclear:allow a too-short password the test submits
        ],
    );
    assert_eq!(short.status, 400, "a short password is refused");
    let created = owner.post(
        "/setup",
        &form.csrf(),
        &[
            ("token", &token),
            ("username", "ada"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(created.location.as_deref(), Some("/account/totp"));
    assert_eq!(
        owner.get("/").location.as_deref(),
        Some("/account/totp"),
        "overview before enrolment"
    );
    let enrol = owner.get("/account/totp");
    let project = owner.post(
        "/projects",
        &enrol.csrf(),
        &[("slug", "web"), ("name", "Web")],
    );
    assert_eq!(
        project.location.as_deref(),
        Some("/account/totp"),
        "no project before enrolment"
    );
    let wrong = owner.post(
        "/account/totp",
        &enrol.csrf(),
        &[("secret", &enrol.field("secret")), ("code", "000000")],
    );
    assert_eq!(wrong.status, 400);
    let secret = server.enrol(&mut owner);
    assert_eq!(owner.get("/").status, 200);

    // The link works once.
    assert_eq!(server.browser().get(&path).status, 404);

    // A new sign-in: password, then code.
    let mut browser = server.sign_in("ada", &secret);
    let overview = browser.get("/");
    assert_eq!(overview.status, 200);
    assert!(
        overview.body.contains("No projects yet"),
        "{}",
        overview.body
    );

    // A code is accepted once: replaying the one just used fails.
    let mut again = server.browser();
    let form = again.get("/signin");
    again.post(
        "/signin",
        &form.csrf(),
        &[("username", "ada"), ("password", PASSWORD)],
    );
    let form = again.get("/signin/totp");
    let code = server.code(&secret);
    assert_eq!(
        again
            .post("/signin/totp", &form.csrf(), &[("code", &code)])
            .location
            .as_deref(),
        Some("/")
    );
    let mut replay = server.browser();
    let form = replay.get("/signin");
    replay.post(
        "/signin",
        &form.csrf(),
        &[("username", "ada"), ("password", PASSWORD)],
    );
    let form = replay.get("/signin/totp");
    assert_eq!(
        replay
            .post("/signin/totp", &form.csrf(), &[("code", &code)])
            .status,
        401,
        "replayed code"
    );
}

#[test]
fn a_recovery_code_signs_in_once() {
    let server = TestServer::start();
    let path = server
        .setup_link
        .strip_prefix(&server.base)
        .unwrap()
        .to_owned();
    let token = path.split("token=").nth(1).unwrap().to_owned();
    let mut owner = server.browser();
    let form = owner.get(&path);
    owner.post(
        "/setup",
        &form.csrf(),
        &[
            ("token", &token),
            ("username", "ada"),
            ("password", PASSWORD),
        ],
    );
    let page = owner.get("/account/totp");
    let secret = page.field("secret");
    let done = owner.post(
        "/account/totp",
        &page.csrf(),
        &[("secret", &secret), ("code", &server.code(&secret))],
    );
    let recovery = done.between("<li><code>", "<");

    for expected in [Some("/"), None] {
        let mut browser = server.browser();
        let form = browser.get("/signin");
        browser.post(
            "/signin",
            &form.csrf(),
            &[("username", "ada"), ("password", PASSWORD)],
        );
        let form = browser.get("/signin/totp");
        let answer = browser.post(
            "/signin/totp",
            &form.csrf(),
            &[("code", &recovery.to_uppercase())],
        );
        assert_eq!(answer.location.as_deref(), expected, "{}", answer.body);
    }
}

#[test]
fn state_changing_forms_need_the_csrf_token() {
    let server = TestServer::start();
    let (mut owner, _) = server.owner("ada");
    let csrf = owner.get("/").csrf();
    assert_eq!(
        owner
            .post("/projects", "", &[("slug", "web"), ("name", "Web")])
            .status,
        403
    );
    assert_eq!(
        owner
            .post(
                "/projects",
                &"0".repeat(64),
                &[("slug", "web"), ("name", "Web")]
            )
            .status,
        403
    );
    let cross = owner.post_with(
        "/projects",
        &csrf,
        &[("slug", "web"), ("name", "Web")],
        &[("Sec-Fetch-Site", "cross-site")],
    );
    assert_eq!(cross.status, 403);
    assert_eq!(
        owner.post("/signout", "", &[]).status,
        403,
        "even signing out"
    );
    // Another session's token does not work in this one.
    let other = server.browser().get("/signin").csrf();
    assert_eq!(
        owner
            .post("/projects", &other, &[("slug", "web"), ("name", "Web")])
            .status,
        403
    );
    assert_eq!(
        owner
            .post("/projects", &csrf, &[("slug", "web"), ("name", "Web")])
            .status,
        303
    );
}

#[test]
fn repeated_failures_lock_the_account_for_a_while() {
    let server = TestServer::start();
    let (_, secret) = server.owner("ada");
    let mut browser = server.browser();
    let csrf = browser.get("/signin").csrf();
    for _ in 0..5 {
        let wrong = browser.post(
            "/signin",
            &csrf,
            &[("username", "ada"), ("password", "not the password!")],
        );
        assert_eq!(wrong.status, 401);
    }
    let locked = browser.post(
        "/signin",
        &csrf,
        &[("username", "ada"), ("password", PASSWORD)],
    );
    assert_eq!(
        locked.status, 429,
        "the right password is refused while locked"
    );
    assert!(locked.body.contains("locked"), "{}", locked.body);
    server.clock.advance(16 * 60);
    server.sign_in("ada", &secret);
}

#[test]
fn wrong_second_factor_codes_lock_too() {
    let server = TestServer::start();
    let (_, _secret) = server.owner("ada");
    let mut browser = server.browser();
    let form = browser.get("/signin");
    browser.post(
        "/signin",
        &form.csrf(),
        &[("username", "ada"), ("password", PASSWORD)],
    );
    let csrf = browser.get("/signin/totp").csrf();
    for _ in 0..5 {
        assert_eq!(
            browser
                .post("/signin/totp", &csrf, &[("code", "000000")])
                .status,
            401
        );
    }
    assert_eq!(
        browser
            .post("/signin/totp", &csrf, &[("code", "000000")])
            .status,
        429
    );
}

#[test]
fn attempts_per_address_are_limited() {
    let server = TestServer::start_with(|config| config.attempts_per_minute = 3);
    let mut browser = server.browser();
    let csrf = browser.get("/signin").csrf();
    for _ in 0..3 {
        assert_eq!(
            browser
                .post(
                    "/signin",
                    &csrf,
                    &[("username", "nobody"), ("password", "x")]
                )
                .status,
            401
        );
    }
    assert_eq!(
        browser
            .post(
                "/signin",
                &csrf,
                &[("username", "nobody"), ("password", "x")]
            )
            .status,
        429
    );
    server.clock.advance(60);
    assert_eq!(
        browser
            .post(
                "/signin",
                &csrf,
                &[("username", "nobody"), ("password", "x")]
            )
            .status,
        401
    );
}

#[test]
fn sessions_end_when_idle_and_everywhere_on_request() {
    let server = TestServer::start();
    let (mut first, secret) = server.owner("ada");
    let mut second = server.sign_in("ada", &secret);
    assert_eq!(first.get("/").status, 200);
    let csrf = second.get("/").csrf();
    assert_eq!(
        second
            .post("/signout/everywhere", &csrf, &[])
            .location
            .as_deref(),
        Some("/signin")
    );
    assert_eq!(
        first.get("/").location.as_deref(),
        Some("/signin"),
        "the other session ended too"
    );

    let mut third = server.sign_in("ada", &secret);
    assert_eq!(third.get("/").status, 200);
    server.clock.advance(31 * 60);
    assert_eq!(
        third.get("/").location.as_deref(),
        Some("/signin"),
        "idle timeout"
    );
}

#[test]
fn cookies_and_headers_are_strict() {
    let server = TestServer::start();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent.get(format!("{}/signin", server.base)).call().unwrap();
    let headers = response.headers();
    let csp = headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(headers.get("referrer-policy").unwrap(), "no-referrer");
    assert!(
        headers.get("strict-transport-security").is_none(),
        "no HSTS on plain HTTP"
    );
    let cookie = headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    let proxied = TestServer::start_with(|config| config.behind_proxy = true);
    let response = agent
        .get(format!("{}/signin", proxied.base))
        .call()
        .unwrap();
    let headers = response.headers();
    assert!(headers.get("strict-transport-security").is_some());
    let cookie = headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-") && cookie.contains("Secure"),
        "{cookie}"
    );
}

#[test]
fn health_readiness_and_metrics() {
    let server = TestServer::start();
    let (status, body) = crate::api(&server.base, "GET", "/healthz", None, None);
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    assert_eq!(
        crate::api(&server.base, "GET", "/readyz", None, None).0,
        200
    );
    let mut browser = server.browser();
    let csrf = browser.get("/signin").csrf();
    browser.post(
        "/signin",
        &csrf,
        &[("username", "nobody"), ("password", "x")],
    );
    let (status, metrics) = crate::api(&server.base, "GET", "/metrics", None, None);
    assert_eq!(status, 200);
    assert!(
        metrics.contains("# TYPE allclear_http_requests_total counter"),
        "{metrics}"
    );
    assert!(
        metrics.contains("allclear_signin_failures_total 1"),
        "{metrics}"
    );
}

#[test]
fn the_audit_log_records_security_events_in_an_intact_chain() {
    let server = TestServer::start();
    let (mut owner, _) = server.owner("ada");
    let mut browser = server.browser();
    let csrf = browser.get("/signin").csrf();
    browser.post(
        "/signin",
        &csrf,
        &[("username", "ada"), ("password", "hunter2-hunter2")], // allclear:allow made up
    );
    crate::project_with_token(&mut owner, "web", "member");
    let entries = server
        .block_on(server.store.audit_entries(None, 100))
        .unwrap();
    let actions: Vec<&str> = entries.iter().rev().map(|e| e.action.as_str()).collect();
    for expected in [
        "setup.owner",
        "totp.enrol",
        "signin.failure",
        "project.create",
        "token.create",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    for entry in &entries {
        assert!(
            !entry.detail.contains("hunter2"),
            "no password in the log: {entry:?}"
        );
    }
    let verdict = server.block_on(server.store.audit_verify()).unwrap();
    assert!(
        matches!(verdict, allclear_store::AuditVerdict::Intact { .. }),
        "{verdict:?}"
    );
}

#[test]
fn admins_read_and_export_the_audit_log_others_do_not() {
    let server = TestServer::start();
    let (mut owner, _) = server.owner("ada");
    let page = owner.get("/admin/audit");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("totp.enrol"), "{}", page.body);
    let export = owner.get("/admin/audit.jsonl");
    assert_eq!(export.status, 200);
    let lines: Vec<serde_json::Value> = export
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["id"], 1);
    assert_eq!(lines[0]["action"], "setup.owner");
    assert!(
        lines.windows(2).all(|w| w[1]["prev_hash"] == w[0]["hash"]),
        "the export carries the chain"
    );

    let (mut bob, _) = server.invite(&mut owner, "bob");
    assert_eq!(bob.get("/admin/audit").status, 404);
    assert_eq!(bob.get("/admin/audit.jsonl").status, 404);
    assert_eq!(bob.get("/admin").status, 404);
}
