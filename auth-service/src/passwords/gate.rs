//! The gate in front of the bcrypt threads: how many hashes may run now,
//! and the counts that decide it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Held while a latency-sensitive request is in flight; see
/// [`super::Hasher::latency_sensitive`].
#[derive(Debug)]
pub struct LatencySensitive(pub(super) Arc<Gate>);

impl Drop for LatencySensitive {
    fn drop(&mut self) {
        if self.0.latency_sensitive.fetch_sub(1, Ordering::SeqCst) == 1 {
            // The limit just went up: a waiting hash may start now. Without
            // the lock (see `Gate`), so a wake-up can be missed; the
            // waiter's timeout bounds what that costs.
            self.0.changed.notify_all();
        }
    }
}

/// A snapshot of a gate's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counts {
    /// Hashes running now.
    pub(super) running: usize,
    /// Hashes queued and not yet admitted.
    pub(super) waiting: usize,
    /// Latency-sensitive requests in flight.
    pub(super) latency_sensitive: usize,
}

/// Admits hashes up to the current limit; a waiting hash sleeps until a
/// running one ends or the last refresh does.
///
/// Only the bcrypt threads take the lock. The request side (a refresh
/// starting or ending, a hash being queued) touches atomics alone: the
/// bcrypt threads run at the lowest priority, and one of them preempted
/// while holding a lock that an HTTP worker waits for would stall every
/// request on that worker.
#[derive(Debug)]
pub(super) struct Gate {
    pub(super) cores: usize,
    running: Mutex<usize>,
    changed: Condvar,
    waiting: AtomicUsize,
    pub(super) latency_sensitive: AtomicUsize,
}

/// How long a waiting hash sleeps before it looks at the limit again when
/// no wake-up came: the bound on a missed one.
const RECHECK: Duration = Duration::from_millis(50);

impl Gate {
    pub(super) fn new(cores: usize) -> Self {
        Gate {
            cores,
            running: Mutex::new(0),
            changed: Condvar::new(),
            waiting: AtomicUsize::new(0),
            latency_sensitive: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        // The count stays consistent even if a holder panicked: every
        // change is one arithmetic step.
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn counts(&self) -> Counts {
        Counts {
            running: *self.lock(),
            waiting: self.waiting.load(Ordering::SeqCst),
            latency_sensitive: self.latency_sensitive.load(Ordering::SeqCst),
        }
    }

    /// How many hashes may run at once now.
    fn limit(&self) -> usize {
        if self.latency_sensitive.load(Ordering::SeqCst) > 0 {
            self.cores.saturating_sub(1).max(1)
        } else {
            self.cores
        }
    }

    /// Waits for a place, runs `job` and gives the place back.
    pub(super) fn pass<T>(&self, job: impl FnOnce() -> T) -> T {
        {
            let mut running = self.lock();
            while *running >= self.limit() {
                running = self
                    .changed
                    .wait_timeout(running, RECHECK)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            *running += 1;
        }
        // Released on drop, so a hash that panics still gives its place back.
        let _admitted = Admitted(self);
        job()
    }
}

/// A job counted as waiting from the moment it is queued until it is admitted.
pub(super) struct Queued(Arc<Gate>);

impl Queued {
    pub(super) fn enter(gate: &Arc<Gate>) -> Self {
        gate.waiting.fetch_add(1, Ordering::SeqCst);
        Queued(Arc::clone(gate))
    }

    pub(super) fn pass<T>(self, job: impl FnOnce() -> T) -> T {
        let gate = Arc::clone(&self.0);
        gate.pass(move || {
            drop(self);
            job()
        })
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Admitted<'a>(&'a Gate);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        *self.0.lock() -= 1;
        self.0.changed.notify_one();
    }
}
