//! The auth-service's scenarios on one database: refresh rotation chains,
//! logins at the configured bcrypt cost, and refresh chains during a login
//! storm.

use std::time::Duration;

use crate::accounts::{login, login_user, session_tokens, LOGIN_USER_TEMPLATE, PASSWORD};
use crate::ctx::{say, Ctx};
use crate::measure::{measure, row, spec, timed, warmup_s, with_tokens};
use crate::profile::Perf;
use crate::results::Row;
use crate::window::{begin, end};
use crate::wrk;

/// The refresh scenarios (chains, login storm, logins) against one auth-service.
pub struct AuthRows {
    pub refresh: Row,
    pub login: Row,
    pub storm_refresh: Row,
    pub storm_login: Row,
}

impl AuthRows {
    /// The rows in the order of the table.
    pub fn all(&self) -> [&Row; 4] {
        [
            &self.refresh,
            &self.login,
            &self.storm_refresh,
            &self.storm_login,
        ]
    }
}

/// Runs them in turn against the auth-service at `addr` (process `auth_pid`)
/// on `backend`, `postgres` or `sqlite`.
pub fn run(ctx: &Ctx, backend: &str, addr: &str, auth_pid: u32) -> Result<AuthRows, String> {
    let refresh = refresh(ctx, backend, addr, auth_pid)?;
    // The login gate keeps its queue short for a second after the last
    // refresh (refreshes under load come back to back); the logins alone
    // are measured once that has passed.
    std::thread::sleep(Duration::from_secs(2));
    let login = logins(ctx, backend, addr, auth_pid)?;
    let (storm_refresh, storm_login) = storm(ctx, backend, addr, auth_pid)?;
    Ok(AuthRows {
        refresh,
        login,
        storm_refresh,
        storm_login,
    })
}

/// Refresh chains: a warm-up on chains of its own, then the measured run.
fn refresh(ctx: &Ctx, backend: &str, addr: &str, auth_pid: u32) -> Result<Row, String> {
    let o = &ctx.opts;
    let tag = backend;
    let warm = refresh_spec(
        ctx,
        addr,
        &format!("{tag}-refresh-warmup"),
        &format!("{tag}-refresh-warmup"),
        o.refresh_connections,
        warmup_s(ctx),
    )?;
    measure(ctx, &warm, &[auth_pid])?;

    let s = refresh_spec(
        ctx,
        addr,
        &format!("{tag}-refresh"),
        &format!("{tag}-refresh"),
        o.refresh_connections * 2,
        o.duration_s,
    )?;
    say(format!("{backend}: POST /auth/refresh, rotation chains"));
    let (sum, w) = measure(ctx, &s, &[auth_pid])?;
    let refresh = row(
        &format!("refresh_{tag}"),
        backend,
        "POST /auth/refresh, rotation chains",
        "auth-service",
        &s,
        &sum,
        &w,
    );
    println!("{}", refresh.one_line());
    Ok(refresh)
}

/// Logins at the configured cost (one first, so the dummy hash exists).
fn logins(ctx: &Ctx, backend: &str, addr: &str, auth_pid: u32) -> Result<Row, String> {
    let o = &ctx.opts;
    let tag = backend;
    login(addr, &login_user(0))?;
    // Twice as long as the others: a login takes a quarter of a second of
    // a core, and the hashes still running when wrk stops are lost work, so
    // a longer run makes that end effect smaller.
    let l = login_spec(ctx, addr, &format!("{tag}-login"), o.duration_s * 2);
    say(format!(
        "{backend}: POST /auth/login at BCRYPT_COST={}",
        o.bcrypt_cost
    ));
    let (sum, w) = measure(ctx, &l, &[auth_pid])?;
    // Every connection logs in as its own user with the right password
    // and never more of them than LOGIN_QUEUE_LIMIT admits: anything but
    // 200 means the scenario measured something else.
    if sum.error_count() > 0 {
        return Err(format!(
            "{backend}: the login scenario got {} answers other than 200 \
             (status errors {}, socket errors {}, timeouts {}); see the lines of login.lua above",
            sum.error_count(),
            sum.errors.status,
            sum.errors.connect + sum.errors.read + sum.errors.write,
            sum.errors.timeout,
        ));
    }
    let login_row = row(
        &format!("login_{tag}"),
        backend,
        &format!("POST /auth/login, BCRYPT_COST={}", o.bcrypt_cost),
        "auth-service",
        &l,
        &sum,
        &w,
    );
    println!("{}", login_row.one_line());
    Ok(login_row)
}

/// Refresh while logins saturate the CPU: both loads at once, in one
/// measurement window. Returns the refresh row, then the login row.
fn storm(ctx: &Ctx, backend: &str, addr: &str, auth_pid: u32) -> Result<(Row, Row), String> {
    let o = &ctx.opts;
    let tag = backend;
    let sr = refresh_spec(
        ctx,
        addr,
        &format!("{tag}-storm-refresh"),
        &format!("{tag}-storm"),
        o.refresh_connections * 2,
        o.duration_s,
    )?;
    let mut sl = login_spec(ctx, addr, &format!("{tag}-storm-login"), o.duration_s);
    sl.connections = storm_login_connections(o);
    sl.threads = sl.connections;
    say(format!("{backend}: refresh chains during a login storm"));
    let profile = Perf::start(ctx, &format!("{tag}-storm"), auth_pid);
    let w0 = begin(&[auth_pid]);
    let login_run = wrk::start(&sl, &ctx.lua, &ctx.out).map_err(|e| e.to_string())?;
    // Let the logins fill the CPU before the refresh load starts.
    std::thread::sleep(Duration::from_millis(500));
    let refresh_run = wrk::start(&sr, &ctx.lua, &ctx.out).map_err(|e| e.to_string())?;
    let refresh_sum = refresh_run.finish()?;
    let login_sum = login_run.finish()?;
    let w = end(w0, ctx.ticks);
    if let Some(p) = profile {
        p.finish();
    }
    let storm_refresh = row(
        &format!("storm_refresh_{tag}"),
        backend,
        "POST /auth/refresh while logins saturate the CPU",
        "auth-service",
        &sr,
        &refresh_sum,
        &w,
    );
    let mut storm_login = row(
        &format!("storm_login_{tag}"),
        backend,
        "POST /auth/login (the storm, same run; 503s are answers, p99 per request of the admitted)",
        "auth-service",
        &sl,
        &login_sum,
        &w,
    );
    storm_login.errors = login_sum.error_count_but_overload();
    if storm_login.errors > 0 {
        return Err(format!(
            "{backend}: the storm's logins got {} answers other than 200 and 503 \
             (socket errors {}, timeouts {}); see the lines of login.lua above",
            storm_login.errors,
            login_sum.errors.connect + login_sum.errors.read + login_sum.errors.write,
            login_sum.errors.timeout,
        ));
    }
    println!("{}", storm_refresh.one_line());
    println!("{}", storm_login.one_line());
    Ok((storm_refresh, storm_login))
}

/// Rotation chains on the refresh connections, started from `sessions`
/// fresh logins whose refresh tokens go to `{tokens}.tokens`.
fn refresh_spec(
    ctx: &Ctx,
    addr: &str,
    name: &str,
    tokens: &str,
    sessions: u32,
    duration_s: u64,
) -> Result<wrk::Spec, String> {
    let path = ctx.out.join(format!("{tokens}.tokens"));
    session_tokens(addr, sessions, &path)?;
    let s = timed(spec(
        ctx,
        name,
        format!("http://{addr}"),
        "refresh.lua",
        ctx.opts.refresh_connections,
        duration_s,
    ));
    Ok(with_tokens(s, &path))
}

/// The storm's login connections: more than the queue and the cores hold,
/// so that some are refused at once (API.md §3 "Overload").
pub fn storm_login_connections(o: &crate::opts::Opts) -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    crate::services::login_queue_limit(o) + cores + o.login_connections
}

/// How many login users the scenarios need: one per login connection of
/// the larger of the two login loads.
pub fn login_users_needed(o: &crate::opts::Opts) -> u32 {
    o.login_connections.max(storm_login_connections(o))
}

/// Logins, each connection as its own user (whose hash has the configured
/// cost); a login waits for a hash, so each request is given 30 s.
fn login_spec(ctx: &Ctx, addr: &str, name: &str, duration_s: u64) -> wrk::Spec {
    let mut s = timed(spec(
        ctx,
        name,
        format!("http://{addr}"),
        "login.lua",
        ctx.opts.login_connections,
        duration_s,
    ));
    s.timeout_s = 30;
    s.env
        .push(("BENCH_EMAIL_TEMPLATE".into(), LOGIN_USER_TEMPLATE.into()));
    s.env.push(("BENCH_PASSWORD".into(), PASSWORD.into()));
    s
}
