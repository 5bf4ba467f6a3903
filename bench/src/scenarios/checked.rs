//! What the session-checked routes and the introspection endpoint cost:
//! `DELETE /api/projects/{id}` on a stateless resource-service and on one
//! that asks the auth-service about each token's session (answers cached),
//! and `POST /oauth/introspect` itself, a distinct token per request.
//!
//! Both features may be missing from the binaries measured: each scenario
//! first checks that the feature does what API.md says, and is skipped with
//! the reason otherwise (the reason becomes its target's "unknown" line).

use std::time::Duration;

use serde::Serialize;

use crate::accounts::{create_admin, create_client, login};
use crate::ctx::{say, Ctx};
use crate::http;
use crate::measure::{measure, row, spec, warmup, with_tokens};
use crate::results::Row;
use crate::services::{self, AUTH_PG, RESOURCE, RESOURCE_CHECKED};

/// The admin whose token the DELETE scenarios present.
pub const ADMIN_USER: &str = "admin@bench.test";
/// A project id that never exists: every DELETE is answered 404 once the
/// token has passed every check the route makes.
const NO_SUCH_PROJECT: &str = "/api/projects/00000000-0000-4000-8000-000000000000";

/// The id of the stateless DELETE row, of the session-checked one, and of
/// the introspection row.
pub const DELETE_STATELESS: &str = "delete_stateless";
pub const DELETE_CHECKED: &str = "delete_session_checked";
pub const INTROSPECT: &str = "introspect_postgres";
/// The scenario names of the targets, also used for their skip lines.
pub const CHECKED_SCENARIO: &str = "DELETE /api/projects/{id}, session-checked (cached)";
pub const INTROSPECT_SCENARIO: &str = "POST /oauth/introspect, uncached, PostgreSQL";

/// A scenario that did not run, and why.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(serde::Deserialize))]
pub struct Skipped {
    pub scenario: String,
    pub reason: String,
}

fn skip(scenario: &str, reason: String) -> Skipped {
    say(format!("skipped: {scenario}: {reason}"));
    Skipped {
        scenario: scenario.to_owned(),
        reason,
    }
}

/// Runs both against the PostgreSQL auth-service (`auth_pid`, database
/// `database_url`) and the stateless resource-service (`resource_pid`);
/// `tokens` holds live access tokens, one a line, for the introspection.
pub fn run(
    ctx: &Ctx,
    database_url: &str,
    auth_pid: u32,
    resource_pid: u32,
    tokens: &std::path::Path,
) -> Result<(Vec<Row>, Vec<Skipped>), String> {
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let Some(client) = create_client(ctx, database_url, "bench-introspection")? else {
        let why = "this auth-service has no `client create` command".to_owned();
        skipped.push(skip(CHECKED_SCENARIO, why.clone()));
        skipped.push(skip(INTROSPECT_SCENARIO, why));
        return Ok((rows, skipped));
    };
    create_admin(ctx, database_url, ADMIN_USER)?;
    let (measured, not_checked) = session_checked(ctx, resource_pid, &client)?;
    rows.extend(measured);
    if let Some(why) = not_checked {
        skipped.push(skip(CHECKED_SCENARIO, why));
    }
    match introspect(ctx, auth_pid, &client, tokens)? {
        Ok(r) => rows.push(r),
        Err(why) => skipped.push(skip(INTROSPECT_SCENARIO, why)),
    }
    Ok((rows, skipped))
}

/// The stateless DELETE row and the session-checked one, or, in its
/// place, why that cannot be measured.
fn session_checked(
    ctx: &Ctx,
    resource_pid: u32,
    (id, secret): &(String, String),
) -> Result<(Vec<Row>, Option<String>), String> {
    let (access, _) = login(AUTH_PG, ADMIN_USER)?;
    let stateless = delete_row(ctx, RESOURCE, resource_pid, &access, DELETE_STATELESS)?;

    let log = ctx.out.join("resource-service-checked.log");
    let mut checked = services::spawn_checked_resource(ctx, RESOURCE_CHECKED, (id, secret), &log)?;
    checked.wait_ready("/readyz", Duration::from_secs(60))?;
    // The feature is there only if a token of an ended session is refused.
    let (ended_access, ended_refresh) = login(AUTH_PG, ADMIN_USER)?;
    logout(&ended_refresh)?;
    let ended = delete(RESOURCE_CHECKED, &ended_access)?;
    if ended.status != 401 {
        return Ok((
            vec![stateless],
            Some(format!(
                "the resource-service does not check sessions: with INTROSPECTION_CLIENT_ID set, \
             a token of an ended session got {} (not 401) at DELETE /api/projects/{{id}}",
                ended.status
            )),
        ));
    }
    let live = delete(RESOURCE_CHECKED, &access)?;
    if live.status != 404 {
        return Ok((
            vec![stateless],
            Some(format!(
                "a live admin token got {} (not 404) at the session-checked DELETE: {}",
                live.status, live.body
            )),
        ));
    }
    let row = delete_row(
        ctx,
        RESOURCE_CHECKED,
        checked.pid(),
        &access,
        DELETE_CHECKED,
    )?;
    checked.stop();
    Ok((vec![stateless, row], None))
}

/// One measured DELETE load (after a warm-up) on the resource-service at
/// `addr`, every request with `access`.
fn delete_row(ctx: &Ctx, addr: &str, pid: u32, access: &str, id: &str) -> Result<Row, String> {
    let mut s = spec(
        ctx,
        &id.replace('_', "-"),
        format!("http://{addr}{NO_SUCH_PROJECT}"),
        "delete.lua",
        ctx.opts.connections,
        ctx.opts.duration_s,
    );
    s.headers.push(format!("Authorization: Bearer {access}"));
    s.env.push(("BENCH_EXPECT_STATUS".into(), "404".into()));
    measure(ctx, &warmup(ctx, &s), &[pid])?;
    let checked = id == DELETE_CHECKED;
    say(format!(
        "resource-service: DELETE /api/projects/{{id}}, {}",
        if checked {
            "session-checked (answers cached)"
        } else {
            "stateless"
        }
    ));
    let (sum, w) = measure(ctx, &s, &[pid])?;
    let title = if checked {
        "DELETE /api/projects/{id} (admin, 404), session checked by introspection, answers cached"
    } else {
        "DELETE /api/projects/{id} (admin, 404), stateless"
    };
    let mut r = row(id, "-", title, "resource-service", &s, &sum, &w);
    r.errors = sum.error_count_judged_by_script();
    println!("{}", r.one_line());
    Ok(r)
}

/// `POST /oauth/introspect` at the PostgreSQL auth-service, a distinct
/// live token per request, or why it cannot be measured.
fn introspect(
    ctx: &Ctx,
    auth_pid: u32,
    (id, secret): &(String, String),
    tokens: &std::path::Path,
) -> Result<Result<Row, String>, String> {
    let basic = http::base64(format!("{id}:{secret}").as_bytes());
    let first = std::fs::read_to_string(tokens)
        .map_err(|e| format!("{}: {e}", tokens.display()))?
        .lines()
        .next()
        .map(str::to_owned)
        .ok_or("no token to introspect")?;
    let probe = http::request_with(
        AUTH_PG,
        "POST",
        "/oauth/introspect",
        &[format!("Authorization: Basic {basic}")],
        Some((
            "application/x-www-form-urlencoded",
            &format!("token={first}"),
        )),
        Duration::from_secs(10),
    )
    .map_err(|e| format!("introspect at {AUTH_PG}: {e}"))?;
    if probe.status == 404 || probe.status == 405 {
        return Ok(Err(format!(
            "this auth-service has no POST /oauth/introspect ({})",
            probe.status
        )));
    }
    if probe.status != 200 || !probe.body.contains("\"active\":true") {
        return Ok(Err(format!(
            "a live token introspected as {} {}",
            probe.status, probe.body
        )));
    }
    let mut s = with_tokens(
        spec(
            ctx,
            "introspect-postgres",
            format!("http://{AUTH_PG}"),
            "introspect.lua",
            ctx.opts.refresh_connections,
            ctx.opts.duration_s,
        ),
        tokens,
    );
    s.env.push(("BENCH_BASIC".into(), basic));
    measure(ctx, &warmup(ctx, &s), &[auth_pid])?;
    say("postgres: POST /oauth/introspect, a distinct token per request");
    let (sum, w) = measure(ctx, &s, &[auth_pid])?;
    let mut r = row(
        INTROSPECT,
        "postgres",
        "POST /oauth/introspect (client_secret_basic), a distinct live token per request",
        "auth-service",
        &s,
        &sum,
        &w,
    );
    r.errors = sum.error_count_judged_by_script();
    println!("{}", r.one_line());
    Ok(Ok(r))
}

fn delete(addr: &str, access: &str) -> Result<http::Response, String> {
    http::request_with(
        addr,
        "DELETE",
        NO_SUCH_PROJECT,
        &[format!("Authorization: Bearer {access}")],
        None,
        Duration::from_secs(10),
    )
    .map_err(|e| format!("DELETE at {addr}: {e}"))
}

fn logout(refresh: &str) -> Result<(), String> {
    let body = format!(r#"{{"refresh_token":"{refresh}"}}"#);
    let res = http::request(
        AUTH_PG,
        "POST",
        "/auth/logout",
        Some(&body),
        Duration::from_secs(10),
    )
    .map_err(|e| format!("logout at {AUTH_PG}: {e}"))?;
    if res.status != 204 {
        return Err(format!("logout at {AUTH_PG}: {} {}", res.status, res.body));
    }
    Ok(())
}
