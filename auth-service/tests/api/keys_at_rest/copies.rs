//! What a copy of the database holds: its rows, its files (or dump and raw
//! pages), and whether a private key can be read from them.

use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use diesel::prelude::*;
use ed25519_dalek::pkcs8::DecodePrivateKey;

use auth_service::config::DatabaseUrl;
use auth_service::db::schema::signing_keys;

use crate::cli::stderr;
use crate::helpers::TestDb;

/// Every row of `signing_keys`, oldest kid first: (kid, private_key as stored).
pub fn stored_keys(db: &TestDb) -> Vec<(String, Vec<u8>)> {
    let pool = auth_service::db::connect(&db.url).expect("pool");
    auth_service::db::with_connection(&pool, |conn| {
        signing_keys::table
            .select((signing_keys::kid, signing_keys::private_key))
            .order(signing_keys::kid)
            .load(conn)
            .map_err(|e| e.to_string())
    })
    .expect("read the signing keys")
}

/// What someone who copies the database gets: on SQLite the file and its
/// write-ahead log byte for byte; on PostgreSQL `pg_dump` of every table and
/// the raw pages of `signing_keys`, dead row versions included (what a copy
/// of the data directory holds).
pub fn file_dump(db: &TestDb) -> Vec<u8> {
    match &db.url {
        DatabaseUrl::Sqlite(path) => ["", "-wal", "-shm"]
            .iter()
            .flat_map(|suffix| {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                std::fs::read(file).unwrap_or_default()
            })
            .collect(),
        DatabaseUrl::Postgres(url) => {
            let dump = Command::new("pg_dump")
                .args(["--data-only", "--dbname", url])
                .output()
                .expect("pg_dump runs");
            assert!(dump.status.success(), "{}", stderr(&dump));
            let pages = Command::new("psql")
                .args([
                    "--no-psqlrc",
                    "-tA",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "--dbname",
                    url,
                    "-c",
                ])
                .arg(
                    "CREATE EXTENSION IF NOT EXISTS pageinspect; \
                     SELECT get_raw_page('signing_keys', 'main', page::int) FROM \
                     generate_series(0, pg_relation_size('signing_keys') / 8192 - 1) AS page",
                )
                .output()
                .expect("psql runs");
            assert!(pages.status.success(), "{}", stderr(&pages));
            [dump.stdout, pages.stdout].concat()
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Asserts that no form of the private key (PKCS#8 or its 32-byte seed; raw,
/// hex as PostgreSQL writes bytea, or base64) appears in `dump`.
pub fn assert_not_in_dump(dump: &[u8], kid: &str, pkcs8: &[u8]) {
    let seed = ed25519_dalek::SigningKey::from_pkcs8_der(pkcs8)
        .expect("a real Ed25519 key")
        .to_bytes();
    for secret in [pkcs8, seed.as_slice()] {
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        for form in [
            secret.to_vec(),
            hex.into_bytes(),
            STANDARD.encode(secret).into_bytes(),
        ] {
            assert!(
                !contains(dump, &form),
                "private key {kid} readable from the dump"
            );
        }
    }
}

/// Whether anything in `blob` yields a key whose public half is published:
/// the blob as a PKCS#8 document, or any 32 bytes of it as a raw seed.
pub fn recovers_a_published_key(blob: &[u8], published: &[[u8; 32]]) -> bool {
    if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_der(blob) {
        return published.contains(&key.verifying_key().to_bytes());
    }
    blob.windows(32).any(|seed| {
        let seed: [u8; 32] = seed.try_into().expect("32 bytes");
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        published.contains(&public)
    })
}
