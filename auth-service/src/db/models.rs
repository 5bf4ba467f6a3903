//! Rows as stored. Conversion to API shapes happens in the service layer.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{refresh_tokens, sessions, signing_keys, users};

/// A row of `users`.
#[derive(Debug, Clone, Queryable)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: NaiveDateTime,
}

/// A new row of `users`.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub created_at: NaiveDateTime,
}

/// A row of `sessions`.
#[derive(Debug, Clone, Queryable)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub ended_at: Option<NaiveDateTime>,
    pub end_reason: Option<String>,
    /// The client its refresh tokens were issued to; `None`: first-party.
    pub client_id: Option<String>,
    /// The thumbprint of the DPoP key the session is bound to (API.md §7).
    pub dpop_jkt: Option<String>,
    /// Events recorded for the session, ever (its newest
    /// [`super::history::EVENTS_KEPT`] are kept).
    pub event_count: i64,
}

/// A new row of `sessions`.
#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub created_at: NaiveDateTime,
    pub last_used_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub user_agent: Option<&'a str>,
    pub ip: Option<&'a str>,
    /// The authenticated client the session is for; `None`: first-party.
    pub client_id: Option<&'a str>,
    /// The thumbprint of the key the login's DPoP proof was signed with;
    /// `None` for an unbound session.
    pub dpop_jkt: Option<&'a str>,
}

/// A new row of `refresh_tokens`: only the token's hash.
#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken<'a> {
    pub token_hash: &'a str,
    pub session_id: &'a str,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// A row of `signing_keys`.
#[derive(Clone, Queryable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub algorithm: String,
    /// PKCS#8 DER of the private key.
    pub private_key: Vec<u8>,
    /// The raw 32-byte public key.
    pub public_key: Vec<u8>,
    pub created_at: NaiveDateTime,
    /// The last moment a token it signed may be alive, as recorded by the
    /// instances that sign with it; `None` until one has.
    pub retire_after: Option<NaiveDateTime>,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("created_at", &self.created_at)
            .field("retire_after", &self.retire_after)
            .finish_non_exhaustive()
    }
}
