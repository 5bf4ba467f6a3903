use serde::{Deserialize, Serialize};

use crate::dpop::{DpopError, ALGORITHMS};
use crate::{Role, VerifyError};

/// The JSON body of every non-2xx response (API.md §1).
///
/// ```
/// let body = shared_claims::ErrorBody::new("not_found", "no such project");
/// assert_eq!(
///     serde_json::to_string(&body).unwrap(),
///     r#"{"error":"not_found","error_description":"no such project"}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(description = "The body of every non-2xx response.")
)]
pub struct ErrorBody {
    /// A stable snake_case code.
    pub error: String,
    /// Text for humans; it may change.
    pub error_description: String,
}

impl ErrorBody {
    /// A body with this code and description.
    ///
    /// ```
    /// let body = shared_claims::ErrorBody::new("invalid_request", "bad");
    /// assert_eq!(body.error, "invalid_request");
    /// ```
    pub fn new(error: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            error_description: description.into(),
        }
    }
}

/// Why a request to a protected route was refused, and how to say so (RFC 6750 §3).
///
/// ```
/// use shared_claims::{AuthError, VerifyError};
///
/// let missing = AuthError::MissingToken;
/// assert_eq!(missing.status(), 401);
/// assert_eq!(missing.www_authenticate("api").as_deref(), Some(r#"Bearer realm="api""#));
///
/// let expired = AuthError::InvalidToken(VerifyError::Expired);
/// assert_eq!(expired.code(), "invalid_token");
/// assert_eq!(
///     expired.www_authenticate("api").as_deref(),
///     Some(r#"Bearer realm="api", error="invalid_token", error_description="the access token expired""#)
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header. 401, and the challenge carries no
    /// error code (RFC 6750 §3.1).
    #[error("no access token")]
    MissingToken,
    /// The token was refused. 401 `invalid_token`.
    #[error("invalid access token: {0}")]
    InvalidToken(VerifyError),
    /// The token was presented under the wrong scheme for its binding (API.md
    /// §7). 401 `invalid_token`, with a `DPoP` challenge.
    #[error("access token under the wrong scheme: {0}")]
    WrongScheme(SchemeError),
    /// The token is bound to a key and its DPoP proof is missing or invalid.
    /// 401 `invalid_dpop_proof`, with a `DPoP` challenge.
    #[error("invalid DPoP proof: {0}")]
    InvalidDpopProof(DpopError),
    /// The token is valid but its role is not enough. 403 `insufficient_role`.
    #[error("role {required} required")]
    InsufficientRole {
        /// The role the route demands.
        required: Role,
    },
    /// The token verified, but the issuer says it is no longer active (its
    /// session ended): the answer of a session-checked route. 401
    /// `invalid_token`, with the same challenge as any refused token.
    #[error("the access token is no longer active")]
    Inactive,
    /// A session-checked route could not ask the issuer (down, slow, or
    /// refusing this server's credentials). 503 `not_ready`: the request may
    /// be retried, and is not told its token is bad.
    #[error("the token's session cannot be checked now")]
    CheckUnavailable,
}

impl AuthError {
    /// The HTTP status.
    ///
    /// ```
    /// use shared_claims::{AuthError, Role};
    /// assert_eq!(AuthError::InsufficientRole { required: Role::Admin }.status(), 403);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            AuthError::MissingToken
            | AuthError::InvalidToken(_)
            | AuthError::Inactive
            | AuthError::WrongScheme(_)
            | AuthError::InvalidDpopProof(_) => 401,
            AuthError::InsufficientRole { .. } => 403,
            AuthError::CheckUnavailable => 503,
        }
    }

    /// The `error` code of the JSON body.
    ///
    /// ```
    /// assert_eq!(shared_claims::AuthError::MissingToken.code(), "unauthorized");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "unauthorized",
            AuthError::InvalidToken(_) | AuthError::Inactive | AuthError::WrongScheme(_) => {
                "invalid_token"
            }
            AuthError::InvalidDpopProof(e) => e.code(),
            AuthError::InsufficientRole { .. } => "insufficient_role",
            AuthError::CheckUnavailable => "not_ready",
        }
    }

    /// The human-readable description.
    ///
    /// ```
    /// assert!(!shared_claims::AuthError::MissingToken.description().is_empty());
    /// ```
    pub fn description(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "an access token is required",
            AuthError::InvalidToken(e) => e.description(),
            AuthError::WrongScheme(e) => e.description(),
            AuthError::InvalidDpopProof(e) => e.description(),
            AuthError::InsufficientRole {
                required: Role::Admin,
            } => "this needs the admin role",
            AuthError::InsufficientRole {
                required: Role::User,
            } => "this needs the user role",
            AuthError::Inactive => "the access token is no longer active",
            AuthError::CheckUnavailable => {
                "the session of the access token cannot be checked now; try again later"
            }
        }
    }

    /// The JSON body.
    ///
    /// ```
    /// let body = shared_claims::AuthError::MissingToken.body();
    /// assert_eq!(body.error, "unauthorized");
    /// ```
    pub fn body(&self) -> ErrorBody {
        ErrorBody::new(self.code(), self.description())
    }

    /// The `WWW-Authenticate` value, for the 401 cases: a `Bearer`
    /// challenge (RFC 6750 §3), or for the DPoP refusals a `DPoP` one naming
    /// the proof algorithms accepted (RFC 9449 §7.1).
    ///
    /// ```
    /// use shared_claims::dpop::DpopError;
    /// use shared_claims::{AuthError, Role, SchemeError};
    /// assert!(AuthError::InsufficientRole { required: Role::Admin }.www_authenticate("api").is_none());
    /// assert_eq!(
    ///     AuthError::Inactive.www_authenticate("api").as_deref(),
    ///     Some(r#"Bearer realm="api", error="invalid_token", error_description="the access token is no longer active""#)
    /// );
    ///
    /// let bearer = AuthError::WrongScheme(SchemeError::BoundTokenAsBearer);
    /// assert!(bearer.www_authenticate("api").unwrap().starts_with(r#"DPoP error="invalid_token", algs="ES256 EdDSA""#));
    /// let proof = AuthError::InvalidDpopProof(DpopError::Missing);
    /// assert!(proof.www_authenticate("api").unwrap().starts_with(r#"DPoP error="invalid_dpop_proof", algs="ES256 EdDSA""#));
    /// ```
    pub fn www_authenticate(&self, realm: &str) -> Option<String> {
        let realm = quote_safe(realm);
        match self {
            AuthError::MissingToken => Some(format!("Bearer realm=\"{realm}\"")),
            AuthError::InvalidToken(_) | AuthError::Inactive => Some(format!(
                "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{}\"",
                self.description()
            )),
            AuthError::WrongScheme(_) | AuthError::InvalidDpopProof(_) => Some(format!(
                "DPoP error=\"{}\", algs=\"{}\", error_description=\"{}\", realm=\"{realm}\"",
                self.code(),
                ALGORITHMS.join(" "),
                self.description()
            )),
            AuthError::InsufficientRole { .. } | AuthError::CheckUnavailable => None,
        }
    }
}

/// How a token's binding and the scheme it came under disagree (API.md §7).
///
/// ```
/// use shared_claims::SchemeError;
/// assert!(!SchemeError::BoundTokenAsBearer.description().is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SchemeError {
    /// A DPoP-bound token (`cnf.jkt`) under `Authorization: Bearer`.
    #[error("bound token presented as Bearer")]
    BoundTokenAsBearer,
    /// A token bound to no key under `Authorization: DPoP`.
    #[error("unbound token presented as DPoP")]
    UnboundTokenAsDpop,
    /// A bound token at a server that was not set up to check DPoP proofs.
    #[error("DPoP is not accepted here")]
    DpopNotAccepted,
}

impl SchemeError {
    /// Text for the `error_description` of the challenge.
    ///
    /// ```
    /// use shared_claims::SchemeError;
    /// assert!(!SchemeError::UnboundTokenAsDpop.description().contains('"'));
    /// ```
    pub fn description(&self) -> &'static str {
        match self {
            SchemeError::BoundTokenAsBearer => {
                "the access token is DPoP-bound: send it as Authorization DPoP with a proof"
            }
            SchemeError::UnboundTokenAsDpop => {
                "the access token is not DPoP-bound: send it as Authorization Bearer"
            }
            SchemeError::DpopNotAccepted => "this server does not accept DPoP-bound tokens",
        }
    }
}

/// Keeps a realm inside its quoted-string: drops `"`, `\` and control characters.
fn quote_safe(realm: &str) -> String {
    realm
        .chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}
