//! `allclear serve` over HTTP: accounts with a mandatory second factor, sessions, roles per
//! project, API tokens, report ingestion, the dashboard, health and metrics.
//!
//! The server keeps no business rules of its own beyond who may do what: data lives in
//! [`allclear_store::Store`], time comes from a [`Clock`], and authorisation is decided in one
//! place, the [`access::Access`] extractor.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! let store = allclear_store::Store::open(std::path::Path::new("/var/lib/allclear")).await?;
//! let config = allclear_server::Config::new("127.0.0.1:8080".parse()?);
//! let server = allclear_server::Server::bind(store, config, Arc::new(allclear_server::SystemClock)).await?;
//! if let Some(link) = server.setup_link().await? {
//!     eprintln!("open {link} to create the owner's account");
//! }
//! server.run(std::future::pending()).await?;
//! # Ok(()) }
//! ```

pub mod access;
mod api;
mod auth;
mod limits;
mod metrics;
mod session;
mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use allclear_store::Store;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::MethodRouter;
use tower_http::set_header::SetResponseHeaderLayer;

pub use api::{ParsedReport, parse_report};
pub use metrics::Metrics;

/// How API tokens and one-time links are stored (exposed so tools that seed a store, and
/// tests, store tokens the server accepts).
pub use auth::token_hash;

/// Where "now" comes from: the system clock in production, a [`ManualClock`] in tests of
/// timeouts and lock-outs.
pub trait Clock: Send + Sync + 'static {
    /// Unix seconds.
    fn now(&self) -> i64;
}

#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(now: i64) -> Self {
        ManualClock(AtomicI64::new(now))
    }
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The address users type (for the setup link), e.g. `https://allclear.example.org`.
    /// Default: `http://` + the listening address.
    pub public_url: Option<String>,
    /// Behind a reverse proxy that terminates TLS: cookies are `Secure` (with the `__Host-`
    /// prefix), HSTS is sent, and the client address is the last `X-Forwarded-For` entry.
    pub behind_proxy: bool,
    /// A session ends after this long without a request…
    pub session_idle_seconds: i64,
    /// …and after this long in any case.
    pub session_absolute_seconds: i64,
    /// Failed passwords or codes in a row before the account is locked…
    pub max_failures: i64,
    /// …for this long.
    pub lock_seconds: i64,
    /// Sign-in, second-factor and setup attempts per client address per minute.
    pub attempts_per_minute: u32,
    /// Largest report accepted by the API.
    pub max_report_bytes: usize,
}

impl Config {
    /// OWASP-style defaults: 30 minutes idle, 12 hours absolute, 5 failures lock for 15
    /// minutes, 10 attempts a minute per address.
    pub fn new(listen: SocketAddr) -> Self {
        Config {
            listen,
            public_url: None,
            behind_proxy: false,
            session_idle_seconds: 30 * 60,
            session_absolute_seconds: 12 * 60 * 60,
            max_failures: 5,
            lock_seconds: 15 * 60,
            attempts_per_minute: 10,
            max_report_bytes: 32 * 1024 * 1024,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: Arc<Config>,
    pub(crate) limiter: Arc<limits::AttemptLimiter>,
    pub(crate) metrics: Arc<Metrics>,
    /// Key for the CSRF tokens (a keyed BLAKE3 of the session), kept in the database so a
    /// restart does not invalidate open forms.
    pub(crate) csrf_key: [u8; 32],
    pub(crate) public_url: String,
}

impl AppState {
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// Errors of starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listening address could not be bound.
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("the server stopped")]
    Serve(#[source] std::io::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] allclear_store::StoreError),
}

/// One route of the server: the table the router is built from and the authorisation tests
/// walk.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub(crate) handler: MethodRouter<AppState>,
}

/// Every route. A route whose path has `{project}` is authorised by [`access::Access`].
pub fn routes() -> Vec<Route> {
    let mut routes = web::routes();
    routes.extend(api::routes());
    routes
}

/// The application, all layers applied.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for route in routes() {
        router = router.route(route.path, route.handler);
    }
    let hsts = state
        .config
        .behind_proxy
        .then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    router
        .fallback(web::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::csrf_guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count_requests,
        ))
        // Forms are small; reports have their own, larger limit (see api::routes).
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                 frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            move |_: &axum::http::Response<axum::body::Body>| hsts.clone(),
        ))
        .with_state(state)
}

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    state: AppState,
}

impl Server {
    /// Binds the address and prepares the state (the CSRF key is created on first run).
    pub async fn bind(
        store: Store,
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Server, ServerError> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServerError::Bind {
                addr: config.listen,
                source,
            })?;
        let local = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
        let csrf_key = match store
            .setting("csrf_key")
            .await?
            .and_then(|hex| auth::key_from_hex(&hex))
        {
            Some(key) => key,
            None => {
                let key = auth::random_bytes::<32>();
                store.set_setting("csrf_key", &hex::encode(key)).await?;
                key
            }
        };
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"))
            .trim_end_matches('/')
            .to_owned();
        let limiter = Arc::new(limits::AttemptLimiter::new(
            config.attempts_per_minute,
            10_000,
        ));
        let state = AppState {
            store,
            clock,
            config: Arc::new(config),
            limiter,
            metrics: Arc::new(Metrics::default()),
            csrf_key,
            public_url,
        };
        Ok(Server { listener, state })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// When no one can sign in yet: a new one-time link for creating the owner's account
    /// (valid 24 hours; any earlier link stops working).
    pub async fn setup_link(&self) -> Result<Option<String>, ServerError> {
        if self.state.store.active_user_count().await? > 0 {
            return Ok(None);
        }
        let token = auth::random_token();
        let now = self.state.now();
        self.state
            .store
            .create_invite(&auth::token_hash(&token), None, now + 24 * 60 * 60)
            .await?;
        Ok(Some(format!(
            "{}/setup?token={token}",
            self.state.public_url
        )))
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let app = router(self.state.clone());
        axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Serve)
    }
}
