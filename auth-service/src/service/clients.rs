//! Confidential clients (API.md §8): registering them, authenticating them,
//! and the client-credentials grant.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use shared_claims::Subject;
use subtle::ConstantTimeEq;

use super::TokenType;
use crate::db::clients::ClientRow;
use crate::db::{self, DbPool};
use crate::error::Error;
use crate::state::AppState;
use crate::tokens::sha256_hex;

/// The longest client name accepted, in characters.
const MAX_NAME_CHARS: usize = 200;

/// A client secret as the client holds it: 256 random bits, base64url, so
/// it needs no escaping in HTTP Basic. Its `Debug` prints nothing of it.
pub struct ClientSecret(String);

impl ClientSecret {
    fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        ClientSecret(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The secret itself, to be shown once to the operator.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// Registers a client named `name`; the secret is returned only here.
pub async fn create_client(pool: &DbPool, name: &str) -> Result<(ClientRow, ClientSecret), Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::InvalidRequest(format!(
            "a client name has 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    let secret = ClientSecret::generate();
    // A plain SHA-256, as for refresh tokens: 256 random bits leave nothing
    // to brute-force, and no slow hash is needed on every token request.
    let row = ClientRow {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        secret_hash: sha256_hex(secret.expose().as_bytes()),
        created_at: db::now(),
    };
    let stored = row.clone();
    db::run(pool, move |conn| db::clients::insert(conn, &stored)).await?;
    Ok((row, secret))
}

/// Every registered client, oldest first.
pub async fn list_clients(pool: &DbPool) -> Result<Vec<ClientRow>, Error> {
    db::run(pool, db::clients::list).await
}

/// Removes a client: it can no longer authenticate, and the sessions it
/// opened end with it (their history stays). `NotFound` for an unknown id.
pub async fn delete_client(pool: &DbPool, id: &str) -> Result<(), Error> {
    let id = id.to_owned();
    let deleted = db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            // The client first: its row lock orders this against a login
            // opening a session for it (db::sessions::open).
            let deleted = db::clients::delete(conn, &id)?;
            db::history::end_all_of_client(conn, &id, db::now())?;
            Ok(deleted)
        })
    })
    .await?;
    match deleted {
        0 => Err(Error::NotFound),
        _ => Ok(()),
    }
}

/// Whether `secret` is the secret of client `id`.
pub async fn authenticate_client(pool: &DbPool, id: &str, secret: &str) -> Result<bool, Error> {
    let id = id.to_owned();
    let stored = db::run(pool, move |conn| db::clients::secret_hash(conn, &id)).await?;
    Ok(secret_matches(stored.as_deref(), secret))
}

/// Whether `secret` hashes to `stored`, the stored hash of the client it
/// claims to be (`None`: no such client).
pub(super) fn secret_matches(stored: Option<&str>, secret: &str) -> bool {
    let presented = sha256_hex(secret.as_bytes());
    // Constant time, so the answer's timing tells nothing of how much of
    // the hash matched.
    stored.is_some_and(|stored| bool::from(stored.as_bytes().ct_eq(presented.as_bytes())))
}

/// A service token, the outcome of the client-credentials grant.
#[derive(Debug)]
pub struct ServiceGrant {
    /// The signed access token.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Whether it is bound to a DPoP key.
    pub token_type: TokenType,
}

/// The client-credentials grant (RFC 6749 §4.4) for an authenticated
/// client: a service token, with no session and so no refresh token; bound
/// to the key of thumbprint `dpop_jkt` if the request proved one.
pub fn client_credentials(
    state: &AppState,
    client_id: &str,
    dpop_jkt: Option<&str>,
) -> Result<ServiceGrant, Error> {
    let (access_token, expires_in) = super::sign(
        state,
        client_id.to_owned(),
        client_id.to_owned(),
        Subject::Service,
        dpop_jkt,
        db::now(),
    )?;
    Ok(ServiceGrant {
        access_token,
        expires_in,
        token_type: TokenType::of(dpop_jkt),
    })
}
