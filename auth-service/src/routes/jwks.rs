use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::openapi::JwkSet;
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
