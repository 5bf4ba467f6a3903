//! One run, in order: wait for a quiet machine, measure the limits, start
//! the services, drive the scenarios, then compute the targets and write
//! the results and the report.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::accounts::{create_login_users, create_user, FAST_USER};
use crate::ctx::{say, Ctx};
use crate::limits::{bcrypt_time, criterion, pgbench};
use crate::opts::Opts;
use crate::postgres::{drop_db, pg_url, psql, recreate_db, PG_ADMIN_DB, PG_AUTH_DB, PG_PGBENCH_DB};
use crate::results::{self, Results, Row};
use crate::scenarios::auth::AuthRows;
use crate::services::{self, Service, AUTH_PG, AUTH_SQLITE, RESOURCE};
use crate::{checks, report, scenarios, sys};

/// Measures everything, then writes `results.json` and `RESULTS.md`
/// (under `bench/out/` for `--quick` and `--perf`).
pub fn run(opts: &Opts) -> Result<(), String> {
    let bench_dir = opts.root.join("bench");
    let out = bench_dir.join("out");
    fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let started_at =
        sys::command_output("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]).unwrap_or_default();
    let run_start = Instant::now();
    let quiet = wait_until_quiet(opts);
    if !quiet.quiet {
        say(format!(
            "the machine is not quiet (1-minute load {:.2}); measuring anyway",
            quiet.load_at_start.0
        ));
    }
    let ctx = Ctx::new(opts, &bench_dir, &out)?;
    let pg_version = psql(PG_ADMIN_DB, "SHOW server_version").ok();
    let machine = sys::describe_machine(pg_version.map(|v| format!("PostgreSQL {v}")));
    let git = git_commit(opts);

    // --- limits that need no server --------------------------------------
    let crit = criterion(&ctx)?;
    say(format!("bcrypt: one hash at cost {}", opts.bcrypt_cost));
    let bcrypt_runs = bcrypt_time(opts.bcrypt_cost, if opts.quick { 2 } else { 5 })?;
    let bcrypt_ms = sys::median(bcrypt_runs.clone());
    println!(
        "    bcrypt cost {}: {bcrypt_ms:.1} ms per hash",
        opts.bcrypt_cost
    );

    say("start to ready: auth-service on SQLite");
    let (fresh, migrated) = scenarios::startup::auth_sqlite(&ctx, if opts.quick { 2 } else { 5 })?;
    println!(
        "    fresh file {:.1} ms, migrated file {:.1} ms (medians)",
        sys::median(fresh.clone()),
        sys::median(migrated.clone())
    );

    // --- services on PostgreSQL --------------------------------------------
    say("PostgreSQL: fresh database, seed users");
    recreate_db(PG_AUTH_DB)?;
    let auth = seeded_auth(
        &ctx,
        "auth-service",
        AUTH_PG,
        &pg_url(PG_AUTH_DB),
        "auth-service-postgres.log",
    )?;
    let mut resource = services::spawn_resource(
        &ctx,
        "resource-service",
        RESOURCE,
        &out.join("resource-service.log"),
    )?;
    resource.wait_ready("/readyz", Duration::from_secs(60))?;
    let mut hello = services::spawn_hello(&ctx, &out.join("hello.log"))?;
    hello.wait_ready("/", Duration::from_secs(30))?;

    let resource_ready_ms = scenarios::startup::resource(&ctx)?;

    say(format!(
        "pgbench -N: {} clients, {} s",
        opts.refresh_connections, opts.duration_s
    ));
    let pgb = pgbench(&ctx, opts.refresh_connections, opts.duration_s)?;
    println!(
        "    {:.0} tps, p50 {:.2} ms, p99 {:.2} ms, database CPU {:.2} cores",
        pgb.tps, pgb.p50_ms, pgb.p99_ms, pgb.db_cpu_cores
    );

    let mut rows: Vec<Row> = Vec::new();

    let hello_row = scenarios::hello::ceiling(&ctx, hello.pid())?;
    rows.push(hello_row.clone());
    hello.stop();

    let me_row = scenarios::verify::reused(&ctx, resource.pid())?;
    rows.push(me_row.clone());

    // Refresh, login and the storm on PostgreSQL.
    let pg_rows = scenarios::auth::run(&ctx, "postgres", AUTH_PG, auth.pid())?;

    let (cold_row, cold_tokens) = scenarios::verify::cold(&ctx, resource.pid(), me_row.rps)?;
    rows.push(cold_row.clone());

    rows.extend(pg_rows.all().into_iter().cloned());

    // Session-checked routes and introspection (skipped, with the reason,
    // where the binaries lack them); the cold tokens' sessions are live.
    let (checked_rows, skipped) = scenarios::checked::run(
        &ctx,
        &pg_url(PG_AUTH_DB),
        auth.pid(),
        resource.pid(),
        &out.join("cold.tokens"),
    )?;
    rows.extend(checked_rows);

    // A resource-service of its own under distinct DPoP proofs, past its
    // replay cache's capacity.
    let (flood_row, dpop_flood) = scenarios::dpop::flood(&ctx)?;
    rows.push(flood_row);

    let auth_peak_pg_kb = sys::status_kb(auth.pid(), "VmHWM").unwrap_or(0);
    let resource_peak_kb = sys::status_kb(resource.pid(), "VmHWM").unwrap_or(0);
    resource.stop();
    auth.stop();

    // --- optional: the auth-service on SQLite ------------------------------
    let sqlite_rows = if opts.sqlite {
        let r = on_sqlite(&ctx)?;
        rows.extend(r.all().into_iter().cloned());
        Some(r)
    } else {
        None
    };

    // VmHWM is reset before each run, so the peak over all runs is the
    // largest per-run peak (and the reading at the end, after the last run).
    let peak_of = |server: &str, backend: &str| {
        rows.iter()
            .filter(|r| r.server == server && (backend.is_empty() || r.backend == backend))
            .map(|r| r.peak_rss_mb)
            .fold(0.0, f64::max)
    };
    let auth_peak_mb = peak_of("auth-service", "postgres").max(auth_peak_pg_kb as f64 / 1024.0);
    let res_peak_mb = peak_of("resource-service", "").max(resource_peak_kb as f64 / 1024.0);

    for db in [PG_AUTH_DB, PG_PGBENCH_DB] {
        let _ = drop_db(db);
    }

    let mut results = Results {
        started_at,
        elapsed_s: run_start.elapsed().as_secs_f64(),
        command: std::iter::once("bench/run".to_owned())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        git,
        opts: opts.clone(),
        machine,
        quiet,
        limits: results::Limits {
            hello_rps: hello_row.rps,
            pgbench: pgb,
            bcrypt_cost: opts.bcrypt_cost,
            bcrypt_ms,
            bcrypt_runs_ms: bcrypt_runs,
            criterion_ns: crit,
        },
        startup: results::Startup {
            auth_sqlite_fresh_ms: fresh,
            auth_sqlite_migrated_ms: migrated,
            resource_ready_ms,
        },
        cold_tokens,
        peak_rss_mb: results::PeakRss {
            auth_postgres: auth_peak_mb,
            auth_sqlite: sqlite_rows.as_ref().map(|r| {
                [&r.refresh, &r.login, &r.storm_refresh]
                    .iter()
                    .map(|x| x.peak_rss_mb)
                    .fold(0.0, f64::max)
            }),
            resource: res_peak_mb,
        },
        rows,
        skipped,
        dpop_flood: Some(dpop_flood),
        checks: Vec::new(),
    };
    results.checks = checks::targets(&results, &me_row, &cold_row, &pg_rows);
    write(&results, &bench_dir, &out)
}

/// Waits (at most `--wait-quiet` minutes) until the 1-minute load average
/// is below `--quiet-load`, and says how it went.
fn wait_until_quiet(opts: &Opts) -> results::Quiet {
    let start = Instant::now();
    let limit = Duration::from_secs(opts.wait_quiet_min * 60);
    loop {
        let (one, five, fifteen) = sys::loadavg();
        if one < opts.quiet_load || start.elapsed() >= limit {
            return results::Quiet {
                waited_s: start.elapsed().as_secs(),
                threshold: opts.quiet_load,
                max_wait_min: opts.wait_quiet_min,
                quiet: one < opts.quiet_load,
                load_at_start: (one, five, fifteen),
            };
        }
        say(format!(
            "waiting for a quiet machine: 1-minute load {one:.2} (want < {:.2}); waited {} s of at most {} min",
            opts.quiet_load,
            start.elapsed().as_secs(),
            opts.wait_quiet_min
        ));
        std::thread::sleep(Duration::from_secs(30));
    }
}

/// The commit the services were built from, marked when the tree differs.
fn git_commit(opts: &Opts) -> String {
    let root = opts.root.display().to_string();
    let git = sys::command_output("git", &["-C", &root, "rev-parse", "--short", "HEAD"])
        .unwrap_or_default();
    let dirty = sys::command_output(
        "git",
        &["-C", &root, "status", "--porcelain", "--untracked-files=no"],
    )
    .is_some_and(|s| !s.is_empty());
    format!("{git}{}", if dirty { " (uncommitted changes)" } else { "" })
}

/// An auth-service, ready, with the users the scenarios act as: the
/// refresh chains' user and one login user per login connection.
fn seeded_auth(
    ctx: &Ctx,
    name: &str,
    addr: &str,
    database_url: &str,
    log: &str,
) -> Result<Service, String> {
    let mut auth = services::spawn_auth(ctx, name, addr, database_url, &ctx.out.join(log))?;
    auth.wait_ready("/readyz", Duration::from_secs(60))?;
    create_user(ctx, database_url, FAST_USER, 4)?;
    create_login_users(
        ctx,
        database_url,
        scenarios::auth::login_users_needed(&ctx.opts),
        ctx.opts.bcrypt_cost,
    )?;
    Ok(auth)
}

/// The auth-service's scenarios again, on a new SQLite file (`--sqlite`).
fn on_sqlite(ctx: &Ctx) -> Result<AuthRows, String> {
    say("SQLite: fresh file, seed users");
    let dir = ctx.out.join("sqlite");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url = format!("sqlite://{}", dir.join("auth.db").display());
    let auth = seeded_auth(
        ctx,
        "auth-service (SQLite)",
        AUTH_SQLITE,
        &url,
        "auth-service-sqlite.log",
    )?;
    let r = scenarios::auth::run(ctx, "sqlite", AUTH_SQLITE, auth.pid())?;
    auth.stop();
    Ok(r)
}

/// Writes the results and the report, and prints the tables. A smoke test
/// (`--quick`) or a profiled run (`--perf`) writes under `bench/out/`.
fn write(results: &Results, bench_dir: &Path, out: &Path) -> Result<(), String> {
    let json = serde_json::to_string_pretty(results).map_err(|e| e.to_string())?;
    // A smoke test (--quick) never replaces the real results.
    let (json_path, md_path) = if results.opts.quick {
        (out.join("results.quick.json"), out.join("RESULTS.quick.md"))
    } else if results.opts.perf {
        (out.join("results.perf.json"), out.join("RESULTS.perf.md"))
    } else {
        (bench_dir.join("results.json"), bench_dir.join("RESULTS.md"))
    };
    fs::write(&json_path, json + "\n").map_err(|e| e.to_string())?;
    fs::write(&md_path, report::markdown(results)).map_err(|e| e.to_string())?;
    if results.opts.perf {
        let path = if results.opts.quick {
            out.join("PROFILES.quick.md")
        } else {
            bench_dir.join("PROFILES.md")
        };
        fs::write(&path, report::profiles(results, &out.join("perf")))
            .map_err(|e| e.to_string())?;
        say(format!("wrote {}", path.display()));
    }
    println!();
    println!("{}", report::table(results));
    println!("{}", report::checks_table(results));
    say(format!(
        "wrote {} and {} ({:.0} s)",
        md_path.display(),
        json_path.display(),
        results.elapsed_s
    ));
    Ok(())
}
