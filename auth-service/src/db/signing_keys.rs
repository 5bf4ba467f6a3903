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
    // Under the key lock, so that replicas starting together on an empty
    // database store one key between them: the others wait, then find it.
    super::write_transaction(conn, |conn| {
        lock(conn)?;
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

/// Takes the lock that serialises changes to the set of keys across
/// processes (rotation, revocation, automatic rotation by replicas). Call it
/// first inside [`super::write_transaction`]: on SQLite that transaction
/// already holds the file's write lock; on PostgreSQL this takes a
/// transaction-scoped advisory lock, after which every statement sees what
/// the previous holder committed.
pub fn lock(conn: &mut AnyConnection) -> QueryResult<()> {
    /// An arbitrary number that names this lock ("SIGN").
    const SIGNING_KEYS_LOCK: i64 = 0x5349_474e;
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({SIGNING_KEYS_LOCK})"))
            .execute(pg)?;
    }
    Ok(())
}

/// Raises the key's `retire_after` to `at`; never lowers it, so instances
/// with different token lifetimes each keep the key as long as they need.
pub fn raise_retirement(
    conn: &mut AnyConnection,
    kid: &str,
    at: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        signing_keys::table
            .filter(signing_keys::kid.eq(kid))
            .filter(
                signing_keys::retire_after
                    .is_null()
                    .or(signing_keys::retire_after.lt(at)),
            ),
    )
    .set(signing_keys::retire_after.eq(at))
    .execute(conn)
}

/// Deletes the keys, other than `newest`, whose recorded last token expiry
/// is before `now`. A key with none recorded stays: the serving instances
/// record one when they next reload.
pub fn delete_retired(
    conn: &mut AnyConnection,
    newest: &str,
    now: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        signing_keys::table
            .filter(signing_keys::kid.ne(newest))
            .filter(signing_keys::retire_after.lt(now)),
    )
    .execute(conn)
}

/// Deletes one key; whether it was there.
pub fn delete(conn: &mut AnyConnection, kid: &str) -> QueryResult<bool> {
    diesel::delete(signing_keys::table.filter(signing_keys::kid.eq(kid)))
        .execute(conn)
        .map(|deleted| deleted > 0)
}

/// Whether the key is stored: not revoked, and not pruned.
pub fn exists(conn: &mut AnyConnection, kid: &str) -> QueryResult<bool> {
    signing_keys::table
        .filter(signing_keys::kid.eq(kid))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}

/// Replaces a key's stored private key (sealing it in place).
pub fn set_private_key(
    conn: &mut AnyConnection,
    kid: &str,
    private_key: &[u8],
) -> QueryResult<usize> {
    diesel::update(signing_keys::table.filter(signing_keys::kid.eq(kid)))
        .set(signing_keys::private_key.eq(private_key))
        .execute(conn)
}

/// Removes the old versions of replaced private keys that the database
/// keeps beside the current ones: on PostgreSQL the dead row versions in
/// the table's pages (`VACUUM FULL` rewrites the table); on SQLite the
/// write-ahead log's page images (freed cells are already zeroed by
/// `secure_delete`, see `pool`), by a checkpoint that truncates the log.
/// Must run outside any transaction, on a blocking thread (it may wait up
/// to 5 s for transactions older than the sealing to end). Copies made
/// before (backups, PostgreSQL's own WAL) are out of its reach.
pub fn purge_old_versions(conn: &mut AnyConnection) -> QueryResult<()> {
    #[derive(QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        busy: i32,
    }
    #[derive(QueryableByName)]
    struct Mark {
        #[diesel(sql_type = diesel::sql_types::Text)]
        next: String,
    }
    #[derive(QueryableByName)]
    struct Ended {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ended: bool,
    }
    match conn {
        AnyConnection::Postgresql(pg) => {
            // VACUUM FULL keeps a dead version that a transaction older than
            // the sealing may still see: wait (a little) for those to end.
            let mark: Mark =
                diesel::sql_query("SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS next")
                    .get_result(pg)?;
            let mut ended = false;
            for _ in 0..25 {
                ended = diesel::sql_query(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 AS ended",
                )
                .bind::<diesel::sql_types::Text, _>(&mark.next)
                .get_result::<Ended>(pg)?
                .ended;
                if ended {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            diesel::sql_query("VACUUM FULL signing_keys").execute(pg)?;
            if !ended {
                return Err(diesel::result::Error::QueryBuilderError(
                    "a transaction older than the sealing is still open".into(),
                ));
            }
        }
        AnyConnection::Sqlite(lite) => {
            let checkpoint: Checkpoint =
                diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").get_result(lite)?;
            if checkpoint.busy != 0 {
                // Another connection still reads an older snapshot: the log
                // could not be emptied now.
                return Err(diesel::result::Error::QueryBuilderError(
                    "the write-ahead log is in use by another connection".into(),
                ));
            }
        }
    }
    Ok(())
}
