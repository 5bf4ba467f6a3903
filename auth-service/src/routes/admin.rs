use actix_web::{web, HttpResponse};
use serde::Deserialize;
use shared_claims::actix::Authenticated;
use shared_claims::Role;

use crate::error::Error;
use crate::service::{self, AppState};

#[derive(Deserialize)]
pub struct RoleChange {
    role: Role,
}

pub async fn set_role(
    state: web::Data<AppState>,
    user: Authenticated,
    path: web::Path<String>,
    body: web::Json<RoleChange>,
) -> Result<HttpResponse, Error> {
    user.require(Role::Admin)?;
    let user = service::set_role(&state, path.into_inner(), body.into_inner().role).await?;
    Ok(HttpResponse::Ok().json(user))
}
