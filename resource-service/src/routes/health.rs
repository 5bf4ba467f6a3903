//! Liveness and readiness probes.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use shared_claims::{Authority, ErrorBody};
use utoipa::ToSchema;

use crate::error::ApiError;

/// The body of a probe's 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness.
///
/// `GET /healthz`: 200 while the process serves requests.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "health",
    responses((status = 200, description = "The process serves requests.", body = Status))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// Readiness.
///
/// `GET /readyz`: 200 once the auth-service's keys are held, 503 `not_ready`
/// before, since until then every token would be refused.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "health",
    responses(
        (status = 200, description = "The auth-service's keys are held.", body = Status),
        (status = 503, body = ErrorBody, description = "`not_ready`: the keys have not been fetched yet."),
    )
)]
pub async fn readyz(authority: web::Data<Authority>) -> Result<HttpResponse, ApiError> {
    if authority.keys().snapshot().is_empty() {
        Err(ApiError::NotReady)
    } else {
        Ok(HttpResponse::Ok().json(Status { status: "ok" }))
    }
}
