//! The reads of token introspection (RFC 7662). Each returns the presenting
//! client's stored secret hash (`None`: no such client) together with what
//! it found of the token, so that introspecting an access token, the hot
//! path of session-checked routes, costs one round trip.

use chrono::NaiveDateTime;
use diesel::dsl::exists;
use diesel::prelude::*;

use super::schema::{clients, refresh_tokens, sessions, signing_keys};
use super::AnyConnection;

/// What the database says of an access token whose signature verified.
#[derive(Debug, Clone, Queryable)]
pub struct AccessCheck {
    /// The presenting client's stored secret hash; `None`: no such client.
    pub secret_hash: Option<String>,
    /// Whether what the token speaks for is still there: a user's session
    /// active, or a service's client registered.
    pub holder_live: bool,
    /// Whether its signing key is still stored (not revoked).
    pub key_stored: bool,
}

/// [`AccessCheck`] of a user's access token: its session active by the rule
/// of the Bearer routes (not revoked, not ended, not past its absolute end,
/// owned by `user_id`).
pub fn user_access_token(
    conn: &mut AnyConnection,
    presenter: &str,
    kid: &str,
    session_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<AccessCheck> {
    let session = sessions::table
        .filter(sessions::id.eq(session_id))
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now));
    diesel::select((
        secret_hash_of(presenter),
        exists(session),
        key_is_stored(kid),
    ))
    .get_result(conn)
}

/// [`AccessCheck`] of a service token: its client (`client_id`) still
/// registered.
pub fn service_access_token(
    conn: &mut AnyConnection,
    presenter: &str,
    kid: &str,
    client_id: &str,
) -> QueryResult<AccessCheck> {
    diesel::select((
        secret_hash_of(presenter),
        exists(clients::table.find(client_id)),
        key_is_stored(kid),
    ))
    .get_result(conn)
}

/// A live refresh token as introspection shows it.
#[derive(Debug, Clone, Queryable)]
pub struct LiveRefreshToken {
    /// The session's user.
    pub user_id: String,
    /// The session.
    pub session_id: String,
    /// When the token expires.
    pub expires_at: NaiveDateTime,
    /// The client it was issued to; `None`: first-party.
    pub client_id: Option<String>,
}

/// The stored secret hash of the presenting client, and the refresh token
/// with this hash if it is live: unused, not superseded, not expired, in an
/// active session. Only reads: introspection uses nothing up.
pub fn refresh_token(
    conn: &mut AnyConnection,
    presenter: &str,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<(Option<String>, Option<LiveRefreshToken>)> {
    let secret = client_secret_hash(conn, presenter)?;
    if secret.is_none() {
        return Ok((None, None));
    }
    let live = refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .filter(refresh_tokens::used_at.is_null())
        .filter(refresh_tokens::superseded_at.is_null())
        .filter(refresh_tokens::expires_at.gt(now))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select((
            sessions::user_id,
            sessions::id,
            refresh_tokens::expires_at,
            sessions::client_id,
        ))
        .first(conn)
        .optional()?;
    Ok((secret, live))
}

/// The stored secret hash of a client, for a token that needs no lookup.
pub fn client_secret_hash(
    conn: &mut AnyConnection,
    presenter: &str,
) -> QueryResult<Option<String>> {
    diesel::select(secret_hash_of(presenter)).get_result(conn)
}

fn secret_hash_of(
    id: &str,
) -> diesel::dsl::SingleValue<
    diesel::dsl::Select<diesel::dsl::Find<clients::table, &str>, clients::secret_hash>,
> {
    clients::table
        .find(id)
        .select(clients::secret_hash)
        .single_value()
}

fn key_is_stored(kid: &str) -> diesel::dsl::exists<diesel::dsl::Find<signing_keys::table, &str>> {
    exists(signing_keys::table.find(kid))
}
