//! The signing-key policy: which stored keys are published, loading them at
//! start, reloading them while running (recording how long each must stay
//! published), rotation by the command line and by the running instances,
//! and revocation.

use actix_web::web;
use zeroize::Zeroizing;

use super::chrono_duration;
use super::keys_at_rest::{check_kek, seal_plaintext_keys};
use crate::config::Settings;
use crate::db::models::SigningKeyRow;
use crate::db::{self, signing_keys, AnyConnection, DbPool};
use crate::error::Error;
use crate::state::AppState;
use crate::tokens::{self, KeyEncryptionKey, KeyRing, Lifetimes, SigningKey, StoredKey};

/// How long keys stay published, as this instance's settings say.
fn lifetimes(settings: &Settings) -> Lifetimes {
    Lifetimes {
        access_ttl: chrono_duration(settings.access_token_ttl),
        margin: chrono_duration(settings.key_retirement_margin),
        reload: chrono_duration(settings.key_reload_interval),
    }
}

/// The keys to load into a [`KeyRing`]: those that may still verify live
/// tokens, their private keys opened with `KEY_ENCRYPTION_KEY` where sealed
/// (and wiped once the caller has parsed them).
pub fn published_keys(
    settings: &Settings,
    rows: &[SigningKeyRow],
) -> Result<Zeroizing<Vec<StoredKey>>, String> {
    let stored: Vec<StoredKey> = rows.iter().cloned().map(stored).collect();
    let kek = settings.key_encryption_key.as_ref();
    let published = tokens::published(&stored, db::now(), &lifetimes(settings));
    // Sized once: a growing Vec would leave copies in the buffers it drops.
    let mut opened = Zeroizing::new(Vec::with_capacity(published.len()));
    for mut key in published {
        key.private_key = tokens::open_private_key(kek, &key.kid, &key.private_key)?;
        opened.push(key);
    }
    Ok(opened)
}

/// Reads the keys after recording, where needed, how long each must stay
/// published by this instance's lifetimes, so that whoever prunes goes by
/// what the database says. Before this instance signs with the newest key,
/// its lease is stored: a rotation that lands meanwhile makes another key
/// the newest, so the lease is checked again on what is read back.
fn record_and_load(
    conn: &mut AnyConnection,
    lifetimes: &Lifetimes,
) -> diesel::QueryResult<Vec<SigningKeyRow>> {
    let mut rows = signing_keys::all(conn)?;
    for _ in 0..3 {
        let stored: Vec<StoredKey> = rows.iter().cloned().map(stored).collect();
        let raised = tokens::retirements(&stored, db::now(), lifetimes);
        if raised.is_empty() {
            break;
        }
        for (kid, at) in raised {
            signing_keys::raise_retirement(conn, &kid, at)?;
        }
        rows = signing_keys::all(conn)?;
    }
    Ok(rows)
}

/// The signing keys to serve with, first storing a new one if there is
/// none: what `serve` needs and no other command. With
/// `KEY_ENCRYPTION_KEY`, keys found in plaintext are sealed first.
pub async fn load_or_create_keys(pool: &DbPool, settings: &Settings) -> Result<KeyRing, String> {
    let pool = pool.clone();
    let url = settings.database.clone();
    let lifetimes = lifetimes(settings);
    let kek = settings.key_encryption_key.clone();
    let candidate = row(SigningKey::generate(db::now())?, kek.as_ref())?;
    // The outer error is the database's; the inner one, a refused
    // KEY_ENCRYPTION_KEY, is a line of its own.
    let rows = web::block(move || {
        db::with_connection(&pool, |conn| {
            let load = |e| format!("cannot load signing keys: {e}");
            // Checked before anything is written: a wrong key must never
            // lead to a key stored beside the others, or re-created.
            if let Err(refused) = check_kek(&signing_keys::all(conn).map_err(load)?, kek.as_ref()) {
                return Ok(Err(refused));
            }
            signing_keys::ensure_one(conn, candidate).map_err(load)?;
            if let Some(kek) = &kek {
                if let Err(refused) = seal_plaintext_keys(conn, kek).map_err(load)? {
                    return Ok(Err(refused));
                }
            }
            record_and_load(conn, &lifetimes).map(Ok).map_err(load)
        })
        .map_err(|e| format!("DATABASE_URL ({}): {e}", url.redacted()))
    })
    .await
    .map_err(|e| e.to_string())???;
    KeyRing::from_rows(&published_keys(settings, &rows)?)
}

/// Reloads the signing keys from the database, so this instance signs with
/// the newest and publishes exactly the keys whose tokens may still be alive.
pub async fn reload_keys(state: &AppState) -> Result<(), Error> {
    let lifetimes = lifetimes(&state.settings);
    let rows = db::run(&state.pool, move |conn| record_and_load(conn, &lifetimes)).await?;
    state
        .keys
        .reload(&published_keys(&state.settings, &rows).map_err(Error::Internal)?)
        .map_err(Error::Internal)?;
    state
        .metrics
        .set_signing_keys(state.keys.store().snapshot().len());
    Ok(())
}

/// Adds a new signing key if the newest is `interval` old or older
/// (`KEY_ROTATION_INTERVAL`). Decided under the key lock, so replicas
/// sharing a database add one key per interval between them. The new key's
/// id, if one was added.
pub async fn rotate_keys_if_due(
    state: &AppState,
    interval: std::time::Duration,
) -> Result<Option<String>, Error> {
    let candidate = SigningKey::generate(db::now()).map_err(Error::Internal)?;
    let candidate =
        row(candidate, state.settings.key_encryption_key.as_ref()).map_err(Error::Internal)?;
    let interval = chrono_duration(interval);
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            signing_keys::lock(conn)?;
            let now = db::now();
            let due = signing_keys::all(conn)?
                .first()
                .is_none_or(|newest| newest.created_at + interval <= now);
            if !due {
                return Ok(None);
            }
            let kid = candidate.kid.clone();
            signing_keys::insert(
                conn,
                &SigningKeyRow {
                    created_at: now,
                    ..candidate
                },
            )?;
            Ok(Some(kid))
        })
    })
    .await
}

/// Adds a new signing key (`keys rotate`) and deletes keys whose tokens
/// have all expired, as the database records it (never by the caller's own
/// `ACCESS_TOKEN_TTL`). Returns the new key's id and how many were deleted.
/// Refused, changing nothing, when `kek` does not open the stored keys.
pub async fn rotate_keys(
    pool: &DbPool,
    kek: Option<&KeyEncryptionKey>,
) -> Result<(String, usize), Error> {
    let new = row(
        SigningKey::generate(db::now()).map_err(Error::Internal)?,
        kek,
    )
    .map_err(Error::Internal)?;
    let kid = new.kid.clone();
    let kek = kek.cloned();
    let pruned = db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            signing_keys::lock(conn)?;
            if let Err(refused) = check_kek(&signing_keys::all(conn)?, kek.as_ref()) {
                return Ok(Err(Error::Internal(refused)));
            }
            let now = db::now();
            let newest = new.kid.clone();
            signing_keys::insert(
                conn,
                &SigningKeyRow {
                    created_at: now,
                    ..new
                },
            )?;
            signing_keys::delete_retired(conn, &newest, now).map(Ok)
        })
    })
    .await??;
    Ok((kid, pruned))
}

/// Revokes a key (`keys revoke`): it is deleted, so it leaves every JWKS
/// and every ring at their next reload, and this service refuses its tokens
/// at once (see `routes::bearer`). If it was the signing key, a new key is
/// stored first, in the same transaction, so there is always one to sign
/// with. The new key's id, if one was made; [`Error::NotFound`] for an
/// unknown kid.
pub async fn revoke_key(
    pool: &DbPool,
    kid: &str,
    kek: Option<&KeyEncryptionKey>,
) -> Result<Option<String>, Error> {
    let candidate = row(
        SigningKey::generate(db::now()).map_err(Error::Internal)?,
        kek,
    )
    .map_err(Error::Internal)?;
    let kid = kid.to_owned();
    let kek = kek.cloned();
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            signing_keys::lock(conn)?;
            let rows = signing_keys::all(conn)?;
            if let Err(refused) = check_kek(&rows, kek.as_ref()) {
                return Ok(Err(Error::Internal(refused)));
            }
            let Some(position) = rows.iter().position(|row| row.kid == kid) else {
                return Ok(Err(Error::NotFound));
            };
            let mut made = None;
            if position == 0 {
                // Strictly newer than the revoked key, so it is the one that signs.
                let now = db::now().max(rows[0].created_at + chrono::Duration::microseconds(1));
                made = Some(candidate.kid.clone());
                signing_keys::insert(
                    conn,
                    &SigningKeyRow {
                        created_at: now,
                        ..candidate
                    },
                )?;
            }
            signing_keys::delete(conn, &kid)?;
            Ok(Ok(made))
        })
    })
    .await?
}

/// Whether tokens signed by `kid` may still be accepted: the key is stored
/// (not revoked, not pruned). Read from the database on every call, so a
/// revocation by another process counts at once.
pub async fn signing_key_is_live(state: &AppState, kid: &str) -> Result<bool, Error> {
    let kid = kid.to_owned();
    db::run(&state.pool, move |conn| signing_keys::exists(conn, &kid)).await
}

fn stored(row: SigningKeyRow) -> StoredKey {
    StoredKey {
        kid: row.kid,
        algorithm: row.algorithm,
        private_key: row.private_key,
        public_key: row.public_key,
        created_at: row.created_at,
        retire_after: row.retire_after,
    }
}

/// The row to store for a new key, its private key sealed when `kek` is set.
fn row(key: StoredKey, kek: Option<&KeyEncryptionKey>) -> Result<SigningKeyRow, String> {
    let private_key = match kek {
        Some(kek) => tokens::seal_private_key(kek, &key.kid, &key.private_key)?,
        None => key.private_key,
    };
    Ok(SigningKeyRow {
        kid: key.kid,
        algorithm: key.algorithm,
        private_key,
        public_key: key.public_key,
        created_at: key.created_at,
        retire_after: key.retire_after,
    })
}
