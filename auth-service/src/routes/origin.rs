//! Cookie requests from other sites (API.md §1). `SameSite=Strict` keeps
//! the refresh cookie from other *sites*, but a sibling subdomain or another
//! port of the same host is the same site: a page there could still make
//! the browser refresh or log out with the user's cookie. So a request that
//! relies on the cookie must come from this service's origin or a listed one.

use actix_web::http::header;
use actix_web::HttpRequest;
use service_kit::cors::normalize_origin;

use crate::config::Settings;
use crate::error::Error;

/// Refuses a cookie-authenticated request whose `Origin` is neither the
/// origin of `AUTH_ISSUER` nor one of `CORS_ALLOWED_ORIGINS`, or that the
/// browser marks `Sec-Fetch-Site: cross-site`. Without an `Origin` (clients
/// that are not browsers, same-origin navigations) it passes.
pub(super) fn check_cookie_request(req: &HttpRequest, settings: &Settings) -> Result<(), Error> {
    let headers = req.headers();
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site {
        return Err(Error::InvalidOrigin);
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    // `null` (sandboxed frames, some redirects) and anything unreadable
    // is no origin we know.
    let origin = origin.to_str().ok().and_then(|o| normalize_origin(o).ok());
    let allowed = origin.is_some_and(|origin| {
        issuer_origin(&settings.issuer).as_deref() == Some(origin.as_str())
            || settings.cors_allowed_origins.contains(&origin)
    });
    if allowed {
        Ok(())
    } else {
        Err(Error::InvalidOrigin)
    }
}

/// The origin of the issuer URL (which may have a path).
fn issuer_origin(issuer: &str) -> Option<String> {
    url::Url::parse(issuer)
        .ok()
        .map(|url| url.origin().ascii_serialization())
}
