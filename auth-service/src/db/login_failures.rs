//! Queries on `login_failures`: the throttling counters of API.md §3. They
//! live in the database so restarts and replicas share them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::login_failures;
use super::AnyConnection;

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
