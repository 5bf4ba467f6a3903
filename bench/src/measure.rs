//! One measured wrk run: its spec, the run inside a measurement window
//! (profiled with `--perf`), and the row it becomes.

use std::path::Path;

use crate::ctx::Ctx;
use crate::profile::Perf;
use crate::results::Row;
use crate::window::{begin, end, WindowResult};
use crate::wrk;

/// Runs one measured wrk load against `watched` processes (the first is
/// the server the row is about).
pub fn measure(
    ctx: &Ctx,
    spec: &wrk::Spec,
    watched: &[u32],
) -> Result<(wrk::Summary, WindowResult), String> {
    let profile = (!spec.name.contains("warmup") && !spec.name.contains("pilot"))
        .then(|| {
            watched
                .first()
                .and_then(|pid| Perf::start(ctx, &spec.name, *pid))
        })
        .flatten();
    let w = begin(watched);
    let running = wrk::start(spec, &ctx.lua, &ctx.out).map_err(|e| format!("wrk: {e}"))?;
    let summary = running.finish()?;
    let window = end(w, ctx.ticks);
    if let Some(p) = profile {
        p.finish();
    }
    Ok((summary, window))
}

/// The row of one run: `server` is the first of the processes the window
/// watched, `backend` the database behind it (`-` for none).
pub fn row(
    id: &str,
    backend: &str,
    title: &str,
    server: &str,
    spec: &wrk::Spec,
    s: &wrk::Summary,
    w: &WindowResult,
) -> Row {
    let mut notes = Vec::new();
    if s.wrapped > 0 {
        notes.push(format!(
            "tokens ran out: {} thread(s) started over (not all requests cold)",
            s.wrapped
        ));
    }
    if w.other_cores > 0.15 {
        notes.push(format!(
            "other work on the machine used {:.2} cores during this run: disturbed",
            w.other_cores
        ));
    }
    if s.starved > 0 {
        notes.push(format!(
            "{} requests found no live refresh token (a chain died)",
            s.starved
        ));
    }
    Row {
        id: id.to_owned(),
        backend: backend.to_owned(),
        title: title.to_owned(),
        server: server.to_owned(),
        connections: spec.connections,
        duration_s: s.duration_us as f64 / 1e6,
        requests: s.requests,
        rps: s.rps(),
        p50_ms: ms(s.latency_us.p50),
        p90_ms: ms(s.latency_us.p90),
        p99_ms: ms(s.latency_us.p99),
        max_ms: ms(s.latency_us.max),
        raw_p50_ms: s.raw_latency_us.as_ref().map(|r| r.p50 / 1000.0),
        raw_p99_ms: s.raw_latency_us.as_ref().map(|r| r.p99 / 1000.0),
        errors: s.error_count(),
        error_detail: s.errors.clone(),
        overloaded: s.overloaded,
        server_cpu_cores: w.cores.first().copied().unwrap_or(0.0),
        peak_rss_mb: w.peak_rss_kb.first().copied().unwrap_or(0) as f64 / 1024.0,
        db_cpu_cores: (backend == "postgres").then_some(w.db_cores),
        client_cpu_cores: w.client_cores,
        other_cpu_cores: w.other_cores,
        notes,
    }
}

/// A closed-loop load of `connections` on as many wrk threads as the run
/// allows, each request given 10 s.
pub fn spec(
    ctx: &Ctx,
    name: &str,
    url: String,
    script: &'static str,
    connections: u32,
    duration_s: u64,
) -> wrk::Spec {
    wrk::Spec {
        name: name.to_owned(),
        url,
        script,
        threads: ctx.opts.threads.min(connections),
        connections,
        duration_s,
        timeout_s: 10,
        headers: Vec::new(),
        env: Vec::new(),
        raw: false,
    }
}

/// A spec for the auth-service's loads: one connection per wrk thread, so
/// that each request is timed as the client saw it, too.
pub fn timed(mut s: wrk::Spec) -> wrk::Spec {
    s.threads = s.connections;
    s.raw = true;
    s
}

/// The warm-up of `s`: the same load, shorter, under a name of its own (a
/// warm-up is never profiled).
pub fn warmup(ctx: &Ctx, s: &wrk::Spec) -> wrk::Spec {
    let mut warm = s.clone();
    warm.name = format!("{}-warmup", s.name);
    warm.duration_s = warmup_s(ctx);
    warm
}

/// `s`, presenting the tokens of `path` (one a line) as the Lua script asks.
pub fn with_tokens(mut s: wrk::Spec, path: &Path) -> wrk::Spec {
    s.env
        .push(("BENCH_TOKENS".into(), path.display().to_string()));
    s
}

pub fn warmup_s(ctx: &Ctx) -> u64 {
    if ctx.opts.quick {
        1
    } else {
        2
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}
