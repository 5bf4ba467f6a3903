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

/// The `client_id` of tokens the auth-service issues to its own first-party
/// clients: `/auth/*` and `/oauth/token` without client authentication.
///
/// ```
/// assert_eq!(shared_claims::FIRST_PARTY_CLIENT, "first-party");
/// ```
pub const FIRST_PARTY_CLIENT: &str = "first-party";

/// The claims of an access token (API.md §2, RFC 9068).
///
/// Who the token speaks for is [`Subject`]: a user in one of their sessions,
/// or a service (a confidential client using its own credentials). The wire
/// form is flat (`sub`, `client_id`, `role`, and `sid` and `email` for a
/// user); a token whose claims do not make one of the two shapes fails to
/// parse, so it is refused as malformed.
///
/// ```
/// use shared_claims::{AccessClaims, Role, Subject};
///
/// let claims = AccessClaims {
///     iss: "http://127.0.0.1:8080".into(),
///     aud: "resource-service".into(),
///     sub: "5f0c9d1e-6f43-4c5e-9d7a-1b2c3d4e5f60".into(),
///     exp: 1_700_000_900,
///     iat: 1_700_000_000,
///     nbf: None,
///     jti: "0b4e7f2a-9a51-4a8e-b0a4-8f1de2c3a4b5".into(),
///     client_id: shared_claims::FIRST_PARTY_CLIENT.into(),
///     subject: Subject::User {
///         sid: "7d1e8c55-2b5e-4a39-8f02-6c3b1a2d4e5f".into(),
///         role: Role::User,
///         email: "ada@example.com".into(),
///     },
///     cnf: None,
/// };
/// let json = serde_json::to_value(&claims).unwrap();
/// assert_eq!(json["role"], "user");
/// assert_eq!(json["client_id"], "first-party");
/// assert!(json.get("nbf").is_none());
/// assert!(json.get("cnf").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WireClaims", into = "WireClaims")]
pub struct AccessClaims {
    /// The issuer: the auth-service's public URL.
    pub iss: String,
    /// The audience: which resource servers may accept the token.
    pub aud: String,
    /// The user's id, or for a service token the client's id.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: i64,
    /// Not-before time, if the issuer set one.
    pub nbf: Option<i64>,
    /// Unique id of this token.
    pub jti: String,
    /// The client the token was issued to (RFC 9068 §2.2):
    /// [`FIRST_PARTY_CLIENT`] or a registered client's id.
    pub client_id: String,
    /// Whether a user or a service holds the token, with what only a user has.
    pub subject: Subject,
    /// The key the token is bound to (RFC 9449 §6, API.md §7), if any: a
    /// bound token is accepted only with a DPoP proof by that key.
    pub cnf: Option<Confirmation>,
}

/// The `cnf` claim of a DPoP-bound token (RFC 7800, RFC 9449 §6.1).
///
/// A `cnf` without `jkt` (another confirmation method) does not parse, so
/// such a token is refused as malformed rather than accepted unbound.
///
/// ```
/// use shared_claims::Confirmation;
///
/// let cnf: Confirmation = serde_json::from_str(r#"{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiGQA4I"}"#).unwrap();
/// assert_eq!(cnf.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiGQA4I");
/// assert!(serde_json::from_str::<Confirmation>(r#"{"x5t#S256":"abc"}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The RFC 7638 SHA-256 thumbprint (base64url) of the client's public key.
    pub jkt: String,
}

impl AccessClaims {
    /// The role the token carries, a service's included.
    ///
    /// ```
    /// use shared_claims::{Subject, TokenRole};
    /// assert_eq!(Subject::Service.role(), TokenRole::Service);
    /// ```
    pub fn role(&self) -> TokenRole {
        self.subject.role()
    }
}

/// Who an access token speaks for.
///
/// ```
/// use shared_claims::{Role, Subject, TokenRole};
///
/// let user = Subject::User { sid: "s".into(), role: Role::Admin, email: "a@b.c".into() };
/// assert_eq!(user.role(), TokenRole::Admin);
/// assert_eq!(user.sid(), Some("s"));
/// assert_eq!(Subject::Service.email(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A user, in one of their sessions.
    User {
        /// The session (login) this token belongs to.
        sid: String,
        /// The user's role when the token was issued.
        role: Role,
        /// The user's email when the token was issued.
        email: String,
    },
    /// A service acting for itself (the client-credentials grant): `sub`
    /// is its client id, and it has no session, email or user role.
    Service,
}

impl Subject {
    /// The role as tokens carry it.
    ///
    /// ```
    /// use shared_claims::{Role, Subject, TokenRole};
    /// let user = Subject::User { sid: "s".into(), role: Role::User, email: "a@b.c".into() };
    /// assert_eq!(user.role(), TokenRole::User);
    /// ```
    pub fn role(&self) -> TokenRole {
        match self {
            Subject::User {
                role: Role::User, ..
            } => TokenRole::User,
            Subject::User {
                role: Role::Admin, ..
            } => TokenRole::Admin,
            Subject::Service => TokenRole::Service,
        }
    }

    /// The user's role; `None` for a service, which satisfies no user role.
    ///
    /// ```
    /// assert_eq!(shared_claims::Subject::Service.user_role(), None);
    /// ```
    pub fn user_role(&self) -> Option<Role> {
        match self {
            Subject::User { role, .. } => Some(*role),
            Subject::Service => None,
        }
    }

    /// The session id; `None` for a service.
    ///
    /// ```
    /// assert_eq!(shared_claims::Subject::Service.sid(), None);
    /// ```
    pub fn sid(&self) -> Option<&str> {
        match self {
            Subject::User { sid, .. } => Some(sid),
            Subject::Service => None,
        }
    }

    /// The user's email; `None` for a service.
    ///
    /// ```
    /// assert_eq!(shared_claims::Subject::Service.email(), None);
    /// ```
    pub fn email(&self) -> Option<&str> {
        match self {
            Subject::User { email, .. } => Some(email),
            Subject::Service => None,
        }
    }
}

/// The `role` claim: a user's [`Role`], or `service` for a service token.
///
/// ```
/// use shared_claims::TokenRole;
/// assert_eq!(serde_json::to_value(TokenRole::Service).unwrap(), "service");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(description = "The role a token carries: a user's role, or `service`.")
)]
#[serde(rename_all = "lowercase")]
pub enum TokenRole {
    /// A user's token, of an ordinary account.
    User,
    /// A user's token, of an administrator.
    Admin,
    /// A service token (client credentials).
    Service,
}

/// The claims as they are on the wire; [`AccessClaims`] is what they may mean.
#[derive(Serialize, Deserialize)]
struct WireClaims {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    jti: String,
    // Tokens minted before the claim existed are all first-party; without
    // the default they would be refused for up to ACCESS_TOKEN_TTL after
    // a resource server is upgraded before its auth-service.
    #[serde(default = "first_party")]
    client_id: String,
    role: TokenRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cnf: Option<Confirmation>,
}

fn first_party() -> String {
    FIRST_PARTY_CLIENT.to_owned()
}

impl TryFrom<WireClaims> for AccessClaims {
    type Error = &'static str;

    fn try_from(w: WireClaims) -> Result<Self, Self::Error> {
        let subject = match (w.role, w.sid, w.email) {
            (TokenRole::User, Some(sid), Some(email)) => Subject::User {
                sid,
                role: Role::User,
                email,
            },
            (TokenRole::Admin, Some(sid), Some(email)) => Subject::User {
                sid,
                role: Role::Admin,
                email,
            },
            // A service token naming a session or an email, or another
            // subject than its client, is not one this issuer makes.
            (TokenRole::Service, None, None) if w.sub == w.client_id => Subject::Service,
            (TokenRole::Service, ..) => {
                return Err("a service token has `sub` = `client_id` and no `sid` or `email`")
            }
            _ => return Err("a user's token needs `sid` and `email`"),
        };
        Ok(AccessClaims {
            iss: w.iss,
            aud: w.aud,
            sub: w.sub,
            exp: w.exp,
            iat: w.iat,
            nbf: w.nbf,
            jti: w.jti,
            client_id: w.client_id,
            subject,
            cnf: w.cnf,
        })
    }
}

impl From<AccessClaims> for WireClaims {
    fn from(c: AccessClaims) -> Self {
        let role = c.subject.role();
        let (sid, email) = match c.subject {
            Subject::User { sid, email, .. } => (Some(sid), Some(email)),
            Subject::Service => (None, None),
        };
        WireClaims {
            iss: c.iss,
            aud: c.aud,
            sub: c.sub,
            exp: c.exp,
            iat: c.iat,
            nbf: c.nbf,
            jti: c.jti,
            client_id: c.client_id,
            role,
            sid,
            email,
            cnf: c.cnf,
        }
    }
}
