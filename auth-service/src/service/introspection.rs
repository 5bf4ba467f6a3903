//! Token introspection (RFC 7662, API.md §3): whether a token is live now,
//! asked by an authenticated client. The hot path of resource servers'
//! session-checked routes, so an access token costs its verification from
//! the in-memory key ring and one database round trip, which also
//! authenticates the client.

use std::fmt;

use serde::Deserialize;
use shared_claims::{AccessClaims, Authority, FIRST_PARTY_CLIENT};

use super::clients::secret_matches;
use crate::db;
use crate::db::introspection::LiveRefreshToken;
use crate::error::Error;
use crate::state::AppState;
use crate::tokens::RefreshToken;

/// The id and secret a client presents. Its `Debug` prints nothing of the
/// secret.
pub struct ClientCredentials {
    /// The client's id.
    pub id: String,
    /// The client's secret, as presented.
    pub secret: String,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What introspection found.
#[derive(Debug)]
pub enum Introspection {
    /// The presenting client did not authenticate: no answer about the token.
    UnknownClient,
    /// Not a live token: unknown, malformed, expired, revoked, used, or of
    /// an ended session or a deleted client.
    Inactive,
    /// A live access token, with its `cnf` claim if it has one.
    Access {
        /// The verified claims.
        claims: Box<AccessClaims>,
        /// The confirmation claim of a sender-constrained token (RFC 9449).
        cnf: Option<serde_json::Value>,
    },
    /// A live refresh token.
    Refresh {
        /// The client it was issued to.
        client_id: String,
        /// Its user.
        sub: String,
        /// Its session.
        sid: String,
        /// When it expires, seconds since the Unix epoch.
        exp: i64,
    },
}

/// What the token itself tells before the database is asked.
enum Lookup {
    Access {
        claims: Box<AccessClaims>,
        kid: String,
        cnf: Option<serde_json::Value>,
    },
    Refresh(String),
    Nothing,
}

/// The claims [`AccessClaims`] does not carry, read from a token already
/// verified.
#[derive(Deserialize)]
struct Extra {
    cnf: Option<serde_json::Value>,
}

/// Introspects `token` for the client presenting `client`. A token type
/// hint is not needed: an access token is a JWS (it has dots), a refresh
/// token is base64url (it has none), so the token's shape says which
/// lookup can find it. Nothing is changed, nothing used up.
pub async fn introspect(
    state: &AppState,
    authority: &Authority,
    client: ClientCredentials,
    token: String,
) -> Result<Introspection, Error> {
    let lookup = if token.contains('.') {
        access_lookup(authority, &token).await
    } else {
        Lookup::Refresh(RefreshToken::presented(token).hash().as_str().to_owned())
    };
    let now = db::now();
    let ClientCredentials { id, secret } = client;
    let (outcome, revoked_kid) = db::run(&state.pool, move |conn| {
        use db::introspection as q;
        let (stored, found, revoked_kid) = match lookup {
            Lookup::Access { claims, kid, cnf } => {
                let check = match claims.subject.sid() {
                    Some(sid) => q::user_access_token(conn, &id, &kid, sid, &claims.sub, now)?,
                    None => q::service_access_token(conn, &id, &kid, &claims.client_id)?,
                };
                let found = if check.holder_live && check.key_stored {
                    Introspection::Access { claims, cnf }
                } else {
                    Introspection::Inactive
                };
                let revoked_kid = (!check.key_stored).then_some(kid);
                (check.secret_hash, found, revoked_kid)
            }
            Lookup::Refresh(hash) => {
                let (stored, live) = q::refresh_token(conn, &id, &hash, now)?;
                let found = live.map_or(Introspection::Inactive, refresh_view);
                (stored, found, None)
            }
            Lookup::Nothing => {
                let stored = q::client_secret_hash(conn, &id)?;
                (stored, Introspection::Inactive, None)
            }
        };
        let outcome = if secret_matches(stored.as_deref(), &secret) {
            found
        } else {
            Introspection::UnknownClient
        };
        Ok::<_, diesel::result::Error>((outcome, revoked_kid))
    })
    .await?;
    // A key revoked by another process (`keys revoke`) is still in this
    // instance's ring until its next reload: reload now, so it stops
    // signing with it, as the Bearer routes do.
    if let Some(kid) = revoked_kid {
        if state.keys.kids().contains(&kid) {
            if let Err(e) = super::reload_keys(state).await {
                log::warn!("could not reload the signing keys after a revocation: {e}");
            }
        }
    }
    Ok(outcome)
}

/// Verifies an access token with the in-memory keys (and the verified-token
/// cache): signature, `typ`, issuer, audience, expiry.
async fn access_lookup(authority: &Authority, token: &str) -> Lookup {
    let Ok(claims) = authority.verify(token).await else {
        return Lookup::Nothing;
    };
    // The signature is verified; this only reads what `AccessClaims`
    // leaves out, and the key id, whose revocation the database knows
    // before this instance's key ring does.
    match jsonwebtoken::dangerous::insecure_decode::<Extra>(token) {
        Ok(data) => match data.header.kid {
            Some(kid) => Lookup::Access {
                claims: Box::new(claims),
                kid,
                cnf: data.claims.cnf,
            },
            None => Lookup::Nothing,
        },
        Err(_) => Lookup::Nothing,
    }
}

fn refresh_view(live: LiveRefreshToken) -> Introspection {
    Introspection::Refresh {
        client_id: live
            .client_id
            .unwrap_or_else(|| FIRST_PARTY_CLIENT.to_owned()),
        sub: live.user_id,
        sid: live.session_id,
        exp: live.expires_at.and_utc().timestamp(),
    }
}
