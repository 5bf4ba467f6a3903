//! Queries on `sessions` and `refresh_tokens`: login, rotation, revocation.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::history::{self, Origin};
use super::models::{NewRefreshToken, NewSession, SessionRow, UserRow};
use super::schema::{refresh_tokens, sessions, users};
use super::AnyConnection;
use crate::domain::{EndReason, EventKind};

/// Stores a new session with its first refresh token, together or not at all.
pub fn open(
    conn: &mut AnyConnection,
    session: &NewSession<'_>,
    token: &NewRefreshToken<'_>,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::insert_into(sessions::table)
            .values(session)
            .execute(conn)?;
        diesel::insert_into(refresh_tokens::table)
            .values(token)
            .execute(conn)?;
        let origin = Origin {
            ip: session.ip,
            user_agent: session.user_agent,
        };
        history::record(
            conn,
            session.id,
            EventKind::Login,
            None,
            origin,
            session.created_at,
        )
    })
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Rotation {
    /// The token was live and is now used; its successor is stored.
    Rotated {
        /// The session's user, reloaded so a changed role shows at once.
        user: UserRow,
        /// The session's id.
        session_id: String,
        /// When the successor expires.
        expires_at: NaiveDateTime,
    },
    /// The token had been used before: the whole session is now revoked.
    Reused,
    /// Unknown, expired, or its session is revoked or over.
    Invalid,
}

/// How many times a grace refresh looks again when racing requests keep
/// replacing the successor under it. Each retry means another request won,
/// so a handful is plenty.
const GRACE_ATTEMPTS: usize = 16;

/// Rotates a refresh token: marks `presented` used and stores `successor`
/// (both SHA-256 hashes), or, if `presented` was already used, either replaces
/// its unused successor (within `grace`) or revokes the session (reuse).
///
/// Every decision is a conditional UPDATE inside one transaction, so the
/// database settles races: of N requests presenting the same token, exactly
/// one moves `used_at` from NULL; with a grace, each of the others supersedes
/// the successor installed before it, so exactly one returned token stays live.
/// The event of what happened (API.md §2, from `origin`) commits with it.
pub fn rotate(
    conn: &mut AnyConnection,
    presented: &str,
    successor: &str,
    now: NaiveDateTime,
    refresh_ttl: chrono::Duration,
    grace: chrono::Duration,
    origin: Origin<'_>,
) -> QueryResult<Rotation> {
    // The common case, a live token presented once, is one statement on
    // PostgreSQL: a round trip is most of a refresh's cost there. Anything
    // else (reuse, grace, unknown) takes the general path below, which
    // looks at the token afresh.
    if let AnyConnection::Postgresql(pg) = conn {
        let expires_at = now + refresh_ttl;
        if let Some(rotation) =
            rotate_live_in_one_statement(pg, presented, successor, now, expires_at, origin)?
        {
            return Ok(rotation);
        }
    }
    conn.transaction(|conn| {
        let claimed: Option<String> = diesel::update(refresh_tokens::table)
            .filter(refresh_tokens::token_hash.eq(presented))
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::superseded_at.is_null())
            .filter(refresh_tokens::expires_at.gt(now))
            .set((
                refresh_tokens::used_at.eq(now),
                refresh_tokens::successor_hash.eq(successor),
            ))
            .returning(refresh_tokens::session_id)
            .get_result(conn)
            .optional()?;
        if let Some(session_id) = claimed {
            let kind = EventKind::Refresh;
            return issue_successor(conn, &session_id, successor, now, refresh_ttl, kind, origin);
        }

        for _ in 0..GRACE_ATTEMPTS {
            // Lock the presented token's row before touching its successor, so
            // every transaction takes the two rows in the same order. (On
            // PostgreSQL a claim that waited behind the winner already holds
            // this lock; one that did not wait would otherwise take the
            // successor first, and the two would deadlock.) The no-op UPDATE
            // is the portable "SELECT … FOR UPDATE".
            let earlier: Option<EarlierUse> = diesel::update(refresh_tokens::table.find(presented))
                .set(refresh_tokens::successor_hash.eq(refresh_tokens::successor_hash))
                .returning((
                    refresh_tokens::session_id,
                    refresh_tokens::used_at,
                    refresh_tokens::successor_hash,
                    refresh_tokens::superseded_at,
                ))
                .get_result(conn)
                .optional()?;
            let Some((session_id, used_at, current, superseded_at)) = earlier else {
                return Ok(Rotation::Invalid);
            };
            // A superseded successor is dead, but presenting it is a client
            // that lost a race, not a thief: refuse without revoking.
            if superseded_at.is_some() {
                return Ok(Rotation::Invalid);
            }
            // Never used, so not live only because it expired.
            let Some(used_at) = used_at else {
                return Ok(Rotation::Invalid);
            };
            let within_grace = grace > chrono::Duration::zero() && now < used_at + grace;
            let Some(current) = current.filter(|_| within_grace) else {
                end_for_reuse(conn, &session_id, origin, now)?;
                return Ok(Rotation::Reused);
            };
            let replaced = diesel::update(refresh_tokens::table.find(&current))
                .filter(refresh_tokens::used_at.is_null())
                .filter(refresh_tokens::superseded_at.is_null())
                .set(refresh_tokens::superseded_at.eq(now))
                .execute(conn)?;
            if replaced == 1 {
                diesel::update(refresh_tokens::table.find(presented))
                    .set(refresh_tokens::successor_hash.eq(successor))
                    .execute(conn)?;
                let kind = EventKind::RefreshInGrace;
                return issue_successor(
                    conn,
                    &session_id,
                    successor,
                    now,
                    refresh_ttl,
                    kind,
                    origin,
                );
            }
            // Either the successor was used (so this is reuse after all), or a
            // racing request superseded it first: look again.
            let successor_used: Option<Option<NaiveDateTime>> = refresh_tokens::table
                .find(&current)
                .select(refresh_tokens::used_at)
                .first(conn)
                .optional()?;
            if let Some(Some(_)) = successor_used {
                end_for_reuse(conn, &session_id, origin, now)?;
                return Ok(Rotation::Reused);
            }
        }
        Ok(Rotation::Invalid)
    })
}

/// Ends a session whose used refresh token came back, with both events.
fn end_for_reuse(
    conn: &mut AnyConnection,
    session_id: &str,
    origin: Origin<'_>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    history::record(
        conn,
        session_id,
        EventKind::ReuseDetected,
        None,
        origin,
        now,
    )?;
    history::end(conn, session_id, EndReason::ReuseDetected, origin, now)?;
    Ok(())
}

type EarlierUse = (
    String,
    Option<NaiveDateTime>,
    Option<String>,
    Option<NaiveDateTime>,
);

/// Stores `successor` for a live session and reloads its user; `Invalid` if
/// the session is revoked or over.
///
/// The session is checked by the statement that touches it, never by a
/// plain read first: on PostgreSQL a read sees the last committed state
/// without a lock, so a revoke committing right after it would still get a
/// successor for its session. The conditional UPDATE locks the row, and if a
/// revoke holds it, waits and re-checks the committed row: a revoke either
/// commits first and this rotation refuses, or waits for this rotation to
/// commit. (SQLite runs one writer at a time, and this transaction is one.)
fn issue_successor(
    conn: &mut AnyConnection,
    session_id: &str,
    successor: &str,
    now: NaiveDateTime,
    refresh_ttl: chrono::Duration,
    kind: EventKind,
    origin: Origin<'_>,
) -> QueryResult<Rotation> {
    let live: Option<(String, NaiveDateTime)> = diesel::update(sessions::table.find(session_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .set(sessions::last_used_at.eq(now))
        .returning((sessions::user_id, sessions::expires_at))
        .get_result(conn)
        .optional()?;
    let Some((user_id, session_expires_at)) = live else {
        return Ok(Rotation::Invalid);
    };
    let Some(user) = users::table
        .find(&user_id)
        .first::<UserRow>(conn)
        .optional()?
    else {
        return Ok(Rotation::Invalid);
    };
    // Sliding lifetime, but never past the session's absolute end.
    let expires_at = (now + refresh_ttl).min(session_expires_at);
    diesel::insert_into(refresh_tokens::table)
        .values(&NewRefreshToken {
            token_hash: successor,
            session_id,
            issued_at: now,
            expires_at,
        })
        .execute(conn)?;
    history::record(conn, session_id, kind, None, origin, now)?;
    Ok(Rotation::Rotated {
        user,
        session_id: session_id.to_owned(),
        expires_at,
    })
}

/// What the one-statement rotation returns: the claimed token's session and,
/// if that session is live, its user and the successor's expiry.
#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    session_id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)]
    successor_expires_at: Option<NaiveDateTime>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    user_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    email: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    password_hash: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    role: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)]
    user_created_at: Option<NaiveDateTime>,
}

/// [`rotate`]'s common case as one data-modifying CTE: claim the token if it
/// is live, and if its session is live too, touch the session, store the
/// successor, record the `refresh` event (and, once the session has recorded
/// more than [`history::EVENTS_KEPT`], drop its oldest) and return the user.
/// The same rows are locked in the same order as the general path (the
/// token, then the session). `None` when nothing was claimed.
///
/// The trim reads one index entry: the session's `event_count` (counted by
/// the session's UPDATE, which every event's writer takes) says whether the
/// cap is passed, and then exactly the oldest event goes. Finding the cut
/// below the newest events instead read all hundred of them (through
/// bitmap scans, which also step over every event dropped before) on each
/// refresh of a busy session.
fn rotate_live_in_one_statement(
    conn: &mut diesel::PgConnection,
    presented: &str,
    successor: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
    origin: Origin<'_>,
) -> QueryResult<Option<Rotation>> {
    use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
    let row: Option<ClaimedRow> = diesel::sql_query(
        "WITH claimed AS ( \
             UPDATE refresh_tokens SET used_at = $1, successor_hash = $2 \
              WHERE token_hash = $3 AND used_at IS NULL AND superseded_at IS NULL \
                AND expires_at > $1 \
          RETURNING session_id \
         ), live AS ( \
             UPDATE sessions SET last_used_at = $1, event_count = event_count + 1 \
               FROM claimed \
              WHERE sessions.id = claimed.session_id AND sessions.revoked_at IS NULL \
                AND sessions.expires_at > $1 \
          RETURNING sessions.id, sessions.user_id, sessions.expires_at, sessions.event_count \
         ), successor AS ( \
             INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) \
             SELECT $2, live.id, $1, LEAST($4, live.expires_at) FROM live \
          RETURNING expires_at \
         ), event AS ( \
             INSERT INTO session_events (session_id, at, type, ip, user_agent) \
             SELECT live.id, $1, 'refresh', $5, $6 FROM live \
         ), trimmed AS ( \
             DELETE FROM session_events \
              WHERE (SELECT event_count FROM live) > $7 \
                AND id = (SELECT id FROM session_events \
                           WHERE session_id = (SELECT id FROM live) \
                           ORDER BY id LIMIT 1) \
         ) \
         SELECT claimed.session_id, successor.expires_at AS successor_expires_at, \
                users.id AS user_id, users.email, users.password_hash, users.role, \
                users.created_at AS user_created_at \
           FROM claimed \
           LEFT JOIN live ON TRUE \
           LEFT JOIN users ON users.id = live.user_id \
           LEFT JOIN successor ON TRUE",
    )
    .bind::<Timestamp, _>(now)
    .bind::<Text, _>(successor)
    .bind::<Text, _>(presented)
    .bind::<Timestamp, _>(expires_at)
    .bind::<Nullable<Text>, _>(origin.ip)
    .bind::<Nullable<Text>, _>(origin.user_agent)
    .bind::<BigInt, _>(history::EVENTS_KEPT)
    .get_result(conn)
    .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let live = (
        row.successor_expires_at,
        row.user_id,
        row.email,
        row.password_hash,
        row.role,
        row.user_created_at,
    );
    Ok(Some(match live {
        (
            Some(expires_at),
            Some(id),
            Some(email),
            Some(password_hash),
            Some(role),
            Some(created_at),
        ) => Rotation::Rotated {
            user: UserRow {
                id,
                email,
                password_hash,
                role,
                created_at,
            },
            session_id: row.session_id,
            expires_at,
        },
        // Claimed, but the session is revoked or over (or its user gone).
        _ => Rotation::Invalid,
    }))
}

/// A user's active sessions (not revoked, not over, with a live refresh
/// token), newest first, each with when its live token expires.
pub fn active_for_user(
    conn: &mut AnyConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<Vec<(SessionRow, NaiveDateTime)>> {
    sessions::table
        .inner_join(refresh_tokens::table)
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(refresh_tokens::used_at.is_null())
        .filter(refresh_tokens::superseded_at.is_null())
        .filter(refresh_tokens::expires_at.gt(now))
        .select((sessions::all_columns, refresh_tokens::expires_at))
        .order(sessions::created_at.desc())
        .load(conn)
}

/// Revokes one session (reason `revoked`, no request behind it). Revoking
/// an ended session changes nothing.
pub fn revoke(
    conn: &mut AnyConnection,
    session_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    conn.transaction(|conn| history::end(conn, session_id, EndReason::Revoked, Origin::NONE, now))
}
