//! Accounts: creating one, reading one, and turning stored rows into
//! [`User`] values.

use chrono::{DateTime, NaiveDateTime, Utc};
use shared_claims::Role;

use crate::db::models::{NewUser, UserRow};
use crate::db::{self, DbPool};
use crate::domain::{Email, Password, User, UserId};
use crate::error::Error;
use crate::passwords::Hasher;

/// Creates a user with `role`: self-service registration and the
/// `user create` command.
pub async fn create_user(
    pool: &DbPool,
    hasher: &Hasher,
    cost: u32,
    email: Email,
    password: Password,
    role: Role,
) -> Result<User, Error> {
    let password_hash = hasher.hash(password, cost).await?;
    let id = UserId::generate();
    let row = db::run(pool, move |conn| {
        db::users::insert(
            conn,
            &NewUser {
                id: id.as_str(),
                email: email.as_str(),
                password_hash: &password_hash,
                role: role.as_str(),
                created_at: db::now(),
            },
        )
    })
    .await?
    .ok_or(Error::EmailTaken)?;
    user_from_row(row)
}

/// Finds a user by email, for the command line.
pub(super) async fn row_by_email(pool: &DbPool, email: &str) -> Result<UserRow, Error> {
    let email = Email::parse(email)?;
    db::run(pool, move |conn| {
        db::users::find_by_email(conn, email.as_str())
    })
    .await?
    .ok_or(Error::NotFound)
}

/// A stored user as a domain value. A row this service wrote always
/// converts; one that does not is a corrupt database, so a 500.
pub(super) fn user_from_row(row: UserRow) -> Result<User, Error> {
    let id =
        UserId::parse(&row.id).map_err(|e| Error::Internal(format!("user {:?}: {e}", row.id)))?;
    let role = row
        .role
        .parse()
        .map_err(|e| Error::Internal(format!("user {}: {e}", row.id)))?;
    Ok(User {
        id,
        email: row.email,
        role,
        created_at: utc(row.created_at),
    })
}

/// A stored timestamp (UTC without a zone) as UTC.
pub(super) fn utc(naive: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(naive, Utc)
}
