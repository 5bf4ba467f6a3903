//! The results of a run: the shape of `results.json`.

use std::collections::HashMap;

#[cfg(test)]
use serde::Deserialize;
use serde::Serialize;

use crate::opts::Opts;
use crate::sys::Machine;
use crate::wrk::Errors;

/// One scenario, as measured.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(Deserialize))]
pub struct Row {
    pub id: String,
    /// `postgres`, `sqlite`, or `-` when no database is involved.
    pub backend: String,
    pub title: String,
    pub server: String,
    pub connections: u32,
    pub duration_s: f64,
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// p50 and p99 of each request as the client timed it (no correction
    /// for coordinated omission), where measured.
    pub raw_p50_ms: Option<f64>,
    pub raw_p99_ms: Option<f64>,
    pub errors: u64,
    pub error_detail: Errors,
    /// `503 temporarily_unavailable` answers: errors, except in the login
    /// storm, where they are the overload rule at work.
    #[serde(default)]
    pub overloaded: u64,
    /// CPU seconds of the server process per wall second of the run.
    pub server_cpu_cores: f64,
    /// VmHWM of the server during this run (reset before it).
    pub peak_rss_mb: f64,
    /// CPU of every PostgreSQL process during the run, in cores.
    pub db_cpu_cores: Option<f64>,
    /// CPU of wrk itself (the load generator shares the machine).
    pub client_cpu_cores: f64,
    /// CPU used by everything else during the run: interference.
    pub other_cpu_cores: f64,
    pub notes: Vec<String>,
}

impl Row {
    pub fn one_line(&self) -> String {
        format!(
            "    {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors, server CPU {:.2} cores, peak RSS {:.1} MB, other CPU {:.2}{}",
            self.rps,
            self.p50_ms,
            self.p99_ms,
            self.errors,
            self.server_cpu_cores,
            self.peak_rss_mb,
            self.other_cpu_cores,
            if self.notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", self.notes.join("; "))
            }
        )
    }
}

/// A target and whether this run met it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(Deserialize))]
pub struct Check {
    pub scenario: String,
    pub target: String,
    pub limit: String,
    pub measured: String,
    /// The measured ratio (or value) compared with `required`.
    pub value: Option<f64>,
    pub required: f64,
    /// `at_least` (≥), `at_most` (≤), `below` (<), or `unknown` when the
    /// limit could not be measured.
    pub kind: String,
    pub met: Option<bool>,
}

impl Check {
    pub fn at_least(
        scenario: &str,
        target: &str,
        limit: String,
        measured: String,
        ratio: f64,
        required: f64,
    ) -> Self {
        Check {
            scenario: scenario.into(),
            target: target.into(),
            limit,
            measured,
            value: Some(ratio),
            required,
            kind: "at_least".into(),
            met: ratio.is_finite().then_some(ratio >= required),
        }
    }

    /// `inclusive`: `≤` rather than `<`.
    pub fn at_most(
        scenario: &str,
        target: &str,
        limit: String,
        measured: String,
        value: f64,
        required: f64,
        inclusive: bool,
    ) -> Self {
        let met = if inclusive {
            value <= required
        } else {
            value < required
        };
        Check {
            scenario: scenario.into(),
            target: target.into(),
            limit,
            measured,
            value: Some(value),
            required,
            kind: if inclusive { "at_most" } else { "below" }.into(),
            met: value.is_finite().then_some(met),
        }
    }

    pub fn unknown(scenario: &str, target: &str, why: &str) -> Self {
        Check {
            scenario: scenario.into(),
            target: target.into(),
            limit: why.into(),
            measured: String::new(),
            value: None,
            required: 0.0,
            kind: "unknown".into(),
            met: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(Deserialize))]
pub struct Pgbench {
    pub clients: u32,
    pub threads: u32,
    pub scale: u32,
    pub duration_s: u64,
    pub tps: f64,
    pub transactions: u64,
    pub failed: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub db_cpu_cores: f64,
    pub client_cpu_cores: f64,
    pub other_cpu_cores: f64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(Deserialize))]
pub struct Limits {
    pub hello_rps: f64,
    pub pgbench: Pgbench,
    pub bcrypt_cost: u32,
    pub bcrypt_ms: f64,
    pub bcrypt_runs_ms: Vec<f64>,
    /// Median ns per iteration of each criterion benchmark.
    pub criterion_ns: HashMap<String, f64>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(Deserialize))]
pub struct Startup {
    pub auth_sqlite_fresh_ms: Vec<f64>,
    pub auth_sqlite_migrated_ms: Vec<f64>,
    pub resource_ready_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(Deserialize))]
pub struct ColdTokens {
    pub collected: u64,
    pub seconds: f64,
    pub run_s: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(Deserialize))]
pub struct PeakRss {
    pub auth_postgres: f64,
    pub auth_sqlite: Option<f64>,
    pub resource: f64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(Deserialize))]
pub struct Quiet {
    pub waited_s: u64,
    pub threshold: f64,
    pub max_wait_min: u64,
    pub quiet: bool,
    pub load_at_start: (f64, f64, f64),
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(Deserialize))]
pub struct Results {
    pub started_at: String,
    pub elapsed_s: f64,
    pub command: String,
    pub git: String,
    pub opts: Opts,
    pub machine: Machine,
    pub quiet: Quiet,
    pub limits: Limits,
    pub startup: Startup,
    pub cold_tokens: ColdTokens,
    pub peak_rss_mb: PeakRss,
    pub rows: Vec<Row>,
    /// Scenarios that could not run on these binaries, and why.
    #[serde(default)]
    pub skipped: Vec<crate::scenarios::checked::Skipped>,
    /// What the DPoP flood presented (absent from older runs).
    #[serde(default)]
    pub dpop_flood: Option<crate::scenarios::dpop::DpopFlood>,
    pub checks: Vec<Check>,
}
