//! Transactions that decide on what they read: a count, then an insert that
//! must not pass it.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::{Connection, QueryResult};

use super::AnyConnection;

/// Runs `f` in a transaction that holds SQLite's write lock from its first
/// statement (`BEGIN IMMEDIATE`), so what it reads cannot change before it
/// writes: writers to the file take turns, and a reader that later wants to
/// write can never find its snapshot stale. On PostgreSQL it is a plain
/// transaction; take a row or advisory lock inside it for the same effect.
pub fn write_transaction<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    type Manager = <AnyConnection as Connection>::TransactionManager;
    match conn {
        AnyConnection::Sqlite(lite) => {
            AnsiTransactionManager::begin_transaction_sql(lite, "BEGIN IMMEDIATE")?;
        }
        AnyConnection::Postgresql(_) => Manager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback),
        },
    }
}
