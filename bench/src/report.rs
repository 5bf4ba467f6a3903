//! The report of a run: the tables of RESULTS.md and the console, and
//! PROFILES.md.

use std::fmt::Write;

use crate::results::{Check, Results, Row};

fn ratio_text(c: &Check) -> String {
    match (c.value, c.kind.as_str()) {
        (Some(v), "at_least") => {
            format!("{:.0}% (needs ≥ {:.0}%)", v * 100.0, c.required * 100.0)
        }
        (Some(v), _) if c.target.contains('×') => {
            format!("{v:.2}× (needs ≤ {}×)", c.required)
        }
        (Some(v), "at_most") => format!("{v:.2} (needs ≤ {})", c.required),
        (Some(v), _) => format!("{:.0}% of the limit", 100.0 * v / c.required.max(1e-9)),
        (None, _) => "—".into(),
    }
}

fn verdict(c: &Check) -> &'static str {
    match c.met {
        Some(true) => "met",
        Some(false) => "**MISSED**",
        None => "unknown",
    }
}

fn db_cpu(r: &Row) -> String {
    r.db_cpu_cores
        .map(|c| format!("{c:.2}"))
        .unwrap_or_else(|| "—".into())
}

/// The scenario table (Markdown).
pub fn table(r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| scenario | backend | conns | requests/s | p50 ms | p99 ms | p99 ms, per request | errors | server CPU (cores) | peak RSS MB | DB CPU | wrk CPU | other CPU |"
    );
    let _ = writeln!(s, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for row in &r.rows {
        let _ = writeln!(
            s,
            "| {} ({}) | {} | {} | {:.1} | {:.2} | {:.2} | {} | {} | {:.2} | {:.1} | {} | {:.2} | {:.2} |",
            row.title,
            row.server,
            row.backend,
            row.connections,
            row.rps,
            row.p50_ms,
            row.p99_ms,
            row.raw_p99_ms
                .map(|v| format!("{v:.2}"))
                .unwrap_or_else(|| "—".into()),
            row.errors,
            row.server_cpu_cores,
            row.peak_rss_mb,
            db_cpu(row),
            row.client_cpu_cores,
            row.other_cpu_cores
        );
    }
    let p = &r.limits.pgbench;
    let _ = writeln!(
        s,
        "| pgbench -N, scale {} (ceiling) | postgres | {} | {:.1} | {:.2} | {:.2} | {:.2} | {} | — | — | {:.2} | {:.2} | {:.2} |",
        p.scale, p.clients, p.tps, p.p50_ms, p.p99_ms, p.p99_ms, p.failed, p.db_cpu_cores, p.client_cpu_cores, p.other_cpu_cores
    );
    s
}

/// The targets table (Markdown).
pub fn checks_table(r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| scenario | target | limit (this run) | measured | ratio | verdict |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for c in &r.checks {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            c.scenario,
            c.target,
            c.limit,
            c.measured,
            ratio_text(c),
            verdict(c)
        );
    }
    s
}

/// All of RESULTS.md.
pub fn markdown(r: &Results) -> String {
    let m = &r.machine;
    let o = &r.opts;
    let mut s = String::new();
    let _ = writeln!(s, "# Benchmark results\n");
    let _ = writeln!(
        s,
        "Written by `{}` on {} (took {:.0} s; services at commit {}). \
         Every number below comes from this one run on this one machine; \
         `bench/results.json` holds the same data.\n",
        r.command, r.started_at, r.elapsed_s, r.git
    );
    let _ = writeln!(s, "## Machine\n");
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(s, "| cores (nproc) | {} |", m.nproc);
    let _ = writeln!(s, "| CPU | {} |", m.cpu_model);
    let _ = writeln!(s, "| memory | {} |", m.memory);
    let _ = writeln!(s, "| kernel | {} |", m.kernel);
    let _ = writeln!(s, "| rustc | {} |", m.rustc);
    let _ = writeln!(s, "| database | {} on 127.0.0.1:5432 (TCP) |", m.postgresql);
    let _ = writeln!(s, "| load generator | {} |", m.wrk);
    let _ = writeln!(
        s,
        "| hardware perf counters | {} |",
        if m.perf_counters {
            "available"
        } else {
            "not supported (virtual machine)"
        }
    );
    let q = &r.quiet;
    let _ = writeln!(
        s,
        "| load average before the run | {:.2} {:.2} {:.2} |",
        q.load_at_start.0, q.load_at_start.1, q.load_at_start.2
    );
    let quiet_text = if q.max_wait_min == 0 {
        "not waited for (no `--wait-quiet`)".to_owned()
    } else if q.quiet {
        format!(
            "yes: waited {} s for the 1-minute load to fall below {:.2}",
            q.waited_s, q.threshold
        )
    } else {
        format!(
            "**no**: after {} min the 1-minute load was still {:.2} (≥ {:.2}); measured anyway, so other work shared the cores",
            q.max_wait_min, q.load_at_start.0, q.threshold
        )
    };
    let _ = writeln!(s, "| quiet machine | {quiet_text} |");
    let _ = writeln!(
        s,
        "\nThe load generator (wrk, {} threads) runs on the same {} cores as the servers and \
         PostgreSQL, so every rate here, the ceilings included, is what is left beside it; the \
         ratios compare like with like. Services run with `RUST_LOG={}` (their default: one \
         access-log line per request, to a file), `BCRYPT_COST={}`, release builds. Durations: {} s \
         per measured run after a {} s warm-up (the login-only runs last twice as long).\n",
        o.threads,
        m.nproc,
        o.rust_log,
        o.bcrypt_cost,
        o.duration_s,
        if o.quick { 1 } else { 2 }
    );

    let _ = writeln!(s, "## Scenarios\n");
    s.push_str(&table(r));
    let _ = writeln!(
        s,
        "\nrequests/s, p50 and p99 are wrk's (`--latency`). wrk corrects its percentiles for \
         coordinated omission (each slow answer adds the samples a constant-rate client would \
         have seen), which raises p99 in these closed-loop runs; *p99 per request* is each \
         request as the client timed it, uncorrected (measured where wrk runs one connection per \
         thread: the auth-service rows; pgbench's is from its per-transaction log). *errors* counts socket errors, timeouts and every answer other \
         than the expected 200. *server CPU* is utime+stime of the server process and of \
         the processes it runs (the auth-service's bcrypt process) from /proc/PID/stat over the \
         run, in cores; *peak RSS* is VmHWM from /proc/PID/status, reset \
         (`clear_refs` 5) before each run. *DB CPU* sums every PostgreSQL process; *wrk CPU* is \
         the load generator's own (pgbench's, in its row); *other CPU* is what the rest of the \
         machine used meanwhile (from /proc/stat): near zero means nothing else interfered.\n"
    );
    for row in &r.rows {
        for note in &row.notes {
            let _ = writeln!(s, "- {}: {note}", row.title);
        }
    }

    let _ = writeln!(s, "## Targets\n");
    s.push_str(&checks_table(r));

    let l = &r.limits;
    let _ = writeln!(s, "\n## Limits measured in the same run\n");
    let _ = writeln!(
        s,
        "- actix-web hello server (`bench/src/bin/hello.rs`, same actix-web, same worker count): **{:.0} req/s**.",
        l.hello_rps
    );
    let p = &l.pgbench;
    let _ = writeln!(
        s,
        "- `pgbench -N -c {} -j {} -T {}` (scale {}, over TCP): **{:.0} tps**, p50 {:.2} ms, p99 {:.2} ms, {} failed; PostgreSQL used {:.2} cores.",
        p.clients, p.threads, p.duration_s, p.scale, p.tps, p.p50_ms, p.p99_ms, p.failed, p.db_cpu_cores
    );
    let _ = writeln!(
        s,
        "- bcrypt, one hash at cost {}: **{:.1} ms** (median of {:?} ms), so {} cores can do {:.2} hashes/s.",
        l.bcrypt_cost,
        l.bcrypt_ms,
        l.bcrypt_runs_ms
            .iter()
            .map(|v| (v * 10.0).round() / 10.0)
            .collect::<Vec<_>>(),
        m.nproc,
        m.nproc as f64 / (l.bcrypt_ms / 1000.0)
    );
    let _ = writeln!(s, "- criterion (median time per iteration, one core):\n");
    let _ = writeln!(s, "  | benchmark | time | per second |\n  |---|--:|--:|");
    let mut names: Vec<_> = l.criterion_ns.iter().collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    for (name, ns) in names {
        let time = if *ns >= 1e6 {
            format!("{:.2} ms", ns / 1e6)
        } else if *ns >= 1e3 {
            format!("{:.2} µs", ns / 1e3)
        } else {
            format!("{ns:.0} ns")
        };
        let _ = writeln!(s, "  | `{name}` | {time} | {:.0} |", 1e9 / ns);
    }

    let st = &r.startup;
    let _ = writeln!(s, "\n## Start to ready\n");
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        s,
        "From spawning `auth-service serve` to the first `200` from `/readyz` (polled every millisecond), SQLite:\n\n\
         - new file (migrations and the first signing key): {} ms\n\
         - already migrated file: {} ms\n\
         - resource-service to `/readyz` 200 (JWKS fetched from the running auth-service): {:.1} ms\n",
        fmt(&st.auth_sqlite_fresh_ms),
        fmt(&st.auth_sqlite_migrated_ms),
        st.resource_ready_ms
    );
    let c = &r.cold_tokens;
    let _ = writeln!(s, "## How the scenarios were driven\n");
    let _ = writeln!(
        s,
        "- Users are created with the real CLI (`auth-service user create`): one for the \
         refresh chains (its hash made at cost 4, since refresh never checks a password) and, \
         at the configured cost, one per login connection (the lockout is exact under \
         concurrency, so one user shared by simultaneous logins could be answered 429); \
         a login scenario with any answer other than 200 (and, in the storm, 503) stops the run.\n\
         - Refresh chains (`bench/lua/refresh.lua`): each connection presents a refresh token \
         once and continues with the successor it got back, so every token is presented exactly \
         once; chains start from fresh logins, twice as many as connections.\n\
         - Cold verification (`bench/lua/tokens.lua`): {} distinct access tokens were collected \
         from real refresh chains in {:.1} s beforehand; each request presents the next unused one. \
         A one-second pilot on a fifth of them (warm-up and rate estimate) came first; the \
         measured run, on the rest, lasted {} s so that they would not run out.\n\
         - Login storm: {} connections log in at cost {} while the refresh chains run; the \
         refresh baseline is the PostgreSQL chains row above (same connections). A connection \
         answered 503 waits its `Retry-After` before it sends again (wrk's `delay()`), as a \
         client should: retried at once, the 503s alone would take the CPU.\n",
        c.collected,
        c.seconds,
        c.run_s,
        crate::services::login_queue_limit(o) + m.nproc as u32 + o.login_connections,
        o.bcrypt_cost
    );
    for skipped in &r.skipped {
        let _ = writeln!(
            s,
            "- Not measured: {}: {}",
            skipped.scenario, skipped.reason
        );
    }
    s
}

/// PROFILES.md: where each server spent its CPU in each run (`--perf`).
pub fn profiles(r: &Results, dir: &std::path::Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# CPU profiles\n");
    let _ = writeln!(
        s,
        "Written by `{}` on {} (services at commit {}). `perf record -e cpu-clock -F 499 -g -p <server>` \
         during each measured run (the sampling costs a little CPU, so this run's rates are in \
         `bench/out/RESULTS.perf.md`, not RESULTS.md), then `perf report --no-children --sort dso[,symbol]`. \
         `[k]` marks kernel symbols: the kernel's share is mostly loopback TCP and epoll.\n",
        r.command, r.started_at, r.git
    );
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for path in names {
        let name = path
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let row = r.rows.iter().find(|row| {
            name.replace('-', "_") == row.id
                || format!("{}_{}", row.backend, row.id.split('_').next().unwrap_or(""))
                    == name.replace('-', "_")
        });
        let _ = writeln!(s, "## {name}\n");
        if let Some(row) = row {
            let _ = writeln!(
                s,
                "{} ({}): {:.0} req/s on {:.2} server cores = {:.1} µs of server CPU per request.\n",
                row.title,
                row.server,
                row.rps,
                row.server_cpu_cores,
                1e6 * row.server_cpu_cores / row.rps.max(1e-9)
            );
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = writeln!(s, "```\n{}\n```\n", text.trim_end());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed() -> Results {
        let raw = include_str!("../results.json");
        serde_json::from_str(raw).expect("bench/results.json parses")
    }

    /// RESULTS.md and results.json are written from the same run, so the
    /// report of the committed JSON is the committed Markdown, to the byte.
    #[test]
    fn markdown_of_the_committed_json_is_the_committed_results_md() {
        assert_eq!(markdown(&committed()), include_str!("../RESULTS.md"));
    }
}
