//! Service-wide behaviour: errors in JSON, health, keys that survive restarts.

use serde_json::Value;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn framework_errors_have_json_bodies(backend: Backend) {
        let app = spawn_app(backend).await;
        let unknown = app.client.get(app.url("/no/such/route")).send().await.expect("request");
        assert_error(unknown, 404, "not_found").await;
        let wrong_method = app.client.get(app.url("/auth/login")).send().await.expect("request");
        assert_error(wrong_method, 405, "method_not_allowed").await;
        let big = format!("{{\"email\":\"a@b.example\",\"password\":\"{}\"}}", "x".repeat(17 * 1024));
        for path in ["/auth/register", "/auth/login", "/auth/refresh", "/auth/logout"] {
            let response = app
                .client
                .post(app.url(path))
                .header("content-type", "application/json")
                .body(big.clone())
                .send()
                .await
                .expect("request");
            assert_error(response, 413, "payload_too_large").await;
        }
        let text = app
            .client
            .post(app.url("/auth/login"))
            .header("content-type", "text/plain")
            .body("hello")
            .send()
            .await
            .expect("request");
        assert_error(text, 415, "unsupported_media_type").await;
    }

    async fn an_oversized_registration_stores_nothing(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        let body = format!("{{\"email\":\"{email}\",\"password\":\"{}\",\"pad\":\"{}\"}}", PASSWORD, "x".repeat(17 * 1024));
        let response = app
            .client
            .post(app.url("/auth/register"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_error(response, 413, "payload_too_large").await;
        assert_error(app.post_login(&email, PASSWORD).await, 401, "invalid_credentials").await;
    }

    async fn health_and_readiness_answer(backend: Backend) {
        let app = spawn_app(backend).await;
        for path in ["/healthz", "/readyz"] {
            let response = app.client.get(app.url(path)).send().await.expect("request");
            assert_eq!(response.status(), 200, "{path}");
        }
    }

    async fn the_signing_key_survives_a_restart_and_is_shared_by_replicas(backend: Backend) {
        let first = spawn_app(backend).await;
        let tokens = first.register_and_login(&email()).await;
        let jwks_before: Value = first
            .client
            .get(first.url("/.well-known/jwks.json"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        first.stop().await;

        let second = spawn_on(first.db.clone(), first.settings.clone()).await;
        let jwks_after: Value = second
            .client
            .get(second.url("/.well-known/jwks.json"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(jwks_before, jwks_after);
        assert_eq!(jwks_after["keys"].as_array().expect("keys").len(), 1);
        for key in jwks_after["keys"].as_array().expect("keys") {
            assert!(key.get("d").is_none(), "the private key is never served");
        }
        // Tokens signed before the restart still verify, and the session lives on.
        assert_eq!(second.get_me(&tokens.access).await.status(), 200);
        assert_eq!(second.post_refresh(&tokens.refresh).await.status(), 200);
    }
}

#[tokio::test]
async fn readiness_fails_with_503_when_the_database_is_gone() {
    let app = spawn_app(Backend::Postgres).await;
    let ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("request");
    assert_eq!(ready.status(), 200);
    app.db.drop_postgres_now();
    let gone = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("request");
    assert_error(gone, 503, "not_ready").await;
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(health.status(), 200, "the process still runs");
    // No 5xx other than 503, and never a hang, for a login meanwhile.
    let login = app.post_login(&email(), PASSWORD).await;
    assert!(
        login.status() == 503 || login.status() == 401,
        "{}",
        login.status()
    );
}
