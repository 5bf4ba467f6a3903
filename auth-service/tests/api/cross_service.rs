//! The whole picture: client → auth-service → resource-service.

use std::time::Duration;

use serde_json::Value;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn the_full_token_lifecycle_works_across_both_services(backend: Backend) {
        let auth = spawn_app_with(backend, |s| s.access_token_ttl = Duration::from_secs(1)).await;
        let resource = spawn_resource(&auth).await;
        let email = email();

        // register → login
        let tokens = auth.register_and_login(&email).await;

        // resource call with the access token
        let me = resource.get_me(&tokens.access).await;
        assert_eq!(me.status(), 200);
        let me: Value = me.json().await.expect("json");
        assert_eq!(me["email"], email.as_str());
        assert_eq!(me["role"], "user");
        assert_eq!(me["sub"], tokens.body["user"]["id"]);

        // expiry → 401 with an RFC 6750 challenge
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let expired = resource.get_me(&tokens.access).await;
        let challenge = expired
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .expect("WWW-Authenticate")
            .to_owned();
        assert!(challenge.starts_with("Bearer realm=\"resource-service\""), "{challenge}");
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert_error(expired, 401, "invalid_token").await;

        // refresh → resource call works again
        let refreshed = Tokens::from_response(auth.post_refresh(&tokens.refresh).await).await;
        assert_ne!(refreshed.refresh, tokens.refresh);
        assert_eq!(resource.get_me(&refreshed.access).await.status(), 200);

        // reuse of the rotated token → invalid_grant, and the whole session dies
        assert_error(auth.post_refresh(&tokens.refresh).await, 401, "invalid_grant").await;
        assert_error(auth.post_refresh(&refreshed.refresh).await, 401, "invalid_grant").await;

        // a new login, then logout: its refresh token is dead
        let again = Tokens::from_response(auth.post_login(&email, PASSWORD).await).await;
        assert_eq!(auth.post_logout(&again.refresh).await.status(), 204);
        assert_error(auth.post_refresh(&again.refresh).await, 401, "invalid_grant").await;
    }

    async fn the_resource_service_keeps_verifying_while_the_auth_service_is_down(backend: Backend) {
        let auth = spawn_app(backend).await;
        let resource = spawn_resource(&auth).await;
        let tokens = auth.register_and_login(&email()).await;
        assert_eq!(resource.get_me(&tokens.access).await.status(), 200);

        auth.stop().await;
        assert!(auth.client.get(auth.url("/healthz")).send().await.is_err(), "auth-service is down");

        assert_eq!(resource.get_me(&tokens.access).await.status(), 200);
        let projects = resource
            .client
            .post(resource.url("/api/projects"))
            .bearer_auth(&tokens.access)
            .json(&serde_json::json!({ "name": "offline" }))
            .send()
            .await
            .expect("request");
        assert_eq!(projects.status(), 201);
    }

    async fn the_resource_service_is_not_ready_until_it_holds_the_keys(backend: Backend) {
        // Reserve a port for the auth-service, start the resource-service
        // pointing at it, then start the auth-service there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let jwks_url = format!("http://127.0.0.1:{port}/.well-known/jwks.json");

        let settings = resource_service::config::Settings {
            bind: "127.0.0.1:0".into(),
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            jwks_url,
            clock_leeway: Duration::ZERO,
            cors_allowed_origins: Vec::new(),
            jwks_refresh_interval: Duration::from_secs(60),
            introspection_url: "http://127.0.0.1:1/oauth/introspect".into(),
            introspection_client: None,
            introspection_cache_ttl: Duration::from_secs(10),
            public_url: None,
        };
        let app = resource_service::startup::Application::build(settings).await.expect("start");
        let resource_url = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let http = client();
        let not_ready = http.get(format!("{resource_url}/readyz")).send().await.expect("request");
        assert_error(not_ready, 503, "not_ready").await;

        let _auth = spawn_app_with(backend, |s| s.bind = format!("127.0.0.1:{port}")).await;
        let mut ready = false;
        for _ in 0..200 {
            let r = http.get(format!("{resource_url}/readyz")).send().await.expect("request");
            if r.status() == 200 {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready, "resource-service became ready once the JWKS could be fetched");
    }
}
