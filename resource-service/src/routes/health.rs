//! Liveness and readiness probes.

use actix_web::{web, HttpResponse};
use serde_json::json;
use shared_claims::Authority;

use crate::error::ApiError;

/// `GET /healthz`: 200 while the process serves requests.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 once the auth-service's keys are held, 503 `not_ready`
/// before, since until then every token would be refused.
pub async fn readyz(authority: web::Data<Authority>) -> Result<HttpResponse, ApiError> {
    if authority.keys().snapshot().is_empty() {
        Err(ApiError::NotReady)
    } else {
        Ok(HttpResponse::Ok().json(json!({ "status": "ok" })))
    }
}
