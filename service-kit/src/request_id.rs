//! Request ids: every request gets one, and every response carries it, so a
//! client's report can be matched with the log.

use std::fmt;

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;

/// The header that carries a request's id, in the request (optional) and in
/// every response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// [`REQUEST_ID_HEADER`] parsed once: looking a header up by a `&str`
/// parses the name again on every request.
pub(crate) static REQUEST_ID_NAME: header::HeaderName =
    header::HeaderName::from_static(REQUEST_ID_HEADER);

/// Longest incoming request id that is kept.
const REQUEST_ID_MAX_LEN: usize = 64;

/// The id of the request being served, for correlating a client's report
/// with the log. [`request_id`] puts it in the request's extensions.
///
/// ```
/// use actix_web::http::header::HeaderValue;
/// use service_kit::request_id::RequestId;
///
/// let kept = RequestId::from_header(Some(&HeaderValue::from_static("abc-123_x")));
/// assert_eq!(kept.as_str(), "abc-123_x");
/// let replaced = RequestId::from_header(Some(&HeaderValue::from_static("a b")));
/// assert_eq!(replaced.as_str().len(), 36); // a UUID v4
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The incoming id if it is a sane token (1 to 64 characters of
    /// `[A-Za-z0-9_-]`, so it cannot forge log lines or flood them), else a
    /// new UUID v4.
    ///
    /// ```
    /// use service_kit::request_id::RequestId;
    /// assert_eq!(RequestId::from_header(None).as_str().len(), 36);
    /// ```
    pub fn from_header(value: Option<&HeaderValue>) -> Self {
        let incoming = value
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_sane_request_id(v));
        match incoming {
            Some(id) => RequestId(id.to_owned()),
            None => RequestId(uuid::Uuid::new_v4().to_string()),
        }
    }

    /// The id.
    ///
    /// ```
    /// use service_kit::request_id::RequestId;
    /// assert!(!RequestId::from_header(None).as_str().is_empty());
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_sane_request_id(id: &str) -> bool {
    (1..=REQUEST_ID_MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Gives every request a [`RequestId`] (the client's `X-Request-Id` when it is
/// sane, else a new one), stores it in the request's extensions and sends it
/// back in the response's `X-Request-Id`, error responses included.
///
/// ```
/// use actix_web::middleware::from_fn;
///
/// let app = actix_web::App::new().wrap(from_fn(service_kit::request_id::request_id));
/// # let _ = app;
/// ```
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl actix_web::body::MessageBody>,
) -> Result<ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let id = RequestId::from_header(req.headers().get(&REQUEST_ID_NAME));
    req.extensions_mut().insert(id.clone());
    // Like actix's `DefaultHeaders`, an `Err` from inside passes through
    // untouched: the request cannot be kept aside to build a response from it
    // (routing needs it unshared), and handlers' and middlewares' errors are
    // responses by the time they get here anyway.
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response
            .headers_mut()
            .insert(REQUEST_ID_NAME.clone(), value);
    }
    Ok(response)
}
