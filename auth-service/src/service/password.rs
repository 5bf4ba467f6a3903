//! Password change (`POST /auth/password`).

use diesel::Connection;

use super::login::verify_password;
use crate::db;
use crate::domain::{Password, SessionId, UserId};
use crate::error::Error;
use crate::state::AppState;

/// Changes the user's password and revokes every session but `current_sid`:
/// whoever knew the old password is logged out everywhere else.
pub async fn change_password(
    state: &AppState,
    user_id: UserId,
    current_sid: SessionId,
    current_password: String,
    new_password: String,
) -> Result<(), Error> {
    let new_password = Password::parse(new_password)?;
    let user = {
        let user_id = user_id.clone();
        db::run(&state.pool, move |conn| {
            db::users::find_by_id(conn, user_id.as_str())
        })
        .await?
    };
    if user.is_none() {
        return Err(Error::UnknownUser);
    }
    verify_password(state, current_password, user).await?;
    let hash = state
        .hasher
        .hash(new_password, state.settings.bcrypt_cost)
        .await?;
    db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            db::users::set_password_hash(conn, user_id.as_str(), &hash)?;
            db::sessions::revoke_all_but(conn, user_id.as_str(), current_sid.as_str(), db::now())
        })
    })
    .await?;
    Ok(())
}
