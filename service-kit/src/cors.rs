//! CORS for the browser clients a service lists: only those origins, one
//! by one, with credentials (the refresh cookie), and nothing at all for the
//! others.

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;

use crate::request_id::REQUEST_ID_HEADER;

mod origin;
pub use origin::{normalize_origin, InvalidOrigin};

/// Removes the CORS headers that [`cors`] adds even when it did not grant the
/// request's origin (it still sends `Access-Control-Allow-Credentials`), so
/// an unlisted origin gets no CORS headers at all. Wrap it outside [`cors`]:
///
/// ```
/// use actix_web::middleware::from_fn;
/// use service_kit::cors::{cors, drop_unmatched_cors_headers};
///
/// let app = actix_web::App::new()
///     .wrap(cors(&["https://app.example.com".to_owned()]))
///     .wrap(from_fn(drop_unmatched_cors_headers));
/// # let _ = app;
/// ```
pub async fn drop_unmatched_cors_headers(
    req: ServiceRequest,
    next: Next<impl actix_web::body::MessageBody>,
) -> Result<ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        for name in [
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            header::ACCESS_CONTROL_MAX_AGE,
        ] {
            headers.remove(name);
        }
    }
    Ok(response)
}

/// The CORS policy of a service whose browser clients live at `origins`
/// (already normalised with [`normalize_origin`]). Credentials are
/// allowed, so a page can send the `HttpOnly` refresh cookie; that is why the
/// origins must be listed one by one, never `*`. Requests from other origins
/// are served without CORS headers, so browsers refuse them, while clients
/// that are not browsers are unaffected.
///
/// ```
/// let app = actix_web::App::new()
///     .wrap(service_kit::cors::cors(&["https://app.example.com".to_owned()]));
/// # let _ = app;
/// ```
pub fn cors(origins: &[String]) -> actix_cors::Cors {
    let policy = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            // RFC 9449: the proof that goes with a DPoP-bound token.
            header::HeaderName::from_static("dpop"),
            header::HeaderName::from_static(REQUEST_ID_HEADER),
        ])
        .expose_headers([
            header::WWW_AUTHENTICATE,
            header::RETRY_AFTER,
            header::HeaderName::from_static(REQUEST_ID_HEADER),
        ])
        .supports_credentials()
        .block_on_origin_mismatch(false)
        .max_age(3600);
    origins
        .iter()
        .fold(policy, |policy, origin| policy.allowed_origin(origin))
}
