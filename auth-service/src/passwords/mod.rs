//! bcrypt, on a pool of its own, owned by the application.
//!
//! A bcrypt hash at cost 12 takes a core for about 280 ms. On the blocking
//! pool shared with database calls, a login storm would leave refreshes
//! waiting behind hashes. Here hashing runs on dedicated threads, one per
//! core so logins still use every core when nothing else runs, at the lowest
//! scheduling priority: the kernel gives a core to refreshes, database calls
//! and the HTTP workers first. Callers await the result; nothing blocks an
//! executor thread.
//!
//! Priority alone does not keep a refresh quick beside a login storm: the
//! kernel balances the service's threads as one group, and a refresh crosses
//! several of them. So while a refresh is in flight
//! ([`Hasher::latency_sensitive`]), at most cores − 1 hashes run at once and
//! a core stays free for it; with none in flight, logins use every core.
//!
//! Every [`Hasher`] has its own threads and its own counts, so two servers in
//! one process never slow each other down or see each other's refreshes.

mod gate;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::oneshot;

pub use gate::LatencySensitive;
use gate::{Gate, Queued};

use crate::domain::Password;
use crate::error::Error;

/// bcrypt reads at most 72 bytes; see [`Password`].
pub const BCRYPT_MAX_BYTES: usize = 72;

/// Hashes and verifies passwords on threads of its own.
pub struct Hasher {
    /// `None` when the threads could not be started: hashing then runs on
    /// the blocking pool, still through the gate.
    pool: Option<rayon::ThreadPool>,
    gate: Arc<Gate>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts = self.gate.counts();
        f.debug_struct("Hasher")
            .field("cores", &self.gate.cores)
            .field("running", &counts.running)
            .field("waiting", &counts.waiting)
            .field("latency_sensitive", &counts.latency_sensitive)
            .finish_non_exhaustive()
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    /// A hasher with one low-priority thread per core.
    pub fn new() -> Self {
        Self::with_cores(std::thread::available_parallelism().map_or(2, usize::from))
    }

    fn with_cores(cores: usize) -> Self {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cores)
            .thread_name(|n| format!("bcrypt-{n}"))
            .start_handler(|_| {
                // Lowering one's own priority needs no privilege; if the
                // platform refuses, hashing still works, only unprioritised.
                if let Err(e) = thread_priority::ThreadPriority::Min.set_for_current() {
                    log::debug!("bcrypt thread keeps its priority: {e:?}");
                }
            })
            .build()
            .map_err(|e| log::warn!("no dedicated bcrypt pool ({e}); using the blocking pool"))
            .ok();
        Hasher {
            pool,
            gate: Arc::new(Gate::new(cores)),
        }
    }

    /// Marks a request that must stay fast under a login storm (a refresh)
    /// as in flight: hashing leaves a core to it until the guard drops.
    pub fn latency_sensitive(&self) -> LatencySensitive {
        self.gate.latency_sensitive.fetch_add(1, Ordering::SeqCst);
        LatencySensitive(Arc::clone(&self.gate))
    }

    /// Hashes a new password at `cost`.
    pub async fn hash(&self, password: Password, cost: u32) -> Result<String, Error> {
        Ok(self
            .run(move || bcrypt::hash(password.expose(), cost))
            .await??)
    }

    /// Whether `password` matches `hash`. Input longer than bcrypt reads is
    /// refused (it would otherwise match a stored 72-byte prefix) but still
    /// hashed, so the refusal costs the same time as a wrong password.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, Error> {
        let too_long = password.len() > BCRYPT_MAX_BYTES;
        let matches = self
            .run(move || {
                let bytes = &password.as_bytes()[..password.len().min(BCRYPT_MAX_BYTES)];
                bcrypt::verify(bytes, &hash)
            })
            .await??;
        Ok(matches && !too_long)
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        // Admission control (a bound on waiting work) belongs here, before
        // the job is queued: `Counts::waiting` is the number to bound.
        let ticket = Queued::enter(&self.gate);
        let Some(pool) = &self.pool else {
            return Ok(actix_web::web::block(move || ticket.pass(job)).await?);
        };
        let (tx, rx) = oneshot::channel();
        pool.spawn(move || {
            let _ = tx.send(ticket.pass(job));
        });
        rx.await
            .map_err(|_| Error::Internal("the bcrypt task was lost".into()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_long_input_never_matches_its_prefix() {
        let hasher = Hasher::new();
        let password = Password::parse("p".repeat(72)).expect("valid");
        let hash = hasher.hash(password, 4).await.expect("hash");
        let verify = |p: String| hasher.verify(p, hash.clone());
        assert!(verify("p".repeat(72)).await.expect("verify"));
        assert!(!verify("p".repeat(73)).await.expect("verify"));
        assert!(!verify("q".repeat(72)).await.expect("verify"));
    }

    /// Runs `jobs` jobs of 100 ms on `hasher` at once; the most that ran
    /// together.
    async fn most_at_once(hasher: &Hasher, jobs: usize) -> usize {
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let runs = (0..jobs).map(|_| {
            let (now, most) = (now.clone(), most.clone());
            hasher.run(move || {
                let here = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(here, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
                now.fetch_sub(1, Ordering::SeqCst);
            })
        });
        for outcome in futures_util::future::join_all(runs).await {
            outcome.expect("ran");
        }
        most.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn while_a_refresh_is_in_flight_hashing_leaves_a_core_free() {
        let hasher = Hasher::with_cores(4);
        assert_eq!(most_at_once(&hasher, 8).await, 4, "every core hashes");

        let guard = hasher.latency_sensitive();
        let limited = most_at_once(&hasher, 8).await;
        drop(guard);

        assert_eq!(limited, 3);
        assert_eq!(most_at_once(&hasher, 8).await, 4, "and again after it");
    }

    #[tokio::test]
    async fn a_single_core_still_hashes_during_a_refresh() {
        let hasher = Hasher::with_cores(1);
        let _guard = hasher.latency_sensitive();
        assert_eq!(most_at_once(&hasher, 2).await, 1);
    }

    #[tokio::test]
    async fn a_waiting_hash_starts_when_the_last_refresh_ends() {
        let hasher = Hasher::with_cores(2);
        let refresh = hasher.latency_sensitive();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = oneshot::channel();
        // Takes the one place a refresh leaves, and keeps it.
        let holder = hasher.run(move || {
            let _ = started_tx.send(());
            let _ = release_rx.recv();
        });
        let waiter = async {
            started_rx.await.expect("the first job started");
            let second = hasher.run(|| ());
            let ended = async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                drop(refresh);
            };
            // Woken by the refresh's end, not by the first job's: that one
            // is still holding its place.
            let (outcome, ()) =
                tokio::join!(tokio::time::timeout(Duration::from_secs(10), second), ended);
            release_tx.send(()).expect("release");
            outcome
        };
        let (held, waited) = tokio::join!(holder, waiter);
        held.expect("the first job ran");
        waited
            .expect("woken before the first job ended")
            .expect("ran");
    }

    #[tokio::test]
    async fn two_hashers_share_nothing() {
        let busy = Hasher::with_cores(4);
        let other = Hasher::with_cores(4);
        let _refresh = busy.latency_sensitive();

        let (busy_most, other_most) = tokio::join!(most_at_once(&busy, 8), most_at_once(&other, 8));

        assert_eq!(busy_most, 3, "the refresh holds back its own hasher");
        assert_eq!(
            other_most, 4,
            "and not the other one, which has its own threads"
        );
        assert_eq!(other.gate.counts().latency_sensitive, 0);
    }

    #[tokio::test]
    async fn waiting_work_is_counted_until_admitted() {
        let hasher = Hasher::with_cores(1);
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = oneshot::channel();
        let first = hasher.run(move || {
            let _ = started_tx.send(());
            let _ = release_rx.recv();
        });
        let second = hasher.run(|| ());
        let check = async {
            started_rx.await.expect("the first job started");
            // The second is queued behind the first on the only thread.
            let counts = hasher.gate.counts();
            assert_eq!((counts.running, counts.waiting), (1, 1));
            release_tx.send(()).expect("release");
        };
        let (a, b, ()) = tokio::join!(first, second, check);
        a.expect("first");
        b.expect("second");
        let counts = hasher.gate.counts();
        assert_eq!((counts.running, counts.waiting), (0, 0));
    }

    #[test]
    fn a_job_that_panics_gives_its_place_back() {
        let gate = Gate::new(2);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            gate.pass(|| panic!("a failing hash"))
        }));

        assert!(outcome.is_err());
        assert_eq!(gate.counts().running, 0);
    }

    #[tokio::test]
    async fn hashing_runs_on_low_priority_threads_of_its_own() {
        let (name, stat) = Hasher::new()
            .run(|| {
                let name = std::thread::current().name().map(str::to_owned);
                (name, std::fs::read_to_string("/proc/thread-self/stat").ok())
            })
            .await
            .expect("ran");
        assert!(name.is_some_and(|n| n.starts_with("bcrypt-")));
        if let Some(stat) = stat {
            // proc(5): after the ")" closing the name, field 19 (nice) is the 17th.
            let nice: i32 = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(16))
                .and_then(|v| v.parse().ok())
                .expect("nice field");
            assert_eq!(nice, 19, "bcrypt threads run at the lowest priority");
        }
    }
}
