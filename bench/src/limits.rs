//! The limits the targets are measured against, taken on the same machine
//! in the same run: one bcrypt hash, criterion's benches and `pgbench -N`.

use std::collections::HashMap;
use std::fs;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::accounts::PASSWORD;
use crate::ctx::{say, Ctx};
use crate::postgres::{pgbench_bin, recreate_db, CONNECT, PG_PGBENCH_DB};
use crate::results;
use crate::window::{begin, end};

/// One bcrypt hash at `cost`, timed (median of a few, after one warm-up).
pub fn bcrypt_time(cost: u32, runs: usize) -> Result<Vec<f64>, String> {
    let _ = bcrypt::hash("warm-up password", cost).map_err(|e| e.to_string())?;
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let h = bcrypt::hash(PASSWORD, cost).map_err(|e| e.to_string())?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(h);
    }
    Ok(times)
}

/// Runs the criterion benches and reads their estimates (ns per iteration).
pub fn criterion(ctx: &Ctx) -> Result<HashMap<String, f64>, String> {
    let home = ctx.out.join("criterion");
    if !ctx.opts.skip_criterion {
        for (package, bench) in [("shared-claims", "verify"), ("auth-service", "tokens")] {
            say(format!(
                "criterion: cargo bench -p {package} --bench {bench}"
            ));
            let log = ctx.out.join(format!("criterion-{bench}.txt"));
            let mut args = vec![
                "bench".to_owned(),
                "-p".into(),
                package.into(),
                "--bench".into(),
                bench.into(),
                "--".into(),
            ];
            if ctx.opts.quick {
                args.extend(["--warm-up-time".into(), "0.2".into()]);
                args.extend(["--measurement-time".into(), "0.5".into()]);
            }
            let status = Command::new("cargo")
                .args(&args)
                .current_dir(&ctx.opts.root)
                .env("CARGO_TARGET_DIR", &ctx.opts.target_dir)
                .env("CRITERION_HOME", &home)
                .stdin(Stdio::null())
                .stdout(fs::File::create(&log).map_err(|e| e.to_string())?)
                .stderr(Stdio::inherit())
                .status()
                .map_err(|e| format!("cargo bench: {e}"))?;
            if !status.success() {
                return Err(format!(
                    "cargo bench -p {package} failed; see {}",
                    log.display()
                ));
            }
        }
    }
    let mut out = HashMap::new();
    let Ok(dir) = fs::read_dir(&home) else {
        return Ok(out);
    };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let est = entry.path().join("new").join("estimates.json");
        let Ok(raw) = fs::read_to_string(&est) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&raw) else {
            continue;
        };
        if let Some(ns) = v
            .pointer("/median/point_estimate")
            .and_then(serde_json::Value::as_f64)
        {
            out.insert(name, ns);
        }
    }
    Ok(out)
}

/// pgbench -N (no updates of branches and tellers: one write transaction)
/// at `clients` for `duration_s`, over TCP like the auth-service.
pub fn pgbench(ctx: &Ctx, clients: u32, duration_s: u64) -> Result<results::Pgbench, String> {
    let bin = pgbench_bin();
    let dir = ctx.out.join("pgbench");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    recreate_db(PG_PGBENCH_DB)?;
    let scale = "10";
    let init = Command::new(&bin)
        .args(CONNECT)
        .args(["-i", "-q", "-s", scale, PG_PGBENCH_DB])
        .stdout(Stdio::null())
        .stderr(fs::File::create(dir.join("init.txt")).map_err(|e| e.to_string())?)
        .status()
        .map_err(|e| format!("pgbench -i: {e}"))?;
    if !init.success() {
        return Err("pgbench -i failed; see bench/out/pgbench/init.txt".into());
    }
    let threads = ctx.opts.threads.min(clients).to_string();
    let w = begin(&[]);
    let out = Command::new(&bin)
        .current_dir(&dir)
        .args(CONNECT)
        .args([
            "-N",
            "-c",
            &clients.to_string(),
            "-j",
            &threads,
            "-T",
            &duration_s.to_string(),
            "-l",
            "--log-prefix",
            "txn",
            PG_PGBENCH_DB,
        ])
        .output()
        .map_err(|e| format!("pgbench: {e}"))?;
    let window = end(w, ctx.ticks);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    fs::write(dir.join("pgbench.txt"), &stdout).map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "pgbench failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let tps = stdout
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or("no tps line in pgbench output")?;
    let failed = stdout
        .lines()
        .find(|l| l.starts_with("number of failed transactions"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    // Per-transaction latencies (µs) from the logs: client txn latency …
    let mut lat = Vec::new();
    for entry in fs::read_dir(&dir).map_err(|e| e.to_string())?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("txn.") {
            continue;
        }
        let raw = fs::read_to_string(entry.path()).unwrap_or_default();
        lat.extend(
            raw.lines()
                .filter_map(|l| l.split_whitespace().nth(2)?.parse::<f64>().ok()),
        );
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        let i = ((p / 100.0) * (lat.len() as f64 - 1.0)).round() as usize;
        lat[i.min(lat.len() - 1)] / 1000.0
    };
    Ok(results::Pgbench {
        clients,
        threads: threads.parse().unwrap_or(1),
        scale: scale.parse().unwrap_or(10),
        duration_s,
        tps,
        transactions: lat.len() as u64,
        failed,
        p50_ms: pct(50.0),
        p99_ms: pct(99.0),
        db_cpu_cores: window.db_cores,
        client_cpu_cores: window.client_cores,
        other_cpu_cores: window.other_cores,
    })
}
