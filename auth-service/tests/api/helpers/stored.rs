//! What the database holds, read directly, for the invariants that the HTTP
//! answers alone cannot show.

use std::collections::HashMap;

use diesel::RunQueryDsl;

use super::TestApp;

/// Refresh tokens of a session that could still be presented successfully:
/// neither used nor superseded (the session's own state aside).
pub fn live_refresh_tokens(conn: &mut auth_service::db::AnyConnection, session_id: &str) -> i64 {
    use auth_service::db::schema::refresh_tokens;
    use diesel::{ExpressionMethods, QueryDsl};
    refresh_tokens::table
        .filter(refresh_tokens::session_id.eq(session_id))
        .filter(refresh_tokens::used_at.is_null())
        .filter(refresh_tokens::superseded_at.is_null())
        .count()
        .get_result(conn)
        .expect("count live refresh tokens")
}

/// Refresh tokens of a session that have been rotated (presented once).
pub fn used_refresh_tokens(conn: &mut auth_service::db::AnyConnection, session_id: &str) -> i64 {
    use auth_service::db::schema::refresh_tokens;
    use diesel::{ExpressionMethods, QueryDsl};
    refresh_tokens::table
        .filter(refresh_tokens::session_id.eq(session_id))
        .filter(refresh_tokens::used_at.is_not_null())
        .count()
        .get_result(conn)
        .expect("count used refresh tokens")
}

/// One session as the database holds it, for counting the outcome of races.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub revoked: bool,
    /// Every refresh token issued in the session, in no particular order.
    pub tokens: Vec<StoredToken>,
}

/// One refresh-token row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredToken {
    pub used: bool,
    pub superseded: bool,
}

impl StoredToken {
    /// Neither used nor superseded: presenting it would refresh.
    pub fn is_live(&self) -> bool {
        !self.used && !self.superseded
    }
}

impl TestApp {
    /// Every session in the test database with its refresh tokens, by
    /// session id: what the contract's invariants are counted against.
    pub fn stored_sessions(&self) -> HashMap<String, StoredSession> {
        use auth_service::db::schema::{refresh_tokens, sessions};
        use chrono::NaiveDateTime;
        use diesel::prelude::*;

        let pool = auth_service::db::connect(&self.db.url).expect("pool");
        auth_service::db::with_connection(&pool, |conn| {
            let stored: Vec<(String, Option<NaiveDateTime>)> = sessions::table
                .select((sessions::id, sessions::revoked_at))
                .load(conn)
                .map_err(|e| e.to_string())?;
            let tokens: Vec<(String, Option<NaiveDateTime>, Option<NaiveDateTime>)> =
                refresh_tokens::table
                    .select((
                        refresh_tokens::session_id,
                        refresh_tokens::used_at,
                        refresh_tokens::superseded_at,
                    ))
                    .load(conn)
                    .map_err(|e| e.to_string())?;
            let mut by_id: HashMap<String, StoredSession> = stored
                .into_iter()
                .map(|(id, revoked_at)| {
                    let session = StoredSession {
                        revoked: revoked_at.is_some(),
                        tokens: Vec::new(),
                    };
                    (id, session)
                })
                .collect();
            for (session_id, used_at, superseded_at) in tokens {
                by_id
                    .get_mut(&session_id)
                    .expect("every refresh token belongs to a session")
                    .tokens
                    .push(StoredToken {
                        used: used_at.is_some(),
                        superseded: superseded_at.is_some(),
                    });
            }
            Ok(by_id)
        })
        .expect("read sessions")
    }

    /// The email of every account in the test database.
    pub fn stored_emails(&self) -> Vec<String> {
        use auth_service::db::schema::users;
        use diesel::prelude::*;

        let pool = auth_service::db::connect(&self.db.url).expect("pool");
        auth_service::db::with_connection(&pool, |conn| {
            users::table
                .select(users::email)
                .load(conn)
                .map_err(|e| e.to_string())
        })
        .expect("read users")
    }

    /// The stored bcrypt hash of the account with this (normalised) email.
    pub fn stored_password_hash(&self, email: &str) -> String {
        use auth_service::db::schema::users;
        use diesel::prelude::*;

        let pool = auth_service::db::connect(&self.db.url).expect("pool");
        let email = email.to_owned();
        auth_service::db::with_connection(&pool, move |conn| {
            users::table
                .filter(users::email.eq(&email))
                .select(users::password_hash)
                .first(conn)
                .map_err(|e| e.to_string())
        })
        .expect("read the password hash")
    }
}
