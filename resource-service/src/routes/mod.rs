//! The HTTP routes: one module per resource. Handlers parse the request,
//! call into a small store or the verified claims, and map the outcome.

use actix_web::{web, HttpResponse};

use crate::error::ApiError;

pub mod health;
pub mod me;
pub mod projects;

pub use projects::{Project, ProjectStore};

/// Registers every route of API.md §4.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/healthz")
            .route(web::get().to(health::healthz))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/readyz")
            .route(web::get().to(health::readyz))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/metrics")
            .route(web::get().to(crate::metrics::metrics))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/api/me")
            .route(web::get().to(me::me))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/api/projects")
            .route(web::get().to(projects::list))
            .route(web::post().to(projects::create))
            .default_service(method_not_allowed("GET, POST")),
    )
    .service(
        web::resource("/api/projects/{id}")
            .route(web::delete().to(projects::delete))
            .default_service(method_not_allowed("DELETE")),
    )
    .service(crate::openapi::swagger_ui())
    .service(crate::openapi::docs_redirect());
}

/// The fallback of a resource whose path matched but whose method did not.
fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move || async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow }) })
}

/// The app's fallback for paths no route matches.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}
