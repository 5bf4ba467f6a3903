//! The per-(email, client address) login lockout of API.md §3.

use chrono::NaiveDateTime;

use super::{chrono_duration, ClientInfo};
use crate::db;
use crate::domain::Email;
use crate::error::Error;
use crate::state::AppState;
use crate::tokens;

/// The lockout key and window of one login attempt.
#[derive(Debug, Clone)]
pub(super) struct Throttle {
    /// The normalised email; for input that is no email at all, the SHA-256
    /// of it, so malformed logins are throttled too while arbitrary bytes
    /// (NUL, 8 KB of junk) never reach a TEXT column.
    pub(super) email: String,
    pub(super) client_ip: String,
    pub(super) now: NaiveDateTime,
    pub(super) window_start: NaiveDateTime,
    window: chrono::Duration,
    max_failures: usize,
}

impl Throttle {
    pub(super) fn new(state: &AppState, email: &str, client: &ClientInfo) -> Self {
        let now = db::now();
        let window = chrono_duration(state.settings.login_failure_window);
        let key = match Email::parse(email) {
            Ok(email) => email.as_str().to_owned(),
            Err(_) => format!(
                "sha256:{}",
                tokens::sha256_hex(email.trim().to_lowercase().as_bytes())
            ),
        };
        Throttle {
            email: key,
            client_ip: client.ip.clone().unwrap_or_else(|| "unknown".into()),
            now,
            window_start: now - window,
            window,
            max_failures: usize::try_from(state.settings.login_max_failures).unwrap_or(usize::MAX),
        }
    }

    /// Refuses while the key has `max_failures` failures inside the window;
    /// `Retry-After` is when enough of them will have aged out.
    pub(super) fn check(&self, failures: &[NaiveDateTime]) -> Result<(), Error> {
        if failures.len() < self.max_failures {
            return Ok(());
        }
        let oldest_that_counts = failures[failures.len() - self.max_failures];
        let remaining = (oldest_that_counts + self.window - self.now).num_milliseconds();
        // Whole seconds, rounded up, and at least 1: a client told to retry
        // after 0 s would retry at once.
        let retry_after = u64::try_from((remaining + 999) / 1000).unwrap_or(0).max(1);
        Err(Error::TooManyAttempts { retry_after })
    }
}
