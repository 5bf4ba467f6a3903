//! bcrypt in a process of its own, in a session of its own.
//!
//! The kernel schedules a process's threads as one group: with autogroups
//! (the default on desktop and server kernels), every session is a group,
//! and groups share the CPU by weight whatever the priorities inside them.
//! Hashing on low-priority threads of the service itself therefore still
//! claims the service's whole share: PostgreSQL, in its own group, gets less
//! of the CPU while hashes run, and every refresh waits on PostgreSQL. The
//! same hashes in another session leave the service's group idle between
//! requests, so the database and the refreshes keep their pace beside a
//! login storm.
//!
//! The service starts this executable again as the worker ([`serve`]), with
//! [`WORKER_VARIABLE`] set, and talks to it over its standard input and
//! output, one JSON line per job and per answer. The gate in front of the
//! hashing threads stays in the service: the worker hashes what it is sent,
//! at most as many at once as the gate lets through. Should the worker end,
//! the jobs in flight and those after run in the service's own threads until
//! a new worker has started; a worker ends when its input closes, so it never
//! outlives the service.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::BCRYPT_MAX_BYTES;

/// Set in the worker's environment; an executable that finds it serves as
/// the worker ([`serve_if_asked`]) instead of doing what its arguments say.
pub const WORKER_VARIABLE: &str = "AUTH_SERVICE_BCRYPT_WORKER";

/// How long after a failed start or a death the next job tries again
/// (meanwhile jobs run in the service's threads), so a missing executable
/// or a worker that cannot run costs one spawn a second, not one per login.
const RESTART_AFTER: Duration = Duration::from_secs(1);

/// The executable to start as the worker, once [`offer_this_executable`]
/// has been called: servers built without it hash in their own threads.
static PROGRAM: OnceLock<PathBuf> = OnceLock::new();

/// Lets hashers made from now on ([`super::Hasher::with_queue_limit`]) run
/// their hashes in a worker process started from this executable. For the
/// service's `main`, whose executable answers to [`WORKER_VARIABLE`]; a test
/// binary does not, and keeps hashing in its own threads.
pub fn offer_this_executable() {
    // The running executable itself, even if its file has been replaced by
    // an upgrade since: a worker of another version would misread the jobs.
    let program = if cfg!(target_os = "linux") {
        PathBuf::from("/proc/self/exe")
    } else {
        match std::env::current_exe() {
            Ok(path) => path,
            Err(e) => {
                log::warn!("bcrypt stays in this process: {e}");
                return;
            }
        }
    };
    let _ = PROGRAM.set(program);
}

/// The executable [`offer_this_executable`] offered, if any.
pub(super) fn offered() -> Option<PathBuf> {
    PROGRAM.get().cloned()
}

/// One password job, as the worker receives it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(super) enum Job {
    Hash { password: String, cost: u32 },
    Verify { password: String, hash: String },
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        match self {
            Job::Hash { cost, .. } => f.debug_struct("Hash").field("cost", cost).finish(),
            Job::Verify { .. } => f.debug_struct("Verify").finish_non_exhaustive(),
        }
    }
}

/// What a [`Job`] came to.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Outcome {
    Hashed(String),
    /// Whether the first [`BCRYPT_MAX_BYTES`] bytes of the password match.
    Matches(bool),
    /// bcrypt's own error (a malformed stored hash, an invalid cost).
    Failed(String),
}

impl Job {
    /// Does the work, in the calling thread.
    pub(super) fn run(self) -> Outcome {
        match self {
            Job::Hash { password, cost } => match bcrypt::hash(password, cost) {
                Ok(hash) => Outcome::Hashed(hash),
                Err(e) => Outcome::Failed(e.to_string()),
            },
            Job::Verify { password, hash } => {
                let bytes = &password.as_bytes()[..password.len().min(BCRYPT_MAX_BYTES)];
                match bcrypt::verify(bytes, &hash) {
                    Ok(matches) => Outcome::Matches(matches),
                    Err(e) => Outcome::Failed(e.to_string()),
                }
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Request {
    id: u64,
    job: Job,
}

#[derive(Serialize, Deserialize)]
struct Reply {
    id: u64,
    outcome: Outcome,
}

/// The service's side: starts the worker when a job needs it, sends jobs,
/// hands back answers, and runs a job itself when no worker answers.
#[derive(Debug)]
pub(super) struct Worker {
    program: PathBuf,
    threads: usize,
    current: Mutex<Current>,
}

#[derive(Debug, Default)]
struct Current {
    connection: Option<Arc<Connection>>,
    failed_start: Option<Instant>,
}

impl Worker {
    /// A worker started from `program`, hashing on up to `threads` threads,
    /// when the first job comes.
    pub(super) fn new(program: PathBuf, threads: usize) -> Self {
        Worker {
            program,
            threads,
            current: Mutex::new(Current::default()),
        }
    }

    /// Runs `job` in the worker, or here if there is none. Blocks: for the
    /// service's bcrypt threads, which wait here instead of hashing.
    pub(super) fn run(&self, job: Job) -> Outcome {
        let Some(connection) = self.connection() else {
            return job.run();
        };
        match connection.call(&job) {
            Some(outcome) => outcome,
            None => job.run(),
        }
    }

    /// The process id of the worker running now, if one is.
    pub(super) fn pid(&self) -> Option<u32> {
        let current = self.lock();
        current
            .connection
            .as_ref()
            .filter(|c| c.shared.alive.load(Ordering::SeqCst))
            .map(|c| c.pid)
    }

    fn lock(&self) -> MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live worker, started if there is none and a start has not just
    /// failed.
    fn connection(&self) -> Option<Arc<Connection>> {
        let mut current = self.lock();
        if let Some(connection) = &current.connection {
            if connection.shared.alive.load(Ordering::SeqCst) {
                return Some(Arc::clone(connection));
            }
        }
        // The old one (if any) is dropped here: killed if need be and reaped.
        // A death counts as a failed start: a worker that dies at once on
        // every start is started once a second, not once a job.
        if current.connection.take().is_some() {
            current.failed_start = Some(Instant::now());
        }
        if current
            .failed_start
            .is_some_and(|at| at.elapsed() < RESTART_AFTER)
        {
            return None;
        }
        match Connection::start(&self.program, self.threads) {
            Ok(connection) => {
                log::info!(
                    "bcrypt runs in process {} (a session of its own, {} threads)",
                    connection.pid,
                    self.threads
                );
                let connection = Arc::new(connection);
                current.connection = Some(Arc::clone(&connection));
                current.failed_start = None;
                Some(connection)
            }
            Err(e) => {
                log::warn!(
                    "cannot start the bcrypt process ({}): {e}; hashing in this process",
                    self.program.display()
                );
                current.failed_start = Some(Instant::now());
                None
            }
        }
    }
}

/// One running worker process.
#[derive(Debug)]
struct Connection {
    pid: u32,
    child: Mutex<Child>,
    input: Mutex<ChildStdin>,
    next_id: AtomicU64,
    shared: Arc<Shared>,
}

/// What the thread reading the worker's answers shares with the callers.
#[derive(Debug, Default)]
struct Shared {
    waiting: Mutex<HashMap<u64, mpsc::SyncSender<Outcome>>>,
    /// False once the worker's output has ended: the worker is gone.
    alive: AtomicBool,
    /// Set when the service ends the worker itself (on its way out).
    ending: AtomicBool,
}

impl Shared {
    fn waiting(&self) -> MutexGuard<'_, HashMap<u64, mpsc::SyncSender<Outcome>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Connection {
    fn start(program: &std::path::Path, threads: usize) -> std::io::Result<Self> {
        let mut child = Command::new(program)
            .env(WORKER_VARIABLE, threads.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other("no pipes to the bcrypt process"));
        };
        let shared = Arc::new(Shared {
            waiting: Mutex::default(),
            alive: AtomicBool::new(true),
            ending: AtomicBool::new(false),
        });
        let pid = child.id();
        let reader = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("bcrypt-answers".into())
                .spawn(move || read_answers(output, &shared))
        };
        if let Err(e) = reader {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        Ok(Connection {
            pid,
            child: Mutex::new(child),
            input: Mutex::new(input),
            next_id: AtomicU64::new(0),
            shared,
        })
    }

    /// Sends `job` and waits for its answer; `None` if the worker is gone.
    fn call(&self, job: &Job) -> Option<Outcome> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::sync_channel(1);
        self.shared.waiting().insert(id, tx);
        // After the insertion: the reader marks the worker gone before it
        // drops every waiting sender, so either this sees it gone or the
        // sender is dropped and `recv` fails.
        if !self.shared.alive.load(Ordering::SeqCst) {
            self.shared.waiting().remove(&id);
            return None;
        }
        let mut line = match serde_json::to_vec(&Request {
            id,
            job: job.clone(),
        }) {
            Ok(line) => line,
            Err(_) => {
                self.shared.waiting().remove(&id);
                return None;
            }
        };
        line.push(b'\n');
        let sent = {
            let mut input = self.input.lock().unwrap_or_else(|p| p.into_inner());
            input.write_all(&line).and_then(|()| input.flush())
        };
        if sent.is_err() {
            // Its input is closed: the worker is gone, whether or not its
            // output has ended yet.
            self.shared.alive.store(false, Ordering::SeqCst);
            self.shared.waiting().remove(&id);
            return None;
        }
        rx.recv().ok()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shared.ending.store(true, Ordering::SeqCst);
        let child = self.child.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Hands each answer to its caller until the worker's output ends.
fn read_answers(output: std::process::ChildStdout, shared: &Shared) {
    for line in BufReader::new(output).lines() {
        let Ok(line) = line else { break };
        match serde_json::from_str::<Reply>(&line) {
            Ok(reply) => {
                if let Some(tx) = shared.waiting().remove(&reply.id) {
                    let _ = tx.send(reply.outcome);
                }
            }
            Err(e) => {
                log::error!("the bcrypt process answered what is no answer: {e}");
                break;
            }
        }
    }
    shared.alive.store(false, Ordering::SeqCst);
    let abandoned = std::mem::take(&mut *shared.waiting());
    if shared.ending.load(Ordering::SeqCst) {
        log::debug!("the bcrypt process has ended with the service");
        return;
    }
    log::warn!(
        "the bcrypt process has ended; {} job(s) in flight and the next run in this process until it is restarted",
        abandoned.len()
    );
}

/// Serves as the worker if this process was started as one, and returns its
/// exit code; `None` otherwise. First thing in `main`, before any runtime
/// or logger starts.
pub fn serve_if_asked() -> Option<ExitCode> {
    let threads = std::env::var_os(WORKER_VARIABLE)?;
    let threads = threads
        .to_str()
        .and_then(|t| t.parse::<usize>().ok())
        .filter(|t| *t > 0)
        .unwrap_or(1);
    Some(serve(threads))
}

/// The worker: a session of its own, `threads` hashing threads at the
/// lowest priority, jobs read from standard input until it closes.
fn serve(threads: usize) -> ExitCode {
    // A new session is a new autogroup, scheduled apart from the service's.
    // Should it be refused, hashing still works, as before, in one group.
    if let Err(e) = nix::unistd::setsid() {
        eprintln!("bcrypt process: no session of its own: {e}");
    }
    // A group of its own alone would compete with the service's and
    // PostgreSQL's at equal weight; at the lowest it takes what they leave.
    // Where autogroups are off, or a cgroup holds the service (a container),
    // this changes nothing and the threads' own priority below applies.
    let _ = std::fs::write("/proc/self/autogroup", "19");
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|n| format!("bcrypt-{n}"))
        .start_handler(|_| {
            let _ = thread_priority::ThreadPriority::Min.set_for_current();
        })
        .build()
    {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("bcrypt process: no threads: {e}");
            return ExitCode::FAILURE;
        }
    };
    let output = Arc::new(Mutex::new(std::io::stdout()));
    // Each job holds a clone; once every clone is gone, every job has ended.
    let (in_flight, all_done) = mpsc::channel::<()>();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let request = match serde_json::from_str::<Request>(&line) {
            Ok(request) => request,
            Err(e) => {
                // Not from this executable's service: nothing it says can be trusted.
                eprintln!("bcrypt process: not a job: {e}");
                return ExitCode::FAILURE;
            }
        };
        let output = Arc::clone(&output);
        let in_flight = in_flight.clone();
        pool.spawn(move || {
            let _in_flight = in_flight;
            let reply = Reply {
                id: request.id,
                outcome: request.job.run(),
            };
            let Ok(mut line) = serde_json::to_vec(&reply) else {
                return;
            };
            line.push(b'\n');
            let mut output = output.lock().unwrap_or_else(|p| p.into_inner());
            // A closed output means the service is gone; the loop above
            // ends at the same moment.
            let _ = output.write_all(&line).and_then(|()| output.flush());
        });
    }
    // Input closed: answer what was sent (if the service is gone, the
    // answers go nowhere), then end.
    drop(in_flight);
    let _ = all_done.recv();
    ExitCode::SUCCESS
}
