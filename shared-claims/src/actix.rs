//! actix-web glue: the [`Authenticated`] extractor, [`Rejection`] (the RFC 6750
//! response), and [`json_errors`], which gives framework-made errors (404, 405,
//! 413 …) the same JSON body as the application's own.
//!
//! ```
//! use actix_web::{web, App, HttpResponse};
//! use shared_claims::actix::{json_errors, Authenticated, Rejection};
//! use shared_claims::{Authority, KeyStore, Role, Verifier};
//!
//! async fn me(user: Authenticated) -> HttpResponse {
//!     HttpResponse::Ok().json(user.claims())
//! }
//!
//! async fn admin_only(user: Authenticated) -> Result<HttpResponse, Rejection> {
//!     user.require(Role::Admin)?;
//!     Ok(HttpResponse::NoContent().finish())
//! }
//!
//! let authority = Authority::new(
//!     "resource-service",
//!     Verifier::new("http://127.0.0.1:8080", "resource-service", std::time::Duration::from_secs(30)),
//!     KeyStore::default(),
//! );
//! let app = App::new()
//!     .wrap(json_errors())
//!     .app_data(web::Data::new(authority))
//!     .route("/api/me", web::get().to(me))
//!     .route("/admin", web::post().to(admin_only));
//! # let _ = app;
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{Payload, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::{AccessClaims, AuthError, Authority, ErrorBody, Role};

mod access_log;
pub use access_log::{flush_access_log, AccessLog, AccessLogService, ACCESS_LOG_TARGET};

/// A request whose bearer token was verified. Extracting it needs a
/// `web::Data<Authority>` in the app.
///
/// ```
/// use actix_web::HttpResponse;
/// use shared_claims::actix::Authenticated;
///
/// async fn whoami(user: Authenticated) -> HttpResponse {
///     HttpResponse::Ok().body(user.claims().sub.clone())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated {
    claims: AccessClaims,
}

impl Authenticated {
    /// The verified claims.
    ///
    /// ```
    /// use actix_web::HttpResponse;
    /// use shared_claims::actix::Authenticated;
    ///
    /// async fn me(user: Authenticated) -> HttpResponse {
    ///     HttpResponse::Ok().json(user.claims())
    /// }
    /// ```
    pub fn claims(&self) -> &AccessClaims {
        &self.claims
    }

    /// Takes the verified claims.
    ///
    /// ```
    /// use shared_claims::{actix::Authenticated, AccessClaims};
    ///
    /// async fn subject(user: Authenticated) -> String {
    ///     let claims: AccessClaims = user.into_claims();
    ///     claims.sub
    /// }
    /// ```
    pub fn into_claims(self) -> AccessClaims {
        self.claims
    }

    /// Refuses with `403 insufficient_role` unless the token's role satisfies `required`.
    ///
    /// ```
    /// use actix_web::HttpResponse;
    /// use shared_claims::actix::{Authenticated, Rejection};
    /// use shared_claims::Role;
    ///
    /// async fn delete(user: Authenticated) -> Result<HttpResponse, Rejection> {
    ///     user.require(Role::Admin)?;
    ///     Ok(HttpResponse::NoContent().finish())
    /// }
    /// ```
    pub fn require(&self, required: Role) -> Result<&AccessClaims, Rejection> {
        if self.claims.role.satisfies(required) {
            Ok(&self.claims)
        } else {
            Err(Rejection {
                realm: String::new(),
                error: AuthError::InsufficientRole { required },
            })
        }
    }
}

impl FromRequest for Authenticated {
    type Error = Rejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let authority = req.app_data::<web::Data<Authority>>().cloned();
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        Box::pin(async move {
            let Some(authority) = authority else {
                // A wiring mistake, not the client's: fail closed.
                log::error!("Authenticated used without web::Data<Authority> in the app");
                return Err(Rejection {
                    realm: String::new(),
                    error: AuthError::MissingToken,
                });
            };
            let outcome = match authorization {
                // A header that is not visible ASCII cannot hold a valid token.
                Some(Err(_)) => authority.authenticate(Some("Bearer \u{0}")).await,
                Some(Ok(value)) => authority.authenticate(Some(&value)).await,
                None => authority.authenticate(None).await,
            };
            outcome
                .map(|claims| Authenticated { claims })
                .map_err(|error| {
                    if let AuthError::InvalidToken(cause) = &error {
                        log::debug!("access token refused: {cause}");
                    }
                    Rejection {
                        realm: authority.realm().to_owned(),
                        error,
                    }
                })
        })
    }
}

/// The response to a refused request: 401 with `WWW-Authenticate`, or 403.
#[derive(Debug)]
pub struct Rejection {
    realm: String,
    error: AuthError,
}

impl Rejection {
    /// A rejection for `realm`.
    ///
    /// ```
    /// use actix_web::ResponseError;
    /// use shared_claims::{actix::Rejection, AuthError};
    /// let r = Rejection::new("api", AuthError::MissingToken);
    /// assert_eq!(r.status_code().as_u16(), 401);
    /// ```
    pub fn new(realm: &str, error: AuthError) -> Self {
        Self {
            realm: realm.to_owned(),
            error,
        }
    }

    /// Why the request was refused.
    ///
    /// ```
    /// use shared_claims::{actix::Rejection, AuthError};
    /// let r = Rejection::new("api", AuthError::MissingToken);
    /// assert_eq!(r.error(), &AuthError::MissingToken);
    /// ```
    pub fn error(&self) -> &AuthError {
        &self.error
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Rejection {}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::UNAUTHORIZED)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(challenge) = self.error.www_authenticate(&self.realm) {
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        response.json(self.error.body())
    }
}

/// Removes the CORS headers that [`cors`] adds even when it did not grant the
/// request's origin (it still sends `Access-Control-Allow-Credentials`), so
/// an unlisted origin gets no CORS headers at all. Wrap it outside [`cors`]:
///
/// ```
/// use actix_web::middleware::from_fn;
/// use shared_claims::actix::{cors, drop_unmatched_cors_headers};
///
/// let app = actix_web::App::new()
///     .wrap(cors(&["https://app.example.com".to_owned()]))
///     .wrap(from_fn(drop_unmatched_cors_headers));
/// # let _ = app;
/// ```
pub async fn drop_unmatched_cors_headers(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
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
/// (already normalised with [`crate::normalize_origin`]). Credentials are
/// allowed, so a page can send the `HttpOnly` refresh cookie; that is why the
/// origins must be listed one by one, never `*`. Requests from other origins
/// are served without CORS headers, so browsers refuse them, while clients
/// that are not browsers are unaffected.
///
/// ```
/// let app = actix_web::App::new()
///     .wrap(shared_claims::actix::cors(&["https://app.example.com".to_owned()]));
/// # let _ = app;
/// ```
pub fn cors(origins: &[String]) -> actix_cors::Cors {
    let policy = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
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

/// The access log: one line per request with client address, method, path,
/// status, size, latency and the request id. Only the path: a query string
/// could carry a token (RFC 6750 §2.3), and no other header is logged. Wrap it
/// outside [`request_id`], whose response header it prints:
///
/// ```
/// use actix_web::middleware::from_fn;
/// use shared_claims::actix::{request_id, request_logger};
///
/// let app = actix_web::App::new()
///     .wrap(from_fn(request_id))
///     .wrap(request_logger());
/// # let _ = app;
/// ```
///
/// The line is written by a background thread, at most a few milliseconds
/// later; the `log` target [`ACCESS_LOG_TARGET`] switches it on and off with
/// `RUST_LOG`, and [`flush_access_log`] writes what is pending before exit.
pub fn request_logger() -> AccessLog {
    AccessLog
}

/// The header that carries a request's id, in the request (optional) and in
/// every response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest incoming request id that is kept.
const REQUEST_ID_MAX_LEN: usize = 64;

/// The id of the request being served, for correlating a client's report
/// with the log. [`request_id`] puts it in the request's extensions.
///
/// ```
/// use actix_web::http::header::HeaderValue;
/// use shared_claims::actix::RequestId;
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
    /// use shared_claims::actix::RequestId;
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
    /// use shared_claims::actix::RequestId;
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
/// let app = actix_web::App::new().wrap(from_fn(shared_claims::actix::request_id));
/// # let _ = app;
/// ```
pub async fn request_id(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let id = RequestId::from_header(req.headers().get(REQUEST_ID_HEADER));
    req.extensions_mut().insert(id.clone());
    // Like actix's `DefaultHeaders`, an `Err` from inside passes through
    // untouched: the request cannot be kept aside to build a response from it
    // (routing needs it unshared), and handlers' and middlewares' errors are
    // responses by the time they get here anyway.
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response
            .headers_mut()
            .insert(header::HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(response)
}

/// Middleware that gives every 4xx/5xx response without a JSON body the
/// `{error, error_description}` body of API.md §1. Errors the application
/// already answered in JSON pass through untouched.
///
/// ```
/// let app = actix_web::App::new().wrap(shared_claims::actix::json_errors());
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
/// let body = shared_claims::actix::error_body_for_status(StatusCode::PAYLOAD_TOO_LARGE);
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
