//! Sessions: listing them, and ending one, all, or the one a refresh token
//! belongs to.

use super::users::{user_from_row, utc};
use crate::db;
use crate::domain::{Session, SessionId, User, UserId};
use crate::error::Error;
use crate::state::AppState;
use crate::tokens::RefreshToken;

/// Ends the session a refresh token belongs to (`POST /auth/logout`,
/// `/oauth/revoke`). Unknown tokens are fine: logging out twice is not an error.
pub async fn logout(state: &AppState, presented: RefreshToken) -> Result<(), Error> {
    let hash = presented.hash();
    db::run(&state.pool, move |conn| {
        db::sessions::revoke_by_token(conn, hash.as_str(), db::now())
    })
    .await?;
    Ok(())
}

/// The user an access token of `session_id` speaks for, as the database
/// has it now: the auth-service's own Bearer routes accept a token only
/// while its session is active, and take the role from here, not from the
/// token (API.md §3), so a logout or a demotion takes effect at once. One
/// round trip.
pub async fn live_caller(
    state: &AppState,
    user_id: UserId,
    session_id: SessionId,
) -> Result<User, Error> {
    let row = db::run(&state.pool, move |conn| {
        db::users::find_by_active_session(conn, session_id.as_str(), user_id.as_str(), db::now())
    })
    .await?;
    user_from_row(row.ok_or(Error::SessionEnded)?)
}

/// Ends every session of a user (`POST /auth/logout-all`).
pub async fn logout_all(state: &AppState, user_id: UserId) -> Result<(), Error> {
    db::run(&state.pool, move |conn| {
        db::sessions::revoke_all_for_user(conn, user_id.as_str(), db::now())
    })
    .await?;
    Ok(())
}

/// The user's active sessions (`GET /auth/sessions`), `current` marking
/// `current_sid`.
pub async fn list_sessions(
    state: &AppState,
    user_id: UserId,
    current_sid: SessionId,
) -> Result<Vec<Session>, Error> {
    let rows = db::run(&state.pool, move |conn| {
        db::sessions::active_for_user(conn, user_id.as_str(), db::now())
    })
    .await?;
    rows.into_iter()
        .map(|(session, expires_at)| {
            let id = SessionId::parse(&session.id)
                .map_err(|e| Error::Internal(format!("session {:?}: {e}", session.id)))?;
            Ok(Session {
                current: id == current_sid,
                id,
                created_at: utc(session.created_at),
                last_used_at: utc(session.last_used_at),
                expires_at: utc(expires_at),
                user_agent: session.user_agent,
                ip: session.ip,
            })
        })
        .collect()
}

/// Ends one of the user's sessions (`DELETE /auth/sessions/{id}`). Another
/// user's session is "not found", so ids cannot be probed.
pub async fn revoke_session(
    state: &AppState,
    user_id: UserId,
    session_id: SessionId,
) -> Result<(), Error> {
    let revoked = db::run(&state.pool, move |conn| {
        db::sessions::revoke_own(conn, user_id.as_str(), session_id.as_str(), db::now())
    })
    .await?;
    if revoked == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}
