//! The JWKS endpoint's look at the database, rationed.
//!
//! The JWKS is served from memory (the key ring, reloaded periodically), yet
//! a key added by `keys rotate` in another process must show at once
//! (API.md §6). So a JWKS request may reload the keys itself, but the
//! endpoint is public and unauthenticated: a flood of requests must not take
//! the connection pool from logins and refreshes. Hence a token bucket (a
//! burst, then one check per interval), a single check in flight that
//! concurrent requests share, and a bound on how long a request waits for
//! it before answering from memory.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web;
use tokio::sync::watch;

use crate::state::AppState;

/// A token bucket: `burst` takes at once, then one per `every`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
    burst: f64,
    every: Duration,
}

impl Bucket {
    fn take(&mut self, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.at).as_secs_f64()
            / self.every.as_secs_f64().max(f64::MIN_POSITIVE);
        self.tokens = (self.tokens + refill).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The ration of database checks on behalf of JWKS requests. One per
/// running application.
#[derive(Debug)]
pub struct KeyCheck {
    bucket: Mutex<Bucket>,
    /// Held by the check in flight, for as long as it runs, even past the
    /// requests that gave up waiting: never two at once.
    running: Arc<tokio::sync::Mutex<()>>,
    /// Counts finished checks; waiting requests watch it.
    done: watch::Sender<u64>,
    wait: Duration,
}

impl Default for KeyCheck {
    /// A burst of 5, then one check a second; a request waits at most
    /// 200 ms for one.
    fn default() -> Self {
        Self::new(5, Duration::from_secs(1), Duration::from_millis(200))
    }
}

impl KeyCheck {
    /// `burst` checks at once, then one per `every`; a request waits at
    /// most `wait` for the check it shares.
    pub fn new(burst: u32, every: Duration, wait: Duration) -> Self {
        Self {
            bucket: Mutex::new(Bucket {
                tokens: f64::from(burst),
                at: Instant::now(),
                burst: f64::from(burst),
                every,
            }),
            running: Arc::new(tokio::sync::Mutex::new(())),
            done: watch::Sender::new(0),
            wait,
        }
    }

    fn allowed(&self) -> bool {
        let mut bucket = match self.bucket.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        bucket.take(Instant::now())
    }
}

/// Reloads the signing keys from the database if the ration allows, or
/// joins the reload already running; returns once it is done, or after the
/// wait bound, or at once when neither. Failures are logged: the caller
/// serves the keys in memory whatever happens.
pub async fn check_keys_for_jwks(state: &web::Data<AppState>) {
    let check = &state.key_check;
    let mut done = check.done.subscribe();
    done.borrow_and_update();
    if let Ok(guard) = Arc::clone(&check.running).try_lock_owned() {
        if !check.allowed() {
            return;
        }
        let state = state.clone();
        // Spawned, so that the check finishes (and returns its connection)
        // even when every request waiting for it has given up.
        actix_web::rt::spawn(async move {
            state.metrics.jwks_key_checked();
            if let Err(e) = super::reload_keys(&state).await {
                log::warn!("serving the JWKS from memory: {e}");
            }
            state.key_check.done.send_modify(|n| *n += 1);
            drop(guard);
        });
    }
    let _ = tokio::time::timeout(check.wait, done.changed()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_one_per_interval() {
        let start = Instant::now();
        let mut bucket = Bucket {
            tokens: 5.0,
            at: start,
            burst: 5.0,
            every: Duration::from_secs(1),
        };
        let taken = (0..100).filter(|_| bucket.take(start)).count();
        assert_eq!(taken, 5);
        assert!(!bucket.take(start + Duration::from_millis(900)));
        assert!(bucket.take(start + Duration::from_millis(1000)));
        assert!(!bucket.take(start + Duration::from_millis(1500)));
        // A long quiet spell refills the burst, never more.
        let later = start + Duration::from_secs(3600);
        assert_eq!((0..100).filter(|_| bucket.take(later)).count(), 5);
    }
}
