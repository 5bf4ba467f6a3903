//! HTTP handlers: parse, call [`crate::service`], map the result.

// pub(crate): the OpenAPI document (crate::openapi) names their handlers.
pub(crate) mod admin;
pub(crate) mod auth;
mod bearer;
mod caller;
mod client_auth;
mod dpop;
pub(crate) mod health;
pub(crate) mod history;
pub(crate) mod introspection;
pub(crate) mod jwks;
pub(crate) mod metadata;
pub(crate) mod oauth;
mod origin;
pub(crate) mod sessions;
pub mod web_client;

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpRequest};

use crate::service::ClientInfo;
use crate::state::AppState;

pub use caller::Caller;

/// Who is logging in, for the session list and the lockout key.
fn client_info(req: &HttpRequest) -> ClientInfo {
    // X-Forwarded-For only from TRUSTED_PROXIES: a header anyone can set
    // must not decide which address a login is counted against. Both doors
    // (/auth/login and /oauth/token) use this, so they share one lockout.
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.settings.trusted_proxies.as_slice())
        .unwrap_or_default();
    let forwarded_for: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        // "?" is no address: an unreadable header counts as malformed.
        .map(|value| value.to_str().unwrap_or("?"))
        .collect();
    let ip = crate::domain::client_address(
        req.peer_addr().map(|addr| addr.ip()),
        &forwarded_for,
        trusted,
    );
    ClientInfo {
        ip: ip.map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        client_id: None,
        dpop_jkt: None,
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
            web::resource("/auth/sessions/{id}/events")
                .route(web::get().to(history::events))
                .wrap(from_fn(bearer::refuse_revoked_keys)),
        )
        .service(
            web::resource("/admin/users/{id}/sessions")
                .route(web::get().to(history::user_sessions))
                .route(web::delete().to(history::end_user_sessions))
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
            web::resource("/oauth/introspect")
                .app_data(oauth::form_config())
                .route(web::post().to(introspection::introspect)),
        )
        .service(
            web::resource("/.well-known/oauth-authorization-server")
                .route(web::get().to(metadata::metadata)),
        )
        .service(web::resource("/.well-known/jwks.json").route(web::get().to(jwks::jwks)));
}
