//! `GET /.well-known/jwks.json` is public and unauthenticated: it is served
//! from memory, may be cached as long as the key reload interval, and reads
//! the database only within a small ration however many requests come.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn a_jwks_flood_reads_the_database_only_within_its_ration(backend: Backend) {
        // No periodic reload during the test: every database read counted
        // is one a JWKS request caused.
        let app = spawn_app_with(backend, |s| s.key_reload_interval = Duration::from_secs(3600)).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let expected: Value = app
            .client
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");

        let started = Instant::now();
        let flood = futures_util::future::join_all((0..500).map(|_| async {
            let response = app
                .client
                .get(app.url("/.well-known/jwks.json"))
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.expect("json")
        }));
        let (bodies, login) = tokio::join!(flood, app.post_login(&email, PASSWORD));
        let elapsed = started.elapsed();

        assert_eq!(login.status(), 200, "a login proceeds during the flood");
        assert!(bodies.iter().all(|body| *body == expected));
        let checks = app.counter("auth_jwks_key_checks_total").await;
        // The first request's check, a burst of 5, then one a second.
        let ration = 1.0 + 5.0 + elapsed.as_secs_f64().ceil();
        assert!(checks >= 1.0, "the first requests read the database");
        assert!(checks <= ration, "{checks} checks in {elapsed:?}, ration {ration}");
    }

    async fn the_jwks_may_be_cached_as_long_as_the_key_reload_interval(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.key_reload_interval = Duration::from_secs(7)).await;
        let response = app
            .client
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(header("cache-control"), "public, max-age=7");
        assert!(header("content-type").starts_with("application/json"));
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["keys"].as_array().expect("keys").len(), 1);
    }
}
