//! The signing-key policy: which stored keys are published, loading them at
//! start, reloading them while running, and `keys rotate`.

use actix_web::web;
use diesel::Connection;

use super::chrono_duration;
use crate::config::Settings;
use crate::db::models::SigningKeyRow;
use crate::db::{self, DbPool};
use crate::error::Error;
use crate::state::AppState;
use crate::tokens::{self, KeyRing, SigningKey, StoredKey};

/// The keys to load into a [`KeyRing`]: those that may still verify live tokens.
pub fn published_keys(settings: &Settings, rows: &[SigningKeyRow]) -> Vec<StoredKey> {
    let stored: Vec<StoredKey> = rows.iter().cloned().map(stored).collect();
    tokens::published(
        &stored,
        db::now(),
        chrono_duration(settings.access_token_ttl),
        chrono_duration(settings.key_retirement_margin),
    )
}

/// The signing keys to serve with, first storing a new one if there is
/// none: what `serve` needs and no other command.
pub async fn load_or_create_keys(pool: &DbPool, settings: &Settings) -> Result<KeyRing, String> {
    let pool = pool.clone();
    let url = settings.database.clone();
    let rows = web::block(move || {
        db::with_connection(&pool, |conn| {
            let candidate = SigningKey::generate(db::now())?;
            db::signing_keys::ensure_one(conn, row(candidate))
                .map_err(|e| format!("cannot load signing keys: {e}"))
        })
        .map_err(|e| format!("DATABASE_URL ({}): {e}", url.redacted()))
    })
    .await
    .map_err(|e| e.to_string())??;
    KeyRing::from_rows(&published_keys(settings, &rows))
}

/// Reloads the signing keys from the database, so this instance signs with
/// the newest and publishes exactly the keys whose tokens may still be alive.
pub async fn reload_keys(state: &AppState) -> Result<(), Error> {
    let rows = db::run(&state.pool, db::signing_keys::all).await?;
    state
        .keys
        .reload(&published_keys(&state.settings, &rows))
        .map_err(Error::Internal)?;
    state
        .metrics
        .set_signing_keys(state.keys.store().snapshot().len());
    Ok(())
}

/// Adds a new signing key (`keys rotate`) and deletes keys that can no longer
/// have live tokens. Returns the new key's id and how many were deleted.
pub async fn rotate_keys(pool: &DbPool, settings: &Settings) -> Result<(String, usize), Error> {
    let new = SigningKey::generate(db::now()).map_err(Error::Internal)?;
    let kid = new.kid.clone();
    let settings = settings.clone();
    let pruned = db::run(pool, move |conn| {
        conn.transaction(|conn| {
            db::signing_keys::insert(conn, &row(new))?;
            let rows = db::signing_keys::all(conn)?;
            let keep: Vec<String> = published_keys(&settings, &rows)
                .into_iter()
                .map(|key| key.kid)
                .collect();
            db::signing_keys::delete_all_but(conn, &keep)
        })
    })
    .await?;
    Ok((kid, pruned))
}

fn stored(row: SigningKeyRow) -> StoredKey {
    StoredKey {
        kid: row.kid,
        algorithm: row.algorithm,
        private_key: row.private_key,
        public_key: row.public_key,
        created_at: row.created_at,
    }
}

fn row(key: StoredKey) -> SigningKeyRow {
    SigningKeyRow {
        kid: key.kid,
        algorithm: key.algorithm,
        private_key: key.private_key,
        public_key: key.public_key,
        created_at: key.created_at,
    }
}
