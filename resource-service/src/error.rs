//! The crate's one error type: every failure a handler can answer with, and
//! the status, `error` code and JSON body (API.md §1) that go with it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use service_kit::errors::BodyError;
use shared_claims::actix::Rejection;
use shared_claims::ErrorBody;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400 `invalid_request`: a malformed body, a missing or ill-typed field,
    /// or a value outside its rules. The text says which.
    #[error("{0}")]
    InvalidRequest(String),
    /// 401 or 403 from token verification, or 503 `not_ready` from a
    /// session check that could not reach the auth-service; shared-claims
    /// builds the RFC 6750 response, `WWW-Authenticate` included.
    #[error("{0}")]
    Auth(Rejection),
    /// 404 `not_found`: no such route or no such resource.
    #[error("the resource does not exist")]
    NotFound,
    /// 413 `payload_too_large`: the body is over the 16 KiB limit.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// 415 `unsupported_media_type`: the body is not `application/json`.
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// 409 `limit_reached`: the store holds as many projects as it may,
    /// for this owner or in all. The text says which.
    #[error("{0}")]
    LimitReached(String),
    /// 503 `not_ready`: the auth-service's keys have not been fetched yet.
    #[error("the signing keys of the auth-service have not been fetched yet")]
    NotReady,
    /// 500 `internal_error`: the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The stable `error` code of the body.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidRequest(_) => "invalid_request",
            Error::Auth(rejection) => rejection.error().code(),
            Error::NotFound => "not_found",
            Error::PayloadTooLarge => "payload_too_large",
            Error::UnsupportedMediaType => "unsupported_media_type",
            Error::LimitReached(_) => "limit_reached",
            Error::NotReady => "not_ready",
            Error::Internal(_) => "internal_error",
        }
    }
}

impl From<Rejection> for Error {
    fn from(rejection: Rejection) -> Self {
        Error::Auth(rejection)
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Error::Auth(rejection) => rejection.status_code(),
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::LimitReached(_) => StatusCode::CONFLICT,
            Error::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Error::Auth(rejection) = self {
            return rejection.error_response();
        }
        let description = match self {
            Error::Internal(cause) => {
                log::error!("internal error: {cause}");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        HttpResponse::build(self.status_code()).json(ErrorBody::new(self.code(), description))
    }
}

/// A refused JSON body (the kit's `JsonConfig` maps it), so the framework
/// never answers with a body of its own.
impl From<BodyError> for Error {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => Error::PayloadTooLarge,
            BodyError::UnsupportedMediaType => Error::UnsupportedMediaType,
            BodyError::Invalid(text) => Error::InvalidRequest(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::*;

    async fn body_of(error: Error) -> (u16, ErrorBody) {
        let response = error.error_response();
        let status = response.status().as_u16();
        let bytes = to_bytes(response.into_body())
            .await
            .expect("an in-memory body");
        let body = serde_json::from_slice(&bytes).expect("a JSON error body");
        (status, body)
    }

    #[actix_web::test]
    async fn every_variant_answers_with_its_status_and_code() {
        let cases = [
            (Error::InvalidRequest("bad".into()), 400, "invalid_request"),
            (Error::NotFound, 404, "not_found"),
            (Error::PayloadTooLarge, 413, "payload_too_large"),
            (Error::UnsupportedMediaType, 415, "unsupported_media_type"),
            (Error::LimitReached("full".into()), 409, "limit_reached"),
            (Error::NotReady, 503, "not_ready"),
        ];
        for (error, status, code) in cases {
            let (got_status, body) = body_of(error).await;
            assert_eq!((got_status, body.error.as_str()), (status, code));
            assert!(!body.error_description.is_empty());
        }
    }

    #[test]
    fn a_role_rejection_keeps_its_403() {
        use shared_claims::{AuthError, Role};
        let error = Error::from(Rejection::new(
            "resource-service",
            AuthError::InsufficientRole {
                required: Role::Admin,
            },
        ));
        assert_eq!(error.error_response().status(), StatusCode::FORBIDDEN);
        assert_eq!(error.code(), "insufficient_role");
    }

    #[actix_web::test]
    async fn a_session_check_that_cannot_ask_is_503_not_ready_without_a_challenge() {
        let error = Error::from(Rejection::new(
            "resource-service",
            shared_claims::AuthError::CheckUnavailable,
        ));
        assert!(error
            .error_response()
            .headers()
            .get(actix_web::http::header::WWW_AUTHENTICATE)
            .is_none());
        let (status, body) = body_of(error).await;
        assert_eq!((status, body.error.as_str()), (503, "not_ready"));
    }
}
