//! The OpenAPI document of the resource-service, generated from the handlers'
//! `#[utoipa::path]` annotations and served at `GET /openapi.json`, and the
//! Swagger UI that shows it at `/docs/`. The UI's files are built into the
//! binary, so the page works without a network.

use actix_web::web;
use shared_claims::openapi::Conventions;
use shared_claims::{ErrorBody, Role};
use utoipa::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::routes::{health, me, projects, Project};

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The document: every route of API.md §4.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "resource-service",
        description = "An example resource server: it verifies the auth-service's access tokens \
            statelessly, with the auth-service's public keys (JWKS). Bodies are JSON. Every non-2xx \
            response, including unknown routes (404) and wrong methods (405), has the body \
            `{error, error_description}`; `error` is a stable code. A request body over 16 KiB is \
            refused with 413 `payload_too_large`."
    ),
    paths(
        me::me,
        projects::list,
        projects::create,
        projects::delete,
        health::healthz,
        health::readyz,
    ),
    components(schemas(ErrorBody, Role, Project)),
    modifiers(&Conventions),
    tags(
        (name = "api", description = "Who the bearer of the token is."),
        (name = "projects", description = "The example resource, kept in memory."),
        (name = "health", description = "Liveness and readiness probes."),
    )
)]
pub struct ApiDoc;

/// The Swagger UI at `/docs/`, which also serves the document at
/// [`OPENAPI_PATH`]. The online validator badge is off: the page fetches
/// nothing but this service's own files.
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}")
        .url(OPENAPI_PATH, ApiDoc::openapi())
        .config(Config::new([OPENAPI_PATH]).validator_url("none"))
}

/// `/docs` without the trailing slash: the page's relative links need it.
pub fn docs_redirect() -> web::Redirect {
    web::redirect("/docs", "/docs/")
}
