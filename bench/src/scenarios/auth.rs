//! The auth-service's scenarios on one database: refresh rotation chains,
//! logins at the configured bcrypt cost, and refresh chains during a login
//! storm.

use std::time::Duration;

use crate::accounts::{login, session_tokens, LOGIN_USER, PASSWORD};
use crate::ctx::{say, Ctx};
use crate::measure::{measure, row, spec, timed, warmup_s};
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

/// Runs them in turn against the auth-service at `addr` (process `auth_pid`)
/// on `backend`, `postgres` or `sqlite`.
pub fn run(ctx: &Ctx, backend: &str, addr: &str, auth_pid: u32) -> Result<AuthRows, String> {
    let o = &ctx.opts;
    let d = o.duration_s;
    let url = format!("http://{addr}");
    let tag = backend;

    // Refresh chains: a warm-up on chains of its own, then the measured run.
    let warm_tokens = ctx.out.join(format!("{tag}-refresh-warmup.tokens"));
    session_tokens(addr, o.refresh_connections, &warm_tokens)?;
    let mut warm = timed(spec(
        ctx,
        &format!("{tag}-refresh-warmup"),
        url.clone(),
        "refresh.lua",
        o.refresh_connections,
        warmup_s(ctx),
    ));
    warm.env
        .push(("BENCH_TOKENS".into(), warm_tokens.display().to_string()));
    measure(ctx, &warm, &[auth_pid])?;

    let tokens = ctx.out.join(format!("{tag}-refresh.tokens"));
    session_tokens(addr, o.refresh_connections * 2, &tokens)?;
    let mut s = timed(spec(
        ctx,
        &format!("{tag}-refresh"),
        url.clone(),
        "refresh.lua",
        o.refresh_connections,
        d,
    ));
    s.env
        .push(("BENCH_TOKENS".into(), tokens.display().to_string()));
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
        0,
    );
    println!("{}", refresh.one_line());

    // Logins at the configured cost (one first, so the dummy hash exists).
    login(addr, LOGIN_USER)?;
    // Twice as long as the others: a login takes a quarter of a second of
    // a core, and the hashes still running when wrk stops are lost work, so
    // a longer run makes that end effect smaller.
    let mut l = timed(spec(
        ctx,
        &format!("{tag}-login"),
        url.clone(),
        "login.lua",
        o.login_connections,
        d * 2,
    ));
    l.timeout_s = 30;
    l.env.push(("BENCH_EMAIL".into(), LOGIN_USER.into()));
    l.env.push(("BENCH_PASSWORD".into(), PASSWORD.into()));
    say(format!(
        "{backend}: POST /auth/login at BCRYPT_COST={}",
        o.bcrypt_cost
    ));
    let (sum, w) = measure(ctx, &l, &[auth_pid])?;
    let login_row = row(
        &format!("login_{tag}"),
        backend,
        &format!("POST /auth/login, BCRYPT_COST={}", o.bcrypt_cost),
        "auth-service",
        &l,
        &sum,
        &w,
        0,
    );
    println!("{}", login_row.one_line());

    // Refresh while logins saturate the CPU: both loads at once.
    let storm_tokens = ctx.out.join(format!("{tag}-storm.tokens"));
    session_tokens(addr, o.refresh_connections * 2, &storm_tokens)?;
    let mut sr = timed(spec(
        ctx,
        &format!("{tag}-storm-refresh"),
        url.clone(),
        "refresh.lua",
        o.refresh_connections,
        d,
    ));
    sr.env
        .push(("BENCH_TOKENS".into(), storm_tokens.display().to_string()));
    let mut sl = timed(spec(
        ctx,
        &format!("{tag}-storm-login"),
        url.clone(),
        "login.lua",
        o.login_connections,
        d,
    ));
    sl.timeout_s = 30;
    sl.env.push(("BENCH_EMAIL".into(), LOGIN_USER.into()));
    sl.env.push(("BENCH_PASSWORD".into(), PASSWORD.into()));
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
        0,
    );
    let storm_login = row(
        &format!("storm_login_{tag}"),
        backend,
        "POST /auth/login (the storm, same run)",
        "auth-service",
        &sl,
        &login_sum,
        &w,
        0,
    );
    println!("{}", storm_refresh.one_line());
    println!("{}", storm_login.one_line());
    Ok(AuthRows {
        refresh,
        login: login_row,
        storm_refresh,
        storm_login,
    })
}
