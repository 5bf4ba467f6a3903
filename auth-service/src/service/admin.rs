//! Changing and deleting accounts: the admin endpoint and the `user`
//! commands.

use shared_claims::Role;

use super::users::{row_by_email, user_from_row};
use crate::db::{self, DbPool};
use crate::domain::{User, UserId};
use crate::error::Error;
use crate::state::AppState;

/// Sets a user's role (`PUT /admin/users/{id}/role`). The auth-service's own
/// routes see the new role at once; at resource servers, access tokens
/// already issued keep the old role until they expire, and the next refresh
/// carries the new one.
pub async fn set_role(state: &AppState, user_id: UserId, role: Role) -> Result<User, Error> {
    let row = db::run(&state.pool, move |conn| {
        db::users::set_role(conn, user_id.as_str(), role.as_str())
    })
    .await?;
    user_from_row(row.ok_or(Error::NotFound)?)
}

/// `user set-role`: sets the role of the user with this email.
pub async fn set_role_by_email(pool: &DbPool, email: &str, role: Role) -> Result<User, Error> {
    let user = row_by_email(pool, email).await?;
    let row = db::run(pool, move |conn| {
        db::users::set_role(conn, &user.id, role.as_str())
    })
    .await?;
    user_from_row(row.ok_or(Error::NotFound)?)
}

/// `user delete`: deletes the user with this email; their sessions and
/// refresh tokens go with them, so they cannot refresh.
pub async fn delete_user_by_email(pool: &DbPool, email: &str) -> Result<User, Error> {
    let user = row_by_email(pool, email).await?;
    let id = user.id.clone();
    db::run(pool, move |conn| db::users::delete(conn, &id)).await?;
    user_from_row(user)
}
