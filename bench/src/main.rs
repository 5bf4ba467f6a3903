//! The benchmark harness behind `bench/run`.
//!
//! In one run on one machine it measures the limits (an actix-web "hello"
//! server, `pgbench -N`, one bcrypt hash, criterion's Ed25519 verify), drives
//! both services with wrk over 127.0.0.1, samples each server's CPU
//! (/proc/PID/stat) and peak RSS (VmHWM in /proc/PID/status, reset before each
//! scenario), and writes the table as JSON and as `bench/RESULTS.md`.

// The run and what it is given.
/// What every step is given (options, binaries, folders) and the progress line.
mod ctx;
/// The command line: options and usage.
mod opts;
/// One run, in order, from a quiet machine to the written results.
mod run;

// What is measured.
/// The targets: each scenario against its limit.
mod checks;
/// The ceilings measured in the same run: bcrypt, criterion, pgbench.
mod limits;
/// The scenarios, one module per family (hello, verify, auth, checked, dpop, startup).
mod scenarios;

// How it is measured.
/// One wrk run inside a measurement window, and the row it becomes.
mod measure;
/// `perf record` of a server during a run (`--perf`).
mod profile;
/// /proc readings, the machine's description and small process helpers.
mod sys;
/// CPU and peak RSS of the server, PostgreSQL, wrk and the rest, over a run.
mod window;
/// Starting wrk and reading the summary its Lua scripts write.
mod wrk;

// What is measured against.
/// The seeded users and the tokens they get from the real endpoints.
mod accounts;
/// A minimal HTTP client for logins and readiness probes.
mod http;
/// psql, the run's databases and pgbench's binary.
mod postgres;
/// DPoP proofs signed by the harness (ES256), for the DPoP flood.
mod proofs;
/// Starting and stopping the services, and where each listens.
mod services;

// What comes out.
/// RESULTS.md, PROFILES.md and the console tables.
mod report;
/// The shape of `results.json`.
mod results;

fn main() {
    let opts = match opts::parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    match run::run(&opts) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(1);
        }
    }
}
