//! API.md §3, through the HTTP doors: the lockout is exact under
//! concurrency, for `/auth/login` and the password grant of `/oauth/token`
//! alike, and a wrong `current_password` at `/auth/password` is a failed
//! attempt under the same lockout.
//!
//! The races run at a real bcrypt cost, so that the password checks take
//! long enough for every request to be in flight before the first one ends.

use auth_service::db;
use futures_util::future::join_all;
use reqwest::Response;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

const MAX: u32 = 5;
/// Enough simultaneous attempts to overlap many times over.
const ATTEMPTS: usize = 32;
/// Every test client comes from here: the address the lockout counts.
const CLIENT_IP: &str = "127.0.0.1";

/// An app whose password checks take real time (a few ms each even in an
/// optimised bcrypt) and whose lockout is `MAX` failures.
async fn spawn_slow_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| {
        s.bcrypt_cost = 8;
        s.login_max_failures = MAX;
    })
    .await
}

/// A login through the password grant.
pub(super) async fn password_grant(app: &TestApp, email: &str, password: &str) -> Response {
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

pub(super) async fn post_password(
    app: &TestApp,
    access_token: &str,
    current: &str,
    new: &str,
) -> Response {
    app.client
        .post(app.url("/auth/password"))
        .bearer_auth(access_token)
        .json(&json!({ "current_password": current, "new_password": new }))
        .send()
        .await
        .expect("request")
}

/// How the answers of a race came out.
#[derive(Debug, Default)]
struct Tally {
    /// Answers that say the password was checked and wrong: `401
    /// invalid_credentials` at `/auth/*`, `400 invalid_grant` at `/oauth/token`.
    wrong: usize,
    /// `429 too_many_attempts`, each with a `Retry-After` of whole seconds.
    locked: usize,
    /// Anything else, as (status, body).
    other: Vec<(u16, Value)>,
}

async fn tally(responses: Vec<Response>) -> Tally {
    let mut tally = Tally::default();
    for response in responses {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let body: Value = response.json().await.expect("a JSON body");
        match (status, body["error"].as_str()) {
            (401, Some("invalid_credentials")) | (400, Some("invalid_grant")) => tally.wrong += 1,
            (429, Some("too_many_attempts")) if retry_after.is_some_and(|s| s >= 1) => {
                tally.locked += 1;
            }
            _ => tally.other.push((status, body)),
        }
    }
    tally
}

/// The failure rows the database holds for (`email`, the test client).
fn stored_failures(app: &TestApp, email: &str) -> usize {
    let pool = db::connect(&app.db.url).expect("pool");
    let window_start = db::now() - chrono::Duration::days(1);
    db::with_connection(&pool, |conn| {
        db::login_failures::since(conn, email, CLIENT_IP, window_start).map_err(|e| e.to_string())
    })
    .expect("read login failures")
    .len()
}

const CHECKED_AND_WRONG: &str = "auth_login_failures_total{reason=\"invalid_credentials\"}";
const LOCKED: &str = "auth_login_failures_total{reason=\"locked\"}";

both_backends! {
    async fn simultaneous_wrong_logins_through_both_doors_are_checked_at_most_max_times(backend: Backend) {
        let app = spawn_slow_app(backend).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);

        let attempts = (0..ATTEMPTS).map(|i| {
            let (app, email) = (&app, &email);
            async move {
                if i % 2 == 0 {
                    app.post_login(email, "wrong password").await
                } else {
                    password_grant(app, email, "wrong password").await
                }
            }
        });
        let tally = tally(join_all(attempts).await).await;

        assert_eq!(tally.wrong, MAX as usize, "{backend:?}: {tally:?}");
        assert_eq!(tally.locked, ATTEMPTS - MAX as usize, "{backend:?}: {tally:?}");
        assert!(tally.other.is_empty(), "{backend:?}: {tally:?}");
        assert_eq!(stored_failures(&app, &email), MAX as usize, "{backend:?}");
        // Every password check that failed is counted as such, every refusal
        // before one as a lockout: MAX checks in all.
        assert_eq!(app.counter(CHECKED_AND_WRONG).await, f64::from(MAX));
        assert_eq!(app.counter(LOCKED).await, (ATTEMPTS - MAX as usize) as f64);
    }

    async fn simultaneous_logins_for_an_unknown_email_are_checked_at_most_max_times(backend: Backend) {
        let app = spawn_slow_app(backend).await;
        let nobody = email();

        let attempts = (0..ATTEMPTS).map(|_| app.post_login(&nobody, PASSWORD));
        let tally = tally(join_all(attempts).await).await;

        assert_eq!(tally.wrong, MAX as usize, "{backend:?}: {tally:?}");
        assert_eq!(tally.locked, ATTEMPTS - MAX as usize, "{backend:?}: {tally:?}");
        assert_eq!(stored_failures(&app, &nobody), MAX as usize, "{backend:?}");
    }

    async fn successful_logins_leave_no_failure_behind(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.login_max_failures = 2).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);

        for door in 0..4 {
            let status = if door % 2 == 0 {
                app.post_login(&email, PASSWORD).await.status()
            } else {
                password_grant(&app, &email, PASSWORD).await.status()
            };
            assert_eq!(status, 200, "{backend:?}: login {door}");
        }

        assert_eq!(stored_failures(&app, &email), 0, "{backend:?}");
    }

    async fn wrong_current_passwords_lock_out_the_password_change_and_the_login(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.login_max_failures = MAX).await;
        let email = email();
        let tokens = app.register_and_login(&email).await;
        for _ in 0..MAX {
            let wrong = post_password(&app, &tokens.access, "wrong password", "a new password").await;
            assert_error(wrong, 401, "invalid_credentials").await;
        }

        // Locked, even with the right current password.
        let locked = post_password(&app, &tokens.access, PASSWORD, "a new password").await;
        assert!(locked.headers().contains_key("retry-after"), "{backend:?}");
        assert_error(locked, 429, "too_many_attempts").await;
        // The password did not change.
        assert_error(app.post_login(&email, "a new password").await, 429, "too_many_attempts").await;
        // A login for that email from that address is locked out too.
        assert_error(app.post_login(&email, PASSWORD).await, 429, "too_many_attempts").await;
        assert_error(password_grant(&app, &email, PASSWORD).await, 429, "too_many_attempts").await;
    }

    async fn simultaneous_wrong_current_passwords_are_checked_at_most_max_times(backend: Backend) {
        let app = spawn_slow_app(backend).await;
        let email = email();
        let tokens = app.register_and_login(&email).await;

        let attempts = (0..ATTEMPTS)
            .map(|_| post_password(&app, &tokens.access, "wrong password", "a new password"));
        let tally = tally(join_all(attempts).await).await;

        assert_eq!(tally.wrong, MAX as usize, "{backend:?}: {tally:?}");
        assert_eq!(tally.locked, ATTEMPTS - MAX as usize, "{backend:?}: {tally:?}");
        assert!(tally.other.is_empty(), "{backend:?}: {tally:?}");
        assert_eq!(stored_failures(&app, &email), MAX as usize, "{backend:?}");
    }

    async fn right_current_passwords_leave_no_failure_behind(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.login_max_failures = 2).await;
        let email = email();
        let tokens = app.register_and_login(&email).await;
        let passwords = [PASSWORD, "second password", "third password", "fourth password"];

        for pair in passwords.windows(2) {
            let changed = post_password(&app, &tokens.access, pair[0], pair[1]).await;
            assert_eq!(changed.status(), 204, "{backend:?}: {} -> {}", pair[0], pair[1]);
        }

        assert_eq!(stored_failures(&app, &email), 0, "{backend:?}");
        assert_eq!(app.post_login(&email, "fourth password").await.status(), 200);
    }
}
