//! The crate's one error type: every failure a handler can answer with, and
//! the status, `error` code and JSON body (API.md §1) that go with it.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use shared_claims::actix::Rejection;
use shared_claims::ErrorBody;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid_request`: a malformed body, a missing or ill-typed field,
    /// or a value outside its rules. The text says which.
    #[error("{0}")]
    InvalidRequest(String),
    /// 401 or 403 from token verification; shared-claims builds the
    /// RFC 6750 response, `WWW-Authenticate` included.
    #[error("{0}")]
    Auth(Rejection),
    /// 404 `not_found`: no such route or no such resource.
    #[error("the resource does not exist")]
    NotFound,
    /// 405 `method_not_allowed`, with `Allow` listing what the route takes.
    #[error("this route only allows {allow}")]
    MethodNotAllowed {
        /// The value of the `Allow` header.
        allow: &'static str,
    },
    /// 413 `payload_too_large`: the body is over the 16 KiB limit.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// 415 `unsupported_media_type`: the body is not `application/json`.
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// 503 `not_ready`: the auth-service's keys have not been fetched yet.
    #[error("the signing keys of the auth-service have not been fetched yet")]
    NotReady,
}

impl ApiError {
    /// The stable `error` code of the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::Auth(rejection) => rejection.error().code(),
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::NotReady => "not_ready",
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        ApiError::Auth(rejection)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Auth(rejection) => rejection.status_code(),
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::Auth(rejection) => return rejection.error_response(),
            // RFC 9110 §15.5.6: a 405 must say what is allowed.
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, *allow));
            }
            _ => {}
        }
        response.json(ErrorBody::new(self.code(), self.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::*;

    async fn body_of(error: ApiError) -> (u16, ErrorBody) {
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
            (
                ApiError::InvalidRequest("bad".into()),
                400,
                "invalid_request",
            ),
            (ApiError::NotFound, 404, "not_found"),
            (
                ApiError::MethodNotAllowed { allow: "GET" },
                405,
                "method_not_allowed",
            ),
            (ApiError::PayloadTooLarge, 413, "payload_too_large"),
            (
                ApiError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (ApiError::NotReady, 503, "not_ready"),
        ];
        for (error, status, code) in cases {
            let (got_status, body) = body_of(error).await;
            assert_eq!((got_status, body.error.as_str()), (status, code));
            assert!(!body.error_description.is_empty());
        }
    }

    #[test]
    fn method_not_allowed_lists_the_allowed_methods() {
        let response = ApiError::MethodNotAllowed { allow: "GET, POST" }.error_response();
        assert_eq!(
            response
                .headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok()),
            Some("GET, POST")
        );
    }

    #[test]
    fn a_role_rejection_keeps_its_403() {
        use shared_claims::{AuthError, Role};
        let error = ApiError::from(Rejection::new(
            "resource-service",
            AuthError::InsufficientRole {
                required: Role::Admin,
            },
        ));
        assert_eq!(error.error_response().status(), StatusCode::FORBIDDEN);
        assert_eq!(error.code(), "insufficient_role");
    }
}
