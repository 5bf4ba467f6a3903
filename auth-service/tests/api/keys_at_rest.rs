//! API.md §6 "Signing keys at rest": with `KEY_ENCRYPTION_KEY`, no private
//! key can be read from a copy of the database; plaintext keys are sealed at
//! start; a missing or wrong key stops the service and the commands, naming
//! the variable, and changes nothing.

use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use diesel::prelude::*;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use serde_json::Value;

use auth_service::config::Settings;
use auth_service::db::schema::signing_keys;
use auth_service::tokens::KeyEncryptionKey;

use crate::both_backends;
use crate::cli::{auth_service, stderr};
use crate::helpers::*;
use crate::keys::jwks_kids;

fn new_kek() -> String {
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    STANDARD.encode(key)
}

/// Every stored private-key column: what a dump of the database holds.
fn dump(db: &TestDb) -> Vec<Vec<u8>> {
    let pool = auth_service::db::connect(&db.url).expect("pool");
    auth_service::db::with_connection(&pool, |conn| {
        signing_keys::table
            .select(signing_keys::private_key)
            .load(conn)
            .map_err(|e| e.to_string())
    })
    .expect("dump the signing keys")
}

/// The raw public keys the JWKS publishes.
async fn published_public_keys(app: &TestApp) -> Vec<[u8; 32]> {
    let jwks: Value = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            let x = URL_SAFE_NO_PAD
                .decode(k["x"].as_str().expect("x"))
                .expect("b64");
            x.try_into().expect("32 bytes")
        })
        .collect()
}

/// Whether anything in `blob` yields a key whose public half is published:
/// the blob as a PKCS#8 document, or any 32 bytes of it as a raw seed.
fn recovers_a_published_key(blob: &[u8], published: &[[u8; 32]]) -> bool {
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

both_backends! {
    async fn no_published_private_key_can_be_recovered_from_a_dump(backend: Backend) {
        let kek = new_kek();
        let app = spawn_app_with(backend, |s| {
            s.key_encryption_key = Some(KeyEncryptionKey::parse(&kek).expect("kek"));
        })
        .await;
        let output = auth_service(&app.db, &["keys", "rotate"], None, &[("KEY_ENCRYPTION_KEY", &kek)]);
        assert!(output.status.success(), "{}", stderr(&output));
        let published = published_public_keys(&app).await;
        assert_eq!(published.len(), 2);

        let blobs = dump(&app.db);
        assert_eq!(blobs.len(), 2);
        for blob in &blobs {
            assert!(!recovers_a_published_key(blob, &published), "a key is readable from the dump");
        }
        // The keys still sign and verify.
        let tokens = app.register_and_login(&email()).await;
        assert_eq!(app.get_me(&tokens.access).await.status(), 200);
    }

    async fn plaintext_keys_are_sealed_at_start_and_a_wrong_key_changes_nothing(backend: Backend) {
        let plain = spawn_app(backend).await;
        let tokens = plain.register_and_login(&email()).await;
        let kids = jwks_kids(&plain).await;
        let plain_public = published_public_keys(&plain).await;
        plain.stop().await;
        // Without the variable a dump gives the key away: what is fixed here.
        assert!(recovers_a_published_key(&dump(&plain.db)[0], &plain_public));

        let kek = new_kek();
        let mut settings = plain.settings.clone();
        settings.key_encryption_key = Some(KeyEncryptionKey::parse(&kek).expect("kek"));
        let sealed = spawn_on(Arc::clone(&plain.db), settings.clone()).await;
        let public = published_public_keys(&sealed).await;
        assert_eq!(jwks_kids(&sealed).await, kids, "the same key, sealed in place");
        assert!(!recovers_a_published_key(&dump(&sealed.db)[0], &public));
        assert_eq!(sealed.get_me(&tokens.access).await.status(), 200);
        sealed.stop().await;

        // Another key, or none: the service and the commands stop, naming
        // the variable, and nothing is written.
        let before = dump(&sealed.db);
        let mut wrong = settings.clone();
        wrong.key_encryption_key = Some(KeyEncryptionKey::parse(&new_kek()).expect("kek"));
        for attempt in [wrong, Settings { key_encryption_key: None, ..settings }] {
            let err = auth_service::startup::Application::build(attempt)
                .await
                .expect_err("the service must not start");
            assert!(err.contains("KEY_ENCRYPTION_KEY"), "{err}");
        }
        for env in [vec![("KEY_ENCRYPTION_KEY", new_kek())], vec![]] {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let output = auth_service(&sealed.db, &["keys", "rotate"], None, &env);
            assert!(!output.status.success());
            let line = stderr(&output);
            assert!(line.contains("KEY_ENCRYPTION_KEY"), "{line}");
        }
        assert_eq!(dump(&sealed.db), before);
    }
}

#[tokio::test]
async fn a_new_sqlite_database_and_its_folder_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("auth-test-dir-{}", uuid::Uuid::new_v4().simple()));
    let path = dir.join("data").join("auth.db");
    let db = Arc::new(TestDb::at(auth_service::config::DatabaseUrl::Sqlite(
        path.clone(),
    )));
    let settings = test_settings(&db);
    let app = spawn_on(Arc::clone(&db), settings).await;
    app.register_and_login(&email()).await;
    app.stop().await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode();
    assert_eq!(
        mode(&path) & 0o077,
        0,
        "database file mode {:o}",
        mode(&path)
    );
    assert_eq!(
        mode(path.parent().expect("folder")) & 0o077,
        0,
        "folder mode"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
