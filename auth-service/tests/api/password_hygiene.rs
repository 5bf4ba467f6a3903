//! API.md §3: the 10,000 most common passwords are `weak_password` wherever
//! a password is set, and a login upgrades a stored hash of another cost to
//! `BCRYPT_COST`.

use auth_service::db::models::NewUser;
use reqwest::Response;
use serde_json::json;

use crate::cli::{auth_service, stderr};
use crate::helpers::*;

/// The contract's examples, and case variants of them.
const COMMON: [&str; 8] = [
    "password",
    "12345678",
    "iloveyou",
    "qwerty123",
    "PASSWORD",
    "Password",
    "ILoveYou",
    "QWERTY123",
];

/// The cost the test server hashes at; accounts are made at 4 below it.
const SERVER_COST: u32 = 5;

async fn change_password(app: &TestApp, access: &str, current: &str, new: &str) -> Response {
    app.client
        .post(app.url("/auth/password"))
        .bearer_auth(access)
        .json(&json!({ "current_password": current, "new_password": new }))
        .send()
        .await
        .expect("request")
}

async fn password_grant(app: &TestApp, email: &str, password: &str) -> Response {
    app.client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", email),
            ("password", password),
        ])
        .send()
        .await
        .expect("request")
}

/// The cost field of a bcrypt hash (`$2b$05$…`), read without the code
/// under test.
fn cost(hash: &str) -> u32 {
    hash.split('$')
        .nth(2)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not a bcrypt hash: {hash}"))
}

/// An account stored directly with a hash of `password` at cost 4, as an
/// older server (or older rules) would have left it: nothing checks the
/// password on the way in.
fn old_account(app: &TestApp, password: &str) -> String {
    let email = email();
    let hash = bcrypt::hash(password, 4).expect("hash");
    let pool = auth_service::db::connect(&app.db.url).expect("pool");
    auth_service::db::with_connection(&pool, |conn| {
        auth_service::db::users::insert(
            conn,
            &NewUser {
                id: &uuid::Uuid::new_v4().to_string(),
                email: &email,
                password_hash: &hash,
                role: "user",
                created_at: chrono::Utc::now().naive_utc(),
            },
        )
        .map_err(|e| e.to_string())
    })
    .expect("insert")
    .expect("a new email");
    email
}

async fn spawn_at_server_cost(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| s.bcrypt_cost = SERVER_COST).await
}

crate::both_backends! {
    async fn common_passwords_are_refused_at_registration_in_any_case(backend: Backend) {
        let app = spawn_app(backend).await;
        for password in COMMON {
            assert_error(app.post_register(&email(), password).await, 400, "weak_password").await;
        }
        assert!(app.stored_emails().is_empty(), "no account was made");
        // Off the list, a listed password with more to it is accepted.
        assert_eq!(app.post_register(&email(), "iloveyou, Kate").await.status(), 201);
    }

    async fn common_passwords_are_refused_as_a_new_password(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        let tokens = app.register_and_login(&email).await;
        for password in COMMON {
            let response = change_password(&app, &tokens.access, PASSWORD, password).await;
            assert_error(response, 400, "weak_password").await;
        }
        assert_eq!(app.post_login(&email, PASSWORD).await.status(), 200, "the password is unchanged");
        assert_error(app.post_login(&email, "iloveyou").await, 401, "invalid_credentials").await;
    }

    async fn user_create_refuses_a_common_password_with_one_line(backend: Backend) {
        let db = TestDb::new(backend);
        let email = email();
        let args = ["user", "create", "--email", email.as_str(), "--password-stdin"];
        let refused = auth_service(&db, &args, Some("Qwerty123\n"), &[]);
        assert!(!refused.status.success(), "a common password was accepted");
        let message = stderr(&refused);
        assert_eq!(message.trim().lines().count(), 1, "one clear line: {message}");
        assert!(message.contains("password") && message.contains("common"), "{message}");
        // Nothing was stored: the email is still free.
        let created = auth_service(&db, &args, Some(PASSWORD), &[]);
        assert!(created.status.success(), "{}", stderr(&created));
    }

    async fn a_login_stores_a_hash_of_another_cost_again_at_bcrypt_cost(backend: Backend) {
        let app = spawn_at_server_cost(backend).await;
        let email = old_account(&app, PASSWORD);
        let before = app.stored_password_hash(&email);
        assert_eq!(cost(&before), 4);

        assert_error(app.post_login(&email, "not the password").await, 401, "invalid_credentials").await;
        assert_eq!(app.stored_password_hash(&email), before, "a failed login changes nothing");

        assert_eq!(app.post_login(&email, PASSWORD).await.status(), 200);
        let upgraded = app.stored_password_hash(&email);
        assert_eq!(cost(&upgraded), SERVER_COST, "upgraded to BCRYPT_COST");
        assert!(bcrypt::verify(PASSWORD, &upgraded).expect("verify"), "a hash of the same password");

        assert_eq!(app.post_login(&email, PASSWORD).await.status(), 200, "it logs in after the upgrade");
        assert_eq!(app.stored_password_hash(&email), upgraded, "a hash at BCRYPT_COST stays as it is");
    }

    async fn the_password_grant_upgrades_the_hash_too(backend: Backend) {
        let app = spawn_at_server_cost(backend).await;
        let email = old_account(&app, PASSWORD);
        assert_eq!(password_grant(&app, &email, PASSWORD).await.status(), 200);
        assert_eq!(cost(&app.stored_password_hash(&email)), SERVER_COST);
    }

    async fn an_account_with_a_now_common_password_still_logs_in_and_is_upgraded(backend: Backend) {
        let app = spawn_at_server_cost(backend).await;
        let email = old_account(&app, "iloveyou");
        assert_eq!(app.post_login(&email, "iloveyou").await.status(), 200);
        let upgraded = app.stored_password_hash(&email);
        assert_eq!(cost(&upgraded), SERVER_COST);
        assert!(bcrypt::verify("iloveyou", &upgraded).expect("verify"));
    }

    async fn an_upgrade_never_overwrites_a_hash_that_changed_meanwhile(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        app.register_and_login(&email).await;
        let current = app.stored_password_hash(&email);
        let pool = auth_service::db::connect(&app.db.url).expect("pool");
        let id: String = auth_service::db::with_connection(&pool, |conn| {
            auth_service::db::users::find_by_email(conn, &email)
                .map_err(|e| e.to_string())
                .map(|row| row.expect("the user").id)
        })
        .expect("find");
        // An upgrade computed from a hash that a password change has since
        // replaced: the change wins.
        let stale = bcrypt::hash("an older password", 4).expect("hash");
        let late = bcrypt::hash("an older password", 5).expect("hash");
        let changed = auth_service::db::with_connection(&pool, |conn| {
            auth_service::db::users::upgrade_password_hash(conn, &id, &stale, &late)
                .map_err(|e| e.to_string())
        })
        .expect("update");
        assert_eq!(changed, 0);
        assert_eq!(app.stored_password_hash(&email), current);
    }
}
