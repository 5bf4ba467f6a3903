//! The HTTP routes: one module per resource. Handlers parse the request,
//! call into a small store or the verified claims, and map the outcome.

use actix_web::{web, HttpResponse};

use crate::error::Error;

pub mod health;
pub mod me;
pub mod projects;

pub use projects::{Project, ProjectStore};

/// Registers the routes of API.md §4 that are this service's own; the
/// probes, `/metrics` and the documentation are the kit's
/// (`service_kit::Plumbing`). Each path is a resource, so a wrong method
/// answers 405 with the `Allow` header actix-web derives from its routes.
/// With `session_checked`, deleting a project also asks the auth-service
/// whether the token's session is live (the app then holds the
/// `IntrospectionClient`).
pub fn configure(cfg: &mut web::ServiceConfig, session_checked: bool) {
    let delete = if session_checked {
        web::delete().to(projects::delete_session_checked)
    } else {
        web::delete().to(projects::delete)
    };
    cfg.service(web::resource("/api/me").route(web::get().to(me::me)))
        .service(
            web::resource("/api/projects")
                .route(web::get().to(projects::list))
                .route(web::post().to(projects::create)),
        )
        .service(web::resource("/api/projects/{id}").route(delete));
}

/// The app's fallback for paths no route matches.
pub async fn not_found() -> Result<HttpResponse, Error> {
    Err(Error::NotFound)
}
