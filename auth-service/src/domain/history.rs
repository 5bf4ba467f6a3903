//! The vocabulary of session history (API.md §2): why a session ended and
//! what happened to it, as stored and as the API shows them.

use chrono::{DateTime, Utc};

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// `POST /auth/logout`, or an RFC 7009 revoke of its refresh token.
    Logout,
    /// Ended by the user elsewhere (`DELETE /auth/sessions/{id}`,
    /// logout-all) or by an admin.
    Revoked,
    /// A used refresh token came back.
    ReuseDetected,
    /// The user changed the password from another session.
    PasswordChanged,
    /// Its sliding or absolute lifetime ran out.
    Expired,
}

impl EndReason {
    /// Every reason, for metrics that show each from the start.
    pub const ALL: [EndReason; 5] = [
        EndReason::Logout,
        EndReason::Revoked,
        EndReason::ReuseDetected,
        EndReason::PasswordChanged,
        EndReason::Expired,
    ];

    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Logout => "logout",
            EndReason::Revoked => "revoked",
            EndReason::ReuseDetected => "reuse_detected",
            EndReason::PasswordChanged => "password_changed",
            EndReason::Expired => "expired",
        }
    }

    /// The reason stored as `s`, if it is one.
    pub fn parse(s: &str) -> Option<EndReason> {
        EndReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What happened to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The login that opened it.
    Login,
    /// A rotation of its refresh token.
    Refresh,
    /// A rotated token presented again within `REFRESH_REUSE_GRACE`.
    RefreshInGrace,
    /// A used refresh token came back.
    ReuseDetected,
    /// The session ended (the event carries the reason).
    Ended,
}

impl EventKind {
    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Login => "login",
            EventKind::Refresh => "refresh",
            EventKind::RefreshInGrace => "refresh_in_grace",
            EventKind::ReuseDetected => "reuse_detected",
            EventKind::Ended => "ended",
        }
    }
}

/// One event of a session, as `GET /auth/sessions/{id}/events` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened, as [`EventKind::as_str`] has it.
    pub kind: String,
    /// The client address of the request that caused it.
    pub ip: Option<String>,
    /// The `User-Agent` of that request.
    pub user_agent: Option<String>,
    /// On `ended` only: why.
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_reads_back_as_itself() {
        for reason in EndReason::ALL {
            assert_eq!(EndReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(EndReason::parse("bored"), None);
    }
}
