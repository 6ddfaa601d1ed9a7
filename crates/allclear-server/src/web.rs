//! The HTML side: sign-in, enrolment, the overview, project and finding pages,
//! administration. Server-rendered (askama, escaped by default), no script anywhere.

use allclear_store::{NewAuditEntry, Role, SessionStage, StoreError};
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::access::{Access, MANAGER, READ};
use crate::session::{self, CurrentSession, MaybeSession, SignedIn, client_ip, form_token};
use crate::{AppState, Metrics, Route, auth};

pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::GET,
            path: "/",
            handler: get(overview),
        },
        Route {
            method: Method::GET,
            path: "/static/style.css",
            handler: get(stylesheet),
        },
        Route {
            method: Method::GET,
            path: "/healthz",
            handler: get(healthz),
        },
        Route {
            method: Method::GET,
            path: "/readyz",
            handler: get(readyz),
        },
        Route {
            method: Method::GET,
            path: "/metrics",
            handler: get(metrics),
        },
        Route {
            method: Method::GET,
            path: "/setup",
            handler: get(setup_form).post(setup),
        },
        Route {
            method: Method::GET,
            path: "/signin",
            handler: get(signin_form).post(signin),
        },
        Route {
            method: Method::GET,
            path: "/signin/totp",
            handler: get(second_factor_form).post(second_factor),
        },
        Route {
            method: Method::GET,
            path: "/account/totp",
            handler: get(enrol_form).post(enrol),
        },
        Route {
            method: Method::POST,
            path: "/signout",
            handler: post(signout),
        },
        Route {
            method: Method::POST,
            path: "/signout/everywhere",
            handler: post(signout_everywhere),
        },
        Route {
            method: Method::POST,
            path: "/projects",
            handler: post(create_project),
        },
        Route {
            method: Method::GET,
            path: "/projects/{project}",
            handler: get(project_page),
        },
        Route {
            method: Method::GET,
            path: "/projects/{project}/findings/{id}",
            handler: get(finding_page),
        },
        Route {
            method: Method::POST,
            path: "/projects/{project}/members",
            handler: post(set_member),
        },
        Route {
            method: Method::POST,
            path: "/projects/{project}/tokens",
            handler: post(create_token),
        },
        Route {
            method: Method::GET,
            path: "/admin",
            handler: get(admin_page),
        },
        Route {
            method: Method::GET,
            path: "/admin/audit",
            handler: get(audit_page),
        },
        Route {
            method: Method::GET,
            path: "/admin/audit.jsonl",
            handler: get(audit_export),
        },
        Route {
            method: Method::POST,
            path: "/admin/invites",
            handler: post(create_invite),
        },
        Route {
            method: Method::POST,
            path: "/admin/users/{username}/deactivate",
            handler: post(deactivate_user),
        },
    ]
}

// ---- errors and small responses ----

/// An internal failure: logged (without request data), answered with a plain 500 page.
pub struct ServerFault(pub Box<dyn std::error::Error + Send + Sync>);

impl From<StoreError> for ServerFault {
    fn from(e: StoreError) -> Self {
        ServerFault(Box::new(e))
    }
}

impl From<askama::Error> for ServerFault {
    fn from(e: askama::Error) -> Self {
        ServerFault(Box::new(e))
    }
}

impl IntoResponse for ServerFault {
    fn into_response(self) -> Response {
        let mut chain = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        tracing::error!("request failed: {chain}");
        message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The server could not complete this request. The error is in the server's log.",
        )
    }
}

type WebResult = Result<Response, ServerFault>;

pub struct Nav {
    username: String,
    csrf: String,
    is_admin: bool,
}

fn nav(session: &CurrentSession) -> Option<Nav> {
    Some(Nav {
        username: session.user.username.clone(),
        csrf: session.csrf.clone(),
        is_admin: session.user.is_admin,
    })
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    nav: Option<Nav>,
    title: &'a str,
    text: &'a str,
    secret: Option<String>,
    hint: Option<String>,
    back: String,
}

fn render(template: &impl Template) -> Result<String, ServerFault> {
    Ok(template.render()?)
}

/// A page with a title and one sentence.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let page = MessagePage {
        nav: None,
        title,
        text,
        secret: None,
        hint: None,
        back: "/".to_owned(),
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, title.to_owned()).into_response(),
    }
}

fn html_with_cookie(status: StatusCode, html: String, cookie: Option<HeaderValue>) -> Response {
    let mut response = (status, Html(html)).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn redirect_with_cookie(to: &str, cookie: HeaderValue) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

fn format_time(at: i64) -> String {
    jiff::Timestamp::from_second(at)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| at.to_string())
}

async fn audit(
    state: &AppState,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
    ip: &str,
) -> Result<(), StoreError> {
    state
        .store
        .audit(
            NewAuditEntry {
                actor,
                action,
                target,
                detail,
                ip,
            },
            state.now(),
        )
        .await
}

pub async fn not_found() -> Response {
    message(StatusCode::NOT_FOUND, "Not found", "There is no such page.")
}

fn too_many() -> Response {
    message(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        "Too many attempts from your address. Wait a minute and try again.",
    )
}

// ---- health ----

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/style.css"),
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => {
            tracing::error!("readiness check failed: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database does not answer\n",
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

// ---- setup and invitations ----

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    nav: Option<Nav>,
    csrf: String,
    token: String,
    username: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct TokenQuery {
    token: String,
}

/// The invitation a one-time link stands for: Some(None) for the owner's setup.
async fn invitation(
    state: &AppState,
    token: &str,
) -> Result<Option<Option<allclear_store::User>>, StoreError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    match state
        .store
        .invite(&auth::token_hash(token), state.now())
        .await?
    {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(user)) => Ok(state.store.user(user).await?.filter(|u| u.active).map(Some)),
    }
}

fn invalid_link() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Link not valid",
        "This link has been used or has expired. Ask for a new one.",
    )
}

async fn setup_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> WebResult {
    let Some(invited) = invitation(&state, &query.token).await? else {
        return Ok(invalid_link());
    };
    let (csrf, cookie) = form_token(&state, &headers);
    let page = SetupPage {
        nav: None,
        csrf,
        token: query.token,
        username: invited.map(|user| user.username),
        error: None,
    };
    Ok(html_with_cookie(StatusCode::OK, render(&page)?, cookie))
}

#[derive(Deserialize)]
struct SetupForm {
    token: String,
    username: Option<String>,
    password: String,
}

async fn setup(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<SetupForm>,
) -> WebResult {
    let ip = client_ip(&state, &parts);
    if !state.limiter.allow(&ip, state.now()) {
        return Ok(too_many());
    }
    let Some(invited) = invitation(&state, &form.token).await? else {
        return Ok(invalid_link());
    };
    let problem = match (&invited, &form.username) {
        (None, Some(name)) if !auth::valid_name(name) => {
            Some("The username may have 1 to 40 of a-z, 0-9, '.', '_' and '-'.")
        }
        (None, None) => Some("A username is required."),
        _ => auth::password_problem(&form.password),
    };
    if let Some(problem) = problem {
        let (csrf, cookie) = form_token(&state, &parts.headers);
        let page = SetupPage {
            nav: None,
            csrf,
            token: form.token,
            username: invited.map(|user| user.username),
            error: Some(problem.to_owned()),
        };
        return Ok(html_with_cookie(
            StatusCode::BAD_REQUEST,
            render(&page)?,
            cookie,
        ));
    }
    if !state
        .store
        .take_invite(&auth::token_hash(&form.token))
        .await?
    {
        return Ok(invalid_link());
    }
    let Some(hash) = auth::hash_password(form.password).await else {
        return Err(ServerFault("hashing the password failed".into()));
    };
    let (user, action) = match invited {
        Some(user) => (user.id, "invite.accept"),
        None => {
            let name = form.username.unwrap_or_default();
            match state.store.create_user(&name, true, state.now()).await {
                Ok(id) => (id, "setup.owner"),
                Err(StoreError::Exists(_)) => {
                    return Ok(message(
                        StatusCode::CONFLICT,
                        "Name taken",
                        "That username exists already.",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    state.store.set_password(user, &hash).await?;
    let username = state
        .store
        .user(user)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    audit(&state, &username, action, &username, "", &ip).await?;
    let cookie = session::start_session(&state, None, user, SessionStage::Enrol).await?;
    Ok(redirect_with_cookie("/account/totp", cookie))
}

// ---- sign-in ----

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage {
    nav: Option<Nav>,
    csrf: String,
    error: Option<String>,
}

async fn signin_form(State(state): State<AppState>, headers: HeaderMap) -> WebResult {
    let (csrf, cookie) = form_token(&state, &headers);
    let page = SigninPage {
        nav: None,
        csrf,
        error: None,
    };
    Ok(html_with_cookie(StatusCode::OK, render(&page)?, cookie))
}

#[derive(Deserialize)]
struct SigninForm {
    username: String,
    password: String,
}

fn locked_page(state: &AppState, locked_until: i64) -> Response {
    let minutes = ((locked_until - state.now()) + 59) / 60;
    let text = format!(
        "Too many failed attempts: this account is locked for {} more minute{}.",
        minutes.max(1),
        if minutes > 1 { "s" } else { "" }
    );
    message(StatusCode::TOO_MANY_REQUESTS, "Account locked", &text)
}

async fn signin(
    State(state): State<AppState>,
    parts: Parts,
    MaybeSession(previous): MaybeSession,
    Form(form): Form<SigninForm>,
) -> WebResult {
    let ip = client_ip(&state, &parts);
    let now = state.now();
    if !state.limiter.allow(&ip, now) {
        return Ok(too_many());
    }
    let user = if auth::valid_name(&form.username) {
        state.store.user_by_name(&form.username).await?
    } else {
        None
    };
    // The name is logged only when it is one (a password typed into the name field is not).
    let target = if auth::valid_name(&form.username) {
        form.username.as_str()
    } else {
        "-"
    };
    if let Some(user) = &user
        && user.locked_until > now
    {
        audit(&state, "-", "signin.refused-locked", target, "", &ip).await?;
        return Ok(locked_page(&state, user.locked_until));
    }
    let ok = auth::verify_password(
        user.as_ref().and_then(|u| u.password_hash.clone()),
        form.password,
    )
    .await;
    let user = match user {
        Some(user) if ok && user.active => user,
        _ => {
            Metrics::add(&state.metrics.signin_failures, 1);
            audit(
                &state,
                "-",
                "signin.failure",
                target,
                "wrong password or unknown user",
                &ip,
            )
            .await?;
            if let Some(user) = &user
                && state
                    .store
                    .record_failure(
                        user.id,
                        now,
                        state.config.max_failures,
                        state.config.lock_seconds,
                    )
                    .await?
            {
                Metrics::add(&state.metrics.lockouts, 1);
                audit(&state, "-", "account.locked", target, "", &ip).await?;
            }
            let (csrf, cookie) = form_token(&state, &parts.headers);
            let page = SigninPage {
                nav: None,
                csrf,
                error: Some("Wrong username or password.".to_owned()),
            };
            return Ok(html_with_cookie(
                StatusCode::UNAUTHORIZED,
                render(&page)?,
                cookie,
            ));
        }
    };
    let (stage, next) = if user.totp_secret.is_some() {
        (SessionStage::SecondFactor, "/signin/totp")
    } else {
        (SessionStage::Enrol, "/account/totp")
    };
    audit(
        &state,
        &user.username,
        "signin.password",
        &user.username,
        "",
        &ip,
    )
    .await?;
    let cookie = session::start_session(&state, previous.as_ref(), user.id, stage).await?;
    Ok(redirect_with_cookie(next, cookie))
}

#[derive(Template)]
#[template(path = "second_factor.html")]
struct SecondFactorPage {
    nav: Option<Nav>,
    csrf: String,
    error: Option<String>,
}

async fn second_factor_form(MaybeSession(session): MaybeSession) -> WebResult {
    match session {
        Some(session) if session.session.stage == SessionStage::SecondFactor => {
            let page = SecondFactorPage {
                nav: None,
                csrf: session.csrf,
                error: None,
            };
            Ok(Html(render(&page)?).into_response())
        }
        Some(session) if session.session.stage == SessionStage::Full => {
            Ok(Redirect::to("/").into_response())
        }
        _ => Ok(Redirect::to("/signin").into_response()),
    }
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn second_factor(
    State(state): State<AppState>,
    parts: Parts,
    MaybeSession(session): MaybeSession,
    Form(form): Form<CodeForm>,
) -> WebResult {
    let Some(session) = session.filter(|s| s.session.stage == SessionStage::SecondFactor) else {
        return Ok(Redirect::to("/signin").into_response());
    };
    let ip = client_ip(&state, &parts);
    let now = state.now();
    if !state.limiter.allow(&ip, now) {
        return Ok(too_many());
    }
    let user = &session.user;
    if user.locked_until > now {
        audit(
            &state,
            &user.username,
            "totp.refused-locked",
            &user.username,
            "",
            &ip,
        )
        .await?;
        return Ok(locked_page(&state, user.locked_until));
    }
    let secret = user.totp_secret.as_deref().unwrap_or_default();
    let accepted = match auth::totp_step(secret, &form.code, now) {
        Some(step) => state
            .store
            .accept_totp_step(user.id, step)
            .await?
            .then_some("totp"),
        None if form.code.len() <= 32 => state
            .store
            .use_recovery_code(user.id, &auth::recovery_hash(&form.code), now)
            .await?
            .then_some("recovery code"),
        None => None,
    };
    let Some(factor) = accepted else {
        Metrics::add(&state.metrics.signin_failures, 1);
        audit(
            &state,
            &user.username,
            "totp.failure",
            &user.username,
            "",
            &ip,
        )
        .await?;
        if state
            .store
            .record_failure(
                user.id,
                now,
                state.config.max_failures,
                state.config.lock_seconds,
            )
            .await?
        {
            Metrics::add(&state.metrics.lockouts, 1);
            audit(
                &state,
                &user.username,
                "account.locked",
                &user.username,
                "",
                &ip,
            )
            .await?;
        }
        let page = SecondFactorPage {
            nav: None,
            csrf: session.csrf.clone(),
            error: Some("That code is not valid (or was already used).".to_owned()),
        };
        return Ok((StatusCode::UNAUTHORIZED, Html(render(&page)?)).into_response());
    };
    state.store.clear_failures(user.id).await?;
    audit(
        &state,
        &user.username,
        "signin.success",
        &user.username,
        factor,
        &ip,
    )
    .await?;
    let cookie =
        session::start_session(&state, Some(&session), user.id, SessionStage::Full).await?;
    Ok(redirect_with_cookie("/", cookie))
}

// ---- enrolment ----

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage {
    nav: Option<Nav>,
    csrf: String,
    secret: String,
    uri: String,
    error: Option<String>,
}

async fn enrol_form(MaybeSession(session): MaybeSession) -> WebResult {
    let Some(session) = session.filter(|s| s.session.stage == SessionStage::Enrol) else {
        return Ok(Redirect::to("/").into_response());
    };
    let secret = auth::new_totp_secret();
    let page = EnrolPage {
        nav: None,
        csrf: session.csrf.clone(),
        uri: auth::otpauth_uri(&secret, &session.user.username),
        secret,
        error: None,
    };
    Ok(Html(render(&page)?).into_response())
}

#[derive(Deserialize)]
struct EnrolForm {
    secret: String,
    code: String,
}

#[derive(Template)]
#[template(path = "recovery.html")]
struct RecoveryPage {
    nav: Option<Nav>,
    codes: Vec<String>,
}

async fn enrol(
    State(state): State<AppState>,
    parts: Parts,
    MaybeSession(session): MaybeSession,
    Form(form): Form<EnrolForm>,
) -> WebResult {
    let Some(session) = session.filter(|s| s.session.stage == SessionStage::Enrol) else {
        return Ok(Redirect::to("/").into_response());
    };
    let ip = client_ip(&state, &parts);
    let now = state.now();
    if !state.limiter.allow(&ip, now) {
        return Ok(too_many());
    }
    // A secret is 160 bits in base32: 32 characters of A-Z2-7.
    let secret_ok = form.secret.len() == 32
        && form
            .secret
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
    let step = if secret_ok {
        auth::totp_step(&form.secret, &form.code, now)
    } else {
        None
    };
    let Some(step) = step else {
        audit(
            &state,
            &session.user.username,
            "totp.enrol-failure",
            &session.user.username,
            "",
            &ip,
        )
        .await?;
        let secret = if secret_ok {
            form.secret
        } else {
            auth::new_totp_secret()
        };
        let page = EnrolPage {
            nav: None,
            csrf: session.csrf.clone(),
            uri: auth::otpauth_uri(&secret, &session.user.username),
            secret,
            error: Some(
                "That code does not match. Check the key and your device's clock.".to_owned(),
            ),
        };
        return Ok((StatusCode::BAD_REQUEST, Html(render(&page)?)).into_response());
    };
    let codes = auth::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| auth::recovery_hash(c)).collect();
    state
        .store
        .enrol_totp(session.user.id, &form.secret, step, &hashes)
        .await?;
    state.store.clear_failures(session.user.id).await?;
    audit(
        &state,
        &session.user.username,
        "totp.enrol",
        &session.user.username,
        "10 recovery codes",
        &ip,
    )
    .await?;
    let cookie =
        session::start_session(&state, Some(&session), session.user.id, SessionStage::Full).await?;
    // No navigation on this page: its sign-out forms would carry the old session's token.
    let page = RecoveryPage { nav: None, codes };
    Ok(html_with_cookie(
        StatusCode::OK,
        render(&page)?,
        Some(cookie),
    ))
}

// ---- sign-out ----

async fn signout(
    State(state): State<AppState>,
    parts: Parts,
    MaybeSession(session): MaybeSession,
) -> WebResult {
    if let Some(session) = session {
        state.store.delete_session(&session.id_hash).await?;
        audit(
            &state,
            &session.user.username,
            "signout",
            &session.user.username,
            "",
            &client_ip(&state, &parts),
        )
        .await?;
    }
    let cookie = session::set_cookie(&state, session::session_cookie(&state), "", Some(0));
    Ok(redirect_with_cookie("/signin", cookie))
}

async fn signout_everywhere(
    State(state): State<AppState>,
    parts: Parts,
    SignedIn(session): SignedIn,
) -> WebResult {
    let ended = state.store.delete_user_sessions(session.user.id).await?;
    let detail = format!("{ended} sessions ended");
    audit(
        &state,
        &session.user.username,
        "signout.everywhere",
        &session.user.username,
        &detail,
        &client_ip(&state, &parts),
    )
    .await?;
    let cookie = session::set_cookie(&state, session::session_cookie(&state), "", Some(0));
    Ok(redirect_with_cookie("/signin", cookie))
}

// ---- overview and projects ----

struct ProjectLine {
    slug: String,
    name: String,
    role: Role,
    critical: i64,
    high: i64,
    medium: i64,
    low: i64,
    info: i64,
    last_report: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    nav: Option<Nav>,
    csrf: String,
    verdict: String,
    verdict_class: &'static str,
    projects: Vec<ProjectLine>,
}

async fn overview(State(state): State<AppState>, SignedIn(session): SignedIn) -> WebResult {
    let projects = state.store.overview(session.user.id).await?;
    let never: Vec<&str> = projects
        .iter()
        .filter(|p| p.last_report_at.is_none())
        .map(|p| p.slug.as_str())
        .collect();
    let partial: Vec<&str> = projects
        .iter()
        .filter(|p| p.last_report_partial)
        .map(|p| p.slug.as_str())
        .collect();
    let serious: i64 = projects
        .iter()
        .map(|p| p.open_by_rank[4] + p.open_by_rank[3])
        .sum();
    let (verdict, verdict_class) = if projects.is_empty() {
        (
            "No projects yet: nothing is checked. Create one below.".to_owned(),
            "unknown",
        )
    } else if serious > 0 {
        (
            format!("Attention: {serious} open critical or high findings."),
            "attention",
        )
    } else if !never.is_empty() {
        (
            format!(
                "Unknown: {} never reported, so nothing is known about {}.",
                never.join(", "),
                if never.len() == 1 { "it" } else { "them" }
            ),
            "unknown",
        )
    } else if !partial.is_empty() {
        (
            format!(
                "Unknown: the last report of {} was partial (parts went unchecked).",
                partial.join(", ")
            ),
            "unknown",
        )
    } else {
        (
            "All clear: no open critical or high findings in any project.".to_owned(),
            "ok",
        )
    };
    let projects = projects
        .into_iter()
        .map(|p| ProjectLine {
            last_report: match p.last_report_at {
                Some(at) if p.last_report_partial => format!("{} (partial)", format_time(at)),
                Some(at) => format_time(at),
                None => "never".to_owned(),
            },
            slug: p.slug,
            name: p.name,
            role: p.role,
            critical: p.open_by_rank[4],
            high: p.open_by_rank[3],
            medium: p.open_by_rank[2],
            low: p.open_by_rank[1],
            info: p.open_by_rank[0],
        })
        .collect();
    let page = OverviewPage {
        csrf: session.csrf.clone(),
        nav: nav(&session),
        verdict,
        verdict_class,
        projects,
    };
    Ok(Html(render(&page)?).into_response())
}

#[derive(Deserialize)]
struct ProjectForm {
    slug: String,
    name: String,
}

async fn create_project(
    State(state): State<AppState>,
    parts: Parts,
    SignedIn(session): SignedIn,
    Form(form): Form<ProjectForm>,
) -> WebResult {
    let name = form.name.trim();
    if !auth::valid_name(&form.slug) || name.is_empty() || name.chars().count() > 100 {
        return Ok(message(
            StatusCode::BAD_REQUEST,
            "Not created",
            "The short name may have 1 to 40 of a-z, 0-9, '.', '_' and '-'; the name 1 to 100 characters.",
        ));
    }
    match state
        .store
        .create_project(&form.slug, name, session.user.id, state.now())
        .await
    {
        Ok(_) => {}
        Err(StoreError::Exists(_)) => {
            return Ok(message(
                StatusCode::CONFLICT,
                "Not created",
                "A project with that short name exists.",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    audit(
        &state,
        &session.user.username,
        "project.create",
        &form.slug,
        "",
        &client_ip(&state, &parts),
    )
    .await?;
    Ok(Redirect::to(&format!("/projects/{}", form.slug)).into_response())
}

struct FindingLine {
    id: i64,
    severity: String,
    title: String,
    location: String,
    source: String,
    first_seen: String,
}

struct TokenLine {
    name: String,
    role: Role,
    last_used: String,
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    nav: Option<Nav>,
    csrf: String,
    slug: String,
    name: String,
    role: Role,
    fixed: bool,
    findings: Vec<FindingLine>,
    next: Option<String>,
    members: Vec<allclear_store::Member>,
    can_manage: bool,
    tokens: Vec<TokenLine>,
}

#[derive(Deserialize)]
pub struct PageQuery {
    /// The keyset of the previous page's last row: `RANK.ID`.
    pub after: Option<String>,
    pub fixed: Option<String>,
}

impl PageQuery {
    pub fn keyset(&self) -> Option<(i64, i64)> {
        let (rank, id) = self.after.as_deref()?.split_once('.')?;
        Some((rank.parse().ok()?, id.parse().ok()?))
    }
    pub fn fixed(&self) -> bool {
        self.fixed.as_deref() == Some("1")
    }
}

pub const PAGE_SIZE: i64 = 50;

fn location_text(path: &str, line: Option<i64>) -> String {
    match line {
        Some(line) => format!("{path}:{line}"),
        None => path.to_owned(),
    }
}

async fn project_page(
    State(state): State<AppState>,
    access: Access<READ>,
    Query(query): Query<PageQuery>,
) -> WebResult {
    let project = &access.project;
    let rows = state
        .store
        .findings_page(project.id, query.fixed(), query.keyset(), PAGE_SIZE)
        .await?;
    let next = (rows.len() as i64 == PAGE_SIZE)
        .then(|| rows.last().map(|r| format!("{}.{}", r.severity_rank, r.id)))
        .flatten();
    let can_manage = access.role >= Role::Manager;
    let tokens = if can_manage {
        state
            .store
            .tokens(project.id)
            .await?
            .into_iter()
            .map(|t| TokenLine {
                name: t.name,
                role: t.role,
                last_used: t
                    .last_used_at
                    .map_or_else(|| "never".to_owned(), format_time),
            })
            .collect()
    } else {
        Vec::new()
    };
    let session = access.session();
    let page = ProjectPage {
        nav: session.and_then(nav),
        csrf: session.map(|s| s.csrf.clone()).unwrap_or_default(),
        slug: project.slug.clone(),
        name: project.name.clone(),
        role: access.role,
        fixed: query.fixed(),
        findings: rows
            .into_iter()
            .map(|r| FindingLine {
                location: location_text(&r.path, r.line),
                id: r.id,
                severity: r.severity,
                title: r.title,
                source: r.source,
                first_seen: format_time(r.first_seen),
            })
            .collect(),
        next,
        members: state.store.members(project.id).await?,
        can_manage,
        tokens,
    };
    Ok(Html(render(&page)?).into_response())
}

struct EventLine {
    at: String,
    kind: String,
}

#[derive(Template)]
#[template(path = "finding.html")]
struct FindingPage {
    nav: Option<Nav>,
    slug: String,
    title: String,
    severity: String,
    rule: String,
    location: String,
    source: String,
    package: Option<String>,
    advisories: String,
    fix: String,
    description: Option<String>,
    url: Option<String>,
    fingerprint: String,
    state: String,
    events: Vec<EventLine>,
}

async fn finding_page(
    State(state): State<AppState>,
    access: Access<READ>,
    Path((_, id)): Path<(String, i64)>,
) -> WebResult {
    let Some(row) = state.store.finding(access.project.id, id).await? else {
        return Ok(not_found().await);
    };
    let data: serde_json::Value = serde_json::from_str(&row.data).unwrap_or_default();
    let text = |pointer: &str| {
        data.pointer(pointer)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let package = match (
        text("/package/ecosystem"),
        text("/package/name"),
        text("/package/version"),
    ) {
        (Some(eco), Some(name), Some(version)) => Some(format!("{name} {version} ({eco})")),
        _ => None,
    };
    let advisories = data
        .get("advisories")
        .and_then(|v| v.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let fix = [
        text("/fix/version").map(|v| format!("upgrade to {v}")),
        text("/fix/command").map(|c| format!("run `{c}`")),
        text("/fix/advice"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ");
    // Only web links become links: the report's url field is not validated by the scanner.
    let url = text("/url").filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let events = state
        .store
        .finding_events(row.id)
        .await?
        .into_iter()
        .map(|e| EventLine {
            at: format_time(e.at),
            kind: e.kind,
        })
        .collect();
    let page = FindingPage {
        nav: access.session().and_then(nav),
        slug: access.project.slug.clone(),
        state: match row.fixed_at {
            Some(at) => format!(
                "fixed {} (last seen {})",
                format_time(at),
                format_time(row.last_seen)
            ),
            None => format!("open (last seen {})", format_time(row.last_seen)),
        },
        location: location_text(&row.path, row.line),
        title: row.title,
        severity: row.severity,
        rule: row.rule,
        source: row.source,
        package,
        advisories,
        fix,
        description: text("/description"),
        url,
        fingerprint: row.fingerprint,
        events,
    };
    Ok(Html(render(&page)?).into_response())
}

#[derive(Deserialize)]
struct MemberForm {
    username: String,
    role: String,
}

async fn set_member(
    State(state): State<AppState>,
    access: Access<MANAGER>,
    Form(form): Form<MemberForm>,
) -> WebResult {
    let Ok(role) = form.role.parse::<Role>() else {
        return Ok(message(
            StatusCode::BAD_REQUEST,
            "Not changed",
            "Unknown role.",
        ));
    };
    let user = if auth::valid_name(&form.username) {
        state
            .store
            .user_by_name(&form.username)
            .await?
            .filter(|u| u.active)
    } else {
        None
    };
    let Some(user) = user else {
        return Ok(message(
            StatusCode::BAD_REQUEST,
            "Not changed",
            "There is no active user of that name.",
        ));
    };
    let current = state.store.role_of(user.id, access.project.id).await?;
    // Only an owner makes or unmakes owners.
    if (role == Role::Owner || current == Some(Role::Owner)) && access.role != Role::Owner {
        return Ok(message(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Only an owner can make or change an owner.",
        ));
    }
    state
        .store
        .set_member(access.project.id, user.id, role)
        .await?;
    let detail = format!("{} -> {role}", current.map_or("none", Role::as_str));
    audit(
        &state,
        &access.principal.actor(),
        "member.set",
        &format!("{}/{}", access.project.slug, user.username),
        &detail,
        &access.ip,
    )
    .await?;
    Ok(Redirect::to(&format!("/projects/{}", access.project.slug)).into_response())
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
    role: String,
}

async fn create_token(
    State(state): State<AppState>,
    access: Access<MANAGER>,
    Form(form): Form<TokenForm>,
) -> WebResult {
    let name = form.name.trim();
    let role = match form.role.as_str() {
        "member" => Role::Member,
        "read-only" => Role::ReadOnly,
        _ => {
            return Ok(message(
                StatusCode::BAD_REQUEST,
                "Not created",
                "A token's role is member or read-only.",
            ));
        }
    };
    if name.is_empty() || name.chars().count() > 100 {
        return Ok(message(
            StatusCode::BAD_REQUEST,
            "Not created",
            "The name must have 1 to 100 characters.",
        ));
    }
    let Some(session) = access.session() else {
        return Ok(message(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Tokens are created by people.",
        ));
    };
    let token = format!("acl_{}", auth::random_token());
    let id = state
        .store
        .create_token(
            access.project.id,
            name,
            &auth::token_hash(&token),
            role,
            session.user.id,
            state.now(),
        )
        .await?;
    audit(
        &state,
        &session.user.username,
        "token.create",
        &access.project.slug,
        &format!("token:{id} {role}"),
        &access.ip,
    )
    .await?;
    let url = format!(
        "{}/api/v1/projects/{}/reports",
        state.public_url, access.project.slug
    );
    let page = MessagePage {
        nav: nav(session),
        title: "Token created",
        text: "Copy the token now: it is shown only once and stored only as a hash.",
        secret: Some(token),
        hint: Some(format!(
            "Report a scan with: ALLCLEAR_TOKEN=<the token> allclear scan --report-to {url}"
        )),
        back: format!("/projects/{}", access.project.slug),
    };
    Ok(Html(render(&page)?).into_response())
}

// ---- administration ----

struct UserLine {
    username: String,
    state: &'static str,
    can_deactivate: bool,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    nav: Option<Nav>,
    csrf: String,
    users: Vec<UserLine>,
}

fn require_admin(session: &CurrentSession) -> Option<Response> {
    (!session.user.is_admin)
        .then(|| message(StatusCode::NOT_FOUND, "Not found", "There is no such page."))
}

async fn admin_page(State(state): State<AppState>, SignedIn(session): SignedIn) -> WebResult {
    if let Some(refused) = require_admin(&session) {
        return Ok(refused);
    }
    let users = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| UserLine {
            state: if !u.active {
                "deactivated"
            } else if u.password_hash.is_none() {
                "invited"
            } else if u.totp_secret.is_none() {
                "enrolling"
            } else {
                "active"
            },
            can_deactivate: u.active && u.id != session.user.id,
            username: u.username,
        })
        .collect();
    let page = AdminPage {
        csrf: session.csrf.clone(),
        nav: nav(&session),
        users,
    };
    Ok(Html(render(&page)?).into_response())
}

#[derive(Deserialize)]
struct InviteForm {
    username: String,
}

async fn create_invite(
    State(state): State<AppState>,
    parts: Parts,
    SignedIn(session): SignedIn,
    Form(form): Form<InviteForm>,
) -> WebResult {
    if let Some(refused) = require_admin(&session) {
        return Ok(refused);
    }
    if !auth::valid_name(&form.username) {
        return Ok(message(
            StatusCode::BAD_REQUEST,
            "Not invited",
            "The username may have 1 to 40 of a-z, 0-9, '.', '_' and '-'.",
        ));
    }
    let now = state.now();
    let user = match state.store.create_user(&form.username, false, now).await {
        Ok(user) => user,
        Err(StoreError::Exists(_)) => {
            return Ok(message(
                StatusCode::CONFLICT,
                "Not invited",
                "That username exists already.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let token = auth::random_token();
    state
        .store
        .create_invite(
            &auth::token_hash(&token),
            Some(user),
            now + 7 * 24 * 60 * 60,
        )
        .await?;
    audit(
        &state,
        &session.user.username,
        "invite.create",
        &form.username,
        "",
        &client_ip(&state, &parts),
    )
    .await?;
    let page = MessagePage {
        nav: nav(&session),
        title: "Invitation created",
        text: "Send this link to the person, over a channel you trust. It works once, for 7 days.",
        secret: Some(format!("{}/setup?token={token}", state.public_url)),
        hint: None,
        back: "/admin".to_owned(),
    };
    Ok(Html(render(&page)?).into_response())
}

async fn deactivate_user(
    State(state): State<AppState>,
    parts: Parts,
    SignedIn(session): SignedIn,
    Path(username): Path<String>,
) -> WebResult {
    if let Some(refused) = require_admin(&session) {
        return Ok(refused);
    }
    let user = if auth::valid_name(&username) {
        state.store.user_by_name(&username).await?
    } else {
        None
    };
    let Some(user) = user.filter(|u| u.id != session.user.id) else {
        return Ok(message(
            StatusCode::BAD_REQUEST,
            "Not changed",
            "No such user (and you cannot deactivate yourself).",
        ));
    };
    state.store.set_active(user.id, false, state.now()).await?;
    audit(
        &state,
        &session.user.username,
        "user.deactivate",
        &user.username,
        "sessions ended, tokens revoked",
        &client_ip(&state, &parts),
    )
    .await?;
    Ok(Redirect::to("/admin").into_response())
}

// ---- the audit log ----

struct AuditLine {
    id: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
    ip: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Option<Nav>,
    entries: Vec<AuditLine>,
    older: Option<i64>,
}

#[derive(Deserialize)]
struct AuditQuery {
    before: Option<i64>,
}

const AUDIT_PAGE: i64 = 100;

async fn audit_page(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(query): Query<AuditQuery>,
) -> WebResult {
    if let Some(refused) = require_admin(&session) {
        return Ok(refused);
    }
    let entries = state.store.audit_entries(query.before, AUDIT_PAGE).await?;
    let older = (entries.len() as i64 == AUDIT_PAGE)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    let page = AuditPage {
        nav: nav(&session),
        entries: entries
            .into_iter()
            .map(|e| AuditLine {
                id: e.id,
                at: format_time(e.at),
                actor: e.actor,
                action: e.action,
                target: e.target,
                detail: e.detail,
                ip: e.ip,
            })
            .collect(),
        older,
    };
    Ok(Html(render(&page)?).into_response())
}

/// The whole log, oldest first, one JSON object a line (with the chain's hashes, so the
/// export can be verified on its own).
async fn audit_export(State(state): State<AppState>, SignedIn(session): SignedIn) -> WebResult {
    if let Some(refused) = require_admin(&session) {
        return Ok(refused);
    }
    let mut lines = Vec::new();
    let mut before = None;
    loop {
        let batch = state.store.audit_entries(before, 1000).await?;
        let Some(last) = batch.last() else { break };
        before = Some(last.id);
        lines.extend(batch.into_iter().map(|e| {
            serde_json::json!({
                "id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target,
                "detail": e.detail, "ip": e.ip, "prev_hash": e.prev_hash, "hash": e.hash,
            })
            .to_string()
        }));
    }
    lines.reverse();
    let mut body = lines.join("\n");
    body.push('\n');
    Ok((
        [
            (header::CONTENT_TYPE, "application/jsonl; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"allclear-audit.jsonl\"",
            ),
        ],
        body,
    )
        .into_response())
}
