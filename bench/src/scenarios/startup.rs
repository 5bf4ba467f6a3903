//! Start to ready: `auth-service serve` on SQLite, on a new file and on one
//! already migrated, and the resource-service, which fetches the JWKS first.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::ctx::Ctx;
use crate::services::{self, RESOURCE_PROBE, STARTUP_PROBE};

/// Times `auth-service serve` from spawn to `/readyz` 200 on SQLite: `fresh`
/// runs start on a new file (migrations and key generation included), the
/// others on the file the first run migrated.
pub fn auth_sqlite(ctx: &Ctx, runs: usize) -> Result<(Vec<f64>, Vec<f64>), String> {
    let dir = ctx.out.join("startup");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut fresh = Vec::new();
    let mut migrated = Vec::new();
    let kept = dir.join("migrated.db");
    for i in 0..runs * 2 {
        let is_fresh = i < runs;
        let db = if is_fresh {
            dir.join(format!("fresh-{i}.db"))
        } else {
            kept.clone()
        };
        let url = format!("sqlite://{}", db.display());
        let started = Instant::now();
        let mut svc = services::spawn_auth(
            ctx,
            "auth-service (startup)",
            STARTUP_PROBE,
            &url,
            &dir.join(format!("run-{i}.log")),
        )?;
        svc.wait_ready("/readyz", Duration::from_secs(30))?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        svc.stop();
        if is_fresh {
            fresh.push(elapsed);
            if i == 0 {
                for ext in ["", "-wal", "-shm"] {
                    let from = PathBuf::from(format!("{}{ext}", db.display()));
                    if from.exists() {
                        let _ = fs::copy(&from, format!("{}{ext}", kept.display()));
                    }
                }
            }
        } else {
            migrated.push(elapsed);
        }
    }
    Ok((fresh, migrated))
}

/// The resource-service's own start to ready, in ms, while the PostgreSQL
/// auth-service serves the JWKS it fetches.
pub fn resource(ctx: &Ctx) -> Result<f64, String> {
    let started = Instant::now();
    let mut probe = services::spawn_resource(
        ctx,
        "resource-service (startup)",
        RESOURCE_PROBE,
        &ctx.out.join("resource-startup.log"),
    )?;
    probe.wait_ready("/readyz", Duration::from_secs(30))?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    probe.stop();
    Ok(ms)
}
