//! Refresh-token rotation, reuse detection and session lifetimes (API.md §2).

use std::time::Duration;

use serde_json::Value;

use crate::both_backends;
use crate::helpers::*;

/// Sessions racing at once in the race tests, and refreshes racing per session.
pub const SESSIONS: usize = 50;
pub const RACERS: usize = 8;

both_backends! {
    async fn a_refresh_issues_a_new_pair_and_kills_the_old_token(backend: Backend) {
        let app = spawn_app(backend).await;
        let tokens = app.register_and_login(&email()).await;
        let response = app.post_refresh(&tokens.refresh).await;
        assert_eq!(response.headers()["cache-control"], "no-store");
        let next = Tokens::from_response(response).await;
        assert_ne!(next.access, tokens.access);
        assert_ne!(next.refresh, tokens.refresh);
        assert_eq!(next.body["token_type"], "Bearer");
        assert_eq!(app.get_me(&next.access).await.status(), 200);
        // The successor keeps working while nobody reuses anything.
        let third = Tokens::from_response(app.post_refresh(&next.refresh).await).await;
        assert_eq!(app.get_me(&third.access).await.status(), 200);
    }

    async fn reused_refresh_token_revokes_the_whole_session(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        let stolen = app.register_and_login(&email).await;
        let other_session = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        let legit = Tokens::from_response(app.post_refresh(&stolen.refresh).await).await;

        assert_error(app.post_refresh(&stolen.refresh).await, 401, "invalid_grant").await;
        // The successor died with the session...
        assert_error(app.post_refresh(&legit.refresh).await, 401, "invalid_grant").await;
        // ...but the user's other session is untouched.
        assert_eq!(app.post_refresh(&other_session.refresh).await.status(), 200);
    }

    async fn in_each_of_fifty_sessions_exactly_one_of_eight_racing_refreshes_wins(backend: Backend) {
        let app = spawn_app(backend).await;
        let sessions = app.open_sessions(SESSIONS).await;
        // All 400 requests at once: races inside each session and load across them.
        let answers = app.race_refreshes(&sessions, RACERS).await;

        let mut winners = Vec::new();
        for answers in &answers {
            let mut won = Vec::new();
            for (status, body) in answers {
                match status {
                    200 => won.push(body["refresh_token"].as_str().expect("refresh_token").to_owned()),
                    401 => assert_eq!(body["error"], "invalid_grant", "{body}"),
                    other => panic!("unexpected status {other}: {body}"),
                }
            }
            let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
            assert_eq!(won.len(), 1, "exactly one refresh wins: {statuses:?}");
            winners.extend(won);
        }

        // Counted where the database decided, before anyone presents a token
        // again: per session, the login's token was used once, exactly one
        // successor was issued, and the session is revoked.
        let stored = app.stored_sessions();
        assert_eq!(stored.len(), SESSIONS);
        for tokens in &sessions {
            let session = &stored[&session_id_of(&tokens.access)];
            assert!(session.revoked, "{session:?}");
            assert_eq!(session.tokens.len(), 2, "one successor, no double spend: {session:?}");
            assert_eq!(session.tokens.iter().filter(|t| t.used).count(), 1, "{session:?}");
        }

        // The losers were reuse: the session is over, the winner's token too.
        for (tokens, winner) in sessions.iter().zip(&winners) {
            assert_error(app.post_refresh(winner).await, 401, "invalid_grant").await;
            assert_error(app.post_refresh(&tokens.refresh).await, 401, "invalid_grant").await;
        }
    }

    async fn the_cookie_carries_the_refresh_token_and_the_body_wins_over_it(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        let first = app.register_and_login(&email).await;
        let second = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;

        // Cookie only.
        let via_cookie = app
            .client
            .post(app.url("/auth/refresh"))
            .header("cookie", format!("refresh_token={}", first.refresh))
            .send()
            .await
            .expect("request");
        let cookie = via_cookie.headers()["set-cookie"].to_str().expect("ascii").to_owned();
        let rotated = Tokens::from_response(via_cookie).await;
        assert!(cookie.contains(&format!("refresh_token={}", rotated.refresh)), "{cookie}");

        // Body and cookie: the body's token is the one rotated.
        let both = app
            .client
            .post(app.url("/auth/refresh"))
            .header("cookie", format!("refresh_token={}", rotated.refresh))
            .json(&serde_json::json!({ "refresh_token": second.refresh }))
            .send()
            .await
            .expect("request");
        let from_body = Tokens::from_response(both).await;
        assert_eq!(from_body.body["user"]["email"], email.as_str());
        // The cookie's token was not touched, so it still refreshes.
        assert_eq!(app.post_refresh(&rotated.refresh).await.status(), 200);
        // The body's token was used.
        assert_error(app.post_refresh(&second.refresh).await, 401, "invalid_grant").await;
    }

    async fn a_null_body_is_no_body_so_the_cookie_is_used(backend: Backend) {
        // The OpenAPI document allows `null` for the optional body of both
        // routes; schemathesis sends it.
        let app = spawn_app(backend).await;
        let tokens = app.register_and_login(&email()).await;
        let with_null_body = |path: &str, refresh: &str| {
            app.client
                .post(app.url(path))
                .header("content-type", "application/json")
                .header("cookie", format!("refresh_token={refresh}"))
                .body("null")
                .send()
        };
        let refreshed = with_null_body("/auth/refresh", &tokens.refresh).await.expect("request");
        let next = Tokens::from_response(refreshed).await;
        let logout = with_null_body("/auth/logout", &next.refresh).await.expect("request");
        assert_eq!(logout.status(), 204);
        assert_error(app.post_refresh(&next.refresh).await, 401, "invalid_grant").await;
    }

    async fn a_refresh_without_any_token_is_a_bad_request(backend: Backend) {
        let app = spawn_app(backend).await;
        let empty = app.client.post(app.url("/auth/refresh")).send().await.expect("request");
        assert_error(empty, 400, "invalid_request").await;
        assert_error(app.post_json("/auth/refresh", &serde_json::json!({})).await, 400, "invalid_request").await;
        let malformed = app
            .client
            .post(app.url("/auth/refresh"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .expect("request");
        assert_error(malformed, 400, "invalid_request").await;
        assert_error(app.post_refresh("made-up-token").await, 401, "invalid_grant").await;
    }

    async fn a_refresh_token_expires_after_its_sliding_ttl(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.refresh_token_ttl = Duration::from_secs(1)).await;
        let tokens = app.register_and_login(&email()).await;
        assert_eq!(tokens.body["refresh_expires_in"], 1);
        let next = Tokens::from_response(app.post_refresh(&tokens.refresh).await).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_error(app.post_refresh(&next.refresh).await, 401, "invalid_grant").await;
    }

    async fn a_session_never_outlives_its_absolute_maximum(backend: Backend) {
        let app = spawn_app_with(backend, |s| {
            s.session_max_ttl = Duration::from_secs(2);
            s.refresh_token_ttl = Duration::from_secs(3600);
        })
        .await;
        let tokens = app.register_and_login(&email()).await;
        assert!(tokens.body["refresh_expires_in"].as_u64().expect("number") <= 2);
        let set_cookie = app.post_login(tokens.body["user"]["email"].as_str().expect("email"), PASSWORD).await;
        let cookie = set_cookie.headers()["set-cookie"].to_str().expect("ascii").to_owned();
        assert!(cookie.contains("Max-Age=2") || cookie.contains("Max-Age=1"), "{cookie}");

        let next = Tokens::from_response(app.post_refresh(&tokens.refresh).await).await;
        assert!(next.body["refresh_expires_in"].as_u64().expect("number") <= 2);
        tokio::time::sleep(Duration::from_millis(2200)).await;
        assert_error(app.post_refresh(&next.refresh).await, 401, "invalid_grant").await;
    }

    async fn logout_revokes_the_session_clears_the_cookie_and_is_idempotent(backend: Backend) {
        let app = spawn_app(backend).await;
        let tokens = app.register_and_login(&email()).await;
        let response = app.post_logout(&tokens.refresh).await;
        assert_eq!(response.status(), 204);
        let cookie = response.headers()["set-cookie"].to_str().expect("ascii").to_owned();
        assert!(cookie.starts_with("refresh_token=;"), "{cookie}");
        assert!(cookie.contains("Max-Age=0"), "{cookie}");
        assert_eq!(app.post_logout(&tokens.refresh).await.status(), 204);
        assert_eq!(app.post_logout("never-issued").await.status(), 204);
        let bare = app.client.post(app.url("/auth/logout")).send().await.expect("request");
        assert_eq!(bare.status(), 204);
        assert_error(app.post_refresh(&tokens.refresh).await, 401, "invalid_grant").await;
        // Access tokens already issued stay valid at resource servers until
        // they expire (stateless); the auth-service itself refuses them.
        assert_error(app.get_me(&tokens.access).await, 401, "invalid_token").await;
    }

    async fn logout_all_revokes_every_session_of_the_user_only(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        let a = app.register_and_login(&email).await;
        let b = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        let stranger = app.register_and_login(&self::email()).await;

        assert_eq!(app.post_logout_all(&a.access).await.status(), 204);
        assert_error(app.post_refresh(&a.refresh).await, 401, "invalid_grant").await;
        assert_error(app.post_refresh(&b.refresh).await, 401, "invalid_grant").await;
        assert_eq!(app.post_refresh(&stranger.refresh).await.status(), 200);
        let anonymous = app.client.post(app.url("/auth/logout-all")).send().await.expect("request");
        assert_eq!(anonymous.status(), 401);
    }

    async fn the_token_response_and_cookie_follow_the_contract(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.access_token_ttl = Duration::from_secs(600)).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let response = app.post_login(&email, PASSWORD).await;
        assert_eq!(response.headers()["cache-control"], "no-store");
        let cookie = response.headers()["set-cookie"].to_str().expect("ascii").to_owned();
        let body: Value = response.json().await.expect("json");
        for key in ["access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in", "user"] {
            assert!(body.get(key).is_some(), "missing {key} in {body}");
        }
        assert_eq!(body["expires_in"], 600);
        assert_eq!(body["refresh_expires_in"], 7 * 86400);
        assert_eq!(body["user"]["email"], email.as_str());
        assert_eq!(body["user"]["role"], "user");
        let refresh = body["refresh_token"].as_str().expect("refresh");
        assert!(refresh.len() >= 43, "256 bits in base64url");
        assert!(!refresh.contains('.'), "a refresh token is not a JWT");
        for part in [
            format!("refresh_token={refresh}"),
            "HttpOnly".into(),
            "SameSite=Strict".into(),
            "Path=/auth".into(),
            "Max-Age=604800".into(),
            "Secure".into(),
        ] {
            assert!(cookie.contains(&part), "{part} missing from {cookie}");
        }
    }

    async fn the_cookie_is_not_secure_when_configured_so(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.cookie_secure = false).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let response = app.post_login(&email, PASSWORD).await;
        let cookie = response.headers()["set-cookie"].to_str().expect("ascii").to_owned();
        assert!(!cookie.contains("Secure"), "{cookie}");
    }
}
