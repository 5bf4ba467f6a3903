//! Session history (API.md §2): a session's events, and the admin routes
//! over a user's sessions.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use shared_claims::{ErrorBody, Role};
use utoipa::ToSchema;

use super::sessions::SessionView;
use super::Caller;
use crate::domain::{SessionEvent, SessionId, UserId};
use crate::error::Error;
use crate::service;
use crate::state::AppState;

/// One event of a session.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SessionEvent)]
pub struct EventView {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// `login`, `refresh`, `refresh_in_grace`, `reuse_detected` or `ended`.
    #[serde(rename = "type")]
    #[schema(example = "refresh")]
    pub kind: String,
    /// The client address of the request that caused it; `null` for an
    /// expiry the service noticed itself.
    pub ip: Option<String>,
    /// The `User-Agent` of that request.
    pub user_agent: Option<String>,
    /// On `ended` only: `logout`, `revoked`, `reuse_detected`,
    /// `password_changed` or `expired`.
    #[schema(example = "reuse_detected")]
    pub reason: Option<String>,
}

impl From<SessionEvent> for EventView {
    fn from(event: SessionEvent) -> Self {
        EventView {
            at: event.at,
            kind: event.kind,
            ip: event.ip,
            user_agent: event.user_agent,
            reason: event.reason,
        }
    }
}

/// The events of one of the caller's sessions, oldest first.
#[utoipa::path(
    get,
    path = "/auth/sessions/{id}/events",
    operation_id = "session_events",
    tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The session id.")),
    responses(
        (status = 200, description = "Oldest first; a session keeps its newest 100 events.", body = Vec<EventView>),
        (status = 401, body = ErrorBody, description = "No access token (`unauthorized`), or a refused one \
            (`invalid_token`, also once its session has ended).", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"auth-service\"`, with \
                `error=\"invalid_token\"` and `error_description` for a refused token (RFC 6750); \
                `DPoP error=\"...\", algs=\"ES256 EdDSA\"` for a DPoP-bound token presented as `Bearer` \
                or without a valid proof by its key, or an unbound token under `DPoP` (API.md §7)."),
        )),
        (status = 404, body = ErrorBody, description = "`not_found`: no such session (or purged), or another user's."),
        (status = 503, body = ErrorBody, description = "`not_ready`: the database cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn events(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    // Ids are UUIDs (API.md §1): anything else names no session.
    let session_id = SessionId::parse(&path.into_inner()).map_err(|_| Error::NotFound)?;
    let events = service::session_events(&state, caller.user.id, session_id).await?;
    let views: Vec<EventView> = events.into_iter().map(EventView::from).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// A user's sessions, active and ended within their history.
#[utoipa::path(
    get,
    path = "/admin/users/{id}/sessions",
    operation_id = "admin_user_sessions",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user id.")),
    responses(
        (status = 200, description = "As `GET /auth/sessions?state=all` shows them; `current` is false.", body = Vec<SessionView>),
        (status = 401, body = ErrorBody, description = "No access token (`unauthorized`), or a refused one \
            (`invalid_token`, also once its session has ended).", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"auth-service\"`, with \
                `error=\"invalid_token\"` and `error_description` for a refused token (RFC 6750); \
                `DPoP error=\"...\", algs=\"ES256 EdDSA\"` for a DPoP-bound token presented as `Bearer` \
                or without a valid proof by its key, or an unbound token under `DPoP` (API.md §7)."),
        )),
        (status = 403, body = ErrorBody, description = "`insufficient_role`: the caller is not an admin now \
            (the role is read from the database, not from the token)."),
        (status = 404, body = ErrorBody, description = "`not_found`: no such user."),
        (status = 503, body = ErrorBody, description = "`not_ready`: the database cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn user_sessions(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    caller.require(Role::Admin)?;
    let user_id = UserId::parse(&path.into_inner()).map_err(|_| Error::NotFound)?;
    let sessions = service::user_sessions(&state, user_id).await?;
    let views: Vec<SessionView> = sessions.into_iter().map(SessionView::from).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Ends every active session of a user (incident response).
#[utoipa::path(
    delete,
    path = "/admin/users/{id}/sessions",
    operation_id = "admin_end_user_sessions",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user id.")),
    responses(
        (status = 204, description = "Every active session of the user has ended, as `revoked`."),
        (status = 401, body = ErrorBody, description = "No access token (`unauthorized`), or a refused one \
            (`invalid_token`, also once its session has ended).", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"auth-service\"`, with \
                `error=\"invalid_token\"` and `error_description` for a refused token (RFC 6750); \
                `DPoP error=\"...\", algs=\"ES256 EdDSA\"` for a DPoP-bound token presented as `Bearer` \
                or without a valid proof by its key, or an unbound token under `DPoP` (API.md §7)."),
        )),
        (status = 403, body = ErrorBody, description = "`insufficient_role`: the caller is not an admin now \
            (the role is read from the database, not from the token)."),
        (status = 404, body = ErrorBody, description = "`not_found`: no such user."),
        (status = 503, body = ErrorBody, description = "`not_ready`: the database cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn end_user_sessions(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    caller.require(Role::Admin)?;
    let user_id = UserId::parse(&path.into_inner()).map_err(|_| Error::NotFound)?;
    service::end_user_sessions(&state, user_id, super::client_info(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}
