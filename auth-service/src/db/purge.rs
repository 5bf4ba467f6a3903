//! Deleting what no request can use any more, so that no table grows
//! without bound (API.md §2): expired refresh tokens, sessions past their
//! history, login failures past their window.
//!
//! Every purge deletes in batches of at most `batch` rows, each batch's delete
//! one statement with no surrounding transaction, so each batch commits at
//! once and holds its locks (SQLite's write lock included) only briefly;
//! logins and refreshes run between batches. Call them outside any
//! transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{login_failures, refresh_tokens, sessions};
use super::{history, write_transaction, AnyConnection};

/// A batch size that keeps each statement short on both backends.
pub const BATCH: i64 = 1_000;

/// How many rows [`all`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Sessions found run out and recorded as ended (`expired`).
    pub expired_sessions: usize,
    /// Refresh tokens past their own expiry.
    pub refresh_tokens: usize,
    /// Sessions past their history, with the tokens they still had.
    pub sessions: usize,
    /// Login failures past the failure window.
    pub login_failures: usize,
}

/// Runs every purge: first the sessions that ran out are recorded as ended
/// (while their expired tokens still show it), then tokens (so a session's
/// purge has fewer rows to cascade to), then sessions with their events,
/// then login failures. A session ended at
/// `now - history` or earlier goes; a failure at `now - failure_window` or
/// earlier no longer counts, so it goes too.
pub fn all(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    history: chrono::Duration,
    failure_window: chrono::Duration,
    batch: i64,
) -> QueryResult<Purged> {
    Ok(Purged {
        expired_sessions: expire_sessions(conn, now, batch)?,
        refresh_tokens: expired_refresh_tokens(conn, now, batch)?,
        sessions: ended_sessions(conn, now - history, batch)?,
        login_failures: old_login_failures(conn, now - failure_window, batch)?,
    })
}

/// Records as ended (`expired`, with its event) every session past its
/// absolute end or without a live refresh token, a batch per transaction.
pub fn expire_sessions(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    batch: i64,
) -> QueryResult<usize> {
    in_batches(batch, |batch| {
        let ended = write_transaction(conn, |conn| history::end_expired(conn, None, now, batch))?;
        Ok((ended.len(), ended.len()))
    })
}

/// Deletes refresh tokens whose own `expires_at` has passed, used or not.
///
/// Not earlier: a used token presented again before it expires is reuse and
/// ends its session (or, within the grace, a replacement), which needs its
/// row. After its expiry every presentation is refused as invalid whether the
/// row is there or not: rotation only claims unexpired tokens, and a token's
/// successor never expires before it does.
pub fn expired_refresh_tokens(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    batch: i64,
) -> QueryResult<usize> {
    in_batches(batch, |batch| {
        let hashes: Vec<String> = refresh_tokens::table
            .filter(refresh_tokens::expires_at.lt(now))
            .select(refresh_tokens::token_hash)
            .limit(batch)
            .load(conn)?;
        let deleted = diesel::delete(refresh_tokens::table)
            .filter(refresh_tokens::token_hash.eq_any(&hashes))
            .execute(conn)?;
        Ok((hashes.len(), deleted))
    })
}

/// Deletes sessions that ended before `ended_before`: ended or revoked then,
/// or past their absolute end then. Their refresh tokens and events go with
/// them (the foreign keys cascade).
pub fn ended_sessions(
    conn: &mut AnyConnection,
    ended_before: NaiveDateTime,
    batch: i64,
) -> QueryResult<usize> {
    in_batches(batch, |batch| {
        let ids: Vec<String> = sessions::table
            .filter(
                sessions::ended_at
                    .lt(ended_before)
                    .or(sessions::revoked_at.lt(ended_before))
                    .or(sessions::expires_at.lt(ended_before)),
            )
            .select(sessions::id)
            .limit(batch)
            .load(conn)?;
        let deleted = diesel::delete(sessions::table)
            .filter(sessions::id.eq_any(&ids))
            .execute(conn)?;
        Ok((ids.len(), deleted))
    })
}

/// Deletes login failures at or before `window_start`: they no longer count
/// towards a lockout (the lockout counts only those after it), including
/// those of addresses that never came back.
pub fn old_login_failures(
    conn: &mut AnyConnection,
    window_start: NaiveDateTime,
    batch: i64,
) -> QueryResult<usize> {
    in_batches(batch, |batch| {
        let ids: Vec<String> = login_failures::table
            .filter(login_failures::failed_at.le(window_start))
            .select(login_failures::id)
            .limit(batch)
            .load(conn)?;
        let deleted = diesel::delete(login_failures::table)
            .filter(login_failures::id.eq_any(&ids))
            .execute(conn)?;
        Ok((ids.len(), deleted))
    })
}

/// Repeats `delete_batch` (given the batch size, at least 1; it answers how
/// many rows it found to delete and how many it deleted) until a batch finds
/// fewer rows than that; the total deleted.
///
/// A batch is two statements, the choice of at most `batch` keys and the
/// delete by key. No transaction is needed between them: a row chosen stays
/// past its horizon (times only move on), and one deleted meanwhile by
/// someone else is simply not counted.
fn in_batches(
    batch: i64,
    mut delete_batch: impl FnMut(i64) -> QueryResult<(usize, usize)>,
) -> QueryResult<usize> {
    let batch = batch.max(1);
    let full = usize::try_from(batch).unwrap_or(usize::MAX);
    let mut total = 0;
    loop {
        let (found, deleted) = delete_batch(batch)?;
        total += deleted;
        if found < full {
            return Ok(total);
        }
    }
}
