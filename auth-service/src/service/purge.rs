//! The background purge (API.md §2): expired refresh tokens, sessions past
//! their history and login failures past their window, so no table grows
//! without bound.

use crate::db::{self, purge};
use crate::domain::EndReason;
use crate::error::Error;
use crate::state::AppState;

use super::chrono_duration;

/// Runs every purge once, on the blocking pool, in batches that each commit
/// at once (see [`crate::db::purge`]).
pub async fn purge_expired(state: &AppState) -> Result<purge::Purged, Error> {
    let history = chrono_duration(state.settings.session_history_ttl);
    let window = chrono_duration(state.settings.login_failure_window);
    let purged = db::run(&state.pool, move |conn| {
        purge::all(conn, db::now(), history, window, purge::BATCH)
    })
    .await?;
    state
        .metrics
        .sessions_ended(EndReason::Expired, purged.expired_sessions);
    Ok(purged)
}
