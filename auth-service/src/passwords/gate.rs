//! The gate in front of the bcrypt threads: how many hashes may run now,
//! and the counts that decide it.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Held while a latency-sensitive request is in flight; see
/// [`super::Hasher::latency_sensitive`].
#[derive(Debug)]
pub struct LatencySensitive(pub(super) Arc<Gate>);

impl Drop for LatencySensitive {
    fn drop(&mut self) {
        self.0.mark_latency_sensitive();
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
    /// How many may wait at once; see [`Queued::try_enter`].
    queue_limit: usize,
    /// A moving average of how long one job runs, in microseconds: what a
    /// refused request is told to wait is derived from it.
    job_micros: AtomicU64,
    /// A moving average of a job's pace beside refreshes (ending while
    /// [`Gate::sharing`]): nanoseconds per unit of bcrypt work (a job at
    /// cost `c` is 2^c units), so checks of hashes made at older costs
    /// compare with the rest.
    shared_pace: AtomicU64,
    /// The quickest pace seen (creeping up slowly towards slower ones, so a
    /// machine that became slower for good is followed): hashing with the
    /// machine to itself.
    best_pace: AtomicU64,
    pub(super) latency_sensitive: AtomicUsize,
    /// When a latency-sensitive request last started or ended, in
    /// milliseconds after `epoch` (plus one: 0 is never).
    last_sensitive_ms: AtomicU64,
    /// The bcrypt cost of the latest timed check.
    last_cost: AtomicU32,
    epoch: Instant,
    /// How long after the last refresh hashing still counts as sharing the
    /// machine with refreshes: refreshes under load come back to back, and
    /// an instant between two of them is no sign that they have stopped.
    pub(super) linger: Duration,
}

/// See [`Gate::linger`].
const LINGER: Duration = Duration::from_secs(1);

/// The wait the queue is never shortened below; see [`Gate::queue_limit_now`].
const MIN_ALLOWED_WAIT: Duration = Duration::from_secs(1);

/// How long a waiting hash sleeps before it looks at the limit again when
/// no wake-up came: the bound on a missed one.
const RECHECK: Duration = Duration::from_millis(50);

/// What one job is assumed to take before any has been timed: a bcrypt
/// check at the default cost of 12 on a current core.
const FIRST_GUESS: Duration = Duration::from_millis(250);

impl Gate {
    pub(super) fn new(cores: usize, queue_limit: usize) -> Self {
        Gate {
            cores,
            running: Mutex::new(0),
            changed: Condvar::new(),
            waiting: AtomicUsize::new(0),
            queue_limit,
            job_micros: AtomicU64::new(0),
            shared_pace: AtomicU64::new(0),
            best_pace: AtomicU64::new(0),
            latency_sensitive: AtomicUsize::new(0),
            last_sensitive_ms: AtomicU64::new(0),
            last_cost: AtomicU32::new(0),
            epoch: Instant::now(),
            linger: LINGER,
        }
    }

    /// Notes that a latency-sensitive request starts or ends now.
    pub(super) fn mark_latency_sensitive(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_sensitive_ms
            .store(ms.saturating_add(1), Ordering::Relaxed);
    }

    /// Whether hashing shares the machine with refreshes: one is in flight,
    /// or one was within [`Gate::linger`].
    fn sharing(&self) -> bool {
        if self.latency_sensitive.load(Ordering::SeqCst) > 0 {
            return true;
        }
        match self.last_sensitive_ms.load(Ordering::Relaxed) {
            0 => false,
            last => {
                let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
                now.saturating_add(1).saturating_sub(last) < self.linger.as_millis() as u64
            }
        }
    }

    /// How many checks may wait now: `queue_limit`, sized for hashing with
    /// every core, while it has them. While refreshes run ([`Gate::sharing`])
    /// it has one core fewer, at the lowest priority beside the refreshes and
    /// the database, and the queue drains slower by as much as the pace
    /// measured then says; the queue is cut by the same ratio (to one place
    /// at least, or nothing could start), so that an admitted check waits
    /// about what a full queue takes to drain on an idle machine, not
    /// several times that; never below what drains in a second.
    pub(super) fn queue_limit_now(&self) -> usize {
        if self.cores <= 1 || !self.sharing() {
            return self.queue_limit;
        }
        let hashing = self.cores - 1;
        let best = self.best_pace.load(Ordering::Relaxed);
        if best == 0 {
            // Nothing timed yet: the limit as API.md states it.
            return self.queue_limit;
        }
        // Before any check has ended beside refreshes, assume the hashing
        // core is shared half and half with them: the first logins of a
        // storm are admitted as cautiously as the later ones.
        let pace = match self.shared_pace.load(Ordering::Relaxed) {
            0 => best.saturating_mul(2),
            pace => pace.max(best),
        };
        // In nanoseconds, at the cost of the latest check.
        let cost = self.last_cost.load(Ordering::Relaxed).min(63);
        let job = u128::from(pace) << cost;
        let allowed = self.allowed_wait_nanos(best, cost);
        let drained = allowed.saturating_mul(hashing as u128) / job.max(1);
        usize::try_from(drained)
            .unwrap_or(usize::MAX)
            .clamp(self.queue_limit.min(1), self.queue_limit)
    }

    /// The wait an admitted check is promised, in nanoseconds: what a full
    /// queue takes to drain with every core at the `best` pace (at `cost`);
    /// cheap hashes drain any queue quickly, however slow beside refreshes,
    /// so never under a second, which is never worth a refusal.
    fn allowed_wait_nanos(&self, best: u64, cost: u32) -> u128 {
        let idle_full_queue = (self.queue_limit as u128)
            .saturating_mul(u128::from(best) << cost.min(63))
            / self.cores.max(1) as u128;
        idle_full_queue.max(MIN_ALLOWED_WAIT.as_nanos())
    }

    /// When a check admitted now stops waiting ([`Queued::try_enter`]):
    /// `None` until a check has been timed, or for a queue without bound.
    fn shed_at(&self) -> Option<Instant> {
        let best = self.best_pace.load(Ordering::Relaxed);
        if best == 0 || self.queue_limit == usize::MAX {
            return None;
        }
        let cost = self.last_cost.load(Ordering::Relaxed);
        let nanos = u64::try_from(self.allowed_wait_nanos(best, cost)).unwrap_or(u64::MAX);
        Instant::now().checked_add(Duration::from_nanos(nanos))
    }

    /// Whole seconds until a job queued now would likely start: the queue
    /// and the jobs running (every core, as far as the request side can
    /// tell without the lock) shared among the cores; at least 1, since a
    /// client told to retry after 0 s would retry at once.
    pub(super) fn retry_after_secs(&self) -> u64 {
        let job = match self.job_micros.load(Ordering::Relaxed) {
            0 => FIRST_GUESS,
            micros => Duration::from_micros(micros),
        };
        let ahead = self.waiting.load(Ordering::SeqCst) + self.cores;
        let wait_micros = job.as_micros().saturating_mul(ahead as u128) / self.cores.max(1) as u128;
        u64::try_from(wait_micros.div_ceil(1_000_000))
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Counts one job that ran for `took`; `cost` is its bcrypt cost, when
    /// it has one (a job without is timed for `Retry-After` only).
    pub(super) fn record(&self, took: Duration, cost: Option<u32>) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        // Racing updates may lose one sample; an estimate does not mind.
        let average = match self.job_micros.load(Ordering::Relaxed) {
            0 => micros,
            before => (before.saturating_mul(7).saturating_add(micros)) / 8,
        };
        self.job_micros.store(average.max(1), Ordering::Relaxed);

        let Some(cost) = cost.filter(|c| *c < 64) else {
            return;
        };
        self.last_cost.store(cost, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let pace = (nanos >> cost).max(1);
        if self.sharing() {
            // Quick to follow: a storm's first hashes already show its pace.
            let average = match self.shared_pace.load(Ordering::Relaxed) {
                0 => pace,
                before => (before.saturating_mul(3).saturating_add(pace)) / 4,
            };
            self.shared_pace.store(average.max(1), Ordering::Relaxed);
        }
        let best = match self.best_pace.load(Ordering::Relaxed) {
            0 => pace,
            best if pace <= best => pace,
            best => best + (pace - best) / 256,
        };
        self.best_pace.store(best.max(1), Ordering::Relaxed);
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

    /// Waits for a place, runs `job` (a bcrypt job of `cost`, if it has
    /// one) and gives the place back. A job with a `shed_at` that is still
    /// waiting then while hashing shares the machine with refreshes is not
    /// run: [`Shed`].
    pub(super) fn pass<T>(
        &self,
        cost: Option<u32>,
        shed_at: Option<Instant>,
        job: impl FnOnce() -> T,
    ) -> Result<T, Shed> {
        {
            let mut running = self.lock();
            while *running >= self.limit() {
                if shed_at.is_some_and(|at| Instant::now() >= at) && self.sharing() {
                    return Err(Shed);
                }
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
        let started = Instant::now();
        let outcome = job();
        self.record(started.elapsed(), cost);
        Ok(outcome)
    }
}

/// A check that waited past the wait promised at its admission while
/// refreshes took the machine: answered like a refusal at the door (API.md
/// §3 "Overload") rather than left to wait on at a pace the queue was not
/// sized for (the refreshes started after it was admitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shed;

/// A job counted as waiting from the moment it is queued until it is admitted.
pub(super) struct Queued {
    gate: Arc<Gate>,
    /// When it stops waiting (see [`Gate::pass`]); `None` for a follow-up,
    /// which is never turned away halfway through its request.
    shed_at: Option<Instant>,
}

impl Queued {
    /// A place in the queue whatever its length, never shed.
    pub(super) fn enter(gate: &Arc<Gate>) -> Self {
        gate.waiting.fetch_add(1, Ordering::SeqCst);
        Queued {
            gate: Arc::clone(gate),
            shed_at: None,
        }
    }

    /// A place in the queue, unless [`Gate::queue_limit_now`] jobs already
    /// wait. One atomic step, so racing requests never overfill it.
    pub(super) fn try_enter(gate: &Arc<Gate>) -> Option<Self> {
        let limit = gate.queue_limit_now();
        gate.waiting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |waiting| {
                (waiting < limit).then_some(waiting + 1)
            })
            .ok()
            .map(|_| Queued {
                gate: Arc::clone(gate),
                shed_at: gate.shed_at(),
            })
    }

    pub(super) fn pass<T>(self, cost: Option<u32>, job: impl FnOnce() -> T) -> Result<T, Shed> {
        let gate = Arc::clone(&self.gate);
        let shed_at = self.shed_at;
        gate.pass(cost, shed_at, move || {
            drop(self);
            job()
        })
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.gate.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Admitted<'a>(&'a Gate);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        *self.0.lock() -= 1;
        self.0.changed.notify_one();
    }
}
