//! The command line (API.md §6) and configuration failures (§5), run as the
//! real binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use auth_service::config::DatabaseUrl;

use crate::helpers::*;

pub fn database_url(db: &TestDb) -> String {
    match &db.url {
        DatabaseUrl::Postgres(url) => url.clone(),
        DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
    }
}

pub fn auth_service(
    db: &TestDb,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-service"));
    command
        .args(args)
        .env("DATABASE_URL", database_url(db))
        .env("BCRYPT_COST", "4")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("spawn auth-service");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("wait")
}

/// How many signing keys the database holds.
fn stored_signing_keys(db: &TestDb) -> i64 {
    use auth_service::db::schema::signing_keys;
    use diesel::prelude::*;

    let pool = auth_service::db::connect(&db.url).expect("pool");
    auth_service::db::with_connection(&pool, |conn| {
        signing_keys::table
            .count()
            .get_result(conn)
            .map_err(|e| e.to_string())
    })
    .expect("count the signing keys")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

crate::both_backends! {
    async fn user_create_makes_an_account_that_can_log_in(backend: Backend) {
        let db = std::sync::Arc::new(TestDb::new(backend));
        let email = email();
        let created = auth_service(
            &db,
            &["user", "create", "--email", &email, "--role", "admin", "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
            &[],
        );
        assert!(created.status.success(), "{}", stderr(&created));

        let app = spawn_on(db.clone(), test_settings(&db)).await;
        // The trailing newline was dropped: the password is exactly PASSWORD.
        let tokens = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        assert_eq!(tokens.body["user"]["role"], "admin");

        let again = auth_service(&db, &["user", "create", "--email", &email, "--password-stdin"], Some(PASSWORD), &[]);
        assert!(!again.status.success());
        let message = stderr(&again);
        assert_eq!(message.trim().lines().count(), 1, "one clear line: {message}");
        assert!(message.contains("exists"), "{message}");
    }

    async fn user_create_refuses_bad_input_with_one_line(backend: Backend) {
        let db = TestDb::new(backend);
        let cases: [(&[&str], &str, &str); 4] = [
            (&["user", "create", "--email", "nope", "--password-stdin"], PASSWORD, "email"),
            (&["user", "create", "--email", "a@b.example", "--password-stdin"], "short", "password"),
            (&["user", "create", "--email", "a@b.example", "--role", "root", "--password-stdin"], PASSWORD, "role"),
            (&["user", "create", "--email", "a@b.example"], PASSWORD, "password-stdin"),
        ];
        for (args, input, expected) in cases {
            let output = auth_service(&db, args, Some(input), &[]);
            assert!(!output.status.success(), "{args:?} succeeded");
            let message = stderr(&output);
            assert!(message.contains(expected), "{args:?}: {message}");
        }
    }

    async fn user_set_role_changes_the_role_at_the_next_refresh(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        let tokens = app.register_and_login(&email).await;
        let output = auth_service(&app.db, &["user", "set-role", "--email", &email.to_uppercase(), "--role", "admin"], None, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let refreshed = Tokens::from_response(app.post_refresh(&tokens.refresh).await).await;
        assert_eq!(refreshed.body["user"]["role"], "admin");

        for (args, expected) in [
            (vec!["user", "set-role", "--email", &email, "--role", "root"], "role"),
            (vec!["user", "set-role", "--email", "nobody@example.com", "--role", "admin"], "no user"),
        ] {
            let output = auth_service(&app.db, &args, None, &[]);
            assert!(!output.status.success(), "{args:?}");
            let message = stderr(&output);
            assert!(message.contains(expected), "{args:?}: {message}");
        }
    }

    async fn a_deleted_user_cannot_refresh_or_log_in(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        let tokens = app.register_and_login(&email).await;
        let output = auth_service(&app.db, &["user", "delete", "--email", &email], None, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert_error(app.post_refresh(&tokens.refresh).await, 401, "invalid_grant").await;
        assert_error(app.post_login(&email, PASSWORD).await, 401, "invalid_credentials").await;
        assert_error(app.get_me(&tokens.access).await, 401, "invalid_token").await;

        let again = auth_service(&app.db, &["user", "delete", "--email", &email], None, &[]);
        assert!(!again.status.success());
        let message = stderr(&again);
        assert_eq!(message.trim().lines().count(), 1, "{message}");
        assert!(message.contains("no user"), "{message}");
    }

    async fn user_create_on_a_fresh_database_makes_no_signing_key(backend: Backend) {
        let db = TestDb::new(backend);
        let output = auth_service(
            &db,
            &["user", "create", "--email", &email(), "--password-stdin"],
            Some(PASSWORD),
            &[],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(stored_signing_keys(&db), 0, "only serve and keys make keys");
    }

    async fn migrate_applies_the_schema_and_exits(backend: Backend) {
        let db = TestDb::new(backend);
        let output = auth_service(&db, &["migrate"], None, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let twice = auth_service(&db, &["migrate"], None, &[]);
        assert!(twice.status.success(), "migrate is idempotent: {}", stderr(&twice));
    }
}

#[test]
fn a_bad_setting_stops_the_service_with_a_line_naming_the_variable() {
    let db = TestDb::new(Backend::Sqlite);
    for (variable, value) in [
        ("ACCESS_TOKEN_TTL", "soon"),
        ("BCRYPT_COST", "99"),
        ("DATABASE_URL", "mysql://127.0.0.1/auth"),
        ("COOKIE_SECURE", "perhaps"),
    ] {
        let output = auth_service(&db, &["serve"], None, &[(variable, value)]);
        assert!(!output.status.success(), "{variable}={value} was accepted");
        let message = stderr(&output);
        assert_eq!(message.trim().lines().count(), 1, "{message}");
        assert!(message.contains(variable), "{message}");
    }
}

#[test]
fn an_unreachable_database_is_a_clear_failure() {
    let db = TestDb::new(Backend::Sqlite);
    let output = auth_service(
        &db,
        &["migrate"],
        None,
        &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nothing")],
    );
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("DATABASE_URL") || message.contains("connect"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
}
