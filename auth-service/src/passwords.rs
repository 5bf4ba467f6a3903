//! bcrypt, on a pool of its own.
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
//! ([`latency_sensitive`]), at most cores − 1 hashes run at once and a core
//! stays free for it; with none in flight, logins use every core.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::domain::Password;
use crate::error::Error;

/// bcrypt reads at most 72 bytes; see [`Password`].
pub const BCRYPT_MAX_BYTES: usize = 72;

fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores())
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
            .ok()
    })
    .as_ref()
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Requests in flight that a hash must not slow down.
static LATENCY_SENSITIVE: AtomicUsize = AtomicUsize::new(0);

/// Held while serving a request that must stay fast under a login storm (a
/// refresh): hashing leaves a core to it until the guard is dropped.
#[derive(Debug)]
pub struct LatencySensitive(());

/// Marks a latency-sensitive request as in flight until the guard drops.
pub fn latency_sensitive() -> LatencySensitive {
    LATENCY_SENSITIVE.fetch_add(1, Ordering::SeqCst);
    LatencySensitive(())
}

impl Drop for LatencySensitive {
    fn drop(&mut self) {
        LATENCY_SENSITIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How many hashes may run now.
fn hash_limit() -> usize {
    let cores = cores();
    if LATENCY_SENSITIVE.load(Ordering::SeqCst) > 0 {
        cores.saturating_sub(1).max(1)
    } else {
        cores
    }
}

/// Admits hashes up to [`hash_limit`]. A waiting hash re-reads the limit
/// every few milliseconds, so it starts soon after the last refresh ends.
struct Gate {
    running: Mutex<usize>,
    changed: Condvar,
}

static GATE: Gate = Gate {
    running: Mutex::new(0),
    changed: Condvar::new(),
};

impl Gate {
    fn pass<T>(&self, job: impl FnOnce() -> T) -> T {
        {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            while *running >= hash_limit() {
                running = self
                    .changed
                    .wait_timeout(running, Duration::from_millis(5))
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

struct Admitted<'a>(&'a Gate);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        *self.0.running.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        self.0.changed.notify_one();
    }
}

async fn run<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    let Some(pool) = pool() else {
        return Ok(actix_web::web::block(job).await?);
    };
    let (tx, rx) = oneshot::channel();
    pool.spawn(move || {
        let _ = tx.send(GATE.pass(job));
    });
    rx.await
        .map_err(|_| Error::Internal("the bcrypt task was lost".into()))
}

/// Hashes a new password at `cost`.
pub async fn hash(password: Password, cost: u32) -> Result<String, Error> {
    Ok(run(move || bcrypt::hash(password.expose(), cost)).await??)
}

/// Whether `password` matches `hash`. Input longer than bcrypt reads is
/// refused (it would otherwise match a stored 72-byte prefix) but still
/// hashed, so the refusal costs the same time as a wrong password.
pub async fn verify(password: String, hash: String) -> Result<bool, Error> {
    let too_long = password.len() > BCRYPT_MAX_BYTES;
    let matches = run(move || {
        let bytes = &password.as_bytes()[..password.len().min(BCRYPT_MAX_BYTES)];
        bcrypt::verify(bytes, &hash)
    })
    .await??;
    Ok(matches && !too_long)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_long_input_never_matches_its_prefix() {
        let password = Password::parse("p".repeat(72)).expect("valid");
        let hash = hash(password, 4).await.expect("hash");
        assert!(verify("p".repeat(72), hash.clone()).await.expect("verify"));
        assert!(!verify("p".repeat(73), hash.clone()).await.expect("verify"));
        assert!(!verify("q".repeat(72), hash).await.expect("verify"));
    }

    /// Runs `jobs` jobs of 100 ms on the pool at once; the most that ran
    /// together.
    async fn most_at_once(jobs: usize) -> usize {
        use std::sync::Arc;
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let runs = (0..jobs).map(|_| {
            let (now, most) = (now.clone(), most.clone());
            run(move || {
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
        // One test for both halves: they share the process-wide gate.
        let cores = cores();
        assert_eq!(most_at_once(cores * 2).await, cores, "every core hashes");

        let guard = latency_sensitive();
        let limited = most_at_once(cores * 2).await;
        drop(guard);

        assert_eq!(limited, cores.saturating_sub(1).max(1));
        assert_eq!(most_at_once(cores * 2).await, cores, "and again after it");
    }

    #[test]
    fn a_job_that_panics_gives_its_place_back() {
        let gate = Gate {
            running: Mutex::new(0),
            changed: Condvar::new(),
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            gate.pass(|| panic!("a failing hash"))
        }));

        assert!(outcome.is_err());
        assert_eq!(*gate.running.lock().expect("lock"), 0);
    }

    #[tokio::test]
    async fn hashing_runs_on_low_priority_threads_of_its_own() {
        let (name, stat) = run(|| {
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
