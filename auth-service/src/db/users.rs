//! Queries on `users`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::models::{NewUser, UserRow};
use super::schema::{sessions, users};
use super::AnyConnection;

/// Inserts a user. A taken email surfaces as `Ok(None)`: the unique index
/// decides, so two racing registrations cannot both succeed.
pub fn insert(conn: &mut AnyConnection, user: &NewUser<'_>) -> QueryResult<Option<UserRow>> {
    match diesel::insert_into(users::table)
        .values(user)
        .returning(users::all_columns)
        .get_result(conn)
    {
        Ok(row) => Ok(Some(row)),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The user with this (normalised) email.
pub fn find_by_email(conn: &mut AnyConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .first(conn)
        .optional()
}

/// The user with this id.
pub fn find_by_id(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<UserRow>> {
    users::table.find(id).first(conn).optional()
}

/// The user of a session that is still active (not revoked, not past its
/// absolute end), if `user_id` owns it.
pub fn find_by_active_session(
    conn: &mut AnyConnection,
    session_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<UserRow>> {
    users::table
        .inner_join(sessions::table)
        .filter(sessions::id.eq(session_id))
        .filter(users::id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        // An expiry the service has noticed leaves `revoked_at` empty.
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select(users::all_columns)
        .first(conn)
        .optional()
}

/// Replaces a user's password hash.
pub fn set_password_hash(conn: &mut AnyConnection, id: &str, hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
}

/// Replaces a user's password hash only if it is still `old`, so that a
/// login upgrading the old password's hash never undoes a password change
/// that landed meanwhile. The number of rows changed (0 or 1).
pub fn upgrade_password_hash(
    conn: &mut AnyConnection,
    id: &str,
    old: &str,
    new: &str,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id).filter(users::password_hash.eq(old)))
        .set(users::password_hash.eq(new))
        .execute(conn)
}

/// Sets a user's role; `None` if there is no such user.
pub fn set_role(conn: &mut AnyConnection, id: &str, role: &str) -> QueryResult<Option<UserRow>> {
    diesel::update(users::table.find(id))
        .set(users::role.eq(role))
        .returning(users::all_columns)
        .get_result(conn)
        .optional()
}

/// Deletes a user; sessions and refresh tokens go with it (ON DELETE CASCADE).
pub fn delete(conn: &mut AnyConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(users::table.find(id)).execute(conn)
}
