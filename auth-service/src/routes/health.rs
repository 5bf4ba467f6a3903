use actix_web::{web, HttpResponse};
use diesel::RunQueryDsl;
use serde::Serialize;
use shared_claims::ErrorBody;
use utoipa::ToSchema;

use crate::db;
use crate::error::Error;
use crate::state::AppState;

/// The body of a probe's 200.
#[derive(Serialize, ToSchema)]
pub struct Status {
    /// `ok` (liveness) or `ready` (readiness).
    #[schema(example = "ok")]
    status: &'static str,
}

/// 200 while the process runs.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "health",
    responses((status = 200, description = "The process runs.", body = Status))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// 200 when the database answers, else 503 `not_ready`.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "health",
    responses(
        (status = 200, description = "The database answers.", body = Status),
        (status = 503, body = ErrorBody, description = "`not_ready`: the database cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    db::run(&state.pool, |conn| {
        diesel::sql_query("SELECT 1").execute(conn)
    })
    .await
    .map_err(|e| Error::Unavailable(e.to_string()))?;
    Ok(HttpResponse::Ok().json(Status { status: "ready" }))
}
