//! The crate's one error type, and its mapping to status and `error` code.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use service_kit::errors::BodyError;
use shared_claims::ErrorBody;

use crate::domain::{InvalidEmail, WeakPassword};

/// What a 503 asks clients to wait, in whole seconds: about how long a
/// database restart or failover takes to get under way, so a client that
/// honours it neither hammers a recovering server nor waits much past it.
pub const RETRY_AFTER_UNAVAILABLE_SECS: u64 = 2;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400 `invalid_request`: malformed body, missing field, wrong type.
    #[error("{0}")]
    InvalidRequest(String),
    /// 400 `invalid_email`.
    #[error(transparent)]
    InvalidEmail(#[from] InvalidEmail),
    /// 400 `weak_password`.
    #[error(transparent)]
    WeakPassword(#[from] WeakPassword),
    /// 403 `registration_disabled`.
    #[error("registration is disabled")]
    RegistrationDisabled,
    /// 409 `email_taken`.
    #[error("an account with this email exists")]
    EmailTaken,
    /// 401 `invalid_credentials`: unknown email or wrong password, told apart nowhere.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// 429 `too_many_attempts`, with `Retry-After` in whole seconds.
    #[error("too many failed logins; try again later")]
    TooManyAttempts {
        /// Seconds until a login is possible again.
        retry_after: u64,
    },
    /// 401 `invalid_client`: the client that authenticated the request was
    /// deleted before its session could be opened.
    #[error("client authentication failed")]
    UnknownClient,
    /// 400 `invalid_dpop_proof`: a token request's `DPoP` proof is invalid,
    /// or a bound session's refresh came without a proof by its key (API.md §7).
    #[error("{0}")]
    InvalidDpopProof(String),
    /// 401 `invalid_grant`: the refresh token is unknown, expired, used or revoked.
    #[error("the refresh token is invalid, expired or revoked")]
    InvalidGrant,
    /// 401 `invalid_token`: a verified access token whose user no longer exists.
    #[error("the access token's user no longer exists")]
    UnknownUser,
    /// 401 `invalid_token`: a verified access token whose session has ended
    /// (logout, revocation, reuse, password change) or whose user is gone.
    #[error("the access token's session has ended")]
    SessionEnded,
    /// 403 `invalid_origin`: the refresh token came from the cookie, sent by
    /// a page of another origin (API.md §1).
    #[error("cookie requests are accepted only from this service's origin and the listed ones")]
    InvalidOrigin,
    /// 401 or 403 as the bearer-token extractor decided (RFC 6750).
    #[error(transparent)]
    Rejected(#[from] shared_claims::actix::Rejection),
    /// 404 `not_found`.
    #[error("not found")]
    NotFound,
    /// 413 `payload_too_large`.
    #[error("the request body is larger than 16 KiB")]
    PayloadTooLarge,
    /// 415 `unsupported_media_type`.
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// 503 `temporarily_unavailable`, with `Retry-After` in whole seconds:
    /// `LOGIN_QUEUE_LIMIT` password checks are already waiting.
    #[error("too many password checks are waiting; try again later")]
    Overloaded {
        /// Seconds until the queue has likely drained enough.
        retry_after: u64,
    },
    /// 503 `not_ready`, with `Retry-After`: the database cannot be reached.
    #[error("the database is unavailable")]
    Unavailable(String),
    /// 500 `internal_error`: the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    fn code(&self) -> &'static str {
        match self {
            Error::InvalidRequest(_) => "invalid_request",
            Error::InvalidEmail(_) => "invalid_email",
            Error::WeakPassword(_) => "weak_password",
            Error::RegistrationDisabled => "registration_disabled",
            Error::EmailTaken => "email_taken",
            Error::InvalidCredentials => "invalid_credentials",
            Error::InvalidGrant => "invalid_grant",
            Error::UnknownClient => "invalid_client",
            Error::InvalidDpopProof(_) => "invalid_dpop_proof",
            Error::TooManyAttempts { .. } => "too_many_attempts",
            Error::UnknownUser | Error::SessionEnded => "invalid_token",
            Error::InvalidOrigin => "invalid_origin",
            Error::Rejected(r) => r.error().code(),
            Error::NotFound => "not_found",
            Error::PayloadTooLarge => "payload_too_large",
            Error::UnsupportedMediaType => "unsupported_media_type",
            Error::Overloaded { .. } => "temporarily_unavailable",
            Error::Unavailable(_) => "not_ready",
            Error::Internal(_) => "internal_error",
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::InvalidRequest(_)
            | Error::InvalidEmail(_)
            | Error::WeakPassword(_)
            | Error::InvalidDpopProof(_) => StatusCode::BAD_REQUEST,
            Error::RegistrationDisabled | Error::InvalidOrigin => StatusCode::FORBIDDEN,
            Error::EmailTaken => StatusCode::CONFLICT,
            Error::InvalidCredentials
            | Error::InvalidGrant
            | Error::UnknownClient
            | Error::UnknownUser
            | Error::SessionEnded => StatusCode::UNAUTHORIZED,
            Error::Rejected(r) => r.status_code(),
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Overloaded { .. } | Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Error::Rejected(rejection) = self {
            return rejection.error_response();
        }
        let description = match self {
            Error::Internal(cause) => {
                log::error!("internal error: {cause}");
                "internal error".to_owned()
            }
            Error::Unavailable(cause) => {
                log::warn!("database unavailable: {cause}");
                self.to_string()
            }
            other => other.to_string(),
        };
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Error::TooManyAttempts { retry_after } | Error::Overloaded { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            // The outage is temporary (RFC 9110 §15.6.4): say when to try again.
            Error::Unavailable(_) => {
                response.insert_header((
                    header::RETRY_AFTER,
                    RETRY_AFTER_UNAVAILABLE_SECS.to_string(),
                ));
            }
            _ => {}
        }
        if let Error::UnknownUser | Error::SessionEnded = self {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                format!(
                    "Bearer realm=\"{}\", error=\"invalid_token\", error_description=\"{}\"",
                    crate::REALM,
                    self
                ),
            ));
        }
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(ErrorBody::new(self.code(), description))
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        if lost_the_database(&e) {
            Error::Unavailable(e.to_string())
        } else {
            Error::Internal(format!("database: {e}"))
        }
    }
}

/// Whether `e` means the server went away or is overloaded: a condition to
/// retry, not a bug, so 503 rather than 500.
fn lost_the_database(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error as DieselError};
    match e {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        )
        | DieselError::BrokenTransactionManager => true,
        DieselError::DatabaseError(_, info) => info.message().contains("database is locked"),
        // A COMMIT cut off by the lost connection, then a ROLLBACK that
        // could not be sent either.
        DieselError::RollbackErrorOnCommit {
            commit_error,
            rollback_error,
        } => lost_the_database(commit_error) || lost_the_database(rollback_error),
        _ => false,
    }
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Self {
        Error::Unavailable(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for Error {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Error::Internal(format!("blocking task: {e}"))
    }
}

impl From<bcrypt::BcryptError> for Error {
    fn from(e: bcrypt::BcryptError) -> Self {
        Error::Internal(format!("bcrypt: {e}"))
    }
}

impl From<jsonwebtoken::errors::Error> for Error {
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        Error::Internal(format!("signing: {e}"))
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
