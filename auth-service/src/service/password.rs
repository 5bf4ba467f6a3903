//! Password change (`POST /auth/password`).

use diesel::Connection;

use super::login::{give_back_after_error, verify_password};
use super::throttle::Lockout;
use super::ClientInfo;
use crate::db;
use crate::domain::{EndReason, Password, SessionId, UserId};
use crate::error::Error;
use crate::state::AppState;

/// Changes the user's password and revokes every session but `current_sid`:
/// whoever knew the old password is logged out everywhere else.
///
/// The current password is checked under the login lockout of the
/// account's email from `client`'s address (API.md §3): a stolen access
/// token must not allow more guesses at it than the login does.
pub async fn change_password(
    state: &AppState,
    user_id: UserId,
    current_sid: SessionId,
    current_password: String,
    new_password: String,
    client: ClientInfo,
) -> Result<(), Error> {
    let new_password = Password::parse(new_password)?;
    // Admitted before anything is reserved: refused under overload, the
    // change leaves nothing behind; once admitted, it is not refused
    // halfway, after the current password was checked.
    let check = state.hasher.admit()?;
    let rehash = state.hasher.admit_follow_up(&check);
    let origin_of = client.clone();
    let (user, reserved) = {
        let user_id = user_id.clone();
        let lockout = Lockout::of(state);
        db::run(&state.pool, move |conn| {
            let Some(user) = db::users::find_by_id(conn, user_id.as_str())? else {
                return Err(Error::UnknownUser);
            };
            let reserved = lockout.key(&user.email, &client).reserve(conn)?;
            Ok((user, reserved))
        })
        .await?
    };
    match verify_password(state, check, current_password, Some(user)).await {
        Ok(_) => reserved.give_back(state).await?,
        // The reservation stays: it is this failure's record.
        Err(Error::InvalidCredentials) => return Err(Error::InvalidCredentials),
        Err(other) => {
            give_back_after_error(state, reserved).await;
            return Err(other);
        }
    }
    let hash = rehash
        .hash(new_password, state.settings.bcrypt_cost)
        .await?;
    let ended = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            db::users::set_password_hash(conn, user_id.as_str(), &hash)?;
            let (user, keep) = (user_id.as_str(), Some(current_sid.as_str()));
            let reason = EndReason::PasswordChanged;
            let origin = origin_of.origin();
            db::history::end_all_of_user(conn, user, keep, reason, origin, db::now())
        })
    })
    .await?;
    state
        .metrics
        .sessions_ended(EndReason::PasswordChanged, ended);
    Ok(())
}
