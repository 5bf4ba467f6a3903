use actix_web::{web, HttpResponse};
use diesel::RunQueryDsl;
use serde_json::json;

use crate::db;
use crate::error::Error;
use crate::service::AppState;

/// 200 while the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// 200 when the database answers, else 503 `not_ready`.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    db::run(&state.pool, |conn| {
        diesel::sql_query("SELECT 1").execute(conn)
    })
    .await
    .map_err(|e| Error::Unavailable(e.to_string()))?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}
