//! Queries on `login_failures`: the throttling counters of API.md §3. They
//! live in the database so restarts and replicas share them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::login_failures;
use super::{write_transaction, AnyConnection};

/// Times of the failures for this key since `since`, oldest first.
pub fn since(
    conn: &mut AnyConnection,
    email: &str,
    client_ip: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<NaiveDateTime>> {
    login_failures::table
        .filter(login_failures::email.eq(email))
        .filter(login_failures::client_ip.eq(client_ip))
        .filter(login_failures::failed_at.gt(since))
        .select(login_failures::failed_at)
        .order(login_failures::failed_at.asc())
        .load(conn)
}

/// Records a failure, dropping this key's failures older than `window_start`
/// so the table stays small.
pub fn record(
    conn: &mut AnyConnection,
    email: &str,
    client_ip: &str,
    now: NaiveDateTime,
    window_start: NaiveDateTime,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::delete(
            login_failures::table
                .filter(login_failures::email.eq(email))
                .filter(login_failures::client_ip.eq(client_ip))
                .filter(login_failures::failed_at.le(window_start)),
        )
        .execute(conn)?;
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::id.eq(uuid::Uuid::new_v4().to_string()),
                login_failures::email.eq(email),
                login_failures::client_ip.eq(client_ip),
                login_failures::failed_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Forgets this key's failures, after a successful login.
pub fn clear(conn: &mut AnyConnection, email: &str, client_ip: &str) -> QueryResult<usize> {
    diesel::delete(
        login_failures::table
            .filter(login_failures::email.eq(email))
            .filter(login_failures::client_ip.eq(client_ip)),
    )
    .execute(conn)
}

/// What [`reserve`] found for one (email, client address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Fewer than `max` failures inside the window: this attempt may check
    /// the password. Its row counts as a failure until [`give_back`] deletes
    /// it, so an attempt that dies half-way still counts.
    Reserved {
        /// The reservation's row.
        id: String,
    },
    /// The key is at its limit: the times of its failures inside the
    /// window, oldest first, which say when the lockout ends.
    Refused {
        /// Failure times since the window's start, oldest first.
        failures: Vec<NaiveDateTime>,
    },
}

/// Reserves one password check for this key, counted as a failure from now
/// on, unless `max` failures are already inside the window (API.md §3: of
/// any number of simultaneous attempts, at most `max` reach the password).
///
/// Counting and inserting must not interleave with another reserver of the
/// same key, or N parallel guesses would all count 0 failures: on PostgreSQL
/// a transaction-scoped advisory lock on a hash of the key serialises them
/// (reservers of other keys never wait for it, and it is released at commit
/// or rollback); on SQLite the transaction takes the write lock first.
/// Failures of this key older than the window are dropped on the way, as
/// [`record`] does.
pub fn reserve(
    conn: &mut AnyConnection,
    email: &str,
    client_ip: &str,
    now: NaiveDateTime,
    window_start: NaiveDateTime,
    max: usize,
) -> QueryResult<Reservation> {
    write_transaction(conn, |conn| {
        if let AnyConnection::Postgresql(pg) = &mut *conn {
            use diesel::sql_types::Text;
            // The text hash PostgreSQL uses for hash partitioning, so it is
            // the same on every replica and every server version. The prefix
            // keeps these keys apart from any other advisory lock.
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind::<Text, _>(format!("login_failures {email} {client_ip}"))
                .execute(pg)?;
        }
        let failures = since(conn, email, client_ip, window_start)?;
        if failures.len() >= max {
            return Ok(Reservation::Refused { failures });
        }
        diesel::delete(
            login_failures::table
                .filter(login_failures::email.eq(email))
                .filter(login_failures::client_ip.eq(client_ip))
                .filter(login_failures::failed_at.le(window_start)),
        )
        .execute(conn)?;
        let id = uuid::Uuid::new_v4().to_string();
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::id.eq(&id),
                login_failures::email.eq(email),
                login_failures::client_ip.eq(client_ip),
                login_failures::failed_at.eq(now),
            ))
            .execute(conn)?;
        Ok(Reservation::Reserved { id })
    })
}

/// Gives a reservation of [`reserve`] back: the attempt it admitted did not
/// fail. 0 if it was gone already (purged, or cleared with its key).
pub fn give_back(conn: &mut AnyConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(login_failures::table.find(id)).execute(conn)
}
