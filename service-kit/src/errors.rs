//! Every non-2xx answer has the body `{error, error_description}` of
//! API.md §1: [`json_errors`] gives it to the answers the framework makes
//! (404, 405, 413 …), and [`json_config`] maps a refused JSON body to the
//! service's own error type, so no extractor answers in plain text.

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PayloadError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::web;
use shared_claims::ErrorBody;

use crate::MAX_BODY_BYTES;

/// Middleware that gives every 4xx/5xx response without a JSON body the
/// `{error, error_description}` body of API.md §1. Errors the application
/// already answered in JSON pass through untouched.
///
/// ```
/// let app = actix_web::App::new().wrap(service_kit::errors::json_errors());
/// # let _ = app;
/// ```
pub fn json_errors<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(to_json_error)
}

fn to_json_error<B: 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let body = error_body_for_status(status);
    let (req, mut response) = res.into_parts();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let json = serde_json::to_string(&body).unwrap_or_default();
    let response = response.set_body(BoxBody::new(json));
    let response: ServiceResponse<EitherBody<B>> =
        ServiceResponse::new(req, response).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(response))
}

/// The error code a bare status stands for.
///
/// ```
/// use actix_web::http::StatusCode;
/// let body = service_kit::errors::error_body_for_status(StatusCode::PAYLOAD_TOO_LARGE);
/// assert_eq!(body.error, "payload_too_large");
/// ```
pub fn error_body_for_status(status: StatusCode) -> ErrorBody {
    let code = match status.as_u16() {
        400 => "invalid_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        408 => "request_timeout",
        411 => "length_required",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        429 => "too_many_requests",
        431 => "request_header_fields_too_large",
        503 => "not_ready",
        s if s >= 500 => "internal_error",
        _ => "invalid_request",
    };
    let description = status
        .canonical_reason()
        .unwrap_or("request failed")
        .to_owned();
    ErrorBody::new(code, description)
}

/// Why a JSON request body was refused, in API.md §1's terms. A service
/// turns it into its own error type (`impl From<BodyError> for Error`).
///
/// ```
/// use actix_web::error::JsonPayloadError;
/// use service_kit::errors::BodyError;
///
/// assert_eq!(BodyError::from(JsonPayloadError::ContentType), BodyError::UnsupportedMediaType);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// 413 `payload_too_large`: over [`MAX_BODY_BYTES`].
    TooLarge,
    /// 415 `unsupported_media_type`: not `application/json`.
    UnsupportedMediaType,
    /// 400 `invalid_request`: not JSON, or not the expected shape; the text
    /// says which.
    Invalid(String),
}

impl From<JsonPayloadError> for BodyError {
    fn from(err: JsonPayloadError) -> Self {
        match err {
            JsonPayloadError::Overflow { .. }
            | JsonPayloadError::OverflowKnownLength { .. }
            | JsonPayloadError::Payload(PayloadError::Overflow) => BodyError::TooLarge,
            JsonPayloadError::ContentType => BodyError::UnsupportedMediaType,
            JsonPayloadError::Deserialize(e) => {
                BodyError::Invalid(format!("invalid JSON body: {e}"))
            }
            other => BodyError::Invalid(format!("invalid body: {other}")),
        }
    }
}

/// The JSON extractor's settings: the [`MAX_BODY_BYTES`] limit, and its
/// failures answered as the service's error `E`, so the framework never
/// answers a bad body with a text of its own.
///
/// ```
/// use actix_web::{web, App, HttpResponse, ResponseError};
/// use service_kit::errors::{json_config, BodyError};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("bad body")]
/// struct Error(BodyError);
/// impl ResponseError for Error {}
/// impl From<BodyError> for Error {
///     fn from(e: BodyError) -> Self {
///         Error(e)
///     }
/// }
///
/// let app = App::new().app_data(json_config::<Error>());
/// # let _ = app;
/// ```
pub fn json_config<E>() -> web::JsonConfig
where
    E: From<BodyError> + Into<actix_web::Error> + 'static,
{
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(|err, _req| E::from(BodyError::from(err)).into())
}
