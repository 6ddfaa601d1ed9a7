//! Authorisation, decided here and nowhere else: who is asking (a signed-in user or an API
//! token), which project the route names, and the role they hold in it.
//!
//! Handlers of project routes take [`Access<MIN>`]; the extractor refuses before the handler
//! runs. Someone with no role in the project gets 404, the same answer as for a project that
//! does not exist, so project names do not leak. A role below `MIN` gets 403.
//!
//! Routes under `/api/` accept only `Authorization: Bearer` tokens, never the session
//! cookie: the API has no CSRF tokens, so a cookie must not be able to call it.

use allclear_store::{ApiToken, Project, Role};
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::session::{CurrentSession, SignedIn, client_ip};
use crate::web::{ServerFault, message};
use crate::{AppState, auth};

/// `MIN` for [`Access`]: the lowest role a route accepts.
pub const READ: u8 = 0;
pub const MEMBER: u8 = 1;
pub const MANAGER: u8 = 2;
pub const OWNER: u8 = 3;

fn role_for(min: u8) -> Role {
    match min {
        READ => Role::ReadOnly,
        MEMBER => Role::Member,
        MANAGER => Role::Manager,
        _ => Role::Owner,
    }
}

/// Who is asking.
#[derive(Debug, Clone)]
pub enum Principal {
    User(Box<CurrentSession>),
    Token(ApiToken),
}

impl Principal {
    /// For the audit log.
    pub fn actor(&self) -> String {
        match self {
            Principal::User(session) => session.user.username.clone(),
            Principal::Token(token) => format!("token:{}", token.id),
        }
    }
}

/// A request allowed on a project with at least role `MIN`.
pub struct Access<const MIN: u8> {
    pub principal: Principal,
    pub project: Project,
    pub role: Role,
    pub ip: String,
}

impl<const MIN: u8> Access<MIN> {
    pub fn session(&self) -> Option<&CurrentSession> {
        match &self.principal {
            Principal::User(session) => Some(session),
            Principal::Token(_) => None,
        }
    }
}

fn api_error(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": text }))).into_response()
}

impl<const MIN: u8> FromRequestParts<AppState> for Access<MIN> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let api = parts.uri.path().starts_with("/api/");
        let not_found = || {
            if api {
                api_error(StatusCode::NOT_FOUND, "no such project")
            } else {
                message(StatusCode::NOT_FOUND, "Not found", "There is no such page.")
            }
        };
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        let Some(slug) = params
            .iter()
            .find(|(key, _)| *key == "project")
            .map(|(_, value)| value.to_owned())
        else {
            return Err(not_found());
        };
        let fault = |e: allclear_store::StoreError| ServerFault(e.into()).into_response();
        let ip = client_ip(state, parts);

        let (principal, project, role) = if api {
            let Some(token) = parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
            else {
                return Err(api_error(
                    StatusCode::UNAUTHORIZED,
                    "an API token is required (Authorization: Bearer …)",
                ));
            };
            let Some(token) = state
                .store
                .token_by_hash(&auth::token_hash(token.trim()))
                .await
                .map_err(fault)?
            else {
                return Err(api_error(
                    StatusCode::UNAUTHORIZED,
                    "the API token is not valid",
                ));
            };
            let Some(project) = state.store.project_by_slug(&slug).await.map_err(fault)? else {
                return Err(not_found());
            };
            if project.id != token.project_id {
                return Err(not_found());
            }
            let role = token.role;
            (Principal::Token(token), project, role)
        } else {
            let SignedIn(session) = SignedIn::from_request_parts(parts, state).await?;
            let Some(project) = state.store.project_by_slug(&slug).await.map_err(fault)? else {
                return Err(not_found());
            };
            let Some(role) = state
                .store
                .role_of(session.user.id, project.id)
                .await
                .map_err(fault)?
            else {
                return Err(not_found());
            };
            (Principal::User(Box::new(session)), project, role)
        };
        if role < role_for(MIN) {
            return Err(if api {
                api_error(
                    StatusCode::FORBIDDEN,
                    "the token's role does not allow this",
                )
            } else {
                message(
                    StatusCode::FORBIDDEN,
                    "Not allowed",
                    "Your role in this project does not allow this.",
                )
            });
        }
        Ok(Access {
            principal,
            project,
            role,
            ip,
        })
    }
}
