use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The JOSE `typ` header of an access token (RFC 9068 §2.1).
///
/// A verifier that ignores `typ` accepts any other JWT signed by the same key
/// (an ID token, say) as an access token.
///
/// ```
/// assert_eq!(shared_claims::ACCESS_TOKEN_TYPE, "at+jwt");
/// ```
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// What a user may do. An admin may do everything a user may.
///
/// ```
/// use shared_claims::Role;
///
/// let role: Role = "admin".parse().unwrap();
/// assert!(role.satisfies(Role::User));
/// assert!(!Role::User.satisfies(Role::Admin));
/// assert_eq!(Role::User.to_string(), "user");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(description = "What a user may do; an admin may do everything a user may.")
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An ordinary account.
    User,
    /// An account that may also administer users and resources.
    Admin,
}

impl Role {
    /// The role's name as it appears in tokens, bodies and the database.
    ///
    /// ```
    /// assert_eq!(shared_claims::Role::Admin.as_str(), "admin");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// Whether a holder of `self` may do what `required` allows.
    ///
    /// ```
    /// use shared_claims::Role;
    /// assert!(Role::Admin.satisfies(Role::Admin));
    /// ```
    pub fn satisfies(self, required: Role) -> bool {
        match required {
            Role::User => true,
            Role::Admin => self == Role::Admin,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no role.
///
/// ```
/// assert!("root".parse::<shared_claims::Role>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected \"user\" or \"admin\"")]
pub struct ParseRoleError(pub String);

impl FromStr for Role {
    type Err = ParseRoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            other => Err(ParseRoleError(other.to_owned())),
        }
    }
}

/// The claims of an access token (API.md §2, RFC 9068).
///
/// ```
/// use shared_claims::{AccessClaims, Role};
///
/// let claims = AccessClaims {
///     iss: "http://127.0.0.1:8080".into(),
///     aud: "resource-service".into(),
///     sub: "5f0c9d1e-6f43-4c5e-9d7a-1b2c3d4e5f60".into(),
///     exp: 1_700_000_900,
///     iat: 1_700_000_000,
///     nbf: None,
///     jti: "0b4e7f2a-9a51-4a8e-b0a4-8f1de2c3a4b5".into(),
///     sid: "7d1e8c55-2b5e-4a39-8f02-6c3b1a2d4e5f".into(),
///     role: Role::User,
///     email: "ada@example.com".into(),
/// };
/// let json = serde_json::to_value(&claims).unwrap();
/// assert_eq!(json["role"], "user");
/// assert!(json.get("nbf").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The issuer: the auth-service's public URL.
    pub iss: String,
    /// The audience: which resource servers may accept the token.
    pub aud: String,
    /// The user's id.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: i64,
    /// Not-before time, if the issuer set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Unique id of this token.
    pub jti: String,
    /// The session (login) this token belongs to.
    pub sid: String,
    /// The user's role when the token was issued.
    pub role: Role,
    /// The user's email when the token was issued.
    pub email: String,
}
