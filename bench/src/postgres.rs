//! The PostgreSQL server at 127.0.0.1:5432: its databases for the run,
//! through psql, and where pgbench is.

use std::path::PathBuf;
use std::process::Command;

pub const PG_ADMIN_DB: &str = "postgres";
pub const PG_AUTH_DB: &str = "auth_bench";
pub const PG_PGBENCH_DB: &str = "pgbench_bench";

/// How psql and pgbench reach the server: over TCP, as the services do.
pub const CONNECT: [&str; 6] = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"];

pub fn psql(db: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args(CONNECT)
        .args(["-d", db, "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub fn pg_url(db: &str) -> String {
    format!("postgres://postgres@127.0.0.1:5432/{db}")
}

/// Drops `db`, sessions and all, if it exists.
pub fn drop_db(db: &str) -> Result<(), String> {
    psql(
        PG_ADMIN_DB,
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    )?;
    Ok(())
}

/// `db`, new and empty.
pub fn recreate_db(db: &str) -> Result<(), String> {
    drop_db(db)?;
    psql(PG_ADMIN_DB, &format!("CREATE DATABASE {db}"))?;
    Ok(())
}

pub fn pgbench_bin() -> PathBuf {
    let debian = PathBuf::from("/usr/lib/postgresql/15/bin/pgbench");
    if debian.exists() {
        debian
    } else {
        PathBuf::from("pgbench")
    }
}
