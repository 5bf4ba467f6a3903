//! HTTP handlers: parse, call [`crate::service`], map the result.

// pub(crate): the OpenAPI document (crate::openapi) names their handlers.
pub(crate) mod admin;
pub(crate) mod auth;
mod bearer;
pub(crate) mod health;
pub(crate) mod jwks;
pub(crate) mod oauth;
pub(crate) mod sessions;
pub mod web_client;

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpRequest};

use crate::domain::{SessionId, UserId};
use crate::error::Error;
use crate::service::ClientInfo;

/// The user and session a verified access token speaks for. This service
/// signs only UUIDs, so anything else names no account.
fn caller(user: shared_claims::actix::Authenticated) -> Result<(UserId, SessionId), Error> {
    let claims = user.into_claims();
    let user = UserId::parse(&claims.sub).map_err(|_| Error::UnknownUser)?;
    let session = SessionId::parse(&claims.sid).map_err(|_| Error::UnknownUser)?;
    Ok((user, session))
}

/// Who is logging in, for the session list and the lockout key.
fn client_info(req: &HttpRequest) -> ClientInfo {
    ClientInfo {
        // The socket's peer, not X-Forwarded-For: a header anyone can set must
        // not decide which address a login is counted against. Both doors
        // (/auth/login and /oauth/token) use this, so they share one lockout.
        ip: req.peer_addr().map(|addr| addr.ip().to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

/// Registers the auth-service's own routes; the probes, `/metrics` and the
/// documentation are the kit's (`service_kit::Plumbing`). Each path is a
/// resource, so a known path with the wrong method answers 405 rather than
/// 404, with the `Allow` header actix-web derives from its routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/register").route(web::post().to(auth::register)))
        .service(web::resource("/auth/login").route(web::post().to(auth::login)))
        .service(web::resource("/auth/refresh").route(web::post().to(auth::refresh)))
        .service(web::resource("/auth/logout").route(web::post().to(auth::logout)))
        .service(
            web::resource("/auth/logout-all")
                .route(web::post().to(auth::logout_all))
                .wrap(from_fn(bearer::refuse_revoked_keys)),
        )
        .service(
            web::resource("/auth/me")
                .route(web::get().to(auth::me))
                .wrap(from_fn(bearer::refuse_revoked_keys)),
        )
        .service(
            web::resource("/auth/sessions")
                .route(web::get().to(sessions::list))
                .wrap(from_fn(bearer::refuse_revoked_keys)),
        )
        .service(
            web::resource("/auth/sessions/{id}")
                .route(web::delete().to(sessions::revoke))
                .wrap(from_fn(bearer::refuse_revoked_keys)),
        )
        .service(
            web::resource("/auth/password")
                .route(web::post().to(sessions::change_password))
                .wrap(from_fn(bearer::refuse_revoked_keys)),
        )
        .service(
            web::resource("/admin/users/{id}/role")
                .route(web::put().to(admin::set_role))
                .wrap(from_fn(bearer::refuse_revoked_keys)),
        )
        .service(
            web::resource("/oauth/token")
                .app_data(oauth::form_config())
                .route(web::post().to(oauth::token)),
        )
        .service(
            web::resource("/oauth/revoke")
                .app_data(oauth::form_config())
                .route(web::post().to(oauth::revoke)),
        )
        .service(
            web::resource("/.well-known/oauth-authorization-server")
                .route(web::get().to(oauth::metadata)),
        )
        .service(web::resource("/.well-known/jwks.json").route(web::get().to(jwks::jwks)));
}
