//! Users and sessions as the flows hand them back: plain values, no storage
//! and no HTTP shape.

use chrono::{DateTime, Utc};

use super::{Role, SessionId, UserId};

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The normalised email.
    pub email: String,
    /// Its role.
    pub role: Role,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// An active session of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its id.
    pub id: SessionId,
    /// The login time.
    pub created_at: DateTime<Utc>,
    /// The last login or refresh.
    pub last_used_at: DateTime<Utc>,
    /// When its current refresh token expires.
    pub expires_at: DateTime<Utc>,
    /// The `User-Agent` of the login.
    pub user_agent: Option<String>,
    /// The client address of the login.
    pub ip: Option<String>,
    /// Whether the caller's own token belongs to it.
    pub current: bool,
    /// When it ended; `None` while it is active.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended, as [`super::EndReason::as_str`] has it.
    pub end_reason: Option<String>,
}
