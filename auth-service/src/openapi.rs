//! The OpenAPI document of the auth-service, generated from the handlers'
//! `#[utoipa::path]` annotations. The kit serves it at `GET /openapi.json`,
//! with the Swagger UI at `/docs/`.

use service_kit::openapi::Conventions;
use shared_claims::{ErrorBody, Role};
use utoipa::OpenApi;

use crate::routes::auth::User;
use crate::routes::health::PROBES;
use crate::routes::history::EventView;
use crate::routes::jwks::{Jwk, JwkSet};
use crate::routes::sessions::SessionView;
use crate::routes::{admin, auth, history, introspection, jwks, metadata, oauth, sessions};

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
        history::events,
        sessions::change_password,
        admin::set_role,
        history::user_sessions,
        history::end_user_sessions,
        oauth::token,
        oauth::revoke,
        introspection::introspect,
        metadata::metadata,
        jwks::jwks,
    ),
    components(schemas(ErrorBody, Role, User, SessionView, EventView, JwkSet, Jwk)),
    modifiers(&Conventions, &PROBES),
    tags(
        (name = "auth", description = "Register, log in, refresh, log out."),
        (name = "sessions", description = "The caller's sessions and password."),
        (name = "admin", description = "User administration; needs the admin role."),
        (name = "oauth", description = "The same engine through RFC 6749, RFC 7009 and RFC 7662."),
        (name = "discovery", description = "Public keys and server metadata."),
        (name = "health", description = "Liveness and readiness probes."),
    )
)]
pub struct ApiDoc;
