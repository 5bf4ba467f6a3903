//! Promises of API.md that must hold when requests do not come one at a time
//! or do not come as expected: each file races real threads or real requests
//! against a real database on both backends.

mod background_purge;
mod bcrypt_process;
mod client_sessions;
mod exact_lockout;
mod history;
mod login_reservations;
mod oauth_bodies;
mod overload;
mod purge;
mod refresh_and_revoke;

use auth_service::db::{self, AnyConnection, DbPool};

use crate::helpers::{Backend, TestDb};

/// A fresh, migrated test database and a pool on it, for the queries of
/// `auth_service::db` run directly from test threads.
fn migrated(backend: Backend) -> (TestDb, DbPool) {
    let test_db = TestDb::new(backend);
    let pool = db::connect(&test_db.url).expect("pool");
    db::with_connection(&pool, db::migrate).expect("migrations");
    (test_db, pool)
}

/// Runs `f` on a connection of `pool`, failing the test on a database error.
fn on<T>(pool: &DbPool, f: impl FnOnce(&mut AnyConnection) -> diesel::QueryResult<T>) -> T {
    db::with_connection(pool, |conn| f(conn).map_err(|e| e.to_string())).expect("query")
}
