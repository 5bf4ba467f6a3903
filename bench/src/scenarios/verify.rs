//! The resource-service verifying access tokens at `GET /api/me`: one token
//! reused by every connection, and a distinct, never-seen token per request.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::accounts::{collect_tokens, login, session_tokens, FAST_USER};
use crate::ctx::{say, Ctx};
use crate::measure::{measure, row, spec, warmup, with_tokens};
use crate::results::{ColdTokens, Row};
use crate::services::{AUTH_PG, RESOURCE};
use crate::{sys, wrk};

/// One token for every connection: a warm-up, then the measured run, of
/// the resource-service with pid `resource_pid`.
pub fn reused(ctx: &Ctx, resource_pid: u32) -> Result<Row, String> {
    let (access, _) = login(AUTH_PG, FAST_USER)?;
    let mut me = spec(
        ctx,
        "me-reused",
        format!("http://{RESOURCE}/api/me"),
        "static.lua",
        ctx.opts.connections,
        ctx.opts.duration_s,
    );
    me.headers.push(format!("Authorization: Bearer {access}"));
    measure(ctx, &warmup(ctx, &me), &[resource_pid])?;
    say("resource-service: GET /api/me, one token reused");
    let (sum, w) = measure(ctx, &me, &[resource_pid])?;
    let me_row = row(
        "me_reused",
        "-",
        "GET /api/me, one token reused by all connections",
        "resource-service",
        &me,
        &sum,
        &w,
    );
    println!("{}", me_row.one_line());
    Ok(me_row)
}

/// Collects distinct access tokens from refresh chains on the PostgreSQL
/// auth-service, then presents each once. `reused_rps` stands in for the
/// pilot's rate estimate when the pilot ran out of tokens.
pub fn cold(ctx: &Ctx, resource_pid: u32, reused_rps: f64) -> Result<(Row, ColdTokens), String> {
    let (cold_file, n_tokens, gen_s) = collect(ctx)?;
    let (cold_row, cold_d) = present_once(ctx, resource_pid, reused_rps, &cold_file)?;
    let tokens = ColdTokens {
        collected: n_tokens as u64,
        seconds: gen_s,
        run_s: cold_d,
    };
    Ok((cold_row, tokens))
}

/// Distinct access tokens from real refreshes (not measured), written one
/// a line to a file; returns the file, how many, and how long it took.
fn collect(ctx: &Ctx) -> Result<(PathBuf, usize, f64), String> {
    say(format!(
        "collecting {} distinct access tokens from refresh chains",
        ctx.opts.cold_tokens
    ));
    let gen_tokens = ctx.out.join("cold-chains.tokens");
    session_tokens(AUTH_PG, ctx.opts.refresh_connections * 4, &gen_tokens)?;
    let access_prefix = ctx.out.join("cold-access");
    for t in 0..ctx.opts.threads {
        let _ = fs::remove_file(format!("{}.{t}", access_prefix.display()));
    }
    let mut g = with_tokens(
        spec(
            ctx,
            "cold-token-generation",
            format!("http://{AUTH_PG}"),
            "refresh.lua",
            ctx.opts.refresh_connections * 2,
            3600,
        ),
        &gen_tokens,
    );
    g.env.push((
        "BENCH_ACCESS_OUT".into(),
        access_prefix.display().to_string(),
    ));
    let gen_start = Instant::now();
    let gen_run = wrk::start(&g, &ctx.lua, &ctx.out).map_err(|e| e.to_string())?;
    let gen_pid = gen_run.child.id();
    let gen_limit = Duration::from_secs(if ctx.opts.quick { 60 } else { 300 });
    while sys::count_lines(&access_prefix, g.threads) < ctx.opts.cold_tokens
        && gen_start.elapsed() < gen_limit
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    sys::signal(gen_pid, "INT");
    let gen_sum = gen_run.finish()?;
    let cold_file = ctx.out.join("cold.tokens");
    let n_tokens = collect_tokens(&access_prefix, g.threads, &cold_file)?;
    let gen_s = gen_start.elapsed().as_secs_f64();
    println!(
        "    {n_tokens} tokens in {gen_s:.1} s ({} refresh errors)",
        gen_sum.error_count()
    );
    Ok((cold_file, n_tokens, gen_s))
}

/// Cold verification: each token of `cold_file` presented once. A
/// one-second pilot on a fifth of the tokens (also the warm-up) estimates
/// the rate, so the measured run is kept short enough for the rest to last.
/// Returns the row and the measured run's seconds.
fn present_once(
    ctx: &Ctx,
    resource_pid: u32,
    reused_rps: f64,
    cold_file: &Path,
) -> Result<(Row, u64), String> {
    let all_tokens = fs::read_to_string(cold_file).map_err(|e| e.to_string())?;
    let lines: Vec<&str> = all_tokens.lines().collect();
    let pilot_n = (lines.len() / 5).max(1);
    let pilot_file = ctx.out.join("cold-pilot.tokens");
    let main_file = ctx.out.join("cold-main.tokens");
    fs::write(&pilot_file, lines[..pilot_n].join("\n") + "\n").map_err(|e| e.to_string())?;
    fs::write(&main_file, lines[pilot_n..].join("\n") + "\n").map_err(|e| e.to_string())?;
    let main_n = lines.len() - pilot_n;
    drop(lines);
    let pilot = with_tokens(
        spec(
            ctx,
            "me-cold-pilot",
            format!("http://{RESOURCE}/api/me"),
            "tokens.lua",
            ctx.opts.connections,
            1,
        ),
        &pilot_file,
    );
    let (pilot_sum, _) = measure(ctx, &pilot, &[resource_pid])?;
    let est = if pilot_sum.wrapped > 0 {
        reused_rps
    } else {
        pilot_sum.rps().max(1.0)
    };
    let cold_d = ((main_n as f64 / (est * 1.2)).floor() as u64).clamp(1, ctx.opts.duration_s);
    let cold = with_tokens(
        spec(
            ctx,
            "me-cold",
            format!("http://{RESOURCE}/api/me"),
            "tokens.lua",
            ctx.opts.connections,
            cold_d,
        ),
        &main_file,
    );
    say(format!(
        "resource-service: GET /api/me, a distinct token per request ({cold_d} s, {main_n} tokens)"
    ));
    let (sum, w) = measure(ctx, &cold, &[resource_pid])?;
    let cold_row = row(
        "me_cold",
        "-",
        "GET /api/me, a distinct valid token per request",
        "resource-service",
        &cold,
        &sum,
        &w,
    );
    println!("{}", cold_row.one_line());
    Ok((cold_row, cold_d))
}
