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
//! several of them and PostgreSQL. So the service's executable hands its
//! hashes to a process of its own, in a session of its own (`worker`); these
//! threads then only wait for its answers. And while a refresh is in flight
//! ([`Hasher::latency_sensitive`]), at most cores − 1 hashes run at once and
//! a core stays free for it; with none in flight, logins use every core.
//!
//! The queue in front of the threads is bounded (API.md §3 "Overload"): a
//! request that needs a password check takes its place with
//! [`Hasher::admit`] before anything else, and past `LOGIN_QUEUE_LIMIT`
//! waiting checks it is refused at once with `503 temporarily_unavailable`
//! rather than queued to time out while the server still hashes for it.
//! While a core is left to refreshes the queue drains slower, and it is
//! shortened by as much ([`gate::Gate::queue_limit_now`]): an admitted check
//! waits about what a full queue would on an idle machine, not several times
//! that.
//!
//! Every [`Hasher`] has its own threads and its own counts, so two servers in
//! one process never slow each other down or see each other's refreshes.

mod gate;
mod worker;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::oneshot;

pub use gate::LatencySensitive;
use gate::{Gate, Queued};
pub use worker::{offer_this_executable, serve_if_asked};
use worker::{Job, Outcome, Worker};

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
    /// The process the threads hand their hashes to, when the executable
    /// offered itself ([`offer_this_executable`]); `None`: they hash here.
    worker: Option<Arc<Worker>>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts = self.gate.counts();
        f.debug_struct("Hasher")
            .field("cores", &self.gate.cores)
            .field("running", &counts.running)
            .field("waiting", &counts.waiting)
            .field("latency_sensitive", &counts.latency_sensitive)
            .field("worker", &self.worker_pid())
            .finish_non_exhaustive()
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

/// A place in a [`Hasher`]'s queue, held from before the work that leads to
/// a password check (finding the user, reserving a place under the lockout)
/// until the check starts, so a request that would be refused is refused
/// before it has done or reserved anything.
#[must_use = "an admission holds a place in the queue until it is used or dropped"]
pub struct Admission<'a> {
    hasher: &'a Hasher,
    ticket: Queued,
}

impl std::fmt::Debug for Admission<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission").finish_non_exhaustive()
    }
}

impl Admission<'_> {
    /// Hashes a new password at `cost`.
    pub async fn hash(self, password: Password, cost: u32) -> Result<String, Error> {
        let password = password.expose().to_owned();
        self.hasher
            .run_job(self.ticket, Some(cost), Job::Hash { password, cost })
            .await?
            .hashed()
    }

    /// Hashes again, at `cost`, a password that has just matched its
    /// stored hash (API.md §3: a login upgrades a hash of another cost).
    /// A plain string, not a [`Password`]: an account made under older
    /// rules still logs in, and its hash is upgraded all the same.
    pub async fn rehash(self, password: String, cost: u32) -> Result<String, Error> {
        self.hasher
            .run_job(self.ticket, Some(cost), Job::Hash { password, cost })
            .await?
            .hashed()
    }

    /// Whether `password` matches `hash`. Input longer than bcrypt reads is
    /// refused (it would otherwise match a stored 72-byte prefix) but still
    /// hashed, so the refusal costs the same time as a wrong password.
    pub async fn verify(self, password: String, hash: String) -> Result<bool, Error> {
        let too_long = password.len() > BCRYPT_MAX_BYTES;
        let cost = cost_of(&hash);
        let matches = self
            .hasher
            .run_job(self.ticket, cost, Job::Verify { password, hash })
            .await?
            .matches()?;
        Ok(matches && !too_long)
    }
}

impl Outcome {
    fn hashed(self) -> Result<String, Error> {
        match self {
            Outcome::Hashed(hash) => Ok(hash),
            other => Err(other.unexpected()),
        }
    }

    fn matches(self) -> Result<bool, Error> {
        match self {
            Outcome::Matches(matches) => Ok(matches),
            other => Err(other.unexpected()),
        }
    }

    fn unexpected(self) -> Error {
        match self {
            Outcome::Failed(e) => Error::Internal(format!("bcrypt: {e}")),
            // Never the hash itself, in a log line.
            Outcome::Hashed(_) => Error::Internal("bcrypt answered a hash, not a match".into()),
            Outcome::Matches(_) => Error::Internal("bcrypt answered a match, not a hash".into()),
        }
    }
}

/// The cost a bcrypt hash was made at; `None` for what is no bcrypt hash.
pub fn cost_of(hash: &str) -> Option<u32> {
    hash.parse::<bcrypt::HashParts>()
        .ok()
        .map(|parts| parts.get_cost())
}

impl Hasher {
    /// A hasher with one low-priority thread per core, no bound on its
    /// queue and no bcrypt process: for the command line, where one person
    /// waits for one hash.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self::with_cores(cores, usize::MAX)
    }

    /// A hasher that refuses work while `queue_limit` checks already wait
    /// (`LOGIN_QUEUE_LIMIT`).
    /// When the executable offered itself ([`offer_this_executable`]), the
    /// hashes run in a process of its own (see `worker`).
    pub fn with_queue_limit(queue_limit: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let mut hasher = Self::with_cores(cores, queue_limit);
        hasher.worker = worker::offered().map(|program| Arc::new(Worker::new(program, cores)));
        hasher
    }

    /// The process id of the bcrypt process, while one runs.
    fn worker_pid(&self) -> Option<u32> {
        self.worker.as_ref().and_then(|w| w.pid())
    }

    fn with_cores(cores: usize, queue_limit: usize) -> Self {
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
            gate: Arc::new(Gate::new(cores, queue_limit)),
            worker: None,
        }
    }

    /// Marks a request that must stay fast under a login storm (a refresh)
    /// as in flight: hashing leaves a core to it until the guard drops.
    pub fn latency_sensitive(&self) -> LatencySensitive {
        self.gate.latency_sensitive.fetch_add(1, Ordering::SeqCst);
        self.gate.mark_latency_sensitive();
        LatencySensitive(Arc::clone(&self.gate))
    }

    /// A place in the queue for one password check, or `503
    /// temporarily_unavailable` with a `Retry-After` derived from the queue
    /// when `queue_limit` checks already wait.
    pub fn admit(&self) -> Result<Admission<'_>, Error> {
        match Queued::try_enter(&self.gate) {
            Some(ticket) => Ok(Admission {
                hasher: self,
                ticket,
            }),
            None => Err(Error::Overloaded {
                retry_after: self.gate.retry_after_secs(),
            }),
        }
    }

    /// A place for a second check of a request that `first` admitted (a
    /// password change hashes the new password after checking the current
    /// one). Never refused: a request is turned away before it starts, not
    /// halfway through.
    pub fn admit_follow_up(&self, _first: &Admission<'_>) -> Admission<'_> {
        Admission {
            hasher: self,
            ticket: Queued::enter(&self.gate),
        }
    }

    /// Hashes a new password at `cost`, if the queue admits it.
    pub async fn hash(&self, password: Password, cost: u32) -> Result<String, Error> {
        self.admit()?.hash(password, cost).await
    }

    /// [`Admission::verify`], if the queue admits it.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, Error> {
        self.admit()?.verify(password, hash).await
    }

    #[cfg(test)]
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let ticket = self.admit()?.ticket;
        self.run_admitted(ticket, None, job).await
    }

    /// Runs a password job once the gate lets it: in the worker process if
    /// there is one, else on the thread the gate let through.
    async fn run_job(&self, ticket: Queued, cost: Option<u32>, job: Job) -> Result<Outcome, Error> {
        let worker = self.worker.clone();
        self.run_admitted(ticket, cost, move || match worker {
            Some(worker) => worker.run(job),
            None => job.run(),
        })
        .await
    }

    /// Runs `job`, a bcrypt job of `cost` if it has one, once the gate
    /// lets it.
    async fn run_admitted<T: Send + 'static>(
        &self,
        ticket: Queued,
        cost: Option<u32>,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let passed = match &self.pool {
            None => actix_web::web::block(move || ticket.pass(cost, job)).await?,
            Some(pool) => {
                let (tx, rx) = oneshot::channel();
                pool.spawn(move || {
                    let _ = tx.send(ticket.pass(cost, job));
                });
                rx.await
                    .map_err(|_| Error::Internal("the bcrypt task was lost".into()))?
            }
        };
        passed.map_err(|gate::Shed| Error::Overloaded {
            retry_after: self.gate.retry_after_secs(),
        })
    }
}

#[cfg(test)]
mod tests;
