use actix_web::{web, HttpResponse};
use serde::Deserialize;
use shared_claims::actix::Authenticated;

use crate::error::Error;
use crate::service::{self, AppState};

pub async fn list(state: web::Data<AppState>, user: Authenticated) -> Result<HttpResponse, Error> {
    let claims = user.into_claims();
    let sessions = service::list_sessions(&state, claims.sub, claims.sid).await?;
    Ok(HttpResponse::Ok().json(sessions))
}

pub async fn revoke(
    state: web::Data<AppState>,
    user: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    service::revoke_session(&state, user.into_claims().sub, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    state: web::Data<AppState>,
    user: Authenticated,
    body: web::Json<PasswordChange>,
) -> Result<HttpResponse, Error> {
    let claims = user.into_claims();
    let PasswordChange {
        current_password,
        new_password,
    } = body.into_inner();
    service::change_password(
        &state,
        claims.sub,
        claims.sid,
        current_password,
        new_password,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
