//! Registration and login rules (API.md §1, §3).

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn registration_returns_the_user_with_a_normalised_email(backend: Backend) {
        let app = spawn_app(backend).await;
        let local = uuid::Uuid::new_v4().simple().to_string();
        let response = app.post_register(&format!("  {local}@Example.COM "), PASSWORD).await;
        assert_eq!(response.status(), 201);
        let user: Value = response.json().await.expect("json");
        assert_eq!(user["email"], format!("{local}@example.com"));
        assert_eq!(user["role"], "user");
        assert!(uuid::Uuid::parse_str(user["id"].as_str().expect("id")).is_ok());
        let created = user["created_at"].as_str().expect("created_at");
        assert!(chrono::DateTime::parse_from_rfc3339(created).is_ok(), "{created}");
        assert!(user.get("password_hash").is_none());
        // Login with another spelling of the same address works.
        let login = app.post_login(&format!("{}@EXAMPLE.com", local.to_uppercase()), PASSWORD).await;
        assert_eq!(login.status(), 200);
    }

    async fn an_email_can_hold_only_one_account_whatever_its_case(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        assert_error(app.post_register(&email.to_uppercase(), PASSWORD).await, 409, "email_taken").await;
    }

    async fn racing_registrations_of_one_email_create_one_account(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        // Spelled in different cases and paddings: all one address once normalised.
        let spellings: Vec<String> = (0..16)
            .map(|i| match i % 4 {
                0 => email.clone(),
                1 => email.to_uppercase(),
                2 => format!("  {email} "),
                _ => email.replacen("user", "USER", 1),
            })
            .collect();
        let responses = futures_util::future::join_all(spellings.iter().map(|e| app.post_register(e, PASSWORD))).await;
        let mut created = 0;
        for response in responses {
            if response.status() == 201 {
                created += 1;
            } else {
                assert_error(response, 409, "email_taken").await;
            }
        }
        assert_eq!(created, 1, "exactly one registration wins");
        assert_eq!(app.stored_emails(), [email], "one account in the database");
    }

    async fn invalid_emails_and_weak_passwords_are_refused(backend: Backend) {
        let app = spawn_app(backend).await;
        assert_error(app.post_register("not-an-email", PASSWORD).await, 400, "invalid_email").await;
        assert_error(app.post_register(&email(), "short").await, 400, "weak_password").await;
        assert_error(app.post_register(&email(), &"a".repeat(73)).await, 400, "weak_password").await;
        // 72 bytes is bcrypt's limit in bytes, not characters: 25 × '€' is 75 bytes.
        assert_error(app.post_register(&email(), &"€".repeat(25)).await, 400, "weak_password").await;
        assert_eq!(app.post_register(&email(), &"a".repeat(72)).await.status(), 201);
    }

    async fn a_password_past_72_bytes_never_logs_in_by_its_prefix(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        let password = "p".repeat(72);
        assert_eq!(app.post_register(&email, &password).await.status(), 201);
        assert_eq!(app.post_login(&email, &password).await.status(), 200);
        let longer = format!("{password}extra");
        assert_error(app.post_login(&email, &longer).await, 401, "invalid_credentials").await;
    }

    async fn malformed_bodies_are_invalid_requests(backend: Backend) {
        let app = spawn_app(backend).await;
        for path in ["/auth/register", "/auth/login"] {
            assert_error(app.post_json(path, &json!({ "email": "a@b.example" })).await, 400, "invalid_request").await;
            assert_error(app.post_json(path, &json!({ "email": 5, "password": PASSWORD })).await, 400, "invalid_request").await;
            assert_error(app.post_json(path, &json!([1, 2])).await, 400, "invalid_request").await;
            let broken = app
                .client
                .post(app.url(path))
                .header("content-type", "application/json")
                .body("{\"email\":")
                .send()
                .await
                .expect("request");
            assert_error(broken, 400, "invalid_request").await;
        }
    }

    async fn wrong_password_and_unknown_email_look_the_same(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let wrong = assert_error(app.post_login(&email, "wrong password").await, 401, "invalid_credentials").await;
        let unknown = assert_error(app.post_login(&self::email(), PASSWORD).await, 401, "invalid_credentials").await;
        let garbage = assert_error(app.post_login("not an email", PASSWORD).await, 401, "invalid_credentials").await;
        assert_eq!(wrong, unknown);
        assert_eq!(wrong, garbage);
    }

    async fn registration_can_be_disabled(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.allow_registration = false).await;
        assert_error(app.post_register(&email(), PASSWORD).await, 403, "registration_disabled").await;
    }

    async fn me_returns_the_callers_account(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        let tokens = app.register_and_login(&email).await;
        let me = app.get_me(&tokens.access).await;
        assert_eq!(me.status(), 200);
        let me: Value = me.json().await.expect("json");
        assert_eq!(me["email"], email.as_str());
        assert_eq!(me["id"], tokens.body["user"]["id"]);
        assert_eq!(me["role"], "user");
        assert!(me["created_at"].is_string());
        let anonymous = app.client.get(app.url("/auth/me")).send().await.expect("request");
        let challenge = anonymous.headers()["www-authenticate"].to_str().expect("ascii").to_owned();
        assert_eq!(challenge, "Bearer realm=\"auth-service\"");
        assert_eq!(anonymous.status(), 401);
    }
}
