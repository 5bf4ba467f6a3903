//! Self-service registration (`POST /auth/register`).

use shared_claims::Role;

use super::users::create_user;
use crate::domain::{Email, Password, User};
use crate::error::Error;
use crate::state::AppState;

/// Registers an account with the `user` role, unless registration is off.
pub async fn register(state: &AppState, email: &str, password: String) -> Result<User, Error> {
    if !state.settings.allow_registration {
        return Err(Error::RegistrationDisabled);
    }
    let email = Email::parse(email)?;
    let password = Password::parse(password)?;
    let user = create_user(
        &state.pool,
        &state.hasher,
        state.settings.bcrypt_cost,
        email,
        password,
        Role::User,
    )
    .await?;
    state.metrics.registered();
    Ok(user)
}
