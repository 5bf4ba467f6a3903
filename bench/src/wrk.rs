//! Running wrk and reading the summary its Lua `done()` writes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde::{Deserialize, Serialize};

/// What wrk should do.
#[derive(Debug, Clone)]
pub struct Spec {
    /// A name for the files of this run.
    pub name: String,
    pub url: String,
    pub script: &'static str,
    pub threads: u32,
    pub connections: u32,
    pub duration_s: u64,
    pub timeout_s: u64,
    pub headers: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Time each request in Lua as well (needs one connection per thread).
    pub raw: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Errors {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub status: u64,
    pub timeout: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Latency {
    pub mean: f64,
    pub stdev: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

/// The summary written by `lua/common.lua`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub requests: u64,
    pub duration_us: u64,
    pub bytes: u64,
    pub errors: Errors,
    pub latency_us: Latency,
    #[serde(default)]
    pub starved: u64,
    #[serde(default)]
    pub wrapped: u64,
    #[serde(default)]
    pub unexpected: u64,
    #[serde(default)]
    pub produced: u64,
    /// `503 temporarily_unavailable` answers (login scripts only): wrk
    /// counts them among its status errors.
    #[serde(default)]
    pub overloaded: u64,
    /// `401` answers because the DPoP replay cache was full (the DPoP
    /// flood's script only): wrk counts them among its status errors.
    #[serde(default)]
    pub refused: u64,
    /// Per-request latency without wrk's coordinated-omission correction.
    #[serde(default)]
    pub raw_latency_us: Option<RawLatency>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RawLatency {
    pub n: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Summary {
    pub fn rps(&self) -> f64 {
        if self.duration_us == 0 {
            return 0.0;
        }
        self.requests as f64 / (self.duration_us as f64 / 1e6)
    }

    /// Every request that did not get its expected answer.
    pub fn error_count(&self) -> u64 {
        let e = &self.errors;
        e.connect
            + e.read
            + e.write
            + e.status
            + e.timeout
            + self.starved
            + self.unexpected_non_status()
    }

    /// Every request that did not get its expected answer, for a script
    /// that judges each status itself (`unexpected`), so that an expected
    /// 4xx (a 404 of a route that was reached) is not counted: wrk counts
    /// every status of 400 and above as an error.
    pub fn error_count_judged_by_script(&self) -> u64 {
        let e = &self.errors;
        e.connect + e.read + e.write + e.timeout + self.starved + self.unexpected
    }

    /// Like [`Self::error_count`], for a load in which `503
    /// temporarily_unavailable` is an expected answer (the login storm).
    pub fn error_count_but_overload(&self) -> u64 {
        self.error_count().saturating_sub(self.overloaded)
    }

    /// `unexpected` counts non-200 answers, which wrk already counts as
    /// status errors when they are ≥ 400; only the rest (2xx/3xx other than
    /// 200) are added.
    fn unexpected_non_status(&self) -> u64 {
        self.unexpected.saturating_sub(self.errors.status)
    }
}

/// A wrk process on its way.
pub struct Running {
    pub child: Child,
    pub summary_path: PathBuf,
    pub stdout_path: PathBuf,
}

pub fn start(spec: &Spec, lua_dir: &Path, out_dir: &Path) -> std::io::Result<Running> {
    let summary_path = out_dir.join(format!("{}.summary.json", spec.name));
    let stdout_path = out_dir.join(format!("{}.wrk.txt", spec.name));
    let _ = std::fs::remove_file(&summary_path);
    let mut cmd = Command::new("wrk");
    cmd.arg("-t")
        .arg(spec.threads.to_string())
        .arg("-c")
        .arg(spec.connections.to_string())
        .arg("-d")
        .arg(format!("{}s", spec.duration_s))
        .arg("--timeout")
        .arg(format!("{}s", spec.timeout_s))
        .arg("--latency")
        .arg("-s")
        .arg(lua_dir.join(spec.script));
    for h in &spec.headers {
        cmd.arg("-H").arg(h);
    }
    cmd.arg(&spec.url)
        .env("BENCH_LUA_DIR", lua_dir)
        .env("BENCH_SUMMARY", &summary_path)
        .env("BENCH_WRK_THREADS", spec.threads.to_string())
        .env(
            "BENCH_RAW",
            if spec.raw && spec.threads == spec.connections {
                "1"
            } else {
                "0"
            },
        )
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path)?)
        .stderr(Stdio::inherit());
    let child = cmd.spawn()?;
    Ok(Running {
        child,
        summary_path,
        stdout_path,
    })
}

impl Running {
    pub fn finish(mut self) -> Result<Summary, String> {
        let status = self.child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!(
                "wrk failed ({status}); see {}",
                self.stdout_path.display()
            ));
        }
        let raw = std::fs::read_to_string(&self.summary_path)
            .map_err(|e| format!("{}: {e}", self.summary_path.display()))?;
        serde_json::from_str(&raw).map_err(|e| format!("{}: {e}", self.summary_path.display()))
    }
}
