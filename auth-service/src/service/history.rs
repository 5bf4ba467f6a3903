//! Session history (API.md §2): a session's events, and the admin's view
//! and ending of a user's sessions.

use super::users::utc;
use super::{list_sessions, ClientInfo};
use crate::db;
use crate::domain::{EndReason, Session, SessionEvent, SessionId, UserId};
use crate::error::Error;
use crate::state::AppState;

/// The events of one of the user's sessions, oldest first
/// (`GET /auth/sessions/{id}/events`). Another user's session is "not
/// found", as for `DELETE`.
pub async fn session_events(
    state: &AppState,
    user_id: UserId,
    session_id: SessionId,
) -> Result<Vec<SessionEvent>, Error> {
    let rows = db::run(&state.pool, move |conn| {
        db::history::events_of(conn, user_id.as_str(), session_id.as_str())
    })
    .await?
    .ok_or(Error::NotFound)?;
    Ok(rows
        .into_iter()
        .map(|(at, kind, ip, user_agent, reason)| SessionEvent {
            at: utc(at),
            kind,
            ip,
            user_agent,
            reason,
        })
        .collect())
}

/// A user's sessions, active and within their history, as an admin sees
/// them (`GET /admin/users/{id}/sessions`): none is the caller's.
pub async fn user_sessions(state: &AppState, user_id: UserId) -> Result<Vec<Session>, Error> {
    require_user(state, &user_id).await?;
    list_sessions(state, user_id, None, true).await
}

/// Ends every active session of a user as `revoked`
/// (`DELETE /admin/users/{id}/sessions`, incident response).
pub async fn end_user_sessions(
    state: &AppState,
    user_id: UserId,
    client: ClientInfo,
) -> Result<(), Error> {
    let ended = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let found = db::users::find_by_id(conn, user_id.as_str())?;
            if found.is_none() {
                return Ok(None);
            }
            let (user, origin) = (user_id.as_str(), client.origin());
            let reason = EndReason::Revoked;
            db::history::end_all_of_user(conn, user, None, reason, origin, db::now()).map(Some)
        })
    })
    .await?
    .ok_or(Error::NotFound)?;
    state.metrics.sessions_ended(EndReason::Revoked, ended);
    Ok(())
}

/// `404 not_found` unless the user exists.
async fn require_user(state: &AppState, user_id: &UserId) -> Result<(), Error> {
    let user_id = user_id.clone();
    db::run(&state.pool, move |conn| {
        db::users::find_by_id(conn, user_id.as_str())
    })
    .await?
    .map(|_| ())
    .ok_or(Error::NotFound)
}
