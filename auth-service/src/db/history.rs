//! Session history (API.md §2): ending sessions with their reason, and each
//! session's events, written by the caller's transaction together with the
//! change they record.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::models::SessionRow;
use super::schema::{refresh_tokens, session_events, sessions};
use super::AnyConnection;
use crate::domain::{EndReason, EventKind};

/// How many events a session keeps: the newest. A session refreshed every
/// few minutes for weeks would otherwise grow without bound; the start of a
/// long session's story matters less than how it went lately.
pub const EVENTS_KEPT: i64 = 100;

/// The request behind an event: its client address and `User-Agent`.
/// Events the service notices on its own (an expiry) have neither.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    /// The client address (API.md §1).
    pub ip: Option<&'a str>,
    /// The `User-Agent` header.
    pub user_agent: Option<&'a str>,
}

impl Origin<'_> {
    /// No request: the service noticed it itself.
    pub const NONE: Origin<'static> = Origin {
        ip: None,
        user_agent: None,
    };
}

#[derive(Insertable)]
#[diesel(table_name = session_events)]
struct NewEvent<'a> {
    session_id: &'a str,
    at: NaiveDateTime,
    kind: &'a str,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    reason: Option<&'a str>,
}

/// Records an event of `session_id` and drops its events beyond the newest
/// [`EVENTS_KEPT`]. Call it inside the transaction of the change it records.
///
/// The session's `event_count` says whether there is anything to drop, so
/// a session under the cap (most of them) is never searched for where to
/// cut; the count's UPDATE also locks the session, so two events of one
/// session are recorded one after the other.
pub fn record(
    conn: &mut AnyConnection,
    session_id: &str,
    kind: EventKind,
    reason: Option<EndReason>,
    origin: Origin<'_>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let recorded: i64 = diesel::update(sessions::table.find(session_id))
        .set(sessions::event_count.eq(sessions::event_count + 1))
        .returning(sessions::event_count)
        .get_result(conn)?;
    diesel::insert_into(session_events::table)
        .values(&NewEvent {
            session_id,
            at,
            kind: kind.as_str(),
            ip: origin.ip,
            user_agent: origin.user_agent,
            reason: reason.map(EndReason::as_str),
        })
        .execute(conn)?;
    if recorded <= EVENTS_KEPT {
        return Ok(());
    }
    // Cut below the newest EVENTS_KEPT rather than drop just the oldest, so
    // that a surplus left by anything else is trimmed too.
    let oldest_dropped: Option<i64> = session_events::table
        .filter(session_events::session_id.eq(session_id))
        .select(session_events::id)
        .order(session_events::id.desc())
        .limit(1)
        .offset(EVENTS_KEPT)
        .first(conn)
        .optional()?;
    if let Some(oldest_dropped) = oldest_dropped {
        diesel::delete(session_events::table)
            .filter(session_events::session_id.eq(session_id))
            .filter(session_events::id.le(oldest_dropped))
            .execute(conn)?;
    }
    Ok(())
}

/// Records the `ended` event of each of `ended` (sessions this transaction
/// just ended); how many there were.
pub fn record_ended(
    conn: &mut AnyConnection,
    ended: &[String],
    reason: EndReason,
    origin: Origin<'_>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    for session_id in ended {
        record(
            conn,
            session_id,
            EventKind::Ended,
            Some(reason),
            origin,
            now,
        )?;
    }
    Ok(ended.len())
}

/// Ends the sessions of `user_id` that ran out of lifetime (past their
/// absolute end, or with no live refresh token left: the sliding end) but
/// are not marked ended yet, or, with `None`, at most `batch` such sessions
/// of anyone; the ids ended. Run it inside [`super::write_transaction`]: it
/// reads before it writes.
pub fn end_expired(
    conn: &mut AnyConnection,
    user_id: Option<&str>,
    now: NaiveDateTime,
    batch: i64,
) -> QueryResult<Vec<String>> {
    let live_token = refresh_tokens::table
        .filter(refresh_tokens::used_at.is_null())
        .filter(refresh_tokens::superseded_at.is_null())
        .filter(refresh_tokens::expires_at.gt(now))
        .select(refresh_tokens::session_id);
    let mut query = sessions::table
        .filter(sessions::ended_at.is_null())
        .filter(sessions::revoked_at.is_null())
        .filter(
            sessions::expires_at
                .le(now)
                .or(sessions::id.ne_all(live_token)),
        )
        .select(sessions::id)
        .limit(batch)
        .into_boxed();
    if let Some(user_id) = user_id {
        query = query.filter(sessions::user_id.eq(user_id));
    }
    let ids: Vec<String> = query.load(conn)?;
    let ended: Vec<String> = diesel::update(sessions::table)
        .filter(sessions::id.eq_any(&ids))
        .filter(sessions::ended_at.is_null())
        .set((
            sessions::ended_at.eq(now),
            sessions::end_reason.eq(EndReason::Expired.as_str()),
        ))
        .returning(sessions::id)
        .get_results(conn)?;
    record_ended(conn, &ended, EndReason::Expired, Origin::NONE, now)?;
    Ok(ended)
}

/// A user's ended sessions whose history has not run out (ended after
/// `since`), most recently ended first.
pub fn ended_for_user(
    conn: &mut AnyConnection,
    user_id: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.gt(since))
        .order(sessions::ended_at.desc())
        .load(conn)
}

/// A stored event: at, type, ip, user agent, reason.
pub type EventRow = (
    NaiveDateTime,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The events of `user_id`'s session `session_id`, oldest first; `None`
/// if there is no such session of that user.
pub fn events_of(
    conn: &mut AnyConnection,
    user_id: &str,
    session_id: &str,
) -> QueryResult<Option<Vec<EventRow>>> {
    let owned: i64 = sessions::table
        .filter(sessions::id.eq(session_id))
        .filter(sessions::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    if owned == 0 {
        return Ok(None);
    }
    session_events::table
        .filter(session_events::session_id.eq(session_id))
        .order(session_events::id.asc())
        .select((
            session_events::at,
            session_events::kind,
            session_events::ip,
            session_events::user_agent,
            session_events::reason,
        ))
        .load(conn)
        .map(Some)
}

/// Marks the sessions `ending` selects as ended now for `reason` (revoked
/// too, so every check of a live session refuses them) and records their
/// `ended` events; the ids ended. Sessions already ended are left as they
/// were: the first reason is the true one.
macro_rules! end_where {
    ($conn:expr, $ending:expr, $reason:expr, $origin:expr, $now:expr) => {{
        let ended: Vec<String> = diesel::update($ending.filter(sessions::revoked_at.is_null()))
            .filter(sessions::ended_at.is_null())
            .set((
                sessions::revoked_at.eq($now),
                sessions::ended_at.eq($now),
                sessions::end_reason.eq($reason.as_str()),
            ))
            .returning(sessions::id)
            .get_results($conn)?;
        record_ended($conn, &ended, $reason, $origin, $now)
    }};
}

/// Ends one session. Run it inside a transaction.
pub fn end(
    conn: &mut AnyConnection,
    session_id: &str,
    reason: EndReason,
    origin: Origin<'_>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    end_where!(conn, sessions::table.find(session_id), reason, origin, now)
}

/// Ends the session a refresh token (any of its tokens, used or not)
/// belongs to, if that session was opened by `client` (`None`: first-party;
/// RFC 7009 §2.1: a client revokes only its own tokens), in one transaction
/// (which reads first, so on SQLite it takes the write lock at once).
pub fn end_by_token(
    conn: &mut AnyConnection,
    token_hash: &str,
    client: Option<&str>,
    reason: EndReason,
    origin: Origin<'_>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    super::write_transaction(conn, |conn| {
        let session: Option<(String, Option<String>)> = refresh_tokens::table
            .inner_join(sessions::table)
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .select((sessions::id, sessions::client_id))
            .first(conn)
            .optional()?;
        match session {
            Some((session_id, owner)) if owner.as_deref() == client => {
                end(conn, &session_id, reason, origin, now)
            }
            _ => Ok(0),
        }
    })
}

/// Ends every active session opened by client `client_id` (reason
/// `revoked`): its refresh tokens and access tokens die with it. How many
/// ended. Run it inside a transaction.
pub fn end_all_of_client(
    conn: &mut AnyConnection,
    client_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let ending = sessions::table.filter(sessions::client_id.eq(client_id));
    end_where!(conn, ending, EndReason::Revoked, Origin::NONE, now)
}

/// Ends one of the user's own sessions in one transaction; 0 if it is
/// unknown, another user's, or already ended.
pub fn end_own(
    conn: &mut AnyConnection,
    user_id: &str,
    session_id: &str,
    reason: EndReason,
    origin: Origin<'_>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    conn.transaction(|conn| {
        end_where!(
            conn,
            sessions::table
                .find(session_id)
                .filter(sessions::user_id.eq(user_id)),
            reason,
            origin,
            now
        )
    })
}

/// Ends every active session of the user but `keep` (all of them with
/// `None`). Run it inside a transaction.
pub fn end_all_of_user(
    conn: &mut AnyConnection,
    user_id: &str,
    keep: Option<&str>,
    reason: EndReason,
    origin: Origin<'_>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    end_where!(
        conn,
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.ne(keep.unwrap_or(""))),
        reason,
        origin,
        now
    )
}
