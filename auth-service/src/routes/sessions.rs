use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared_claims::ErrorBody;
use utoipa::ToSchema;

use super::Caller;
use crate::domain::{Session, SessionId};
use crate::error::Error;
use crate::service;
use crate::state::AppState;

/// A session as `GET /auth/sessions` shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Session)]
pub struct SessionView {
    /// The session id (the `sid` of its access tokens).
    #[schema(format = Uuid)]
    pub id: String,
    /// The login time.
    pub created_at: DateTime<Utc>,
    /// The last login or refresh.
    pub last_used_at: DateTime<Utc>,
    /// When its current refresh token expires.
    pub expires_at: DateTime<Utc>,
    /// The `User-Agent` of the login.
    pub user_agent: Option<String>,
    /// The client address of the login.
    pub ip: Option<String>,
    /// Whether the caller's own token belongs to it.
    pub current: bool,
    /// When it ended; `null` while it is active.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended; `null` while it is active.
    #[schema(value_type = Option<String>, example = "reuse_detected")]
    pub end_reason: Option<String>,
}

impl From<Session> for SessionView {
    fn from(session: Session) -> Self {
        SessionView {
            id: session.id.to_string(),
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            expires_at: session.expires_at,
            user_agent: session.user_agent,
            ip: session.ip,
            current: session.current,
            ended_at: session.ended_at,
            end_reason: session.end_reason,
        }
    }
}

/// The query of `GET /auth/sessions`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// `active` (the default) or `all`: also the sessions ended within
    /// `SESSION_HISTORY_TTL`, with `ended_at` and `end_reason`.
    #[param(example = "all")]
    state: Option<String>,
}

/// The caller's sessions: the active ones, or with `?state=all` also those
/// ended within their history.
#[utoipa::path(
    get,
    path = "/auth/sessions",
    operation_id = "list_sessions",
    tag = "sessions",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "Active sessions (`ended_at` and `end_reason` null), then with \
            `?state=all` the ended ones, most recently ended first; `current` marks the caller's own.", body = Vec<SessionView>),
        (status = 400, body = ErrorBody, description = "`invalid_request`: `state` is neither `active` nor `all`."),
        (status = 401, body = ErrorBody, description = "No access token (`unauthorized`), or a refused one \
            (`invalid_token`, also once its session has ended).", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"auth-service\"`, with \
                `error=\"invalid_token\"` and `error_description` for a refused token (RFC 6750); \
                `DPoP error=\"...\", algs=\"ES256 EdDSA\"` for a DPoP-bound token presented as `Bearer` \
                or without a valid proof by its key, or an unbound token under `DPoP` (API.md §7)."),
        )),
        (status = 503, body = ErrorBody, description = "`not_ready`: the database cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, Error> {
    let history = match query.into_inner().state.as_deref() {
        None | Some("active") => false,
        Some("all") => true,
        Some(_) => return Err(Error::InvalidRequest("state is `active` or `all`".into())),
    };
    let (user, current) = (caller.user.id, Some(caller.session_id));
    let sessions = service::list_sessions(&state, user, current, history).await?;
    let views: Vec<SessionView> = sessions.into_iter().map(SessionView::from).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Revokes one of the caller's sessions.
#[utoipa::path(
    delete,
    path = "/auth/sessions/{id}",
    operation_id = "revoke_session",
    tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The session id.")),
    responses(
        (status = 204, description = "The session is revoked."),
        (status = 401, body = ErrorBody, description = "No access token (`unauthorized`), or a refused one \
            (`invalid_token`, also once its session has ended).", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"auth-service\"`, with \
                `error=\"invalid_token\"` and `error_description` for a refused token (RFC 6750); \
                `DPoP error=\"...\", algs=\"ES256 EdDSA\"` for a DPoP-bound token presented as `Bearer` \
                or without a valid proof by its key, or an unbound token under `DPoP` (API.md §7)."),
        )),
        (status = 404, body = ErrorBody, description = "`not_found`: no such session, or another user's."),
        (status = 503, body = ErrorBody, description = "`not_ready`: the database cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    // Ids are UUIDs (API.md §1): anything else names no session, and
    // arbitrary bytes never reach a query.
    let session_id = SessionId::parse(&path.into_inner()).map_err(|_| Error::NotFound)?;
    let client = super::client_info(&req);
    service::revoke_session(&state, caller.user.id, session_id, client).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The body of `POST /auth/password`.
#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    /// The password now.
    current_password: String,
    /// 8 characters to 72 bytes, not one of the 10,000 most common
    /// passwords.
    #[schema(min_length = 8)]
    new_password: String,
}

/// Changes the caller's password; every *other* session is revoked.
///
/// A wrong current password counts against the login lockout of the
/// account's email from this address.
#[utoipa::path(
    post,
    path = "/auth/password",
    operation_id = "change_password",
    tag = "sessions",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; the caller's other sessions are revoked."),
        (status = 400, body = ErrorBody, description = "`weak_password` (under 8 characters, over 72 bytes, \
            or one of the 10,000 most common passwords in any case), or `invalid_request` (a malformed body)."),
        (status = 401, body = ErrorBody, description = "`invalid_credentials` (the current password is wrong), \
            or no access token (`unauthorized`) or a refused one (`invalid_token`), which come with \
            `WWW-Authenticate`."),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: the body is over 16 KiB."),
        (status = 415, body = ErrorBody, description = "`unsupported_media_type`: the body is not `application/json`."),
        (status = 429, body = ErrorBody, description = "`too_many_attempts`: a wrong current password is a \
            failed login for the account's email from this address, under the same lockout as `/auth/login`.", headers(
            ("Retry-After" = u64, description = "Whole seconds until the lockout ends."),
        )),
        (status = 503, body = ErrorBody, description = "`temporarily_unavailable`: `LOGIN_QUEUE_LIMIT` password \
            checks are already waiting, answered at once (API.md §3 \"Overload\"); or `not_ready`: the database \
            cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<PasswordChange>,
) -> Result<HttpResponse, Error> {
    let PasswordChange {
        current_password,
        new_password,
    } = body.into_inner();
    let client = super::client_info(&req);
    service::change_password(
        &state,
        caller.user.id,
        caller.session_id,
        current_password,
        new_password,
        client,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
