//! The resource-service under a flood of distinct DPoP proofs: `GET /api/me`
//! with one DPoP-bound token under `Authorization: DPoP` and a new proof,
//! with its own `jti`, per request, more of them than the replay cache
//! holds. Its peak RSS shows that the cache's memory stays bounded: once it
//! is full of unexpired `jti`s, new proofs are refused (`401`) rather than
//! remembered.
//!
//! A resource-service of its own (fresh, so its replay cache starts empty
//! and its peak is this load's alone), taking its keys from the PostgreSQL
//! auth-service. The token is bound by a real login with a proof; the
//! proofs are signed before the run (ES256, the browsers' algorithm), so
//! the run measures only the server.

use std::fs;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::accounts::{FAST_USER, PASSWORD};
use crate::ctx::{say, Ctx};
use crate::measure::{measure, row, spec, with_tokens};
use crate::proofs::{jti, run_nonce, ProofKey};
use crate::results::Row;
use crate::services::{self, AUTH_PG, ISSUER, RESOURCE_DPOP};
use crate::{http, sys};

/// The id of the flood's row, and the scenario name of its target.
pub const DPOP_FLOOD: &str = "me_dpop_flood";
pub const FLOOD_SCENARIO: &str = "GET /api/me under DPoP, a new jti per request (flood)";
/// The resource-service's replay cache capacity: shared-claims'
/// `dpop::DEFAULT_REPLAY_CAPACITY`, which the service has no setting for.
pub const REPLAY_CAPACITY: u64 = 100_000;
/// The replay cache's memory at that capacity, as `dpop/replay.rs`
/// documents it.
pub const REPLAY_CACHE_BOUND_MB: f64 = 6.5;
/// The server's name in the row: not `resource-service`, so that the
/// footprint target of the other loads keeps its own peak.
pub const FLOOD_SERVER: &str = "resource-service (DPoP flood)";

/// What the flood presented, beyond its row.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(serde::Deserialize))]
pub struct DpopFlood {
    /// Distinct proofs made (each `jti` once).
    pub proofs: u64,
    /// Proofs accepted before the measured run (the check that the setup works).
    pub accepted_before: u64,
    pub replay_capacity: u64,
    /// Seconds to sign the proofs (not measured).
    pub signing_s: f64,
}

/// The proofs' `iat` is this far ahead of the moment signing starts, and
/// the server accepts it up to `IAT_WINDOW` (60 s) either way: the proofs
/// are good from 5 s before signing starts until 115 s after, so a full
/// run still fits when signing takes up to about 90 s (jsonwebtoken parses
/// the PKCS#8 key anew for every proof: about 50 s for 200 000 on 2 cores).
const IAT_AHEAD_S: i64 = 55;
const IAT_WINDOW_S: i64 = 60;

/// Runs the flood; the row and what it presented.
pub fn flood(ctx: &Ctx) -> Result<(Row, DpopFlood), String> {
    let mut server = services::spawn_resource(
        ctx,
        FLOOD_SERVER,
        RESOURCE_DPOP,
        &ctx.out.join("resource-service-dpop.log"),
    )?;
    server.wait_ready("/readyz", Duration::from_secs(60))?;
    let htu = format!("http://{RESOURCE_DPOP}/api/me");

    let key = ProofKey::generate();
    let run = run_nonce();
    let token = bound_login(&key, &run)?;

    // One proof through first: the token, the key and `htu` are right.
    let first = key.proof("GET", &htu, unix_now(), &jti(&run, 0), Some(&token));
    let res = http::request_with(
        RESOURCE_DPOP,
        "GET",
        "/api/me",
        &[
            format!("Authorization: DPoP {token}"),
            format!("DPoP: {first}"),
        ],
        None,
        Duration::from_secs(10),
    )
    .map_err(|e| format!("DPoP request: {e}"))?;
    if res.status != 200 {
        return Err(format!("DPoP request: {} {}", res.status, res.body));
    }

    let n = if ctx.opts.quick {
        20_000
    } else {
        2 * REPLAY_CAPACITY as usize
    };
    say(format!(
        "signing {n} DPoP proofs (ES256), each with its own jti"
    ));
    let start = Instant::now();
    let iat = unix_now() + IAT_AHEAD_S;
    let valid_until = iat + IAT_WINDOW_S;
    let proofs = sign_all(&key, &htu, iat, &run, &token, n);
    let file = ctx.out.join("dpop-flood.proofs");
    fs::write(&file, proofs.join("\n") + "\n").map_err(|e| e.to_string())?;
    drop(proofs);
    let signing_s = start.elapsed().as_secs_f64();
    println!("    {n} proofs in {signing_s:.1} s");

    let wanted = if ctx.opts.quick {
        ctx.opts.duration_s
    } else {
        ctx.opts.duration_s.max(20)
    };
    // Every proof must still be within its window when the run ends.
    let left = (valid_until - unix_now() - 2).max(1) as u64;
    let duration = wanted.min(left);
    let mut s = with_tokens(
        spec(
            ctx,
            "me-dpop-flood",
            format!("http://{RESOURCE_DPOP}/api/me"),
            "dpop.lua",
            ctx.opts.connections,
            duration,
        ),
        &file,
    );
    s.headers.push(format!("Authorization: DPoP {token}"));
    say(format!(
        "{FLOOD_SERVER}: GET /api/me, a new DPoP proof per request ({duration} s, {n} proofs, replay cache {REPLAY_CAPACITY})"
    ));
    let (sum, w) = measure(ctx, &s, &[server.pid()])?;
    let mut flood_row = row(
        DPOP_FLOOD,
        "-",
        "GET /api/me under DPoP, one bound token, a new proof (distinct jti) per request, past the replay cache's capacity",
        FLOOD_SERVER,
        &s,
        &sum,
        &w,
    );
    // Refusals by a full cache are the behaviour shown, not errors.
    flood_row.errors = sum.error_count().saturating_sub(sum.refused);
    flood_row.notes.push(format!(
        "{} proofs accepted, {} refused because the replay cache was full",
        sum.requests
            .saturating_sub(sum.errors.status)
            .saturating_add(1),
        sum.refused
    ));
    // The whole life of the process, start and login included.
    let life_kb = sys::status_kb(server.pid(), "VmHWM").unwrap_or(0);
    flood_row.peak_rss_mb = flood_row.peak_rss_mb.max(life_kb as f64 / 1024.0);
    println!("{}", flood_row.one_line());
    server.stop();
    Ok((
        flood_row,
        DpopFlood {
            proofs: n as u64 + 1,
            accepted_before: 1,
            replay_capacity: REPLAY_CAPACITY,
            signing_s,
        },
    ))
}

/// A login of the chains' user with a proof by `key`: its access token,
/// bound to the key (`token_type: DPoP`).
fn bound_login(key: &ProofKey, run: &str) -> Result<String, String> {
    let proof = key.proof(
        "POST",
        &format!("{ISSUER}/auth/login"),
        unix_now(),
        &format!("login-{run}"),
        None,
    );
    let body = format!(r#"{{"email":"{FAST_USER}","password":"{PASSWORD}"}}"#);
    let res = http::request_with(
        AUTH_PG,
        "POST",
        "/auth/login",
        &[format!("DPoP: {proof}")],
        Some(("application/json", &body)),
        Duration::from_secs(30),
    )
    .map_err(|e| format!("DPoP login: {e}"))?;
    if res.status != 200 {
        return Err(format!("DPoP login: {} {}", res.status, res.body));
    }
    if http::json_field(&res.body, "token_type").as_deref() != Some("DPoP") {
        return Err(format!("DPoP login: not a bound token: {}", res.body));
    }
    http::json_field(&res.body, "access_token").ok_or_else(|| "no access_token".to_owned())
}

/// `n` proofs of `GET htu` for `token`, numbered from 1, signed on every core.
fn sign_all(key: &ProofKey, htu: &str, iat: i64, run: &str, token: &str, n: usize) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(1, |c| c.get());
    let per = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t * per..((t + 1) * per).min(n))
                        .map(|i| key.proof("GET", htu, iat, &jti(run, i + 1), Some(token)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("a signing thread"))
            .collect()
    })
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
