use actix_web::{web, HttpResponse};
use serde::Deserialize;
use shared_claims::{ErrorBody, Role};
use utoipa::ToSchema;

use super::auth::User;
use super::Caller;
use crate::domain::UserId;
use crate::error::Error;
use crate::service;
use crate::state::AppState;

/// The body of `PUT /admin/users/{id}/role`.
#[derive(Deserialize, ToSchema)]
pub struct RoleChange {
    role: Role,
}

/// Sets a user's role; it shows in their next access token, at their next refresh.
#[utoipa::path(
    put,
    path = "/admin/users/{id}/role",
    operation_id = "set_role",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user id.")),
    request_body = RoleChange,
    responses(
        (status = 200, description = "The user, with the new role.", body = User),
        (status = 400, body = ErrorBody, description = "`invalid_request`: a malformed body or an unknown role."),
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
        (status = 413, body = ErrorBody, description = "`payload_too_large`: the body is over 16 KiB."),
        (status = 415, body = ErrorBody, description = "`unsupported_media_type`: the body is not `application/json`."),
        (status = 503, body = ErrorBody, description = "`not_ready`: the database cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn set_role(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<RoleChange>,
) -> Result<HttpResponse, Error> {
    // The role the database holds now, not the token's (API.md §3).
    caller.require(Role::Admin)?;
    // Ids are UUIDs (API.md §1): anything else names no user.
    let user_id = UserId::parse(&path.into_inner()).map_err(|_| Error::NotFound)?;
    let user = service::set_role(&state, user_id, body.into_inner().role).await?;
    Ok(HttpResponse::Ok().json(User::from(user)))
}
