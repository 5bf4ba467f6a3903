//! The per-(email, client address) login lockout of API.md §3.
//!
//! Every password check under the lockout (both login doors, and the
//! current password at `/auth/password`) first reserves its place with
//! [`Throttle::reserve`], in one atomic step: of any number of simultaneous
//! attempts for one key, at most `LOGIN_MAX_FAILURES` reach the password.
//! The reservation is the failure record: an attempt that fails keeps it,
//! one that succeeds gives it back.

use chrono::NaiveDateTime;

use super::{chrono_duration, ClientInfo};
use crate::db::{self, AnyConnection};
use crate::domain::Email;
use crate::error::Error;
use crate::state::AppState;
use crate::tokens;

/// The lockout key and window of one attempt.
#[derive(Debug, Clone)]
pub(super) struct Throttle {
    /// The normalised email; for input that is no email at all, the SHA-256
    /// of it, so malformed logins are throttled too while arbitrary bytes
    /// (NUL, 8 KB of junk) never reach a TEXT column.
    email: String,
    client_ip: String,
    now: NaiveDateTime,
    window: chrono::Duration,
    max_failures: usize,
}

/// A place reserved by [`Throttle::reserve`]: it counts as a failure of its
/// key until it is given back.
#[derive(Debug)]
#[must_use = "a reservation counts as a failure until it is given back"]
pub(super) struct Reserved {
    id: String,
    email: String,
    client_ip: String,
}

/// The lockout's rules as the settings give them, for an attempt whose key
/// is not known yet (the password change finds its email in the database).
#[derive(Debug, Clone, Copy)]
pub(super) struct Lockout {
    now: NaiveDateTime,
    window: chrono::Duration,
    max_failures: usize,
}

impl Lockout {
    pub(super) fn of(state: &AppState) -> Self {
        Lockout {
            now: db::now(),
            window: chrono_duration(state.settings.login_failure_window),
            max_failures: usize::try_from(state.settings.login_max_failures).unwrap_or(usize::MAX),
        }
    }

    /// The key of an attempt for `email` (as typed) from `client`.
    pub(super) fn key(self, email: &str, client: &ClientInfo) -> Throttle {
        let key = match Email::parse(email) {
            Ok(email) => email.as_str().to_owned(),
            Err(_) => format!(
                "sha256:{}",
                tokens::sha256_hex(email.trim().to_lowercase().as_bytes())
            ),
        };
        Throttle {
            email: key,
            client_ip: client.lockout_address(),
            now: self.now,
            window: self.window,
            max_failures: self.max_failures,
        }
    }
}

impl Throttle {
    pub(super) fn new(state: &AppState, email: &str, client: &ClientInfo) -> Self {
        Lockout::of(state).key(email, client)
    }

    /// Reserves one password check for this key, or refuses with
    /// `too_many_attempts` while the key has `max_failures` failures (or
    /// reservations in flight) inside the window. Runs on a connection the
    /// caller holds, so a flow can look up its user in the same round trip.
    pub(super) fn reserve(&self, conn: &mut AnyConnection) -> Result<Reserved, Error> {
        let outcome = db::login_failures::reserve(
            conn,
            &self.email,
            &self.client_ip,
            self.now,
            self.now - self.window,
            self.max_failures,
        )?;
        match outcome {
            db::login_failures::Reservation::Reserved { id } => Ok(Reserved {
                id,
                email: self.email.clone(),
                client_ip: self.client_ip.clone(),
            }),
            db::login_failures::Reservation::Refused { failures } => Err(self.refusal(&failures)),
        }
    }

    /// `too_many_attempts`, with `Retry-After` when enough of `failures`
    /// (oldest first, at least `max_failures` of them) will have aged out.
    fn refusal(&self, failures: &[NaiveDateTime]) -> Error {
        let oldest_that_counts = failures
            .len()
            .checked_sub(self.max_failures)
            .and_then(|i| failures.get(i))
            .copied()
            .unwrap_or(self.now);
        let remaining = (oldest_that_counts + self.window - self.now).num_milliseconds();
        // Whole seconds, rounded up, and at least 1: a client told to retry
        // after 0 s would retry at once.
        let retry_after = u64::try_from((remaining + 999) / 1000).unwrap_or(0).max(1);
        Error::TooManyAttempts { retry_after }
    }
}

impl Reserved {
    /// The attempt did not fail: its place is free again. Other failures of
    /// the key stay.
    pub(super) async fn give_back(self, state: &AppState) -> Result<(), Error> {
        db::run(&state.pool, move |conn| {
            db::login_failures::give_back(conn, &self.id)
        })
        .await?;
        Ok(())
    }

    /// The attempt succeeded as a login: the key's failures are forgotten,
    /// this reservation with them.
    pub(super) async fn clear_key(self, state: &AppState) -> Result<(), Error> {
        db::run(&state.pool, move |conn| {
            db::login_failures::clear(conn, &self.email, &self.client_ip)
        })
        .await?;
        Ok(())
    }
}
