//! Storage: one Diesel schema over PostgreSQL or SQLite, an r2d2 pool, and
//! [`run`], the only way handlers reach the database.

pub mod clients;
pub mod history;
pub mod introspection;
pub mod login_failures;
pub mod models;
mod one_statement_rotation;
mod pool;
pub mod purge;
pub mod schema;
pub mod sessions;
pub mod signing_keys;
mod transaction;
pub mod users;

pub use pool::{connect, migrate, AnyConnection, DbPool, PooledConnection};
pub use transaction::write_transaction;

use actix_web::web;

use crate::config::DatabaseUrl;
use crate::error::Error;

/// Runs `f` with a pooled connection on the blocking thread pool, so that no
/// Diesel call ever blocks an async executor thread.
pub async fn run<T, E, F>(pool: &DbPool, f: F) -> Result<T, Error>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Into<Error> + Send + 'static,
{
    let pool = pool.clone();
    web::block(move || {
        let mut pooled = pool.get()?;
        let outcome = f(&mut pooled.conn).map_err(Into::into);
        if let Err(Error::Unavailable(_)) = &outcome {
            pooled.broken = true;
        }
        outcome
    })
    .await?
}

/// Connects and applies pending migrations, on the blocking pool: every
/// command starts here, and only `serve` goes on to load signing keys.
pub async fn open(url: &DatabaseUrl) -> Result<DbPool, String> {
    let url = url.clone();
    web::block(move || {
        let pool = connect(&url)?;
        with_connection(&pool, migrate)
            .map_err(|e| format!("DATABASE_URL ({}): {e}", url.redacted()))?;
        Ok(pool)
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Runs `f` on a connection of its own, outside any request (start-up, CLI).
pub fn with_connection<T>(
    pool: &DbPool,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, String>,
) -> Result<T, String> {
    let mut pooled = pool.get().map_err(|e| e.to_string())?;
    f(&mut pooled.conn)
}

/// Current time as stored: UTC, microsecond precision (PostgreSQL's), so a
/// value read back compares equal to the one written.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(6)
}
