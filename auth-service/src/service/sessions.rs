//! Sessions: listing them, and ending one, all, or the one a refresh token
//! belongs to. Each ending records its reason and event (API.md §2).

use super::users::{user_from_row, utc};
use super::ClientInfo;
use crate::db;
use crate::db::models::SessionRow;
use crate::domain::{EndReason, Session, SessionId, User, UserId};
use crate::error::Error;
use crate::state::AppState;
use crate::tokens::RefreshToken;

/// Ends the session a refresh token belongs to (`POST /auth/logout`,
/// `/oauth/revoke`), if it was issued to the requesting client. Unknown
/// tokens, and other clients' tokens, are fine: logging out twice is not an
/// error, and RFC 7009 §2.2 answers alike whether or not anything ended.
pub async fn logout(
    state: &AppState,
    presented: RefreshToken,
    client: ClientInfo,
) -> Result<(), Error> {
    let hash = presented.hash();
    let ended = db::run(&state.pool, move |conn| {
        let reason = EndReason::Logout;
        let (bound_to, origin) = (client.client_id.as_deref(), client.origin());
        db::history::end_by_token(conn, hash.as_str(), bound_to, reason, origin, db::now())
    })
    .await?;
    state.metrics.sessions_ended(EndReason::Logout, ended);
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

/// Ends every session of a user (`POST /auth/logout-all`, and an admin's
/// `DELETE /admin/users/{id}/sessions`) as `revoked`.
pub async fn logout_all(
    state: &AppState,
    user_id: UserId,
    client: ClientInfo,
) -> Result<(), Error> {
    let ended = db::run(&state.pool, move |conn| {
        use diesel::Connection;
        conn.transaction(|conn| {
            let reason = EndReason::Revoked;
            let (user, origin) = (user_id.as_str(), client.origin());
            db::history::end_all_of_user(conn, user, None, reason, origin, db::now())
        })
    })
    .await?;
    state.metrics.sessions_ended(EndReason::Revoked, ended);
    Ok(())
}

/// The user's active sessions (`GET /auth/sessions`), `current` marking
/// `current_sid`; with `history`, also those ended within
/// `SESSION_HISTORY_TTL`, after recording the expiry of any that ran out.
pub async fn list_sessions(
    state: &AppState,
    user_id: UserId,
    current_sid: Option<SessionId>,
    history: bool,
) -> Result<Vec<Session>, Error> {
    let horizon = db::now() - super::chrono_duration(state.settings.session_history_ttl);
    let (active, ended, expired) = db::run(&state.pool, move |conn| {
        let now = db::now();
        let active = db::sessions::active_for_user(conn, user_id.as_str(), now)?;
        if !history {
            return Ok::<_, diesel::result::Error>((active, Vec::new(), 0));
        }
        // Listing the history is noticing that a session ran out.
        let expired = db::write_transaction(conn, |conn| {
            db::history::end_expired(conn, Some(user_id.as_str()), now, i64::MAX)
        })?;
        let ended = db::history::ended_for_user(conn, user_id.as_str(), horizon)?;
        Ok((active, ended, expired.len()))
    })
    .await?;
    state.metrics.sessions_ended(EndReason::Expired, expired);
    let current = |id: &SessionId| current_sid.as_ref() == Some(id);
    let active = active.into_iter().map(|(row, token_expires_at)| {
        let mut session = view(row)?;
        session.expires_at = utc(token_expires_at);
        session.current = current(&session.id);
        Ok(session)
    });
    let ended = ended.into_iter().map(view);
    active.chain(ended).collect()
}

/// A stored session as the API shows it; `current` false, `expires_at` its
/// absolute end.
fn view(row: SessionRow) -> Result<Session, Error> {
    let id = SessionId::parse(&row.id)
        .map_err(|e| Error::Internal(format!("session {:?}: {e}", row.id)))?;
    Ok(Session {
        id,
        created_at: utc(row.created_at),
        last_used_at: utc(row.last_used_at),
        expires_at: utc(row.expires_at),
        user_agent: row.user_agent,
        ip: row.ip,
        current: false,
        ended_at: row.ended_at.map(utc),
        end_reason: row.end_reason,
    })
}

/// Ends one of the user's sessions (`DELETE /auth/sessions/{id}`). Another
/// user's session is "not found", so ids cannot be probed.
pub async fn revoke_session(
    state: &AppState,
    user_id: UserId,
    session_id: SessionId,
    client: ClientInfo,
) -> Result<(), Error> {
    let revoked = db::run(&state.pool, move |conn| {
        let (user, session) = (user_id.as_str(), session_id.as_str());
        let reason = EndReason::Revoked;
        db::history::end_own(conn, user, session, reason, client.origin(), db::now())
    })
    .await?;
    if revoked == 0 {
        return Err(Error::NotFound);
    }
    state.metrics.sessions_ended(EndReason::Revoked, revoked);
    Ok(())
}
