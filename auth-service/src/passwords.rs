//! bcrypt, on a pool of its own.
//!
//! A bcrypt hash at cost 12 takes a core for about 280 ms. On the blocking
//! pool shared with database calls, a login storm would leave refreshes
//! waiting behind hashes. Here hashing runs on dedicated threads, one per
//! core so logins still use every core when nothing else runs, at the lowest
//! scheduling priority: the kernel gives a core to refreshes, database calls
//! and the HTTP workers first. Callers await the result; nothing blocks an
//! executor thread.

use std::sync::OnceLock;

use tokio::sync::oneshot;

use crate::domain::Password;
use crate::error::Error;

/// bcrypt reads at most 72 bytes; see [`Password`].
pub const BCRYPT_MAX_BYTES: usize = 72;

fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
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

async fn run<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    let Some(pool) = pool() else {
        return Ok(actix_web::web::block(job).await?);
    };
    let (tx, rx) = oneshot::channel();
    pool.spawn(move || {
        let _ = tx.send(job());
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
