//! Session-checked routes (API.md §4): with introspection credentials the
//! resource-service's `DELETE /api/projects/{id}` asks the real
//! auth-service's `/oauth/introspect` whether the token's session is live;
//! every other route stays stateless.

use std::time::{Duration, Instant};

use crate::both_backends;
use crate::cli::{auth_service, stderr};
use crate::clients::create_client;
use crate::helpers::*;

const ACTIVE_CALLS: &str = "resource_introspection_requests_total{outcome=\"active\"}";
const INACTIVE_CALLS: &str = "resource_introspection_requests_total{outcome=\"inactive\"}";
const FAILED_CALLS: &str = "resource_introspection_requests_total{outcome=\"failed\"}";

/// A resource-service trusting `auth` whose DELETE is session-checked by a
/// client registered with the real command, remembering answers for `ttl`.
async fn spawn_checked_resource(auth: &TestApp, ttl: Duration) -> ResourceApp {
    let (id, secret) = create_client(&auth.db, "resource-service");
    let introspection_url = auth.url("/oauth/introspect");
    spawn_resource_configured(
        &auth.url("/.well-known/jwks.json"),
        resource_service::jwks::JwksOptions::default(),
        |settings| {
            settings.introspection_url = introspection_url;
            settings.introspection_client =
                Some(resource_service::config::ClientCredentials { id, secret });
            settings.introspection_cache_ttl = ttl;
        },
    )
    .await
}

async fn calls(resource: &ResourceApp) -> f64 {
    resource.counter(ACTIVE_CALLS).await
        + resource.counter(INACTIVE_CALLS).await
        + resource.counter(FAILED_CALLS).await
}

both_backends! {
    async fn a_session_checked_delete_works_for_a_live_session_and_is_refused_once_it_ended(backend: Backend) {
        let auth = spawn_app(backend).await;
        let resource = spawn_checked_resource(&auth, Duration::ZERO).await;
        let admin = auth.create_admin_and_login(&email()).await;
        let first = resource.post_project(&admin.access, "first").await;
        let second = resource.post_project(&admin.access, "second").await;

        assert_eq!(resource.delete_project(&admin.access, &first).await.status(), 204);
        assert_eq!(auth.post_logout(&admin.refresh).await.status(), 204);

        let refused = resource.delete_project(&admin.access, &second).await;
        let challenge = refused
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .expect("WWW-Authenticate")
            .to_owned();
        assert_error(refused, 401, "invalid_token").await;
        assert!(challenge.starts_with("Bearer realm=\"resource-service\""), "{challenge}");
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert_eq!(resource.counter(INACTIVE_CALLS).await, 1.0);
        // The stateless routes still take the token until it expires.
        assert_eq!(resource.get_me(&admin.access).await.status(), 200);
        let listed = resource
            .client
            .get(resource.url("/api/projects"))
            .bearer_auth(&admin.access)
            .send()
            .await
            .expect("request");
        assert_eq!(listed.status(), 200);
        let listed: serde_json::Value = listed.json().await.expect("json");
        assert_eq!(listed[0]["id"], second.as_str(), "the refused delete removed nothing");
    }

    async fn with_the_auth_service_down_a_session_checked_delete_is_503_in_time_while_reads_go_on(backend: Backend) {
        let auth = spawn_app(backend).await;
        let resource = spawn_checked_resource(&auth, Duration::from_secs(10)).await;
        let admin = auth.create_admin_and_login(&email()).await;
        let project = resource.post_project(&admin.access, "kept").await;

        auth.stop().await;
        let started = Instant::now();
        let response = resource.delete_project(&admin.access, &project).await;

        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert_error(response, 503, "not_ready").await;
        assert_eq!(resource.counter(FAILED_CALLS).await, 1.0);
        assert_eq!(resource.get_me(&admin.access).await.status(), 200);
    }

    async fn an_answer_is_remembered_for_the_ttl_so_a_second_delete_asks_no_more(backend: Backend) {
        let auth = spawn_app(backend).await;
        let resource = spawn_checked_resource(&auth, Duration::from_secs(30)).await;
        let admin = auth.create_admin_and_login(&email()).await;
        let first = resource.post_project(&admin.access, "first").await;
        let second = resource.post_project(&admin.access, "second").await;

        assert_eq!(resource.delete_project(&admin.access, &first).await.status(), 204);
        assert_eq!(resource.delete_project(&admin.access, &second).await.status(), 204);

        assert_eq!(resource.counter(ACTIVE_CALLS).await, 1.0);
        assert_eq!(calls(&resource).await, 1.0);
    }

    async fn a_resource_service_whose_client_was_deleted_answers_503_rather_than_trust_the_token(backend: Backend) {
        let auth = spawn_app(backend).await;
        let resource = spawn_checked_resource(&auth, Duration::from_secs(10)).await;
        let admin = auth.create_admin_and_login(&email()).await;
        let project = resource.post_project(&admin.access, "kept").await;
        let listed = auth_service(&auth.db, &["client", "list"], None, &[]);
        let clients: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
        let id = clients[0]["client_id"].as_str().expect("client_id");
        let deleted = auth_service(&auth.db, &["client", "delete", "--id", id], None, &[]);
        assert!(deleted.status.success(), "{}", stderr(&deleted));

        let response = resource.delete_project(&admin.access, &project).await;

        assert_error(response, 503, "not_ready").await;
        assert_eq!(resource.counter(FAILED_CALLS).await, 1.0);
    }

    async fn without_introspection_credentials_delete_stays_stateless(backend: Backend) {
        let auth = spawn_app(backend).await;
        let resource = spawn_resource(&auth).await;
        let admin = auth.create_admin_and_login(&email()).await;
        let project = resource.post_project(&admin.access, "gone").await;

        assert_eq!(auth.post_logout(&admin.refresh).await.status(), 204);
        auth.stop().await;

        // A logged-out session's token still deletes: the stateless trade-off.
        assert_eq!(resource.delete_project(&admin.access, &project).await.status(), 204);
        assert_eq!(calls(&resource).await, 0.0);
    }
}
