use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::service::AppState;

/// The public signing keys (RFC 7517). Cached briefly by clients: a verifier
/// that meets an unknown `kid` refetches anyway.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(state.keys.jwks())
}
