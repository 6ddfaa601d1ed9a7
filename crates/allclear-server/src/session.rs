//! Cookies, sessions and the CSRF guard.
//!
//! A session cookie holds 256 random bits; the database keeps only its hash. Every
//! state-changing form carries a CSRF token: a keyed BLAKE3 of the session cookie (or, before
//! sign-in, of a random pre-session cookie). `csrf_guard` checks it for every request that is
//! not GET/HEAD under any path but `/api/`, which accepts bearer tokens only, never cookies.

use allclear_store::{Session, SessionStage, User};
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::AppState;
use crate::auth;
use crate::web::{ServerFault, message};

pub fn session_cookie(state: &AppState) -> &'static str {
    if state.config.behind_proxy {
        "__Host-allclear-session"
    } else {
        "allclear-session"
    }
}

fn pre_cookie(state: &AppState) -> &'static str {
    if state.config.behind_proxy {
        "__Host-allclear-pre"
    } else {
        "allclear-pre"
    }
}

/// The value of a cookie of the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, Secure behind TLS. A session
/// cookie (no Max-Age) ends with the browser; the server enforces the timeouts anyway.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if state.config.behind_proxy {
        text.push_str("; Secure");
    }
    if let Some(max_age) = max_age {
        text.push_str(&format!("; Max-Age={max_age}"));
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn csrf_token(state: &AppState, binding: &str) -> String {
    blake3::keyed_hash(&state.csrf_key, binding.as_bytes())
        .to_hex()
        .to_string()
}

/// The CSRF token for forms on this page, and the pre-session cookie to set when the client
/// has neither a session nor a pre-session cookie yet.
pub fn form_token(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(raw) = cookie(headers, session_cookie(state)) {
        return (csrf_token(state, &format!("s:{raw}")), None);
    }
    if let Some(raw) = cookie(headers, pre_cookie(state)) {
        return (csrf_token(state, &format!("p:{raw}")), None);
    }
    let raw = auth::random_token();
    (
        csrf_token(state, &format!("p:{raw}")),
        Some(set_cookie(state, pre_cookie(state), &raw, None)),
    )
}

/// Refuses state-changing requests without a valid CSRF token (see the module docs).
pub async fn csrf_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let forbidden = || {
        message(
            StatusCode::FORBIDDEN,
            "Form refused",
            "This form has expired or was sent from another site. Go back, reload the page and try again.",
        )
    };
    // The body is read (it is small) before any refusal: answering without reading it
    // makes the server drop the connection, which clients see as an error, not a 403.
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            "The form is too large.",
        );
    };
    // Browsers say where a request comes from; another site's form is refused outright.
    if let Some(site) = parts.headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return forbidden();
    }
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let Some(sent) = fields.iter().find(|(key, _)| key == "csrf").map(|(_, v)| v) else {
        return forbidden();
    };
    let mut accepted = Vec::new();
    if let Some(raw) = cookie(&parts.headers, session_cookie(&state)) {
        accepted.push(csrf_token(&state, &format!("s:{raw}")));
    }
    if let Some(raw) = cookie(&parts.headers, pre_cookie(&state)) {
        accepted.push(csrf_token(&state, &format!("p:{raw}")));
    }
    if !accepted.iter().any(|token| auth::same(token, sent)) {
        return forbidden();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The client's address: the peer, or behind a proxy the last `X-Forwarded-For` entry (the
/// one the trusted proxy added).
pub fn client_ip(state: &AppState, parts: &Parts) -> String {
    if state.config.behind_proxy
        && let Some(last) = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty())
    {
        return last.chars().take(64).collect();
    }
    parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "-".to_owned(), |info| info.0.ip().to_string())
}

/// The request's session, if its cookie names a live one of an active user.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    pub id_hash: String,
    pub session: Session,
    pub user: User,
    /// The CSRF token for forms shown in this session.
    pub csrf: String,
}

pub async fn load_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<CurrentSession>, allclear_store::StoreError> {
    let Some(raw) = cookie(headers, session_cookie(state)) else {
        return Ok(None);
    };
    let id_hash = auth::token_hash(raw);
    let Some(session) = state.store.session(&id_hash).await? else {
        return Ok(None);
    };
    let now = state.now();
    let idle = now - session.last_seen > state.config.session_idle_seconds;
    let too_old = now - session.created_at > state.config.session_absolute_seconds;
    let user = state.store.user(session.user_id).await?;
    let Some(user) = user.filter(|user| user.active && !idle && !too_old) else {
        state.store.delete_session(&id_hash).await?;
        return Ok(None);
    };
    // One write a minute at most per session: the idle timeout is counted in minutes anyway.
    if now - session.last_seen >= 60 {
        state.store.touch_session(&id_hash, now).await?;
    }
    Ok(Some(CurrentSession {
        csrf: csrf_token(state, &format!("s:{raw}")),
        id_hash,
        session,
        user,
    }))
}

/// Starts a new session (a new id at every step of the sign-in: no fixation) and returns the
/// cookie to set. The previous session, if any, is ended.
pub async fn start_session(
    state: &AppState,
    previous: Option<&CurrentSession>,
    user: i64,
    stage: SessionStage,
) -> Result<HeaderValue, allclear_store::StoreError> {
    if let Some(previous) = previous {
        state.store.delete_session(&previous.id_hash).await?;
    }
    let raw = auth::random_token();
    state
        .store
        .create_session(&auth::token_hash(&raw), user, stage, state.now())
        .await?;
    Ok(set_cookie(state, session_cookie(state), &raw, None))
}

/// Any session, or none.
pub struct MaybeSession(pub Option<CurrentSession>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        load_session(state, &parts.headers)
            .await
            .map(MaybeSession)
            .map_err(|e| ServerFault(e.into()).into_response())
    }
}

/// A fully signed-in user (password and second factor). Anyone else is sent to the step of
/// the sign-in they are at.
pub struct SignedIn(pub CurrentSession);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let MaybeSession(session) = MaybeSession::from_request_parts(parts, state).await?;
        match session {
            Some(session) if session.session.stage == SessionStage::Full => Ok(SignedIn(session)),
            Some(session) if session.session.stage == SessionStage::Enrol => {
                Err(Redirect::to("/account/totp").into_response())
            }
            Some(_) => Err(Redirect::to("/signin/totp").into_response()),
            None => Err(Redirect::to("/signin").into_response()),
        }
    }
}
