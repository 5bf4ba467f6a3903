//! Login (`POST /auth/login` and the password grant of `/oauth/token`):
//! a place reserved under the lockout, credentials checked, then a new
//! session.

use super::throttle::{Reserved, Throttle};
use super::users::user_from_row;
use super::{chrono_duration, grant, ClientInfo, GrantedSession, TokenGrant};
use crate::db;
use crate::db::models::{NewRefreshToken, NewSession, UserRow};
use crate::domain::{Email, Password, SessionId};
use crate::error::Error;
use crate::metrics::LoginFailure;
use crate::passwords::{self, Admission};
use crate::state::AppState;
use crate::tokens::RefreshToken;

/// Longest `User-Agent` kept with a session.
const USER_AGENT_MAX: usize = 512;

/// Checks credentials and opens a session, subject to the
/// per-(email, client address) lockout of API.md §3.
pub async fn login(
    state: &AppState,
    email: &str,
    password: String,
    client: ClientInfo,
) -> Result<TokenGrant, Error> {
    // Before anything is looked up or reserved: an attempt the queue cannot
    // take answers at once, and overload never counts against the lockout.
    let admission = match state.hasher.admit() {
        Ok(admission) => admission,
        Err(overloaded) => {
            state.metrics.login_failed(LoginFailure::Overloaded);
            return Err(overloaded);
        }
    };
    let throttle = Throttle::new(state, email, &client);
    let parsed = Email::parse(email).ok();
    // The user is looked up first: a lookup that fails then leaves no
    // reservation behind to count against the key.
    let checked = db::run(&state.pool, move |conn| {
        let user = match &parsed {
            Some(email) => db::users::find_by_email(conn, email.as_str())?,
            None => None,
        };
        let reserved = throttle.reserve(conn)?;
        Ok::<_, Error>((user, reserved))
    })
    .await;
    let (user, reserved) = match checked {
        Ok(checked) => checked,
        Err(locked @ Error::TooManyAttempts { .. }) => {
            state.metrics.login_failed(LoginFailure::Locked);
            return Err(locked);
        }
        Err(other) => return Err(other),
    };
    // Kept only when the stored hash will be upgraded, which needs it.
    let upgrade_with = user
        .as_ref()
        .filter(|u| needs_rehash(state, &u.password_hash))
        .map(|_| password.clone());
    let user = match verify_password(state, admission, password, user).await {
        Ok(user) => user,
        Err(Error::InvalidCredentials) => {
            // The reservation stays: it is this failure's record.
            state.metrics.login_failed(LoginFailure::InvalidCredentials);
            return Err(Error::InvalidCredentials);
        }
        Err(other) => {
            if matches!(other, Error::Overloaded { .. }) {
                state.metrics.login_failed(LoginFailure::Overloaded);
            }
            give_back_after_error(state, reserved).await;
            return Err(other);
        }
    };
    reserved.clear_key(state).await?;
    if let Some(password) = upgrade_with {
        upgrade_hash(state, &user, password).await;
    }
    let user = user_from_row(user)?;

    let now = db::now();
    let session_id = SessionId::generate();
    let session_expires = now + chrono_duration(state.settings.session_max_ttl);
    let refresh_expires =
        (now + chrono_duration(state.settings.refresh_token_ttl)).min(session_expires);
    let refresh_token = RefreshToken::generate();
    let token_hash = refresh_token.hash();
    let client_id = client.client_id.clone();
    let dpop_jkt = client.dpop_jkt.clone();
    {
        let session_id = session_id.clone();
        let user_id = user.id.clone();
        let opened = db::run(&state.pool, move |conn| {
            let user_agent = client
                .user_agent
                .as_deref()
                .map(|ua| truncate(ua, USER_AGENT_MAX));
            db::sessions::open(
                conn,
                &NewSession {
                    id: session_id.as_str(),
                    user_id: user_id.as_str(),
                    created_at: now,
                    last_used_at: now,
                    expires_at: session_expires,
                    user_agent,
                    ip: client.ip.as_deref(),
                    client_id: client.client_id.as_deref(),
                    dpop_jkt: client.dpop_jkt.as_deref(),
                },
                &NewRefreshToken {
                    token_hash: token_hash.as_str(),
                    session_id: session_id.as_str(),
                    issued_at: now,
                    expires_at: refresh_expires,
                },
            )
        })
        .await?;
        if !opened {
            // The client was deleted while its user logged in.
            return Err(Error::UnknownClient);
        }
    }
    let session = GrantedSession {
        id: &session_id,
        client_id: client_id.as_deref(),
        dpop_jkt: dpop_jkt.as_deref(),
    };
    let granted = grant(state, user, session, refresh_token, now, refresh_expires)?;
    state.metrics.login_succeeded();
    Ok(granted)
}

/// Whether a stored hash was made at another cost than `BCRYPT_COST`.
fn needs_rehash(state: &AppState, hash: &str) -> bool {
    passwords::cost_of(hash) != Some(state.settings.bcrypt_cost)
}

/// Stores a new hash of a password that has just matched, at `BCRYPT_COST`
/// (API.md §3): raising the cost then upgrades every active account, and an
/// account's check costs what an unknown email's dummy check costs. Best
/// effort: the login has succeeded and does not fail for this, and under
/// overload the upgrade waits for a later login rather than adding a hash.
async fn upgrade_hash(state: &AppState, user: &UserRow, password: String) {
    let Ok(admission) = state.hasher.admit() else {
        log::debug!(
            "password hash of user {} not upgraded now: the hasher is busy",
            user.id
        );
        return;
    };
    let new = match admission.rehash(password, state.settings.bcrypt_cost).await {
        Ok(new) => new,
        Err(e) => {
            log::warn!("could not rehash the password of user {}: {e}", user.id);
            return;
        }
    };
    let (id, old) = (user.id.clone(), user.password_hash.clone());
    let stored = db::run(&state.pool, move |conn| {
        db::users::upgrade_password_hash(conn, &id, &old, &new)
    })
    .await;
    match stored {
        Ok(0) => log::debug!("password of user {} changed meanwhile; no upgrade", user.id),
        Ok(_) => log::info!(
            "password hash of user {} upgraded to cost {}",
            user.id,
            state.settings.bcrypt_cost
        ),
        Err(e) => log::warn!("could not store the upgraded hash of user {}: {e}", user.id),
    }
}

/// Frees the place of an attempt that ended in an error other than a wrong
/// password: the client learnt nothing about the password, and a user who
/// retries through an outage must not lock themselves out.
pub(super) async fn give_back_after_error(state: &AppState, reserved: Reserved) {
    if let Err(e) = reserved.give_back(state).await {
        log::warn!("could not give back a login reservation: {e}");
    }
}

/// Verifies `password` against the user's hash, or against a dummy hash when
/// there is no such user, so both failures cost the same bcrypt time.
pub(super) async fn verify_password(
    state: &AppState,
    admission: Admission<'_>,
    password: String,
    user: Option<UserRow>,
) -> Result<UserRow, Error> {
    let dummy = match state.dummy_hash.get() {
        Some(hash) => hash.clone(),
        None => {
            let placeholder = Password::parse("not a real password".to_owned())?;
            let hash = state
                .hasher
                .admit_follow_up(&admission)
                .hash(placeholder, state.settings.bcrypt_cost)
                .await?;
            state.dummy_hash.get_or_init(|| hash).clone()
        }
    };
    let hash = user.as_ref().map_or(dummy, |u| u.password_hash.clone());
    let matches = admission.verify(password, hash).await?;
    match user {
        Some(user) if matches => Ok(user),
        _ => Err(Error::InvalidCredentials),
    }
}

fn truncate(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
