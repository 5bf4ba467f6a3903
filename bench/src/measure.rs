//! One measured wrk run: its spec, the run inside a measurement window
//! (profiled with `--perf`), and the row it becomes.

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

#[allow(clippy::too_many_arguments)]
pub fn row(
    id: &str,
    backend: &str,
    title: &str,
    server: &str,
    spec: &wrk::Spec,
    s: &wrk::Summary,
    w: &WindowResult,
    server_index: usize,
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
        server_cpu_cores: w.cores.get(server_index).copied().unwrap_or(0.0),
        peak_rss_mb: w.peak_rss_kb.get(server_index).copied().unwrap_or(0) as f64 / 1024.0,
        db_cpu_cores: (backend == "postgres").then_some(w.db_cores),
        client_cpu_cores: w.client_cores,
        other_cpu_cores: w.other_cores,
        notes,
    }
}

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
