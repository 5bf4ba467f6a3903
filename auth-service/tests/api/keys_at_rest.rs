//! API.md §6 "Signing keys at rest": with `KEY_ENCRYPTION_KEY`, no private
//! key can be read from a copy of the database, even one that was stored in
//! plaintext before and sealed in place at start; a missing or wrong key
//! stops the service and the commands, naming the variable, and changes
//! nothing.

use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use diesel::prelude::*;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use serde_json::Value;

use auth_service::config::DatabaseUrl;
use auth_service::tokens::{self, KeyEncryptionKey};

use crate::both_backends;
use crate::cli::{auth_service, database_url, stderr};
use crate::helpers::*;

mod copies;
use crate::keys::jwks_kids;
use copies::{assert_not_in_dump, file_dump, recovers_a_published_key, stored_keys};

fn new_kek() -> String {
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    STANDARD.encode(key)
}

fn kek(base64: &str) -> KeyEncryptionKey {
    KeyEncryptionKey::parse(base64).expect("kek")
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

/// Runs the real binary; a command that has not ended after 30 s (a server
/// that started when it should not have) is killed and fails the test.
fn run_bounded(db: &TestDb, args: &[&str], kek: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-service"));
    command
        .args(args)
        .env("DATABASE_URL", database_url(db))
        .env("AUTH_BIND", "127.0.0.1:0")
        .env("BCRYPT_COST", "4")
        .env("RUST_LOG", "warn")
        .env_remove("KEY_ENCRYPTION_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(kek) = kek {
        command.env("KEY_ENCRYPTION_KEY", kek);
    }
    let mut child = command.spawn().expect("spawn auth-service");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let output = child.wait_with_output().expect("wait");
            panic!("{args:?} kept running: {}", stderr(&output));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

fn assert_stopped_naming_the_variable(output: &Output, what: &str) {
    assert!(!output.status.success(), "{what} succeeded");
    let message = stderr(output);
    assert_eq!(
        message.trim().lines().count(),
        1,
        "{what}: one line: {message}"
    );
    assert!(message.contains("KEY_ENCRYPTION_KEY"), "{what}: {message}");
    assert!(!message.contains("panicked"), "{what}: {message}");
}

both_backends! {
    async fn no_published_private_key_can_be_recovered_from_a_dump(backend: Backend) {
        let kek_base64 = new_kek();
        let app = spawn_app_with(backend, |s| s.key_encryption_key = Some(kek(&kek_base64))).await;
        let output = auth_service(&app.db, &["keys", "rotate"], None, &[("KEY_ENCRYPTION_KEY", &kek_base64)]);
        assert!(output.status.success(), "{}", stderr(&output));
        let published = published_public_keys(&app).await;
        assert_eq!(published.len(), 2);

        let rows = stored_keys(&app.db);
        assert_eq!(rows.len(), 2);
        let dump = file_dump(&app.db);
        for (kid, stored) in &rows {
            assert!(!recovers_a_published_key(stored, &published), "key {kid} readable from its row");
            let pkcs8 = tokens::open_private_key(Some(&kek(&kek_base64)), kid, stored).expect("opens");
            assert_not_in_dump(&dump, kid, &pkcs8);
        }
        // The keys still sign and verify.
        let tokens = app.register_and_login(&email()).await;
        assert_eq!(app.get_me(&tokens.access).await.status(), 200);
    }

    async fn plaintext_keys_are_sealed_in_place_at_start_and_leave_no_copy_behind(backend: Backend) {
        let plain = spawn_app(backend).await;
        let tokens = plain.register_and_login(&email()).await;
        // Two keys: the older one's old bytes are not at the edge of the free
        // space, where SQLite's next write would cover them anyway.
        let rotated = auth_service(&plain.db, &["keys", "rotate"], None, &[]);
        assert!(rotated.status.success(), "{}", stderr(&rotated));
        let kids = jwks_kids(&plain).await;
        assert_eq!(kids.len(), 2);
        let plain_public = published_public_keys(&plain).await;
        plain.stop().await;
        let before = stored_keys(&plain.db);
        // Without the variable a dump gives the key away: what is fixed here.
        assert!(recovers_a_published_key(&before[0].1, &plain_public));

        let mut settings = plain.settings.clone();
        settings.key_encryption_key = Some(kek(&new_kek()));
        let sealed = spawn_on(Arc::clone(&plain.db), settings).await;
        let public = published_public_keys(&sealed).await;
        assert_eq!(jwks_kids(&sealed).await, kids, "the same key, sealed in place");
        // Tokens it signed before still verify and refresh.
        assert_eq!(sealed.get_me(&tokens.access).await.status(), 200);
        assert_eq!(sealed.post_refresh(&tokens.refresh).await.status(), 200);

        let after = stored_keys(&sealed.db);
        assert_eq!(after.len(), before.len());
        let dump = file_dump(&sealed.db);
        for ((kid, plain_key), (same_kid, stored)) in before.iter().zip(&after) {
            assert_eq!(kid, same_kid);
            assert!(tokens::is_sealed(stored), "key {kid} still in the clear");
            assert!(!recovers_a_published_key(stored, &public));
            assert_not_in_dump(&dump, kid, plain_key);
        }
        sealed.stop().await;
    }

    async fn a_wrong_or_missing_key_stops_the_commands_that_need_keys_and_changes_nothing(backend: Backend) {
        let kek_base64 = new_kek();
        let app = spawn_app_with(backend, |s| s.key_encryption_key = Some(kek(&kek_base64))).await;
        let kid = jwks_kids(&app).await.remove(0);
        app.stop().await;
        let db = Arc::clone(&app.db);
        let before = stored_keys(&db);
        assert_eq!(before.len(), 1);

        let wrong = new_kek();
        // `--kid=K`: a kid may begin with `-`.
    let kid_arg = format!("--kid={kid}");
    let revoke = ["keys", "revoke", &kid_arg];
        for (key, what) in [(Some(wrong.as_str()), "a wrong key"), (None, "no key")] {
            for args in [&["serve"][..], &["keys", "rotate"][..], &revoke[..]] {
                let output = run_bounded(&db, args, key);
                assert_stopped_naming_the_variable(&output, &format!("{args:?} with {what}"));
                assert_eq!(stored_keys(&db), before, "{args:?} with {what} changed the keys");
            }
        }

        // Commands that need no key still work without it.
        let migrated = run_bounded(&db, &["migrate"], None);
        assert!(migrated.status.success(), "{}", stderr(&migrated));
        let user = auth_service(&db, &["user", "create", "--email", &email(), "--password-stdin"], Some(PASSWORD), &[]);
        assert!(user.status.success(), "{}", stderr(&user));

        // And the right key opens them all.
        let rotated = run_bounded(&db, &["keys", "rotate"], Some(&kek_base64));
        assert!(rotated.status.success(), "{}", stderr(&rotated));
        let revoked = run_bounded(&db, &revoke, Some(&kek_base64));
        assert!(revoked.status.success(), "{}", stderr(&revoked));
        let after = stored_keys(&db);
        assert_eq!(after.len(), 1);
        assert!(after.iter().all(|(k, stored)| *k != kid && tokens::is_sealed(stored)));
    }

    async fn a_malformed_key_is_a_configuration_error_even_with_no_keys_stored(backend: Backend) {
        let db = TestDb::new(backend);
        let good = new_kek();
        for value in ["not base64!", "c2hvcnQ=", &good[..40]] {
            for args in [&["serve"][..], &["keys", "rotate"][..]] {
                let output = run_bounded(&db, args, Some(value));
                assert_stopped_naming_the_variable(&output, &format!("{args:?} with {value:?}"));
            }
        }
    }

    async fn without_the_key_keys_are_stored_as_before_and_the_start_says_so_once(backend: Backend) {
        use std::io::{BufRead, BufReader};

        let db = TestDb::new(backend);
        let mut child = Command::new(env!("CARGO_BIN_EXE_auth-service"))
            .arg("serve")
            .env("DATABASE_URL", database_url(&db))
            .env("AUTH_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .env_remove("KEY_ENCRYPTION_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn auth-service");
        let stderr = child.stderr.take().expect("stderr");
        let (lines, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let warning = received.recv_timeout(Duration::from_secs(30));
        // Anything more within a moment would be a second line.
        let more = received.recv_timeout(Duration::from_millis(500));
        let _ = child.kill();
        let _ = child.wait();

        let warning = warning.expect("a warning line at start");
        assert!(warning.contains("KEY_ENCRYPTION_KEY is not set"), "{warning}");
        assert!(warning.contains("unencrypted"), "{warning}");
        assert!(more.is_err(), "a second line: {more:?}");
        let rows = stored_keys(&db);
        assert_eq!(rows.len(), 1);
        assert!(!tokens::is_sealed(&rows[0].1));
        ed25519_dalek::SigningKey::from_pkcs8_der(&rows[0].1).expect("plain PKCS#8, as before");
    }
}

#[tokio::test]
async fn a_new_sqlite_database_its_logs_and_the_folder_made_for_it_are_owner_only() {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};

    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let root =
        std::env::temp_dir().join(format!("auth-test-dir-{}", uuid::Uuid::new_v4().simple()));
    // A folder the operator made keeps its mode; the one made for the file is 0700.
    std::fs::DirBuilder::new()
        .mode(0o755)
        .create(&root)
        .expect("operator's folder");
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let made = root.join("data");
    let path = made.join("auth.db");
    let db = Arc::new(TestDb::at(DatabaseUrl::Sqlite(path.clone())));
    let app = spawn_on(Arc::clone(&db), test_settings(&db)).await;
    app.register_and_login(&email()).await;

    assert_eq!(mode(&root), 0o755);
    assert_eq!(mode(&made), 0o700);
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        assert_eq!(mode(std::path::Path::new(&file)), 0o600, "auth.db{suffix}");
    }
    app.stop().await;
    let _ = std::fs::remove_dir_all(&root);
}

/// PostgreSQL's `VACUUM FULL` keeps a dead row version that an older
/// transaction may still see: the purge waits for it to end.
#[tokio::test]
async fn an_older_transaction_delays_but_does_not_prevent_the_purge_on_postgres() {
    use diesel::connection::SimpleConnection;

    let plain = spawn_app(Backend::Postgres).await;
    plain.stop().await;
    let before = stored_keys(&plain.db);
    let DatabaseUrl::Postgres(url) = &plain.db.url else {
        unreachable!("a PostgreSQL database")
    };
    // A transaction with an id older than the sealing, ending a moment later.
    let mut older = diesel::PgConnection::establish(url).expect("connect");
    older
        .batch_execute("BEGIN; SELECT txid_current();")
        .expect("older transaction");
    let ends = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(600));
        older.batch_execute("COMMIT").expect("commit");
    });

    let mut settings = plain.settings.clone();
    settings.key_encryption_key = Some(kek(&new_kek()));
    let sealed = spawn_on(Arc::clone(&plain.db), settings).await;
    ends.join().expect("older transaction ended");
    let dump = file_dump(&sealed.db);
    for (kid, plain_key) in &before {
        assert_not_in_dump(&dump, kid, plain_key);
    }
    sealed.stop().await;
}
