//! The OpenAPI document of the resource-service, generated from the
//! handlers' `#[utoipa::path]` annotations. The kit serves it at
//! `GET /openapi.json`, with the Swagger UI at `/docs/`.

use service_kit::openapi::Conventions;
use shared_claims::{ErrorBody, Role, TokenRole};
use utoipa::OpenApi;

use crate::routes::health::PROBES;
use crate::routes::{me, projects, Project};

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
    ),
    components(schemas(ErrorBody, Role, TokenRole, Project)),
    modifiers(&Conventions, &PROBES),
    tags(
        (name = "api", description = "Who the bearer of the token is."),
        (name = "projects", description = "The example resource, kept in memory."),
        (name = "health", description = "Liveness and readiness probes."),
    )
)]
pub struct ApiDoc;
