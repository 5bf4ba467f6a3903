//! Queries on `sessions` and `refresh_tokens`: login, rotation, revocation.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::history::{self, Origin};
use super::models::{NewRefreshToken, NewSession, SessionRow, UserRow};
use super::one_statement_rotation::{rotate_live_in_one_statement, Claim};
use super::schema::{clients, refresh_tokens, sessions, users};
use super::AnyConnection;
use crate::domain::{EndReason, EventKind};

/// Stores a new session with its first refresh token, together or not at
/// all; `false` (nothing stored) when the session's client is no longer
/// registered.
pub fn open(
    conn: &mut AnyConnection,
    session: &NewSession<'_>,
    token: &NewRefreshToken<'_>,
) -> QueryResult<bool> {
    let opened = conn.transaction(|conn| {
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
        )?;
        match session.client_id {
            Some(client_id) if !client_held(conn, client_id)? => {
                Err(diesel::result::Error::RollbackTransaction)
            }
            _ => Ok(()),
        }
    });
    match opened {
        Ok(()) => Ok(true),
        Err(diesel::result::Error::RollbackTransaction) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether client `id` is registered, held so until the transaction ends.
/// A `client delete` ends the client's sessions after removing it, in one
/// transaction: on PostgreSQL the share lock makes it either wait for this
/// session to commit (and then end it) or commit first (and this finds no
/// client); SQLite's single writer orders the two just the same. So no
/// session outlives its client.
fn client_held(conn: &mut AnyConnection, id: &str) -> QueryResult<bool> {
    let held = match conn {
        AnyConnection::Postgresql(pg) => clients::table
            .find(id)
            .select(clients::id)
            .for_share()
            .first::<String>(pg)
            .optional()?,
        AnyConnection::Sqlite(_) => clients::table
            .find(id)
            .select(clients::id)
            .first::<String>(conn)
            .optional()?,
    };
    Ok(held.is_some())
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
        /// The thumbprint of the key the session is bound to, if it is.
        dpop_jkt: Option<String>,
    },
    /// The session is bound to a DPoP key and the request proved another
    /// one, or none: nothing changed, the token is not used up.
    WrongKey,
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
///
/// A token is bound to the client its session was opened by (RFC 6749 §6):
/// presented by any other `client` (`None`: first-party) it is `Invalid`
/// and nothing changes: not used up, no reuse detected.
///
/// `proved_jkt` is the thumbprint of the key the request's DPoP proof was
/// signed with. A session bound to a key moves only for a proof by that key;
/// otherwise the answer is [`Rotation::WrongKey`] and nothing is touched, so
/// a refresh token stolen without its key cannot even be used up (API.md §7).
#[expect(
    clippy::too_many_arguments,
    reason = "each is one fact of the request; a struct would only rename them"
)]
pub fn rotate(
    conn: &mut AnyConnection,
    presented: &str,
    successor: &str,
    now: NaiveDateTime,
    refresh_ttl: chrono::Duration,
    grace: chrono::Duration,
    client: Option<&str>,
    origin: Origin<'_>,
    proved_jkt: Option<&str>,
) -> QueryResult<Rotation> {
    // The common case, a live token presented once, is one statement on
    // PostgreSQL: a round trip is most of a refresh's cost there. Anything
    // else (reuse, grace, unknown) takes the general path below, which
    // looks at the token afresh.
    if let AnyConnection::Postgresql(pg) = conn {
        let expires_at = now + refresh_ttl;
        let claim = Claim {
            presented,
            successor,
            now,
            expires_at,
            client,
            proved_jkt,
        };
        if let Some(rotation) = rotate_live_in_one_statement(pg, &claim, origin)? {
            return Ok(rotation);
        }
    }
    // A session's client never changes, so reading it before the
    // transaction decides as surely as inside it, and keeps SQLite's
    // transaction a writer from its first statement.
    if !presented_by_its_client(conn, presented, client)? {
        return Ok(Rotation::Invalid);
    }
    conn.transaction(|conn| {
        let claimed: Option<String> = diesel::update(refresh_tokens::table)
            .filter(refresh_tokens::token_hash.eq(presented))
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::superseded_at.is_null())
            .filter(refresh_tokens::expires_at.gt(now))
            // Only in an unbound session or one bound to the proved key. A
            // binding never changes after login, so this cannot go stale.
            .filter(
                refresh_tokens::session_id.eq_any(
                    sessions::table
                        .filter(
                            sessions::dpop_jkt
                                .is_null()
                                .or(sessions::dpop_jkt.eq(proved_jkt)),
                        )
                        .select(sessions::id),
                ),
            )
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
            // Before anything that could use the token up or end the
            // session: whoever lacks the key may not touch either.
            let bound: Option<String> = sessions::table
                .find(&session_id)
                .select(sessions::dpop_jkt)
                .first(conn)
                .optional()?
                .flatten();
            if bound.is_some_and(|bound| Some(bound.as_str()) != proved_jkt) {
                return Ok(Rotation::WrongKey);
            }
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

/// Whether the token is known and its session was opened by `client`
/// (`None`: first-party).
fn presented_by_its_client(
    conn: &mut AnyConnection,
    presented: &str,
    client: Option<&str>,
) -> QueryResult<bool> {
    let owner: Option<Option<String>> = refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(presented))
        .select(sessions::client_id)
        .first(conn)
        .optional()?;
    Ok(owner.is_some_and(|owner| owner.as_deref() == client))
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
    let live: Option<(String, NaiveDateTime, Option<String>)> =
        diesel::update(sessions::table.find(session_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .set(sessions::last_used_at.eq(now))
            .returning((sessions::user_id, sessions::expires_at, sessions::dpop_jkt))
            .get_result(conn)
            .optional()?;
    let Some((user_id, session_expires_at, dpop_jkt)) = live else {
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
        dpop_jkt,
    })
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
