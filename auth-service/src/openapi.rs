//! The OpenAPI document of the auth-service, generated from the handlers'
//! `#[utoipa::path]` annotations and served at `GET /openapi.json`, and the
//! Swagger UI that shows it at `/docs/`. The UI's files are built into the
//! binary, so the page works without a network.

use actix_web::web;
use shared_claims::openapi::Conventions;
use shared_claims::{ErrorBody, Role};
use utoipa::{OpenApi, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::routes::{admin, auth, health, jwks, oauth, sessions};
use crate::routes::{auth::User, sessions::SessionView};

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The document: every route of API.md §3.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "auth-service",
        description = "The authorization server: users, sessions, rotating refresh tokens and \
            EdDSA-signed access tokens. Bodies are JSON, except the `/oauth/*` requests, which are \
            `application/x-www-form-urlencoded`. Every non-2xx response, including unknown routes \
            (404) and wrong methods (405), has the body `{error, error_description}`; `error` is a \
            stable code. A request body over 16 KiB is refused with 413 `payload_too_large`."
    ),
    paths(
        auth::register,
        auth::login,
        auth::refresh,
        auth::logout,
        auth::logout_all,
        auth::me,
        sessions::list,
        sessions::revoke,
        sessions::change_password,
        admin::set_role,
        oauth::token,
        oauth::revoke,
        oauth::metadata,
        jwks::jwks,
        health::healthz,
        health::readyz,
    ),
    components(schemas(ErrorBody, Role, User, SessionView, JwkSet, Jwk)),
    modifiers(&Conventions),
    tags(
        (name = "auth", description = "Register, log in, refresh, log out."),
        (name = "sessions", description = "The caller's sessions and password."),
        (name = "admin", description = "User administration; needs the admin role."),
        (name = "oauth", description = "The same engine through RFC 6749 and RFC 7009."),
        (name = "discovery", description = "Public keys and server metadata."),
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

/// The body of `GET /.well-known/jwks.json` (RFC 7517 §5). The handler
/// serialises `jsonwebtoken`'s `JwkSet`; this type only describes it.
#[derive(Debug, ToSchema)]
pub struct JwkSet {
    /// Every public key whose tokens may still be alive.
    pub keys: Vec<Jwk>,
}

/// One Ed25519 public key (RFC 8037 §2).
#[derive(Debug, ToSchema)]
pub struct Jwk {
    /// `OKP`.
    #[schema(example = "OKP")]
    pub kty: String,
    /// `Ed25519`.
    #[schema(example = "Ed25519")]
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// The key's id, which tokens name in their `kid` header.
    pub kid: String,
    /// `EdDSA`.
    #[schema(example = "EdDSA")]
    pub alg: String,
    /// `sig`.
    #[schema(rename = "use", example = "sig")]
    pub use_: String,
}
