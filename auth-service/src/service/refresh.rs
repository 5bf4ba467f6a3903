//! Refresh-token rotation (`POST /auth/refresh` and the refresh grant of
//! `/oauth/token`), per API.md §2. The decision itself is
//! [`crate::db::sessions::rotate`]'s: one statement or one transaction.

use super::users::user_from_row;
use super::{chrono_duration, grant, ClientInfo, GrantedSession, TokenGrant};
use crate::db;
use crate::db::sessions::Rotation;
use crate::domain::{EndReason, SessionId};
use crate::error::Error;
use crate::metrics::RefreshOutcome;
use crate::state::AppState;
use crate::tokens::RefreshToken;

/// Rotates a refresh token: a new pair for the same session, or, for a token
/// used before, the session revoked. A session bound to a DPoP key rotates
/// only for a request that proved that key (`client.dpop_jkt`); an unbound
/// one stays unbound whatever the request proved (API.md §7).
pub async fn refresh(
    state: &AppState,
    presented: RefreshToken,
    client: ClientInfo,
) -> Result<TokenGrant, Error> {
    // A refresh waits on nobody's hash, so hashing leaves it a core.
    let _in_flight = state.hasher.latency_sensitive();
    let now = db::now();
    let successor = RefreshToken::generate();
    let presented_hash = presented.hash();
    let successor_hash = successor.hash();
    let refresh_ttl = chrono_duration(state.settings.refresh_token_ttl);
    let grace = chrono_duration(state.settings.refresh_reuse_grace);
    let client_id = client.client_id.clone();
    let rotation = db::run(&state.pool, move |conn| {
        db::sessions::rotate(
            conn,
            presented_hash.as_str(),
            successor_hash.as_str(),
            now,
            refresh_ttl,
            grace,
            client.client_id.as_deref(),
            client.origin(),
            client.dpop_jkt.as_deref(),
        )
    })
    .await?;
    match rotation {
        Rotation::Rotated {
            user,
            session_id,
            expires_at,
            dpop_jkt,
        } => {
            let session_id = SessionId::parse(&session_id)
                .map_err(|e| Error::Internal(format!("session {session_id:?}: {e}")))?;
            let session = GrantedSession {
                id: &session_id,
                client_id: client_id.as_deref(),
                dpop_jkt: dpop_jkt.as_deref(),
            };
            let granted = grant(
                state,
                user_from_row(user)?,
                session,
                successor,
                now,
                expires_at,
            )?;
            state.metrics.refreshed(RefreshOutcome::Ok);
            Ok(granted)
        }
        Rotation::Reused => {
            log::warn!("refresh token reuse detected: session revoked");
            state.metrics.refreshed(RefreshOutcome::Reuse);
            state.metrics.sessions_ended(EndReason::ReuseDetected, 1);
            Err(Error::InvalidGrant)
        }
        Rotation::WrongKey => {
            state.metrics.refreshed(RefreshOutcome::Invalid);
            Err(Error::InvalidDpopProof(
                "this session is bound to a DPoP key: a proof by that key is required".into(),
            ))
        }
        Rotation::Invalid => {
            state.metrics.refreshed(RefreshOutcome::Invalid);
            Err(Error::InvalidGrant)
        }
    }
}
