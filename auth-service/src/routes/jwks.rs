use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpResponse};
use utoipa::ToSchema;

use crate::service;
use crate::state::AppState;

/// The public signing keys (RFC 7517).
///
/// Served from memory: the keys are reloaded periodically, and a request may
/// reload them itself within a ration (a burst, then one a second, shared by
/// concurrent requests), so a `keys rotate` shows here at once while a flood
/// of requests cannot take the database from logins. Clients may cache the
/// document as long as the reload interval: a verifier that meets an unknown
/// `kid` refetches anyway.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "jwks",
    tag = "discovery",
    responses(
        (status = 200, description = "Every public key whose tokens may still be alive.", body = JwkSet, headers(
            ("Cache-Control" = String, description = "`public, max-age=<seconds>`: the interval at which the service reloads its keys."),
        )),
    )
)]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    service::check_keys_for_jwks(&state).await;
    let max_age = state.settings.key_reload_interval.as_secs();
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .body(state.keys.jwks_body())
}

/// The body of `GET /.well-known/jwks.json` (RFC 7517 §5). The handler
/// serialises `jsonwebtoken`'s `JwkSet`; this type only describes it.
#[derive(Debug, ToSchema)]
#[expect(dead_code, reason = "only its schema is used")]
pub struct JwkSet {
    /// Every public key whose tokens may still be alive.
    pub keys: Vec<Jwk>,
}

/// One Ed25519 public key (RFC 8037 §2).
#[derive(Debug, ToSchema)]
#[expect(dead_code, reason = "only its schema is used")]
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
