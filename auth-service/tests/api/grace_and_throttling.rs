//! Reuse grace (API.md §2) and login throttling (API.md §3).

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::both_backends;
use crate::helpers::*;
use crate::rotation::{RACERS, SESSIONS};

fn client_from(address: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn login_from(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(app.url("/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("request")
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("Retry-After is whole seconds")
}

both_backends! {
    async fn within_the_grace_a_rotated_token_refreshes_again_and_supersedes_its_successor(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.refresh_reuse_grace = Duration::from_secs(30)).await;
        let tokens = app.register_and_login(&email()).await;
        let first = Tokens::from_response(app.post_refresh(&tokens.refresh).await).await;
        // The response was "lost": the client presents the old token again.
        let second = Tokens::from_response(app.post_refresh(&tokens.refresh).await).await;
        assert_eq!(second.body["user"], first.body["user"]);
        // The superseded successor fails without ending the session...
        assert_error(app.post_refresh(&first.refresh).await, 401, "invalid_grant").await;
        // ...so the newest one still works.
        let third = Tokens::from_response(app.post_refresh(&second.refresh).await).await;
        assert_eq!(app.get_me(&third.access).await.status(), 200);
    }

    async fn once_the_successor_is_used_the_old_token_is_reuse_even_within_the_grace(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.refresh_reuse_grace = Duration::from_secs(30)).await;
        let tokens = app.register_and_login(&email()).await;
        let first = Tokens::from_response(app.post_refresh(&tokens.refresh).await).await;
        let second = Tokens::from_response(app.post_refresh(&first.refresh).await).await;
        assert_error(app.post_refresh(&tokens.refresh).await, 401, "invalid_grant").await;
        assert_error(app.post_refresh(&second.refresh).await, 401, "invalid_grant").await;
    }

    async fn past_the_grace_a_rotated_token_is_reuse(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.refresh_reuse_grace = Duration::from_secs(1)).await;
        let tokens = app.register_and_login(&email()).await;
        let first = Tokens::from_response(app.post_refresh(&tokens.refresh).await).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_error(app.post_refresh(&tokens.refresh).await, 401, "invalid_grant").await;
        assert_error(app.post_refresh(&first.refresh).await, 401, "invalid_grant").await;
    }

    async fn with_a_grace_racing_refreshes_leave_exactly_one_usable_token(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.refresh_reuse_grace = Duration::from_secs(30)).await;
        let sessions = app.open_sessions(SESSIONS).await;
        // Ten sessions race at a time: the grace path holds the session row
        // while its racers wait, and all fifty at once outwait the pool's
        // 2 s checkout on a busy machine (503s, which this test is not about).
        let mut answers = Vec::new();
        for wave in sessions.chunks(10) {
            answers.extend(app.race_refreshes(wave, RACERS).await);
        }

        // Counted in the database before anyone presents a returned token:
        // per session, the login's token is used, every racer got a successor,
        // all but one of them superseded, and the session lives.
        let stored = app.stored_sessions();
        assert_eq!(stored.len(), SESSIONS);
        for tokens in &sessions {
            let session = &stored[&session_id_of(&tokens.access)];
            assert!(!session.revoked, "{session:?}");
            assert_eq!(session.tokens.len(), 1 + RACERS, "{session:?}");
            assert_eq!(session.tokens.iter().filter(|t| t.used).count(), 1, "{session:?}");
            assert_eq!(session.tokens.iter().filter(|t| t.is_live()).count(), 1, "{session:?}");
        }

        // And through the API: sessions probed side by side, each one's
        // returned tokens in turn.
        let app = &app;
        let probes = answers.iter().map(|answers| async move {
            let mut usable = Vec::new();
            for (status, body) in answers {
                assert_eq!(*status, 200, "within the grace every racing refresh succeeds: {body}");
                let refresh = body["refresh_token"].as_str().expect("refresh_token");
                let response = app.post_refresh(refresh).await;
                if response.status() == 200 {
                    usable.push(Tokens::from_response(response).await);
                } else {
                    assert_error(response, 401, "invalid_grant").await;
                }
            }
            assert_eq!(usable.len(), 1, "exactly one returned token stays usable");
            // Presenting the superseded ones did not end the session.
            assert_eq!(app.post_refresh(&usable[0].refresh).await.status(), 200);
        });
        join_all(probes).await;
    }

    async fn failed_logins_lock_out_that_email_from_that_address_only(backend: Backend) {
        let app = spawn_app_with(backend, |s| {
            s.login_max_failures = 3;
            s.login_failure_window = Duration::from_secs(3);
        })
        .await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let attacker = client_from(Ipv4Addr::new(127, 0, 0, 1));
        for _ in 0..3 {
            assert_error(login_from(&app, &attacker, &email, "wrong password").await, 401, "invalid_credentials").await;
        }
        // Locked, even with the right password.
        let locked = login_from(&app, &attacker, &email, PASSWORD).await;
        let wait = retry_after(&locked);
        assert!((1..=3).contains(&wait), "Retry-After {wait}");
        assert_error(locked, 429, "too_many_attempts").await;

        // Another address is not locked out, so nobody can lock a user out from afar.
        let owner = client_from(Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(login_from(&app, &owner, &email, PASSWORD).await.status(), 200);
        // Another email from the locked address is not locked either.
        let other = self::email();
        assert_eq!(app.post_register(&other, PASSWORD).await.status(), 201);
        assert_eq!(login_from(&app, &attacker, &other, PASSWORD).await.status(), 200);

        // Once the window has passed, the right password works again.
        tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
        assert_eq!(login_from(&app, &attacker, &email, PASSWORD).await.status(), 200);
    }

    async fn unknown_emails_are_throttled_like_known_ones(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.login_max_failures = 2).await;
        let nobody = email();
        for _ in 0..2 {
            assert_error(app.post_login(&nobody, PASSWORD).await, 401, "invalid_credentials").await;
        }
        assert_error(app.post_login(&nobody, PASSWORD).await, 429, "too_many_attempts").await;
        // Another spelling of the same address is the same key.
        assert_error(app.post_login(&nobody.to_uppercase(), PASSWORD).await, 429, "too_many_attempts").await;
    }

    async fn a_successful_login_resets_the_failure_count(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.login_max_failures = 3).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        for _ in 0..2 {
            assert_eq!(app.post_login(&email, "wrong password").await.status(), 401);
        }
        assert_eq!(app.post_login(&email, PASSWORD).await.status(), 200);
        for _ in 0..2 {
            assert_eq!(app.post_login(&email, "wrong password").await.status(), 401);
        }
        assert_eq!(app.post_login(&email, PASSWORD).await.status(), 200);
    }

    async fn replicas_on_one_database_share_the_lockout(backend: Backend) {
        let first = spawn_app_with(backend, |s| s.login_max_failures = 3).await;
        let second = spawn_on(first.db.clone(), first.settings.clone()).await;
        let email = email();
        assert_eq!(first.post_register(&email, PASSWORD).await.status(), 201);
        for replica in [&first, &second, &first] {
            assert_eq!(replica.post_login(&email, "wrong password").await.status(), 401);
        }
        assert_error(second.post_login(&email, PASSWORD).await, 429, "too_many_attempts").await;
        // And across a restart.
        second.stop().await;
        let third = spawn_on(first.db.clone(), first.settings.clone()).await;
        assert_error(third.post_login(&email, PASSWORD).await, 429, "too_many_attempts").await;
    }
}

/// Unknown email and wrong password must cost the same bcrypt work, so that
/// response time does not reveal which accounts exist. At cost 10 one bcrypt
/// takes tens of milliseconds; a path that skipped it would take about one.
/// This compares the two paths with each other (a ratio with a wide margin),
/// not against a clock budget.
#[tokio::test]
async fn an_unknown_email_costs_the_same_bcrypt_work_as_a_wrong_password() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.bcrypt_cost = 10;
        s.login_max_failures = 1000;
    })
    .await;
    let email = email();
    assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
    // Warm up (the dummy hash is made on first use).
    app.post_login(&self::email(), PASSWORD).await;

    let mut wrong = Duration::ZERO;
    let mut unknown = Duration::ZERO;
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(app.post_login(&email, "wrong password").await.status(), 401);
        wrong += started.elapsed();
        let started = Instant::now();
        assert_eq!(
            app.post_login(&self::email(), "wrong password")
                .await
                .status(),
            401
        );
        unknown += started.elapsed();
    }
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!(
        ratio > 0.5 && ratio < 2.0,
        "unknown {unknown:?} vs wrong {wrong:?}"
    );
}
