use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa::ToSchema;

use crate::service;
use crate::state::AppState;

/// The public signing keys (RFC 7517).
///
/// Read from the database on each request,
/// so a `keys rotate` shows here at once; if the database is unreachable the
/// keys in memory are served. Cached briefly by clients: a verifier that meets
/// an unknown `kid` refetches anyway.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "jwks",
    tag = "discovery",
    responses(
        (status = 200, description = "Every public key whose tokens may still be alive.", body = JwkSet, headers(
            ("Cache-Control" = String, description = "`public, max-age=60`."),
        )),
    )
)]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = service::reload_keys(&state).await {
        log::warn!("serving the JWKS from memory: {e}");
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(state.keys.jwks())
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
