//! Queries on `sessions` and `refresh_tokens`: login, rotation, revocation.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::models::{NewRefreshToken, NewSession, SessionRow, UserRow};
use super::schema::{refresh_tokens, sessions, users};
use super::AnyConnection;

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
        Ok(())
    })
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Rotation {
    /// The token was live and is now used; its successor is stored.
    Rotated {
        /// The session's user, reloaded so a changed role shows at once.
        user: UserRow,
        /// The session.
        session: SessionRow,
        /// When the successor expires.
        expires_at: NaiveDateTime,
    },
    /// The token had been used before: the whole session is now revoked.
    Reused,
    /// Unknown, expired, or its session is revoked or over.
    Invalid,
}

/// Rotates a refresh token: marks `presented` used and stores `successor`
/// (both SHA-256 hashes), or, if `presented` was already used, revokes its
/// session.
///
/// The conditional UPDATE is what decides a race: of N requests presenting
/// the same token, the database lets exactly one change `used_at` from NULL;
/// the others see it used and are treated as reuse.
pub fn rotate(
    conn: &mut AnyConnection,
    presented: &str,
    successor: &str,
    now: NaiveDateTime,
    refresh_ttl: chrono::Duration,
) -> QueryResult<Rotation> {
    conn.transaction(|conn| {
        let claimed: Option<String> = diesel::update(refresh_tokens::table)
            .filter(refresh_tokens::token_hash.eq(presented))
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::expires_at.gt(now))
            .set(refresh_tokens::used_at.eq(now))
            .returning(refresh_tokens::session_id)
            .get_result(conn)
            .optional()?;

        let Some(session_id) = claimed else {
            let earlier_use: Option<(String, Option<NaiveDateTime>)> = refresh_tokens::table
                .find(presented)
                .select((refresh_tokens::session_id, refresh_tokens::used_at))
                .first(conn)
                .optional()?;
            return match earlier_use {
                Some((session_id, Some(_))) => {
                    revoke(conn, &session_id, now)?;
                    Ok(Rotation::Reused)
                }
                _ => Ok(Rotation::Invalid),
            };
        };

        let live: Option<(SessionRow, UserRow)> = sessions::table
            .inner_join(users::table)
            .filter(sessions::id.eq(&session_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .select((sessions::all_columns, users::all_columns))
            .first(conn)
            .optional()?;
        let Some((session, user)) = live else {
            return Ok(Rotation::Invalid);
        };

        // Sliding lifetime, but never past the session's absolute end.
        let expires_at = (now + refresh_ttl).min(session.expires_at);
        diesel::insert_into(refresh_tokens::table)
            .values(&NewRefreshToken {
                token_hash: successor,
                session_id: &session.id,
                issued_at: now,
                expires_at,
            })
            .execute(conn)?;
        diesel::update(sessions::table.find(&session.id))
            .set(sessions::last_used_at.eq(now))
            .execute(conn)?;
        Ok(Rotation::Rotated {
            user,
            session,
            expires_at,
        })
    })
}

/// Revokes one session. Revoking a revoked session changes nothing.
pub fn revoke(
    conn: &mut AnyConnection,
    session_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(sessions::table.find(session_id))
        .filter(sessions::revoked_at.is_null())
        .set(sessions::revoked_at.eq(now))
        .execute(conn)
}

/// Revokes the session a refresh token (any of its tokens, used or not) belongs to.
pub fn revoke_by_token(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let session_id: Option<String> = refresh_tokens::table
        .find(token_hash)
        .select(refresh_tokens::session_id)
        .first(conn)
        .optional()?;
    match session_id {
        Some(session_id) => revoke(conn, &session_id, now),
        None => Ok(0),
    }
}

/// Revokes every session of a user.
pub fn revoke_all_for_user(
    conn: &mut AnyConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(sessions::table)
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .set(sessions::revoked_at.eq(now))
        .execute(conn)
}
