//! API.md §3: the 10,000 most common passwords are `weak_password` wherever
//! a password is set.

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

async fn change_password(app: &TestApp, access: &str, current: &str, new: &str) -> Response {
    app.client
        .post(app.url("/auth/password"))
        .bearer_auth(access)
        .json(&json!({ "current_password": current, "new_password": new }))
        .send()
        .await
        .expect("request")
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
}
