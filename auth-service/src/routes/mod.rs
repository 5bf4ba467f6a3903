//! HTTP handlers: parse, call [`crate::service`], map the result.

mod admin;
mod auth;
mod health;
mod jwks;
mod sessions;

use actix_web::web;

/// Registers every route of the auth-service. Each path is a resource, so a
/// known path with the wrong method answers 405 rather than 404.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/register").route(web::post().to(auth::register)))
        .service(web::resource("/auth/login").route(web::post().to(auth::login)))
        .service(web::resource("/auth/refresh").route(web::post().to(auth::refresh)))
        .service(web::resource("/auth/logout").route(web::post().to(auth::logout)))
        .service(web::resource("/auth/logout-all").route(web::post().to(auth::logout_all)))
        .service(web::resource("/auth/me").route(web::get().to(auth::me)))
        .service(web::resource("/auth/sessions").route(web::get().to(sessions::list)))
        .service(web::resource("/auth/sessions/{id}").route(web::delete().to(sessions::revoke)))
        .service(web::resource("/auth/password").route(web::post().to(sessions::change_password)))
        .service(web::resource("/admin/users/{id}/role").route(web::put().to(admin::set_role)))
        .service(web::resource("/.well-known/jwks.json").route(web::get().to(jwks::jwks)))
        .service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)));
}
