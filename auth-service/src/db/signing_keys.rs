//! Queries on `signing_keys`.

use diesel::prelude::*;

use super::models::SigningKeyRow;
use super::schema::signing_keys;
use super::AnyConnection;

/// Every key, newest first: the first one signs.
pub fn all(conn: &mut AnyConnection) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table
        .order((signing_keys::created_at.desc(), signing_keys::kid.asc()))
        .load(conn)
}

/// Returns the stored keys, first storing `candidate` if there are none.
pub fn ensure_one(
    conn: &mut AnyConnection,
    candidate: SigningKeyRow,
) -> QueryResult<Vec<SigningKeyRow>> {
    conn.transaction(|conn| {
        // Take the write lock before reading. Two processes starting on one
        // new SQLite file both find no key; in a deferred transaction the
        // second's INSERT then fails "database is locked" at once (its read
        // snapshot is stale, so SQLite cannot make it wait). A write as the
        // first statement waits (busy_timeout) instead, and then finds the
        // first process's key. The no-op DELETE is the portable lock.
        diesel::delete(signing_keys::table.filter(signing_keys::kid.eq(""))).execute(conn)?;
        let keys = all(conn)?;
        if !keys.is_empty() {
            return Ok(keys);
        }
        diesel::insert_into(signing_keys::table)
            .values(candidate)
            .execute(conn)?;
        all(conn)
    })
}

/// Stores a new key; from now on it is the newest, so it signs.
pub fn insert(conn: &mut AnyConnection, row: &SigningKeyRow) -> QueryResult<usize> {
    diesel::insert_into(signing_keys::table)
        .values(row.clone())
        .execute(conn)
}

/// Deletes every key not in `keep`: keys that can no longer have live tokens.
pub fn delete_all_but(conn: &mut AnyConnection, keep: &[String]) -> QueryResult<usize> {
    diesel::delete(signing_keys::table.filter(signing_keys::kid.ne_all(keep))).execute(conn)
}
