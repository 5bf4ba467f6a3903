//! CORS for browser front ends (API.md §5 `CORS_ALLOWED_ORIGINS`) on both services.

use reqwest::{Method, Response};

use crate::both_backends;
use crate::helpers::*;

const APP: &str = "https://app.example.com";
const EVIL: &str = "https://evil.example.net";

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii").to_owned())
}

async fn preflight(
    client: &reqwest::Client,
    url: &str,
    origin: &str,
    method: &str,
    headers: &str,
) -> Response {
    client
        .request(Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .send()
        .await
        .expect("request")
}

both_backends! {
    async fn the_auth_service_lets_listed_origins_refresh_with_credentials(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.cors_allowed_origins = vec![APP.into()]).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);

        let allowed = preflight(&app.client, &app.url("/auth/refresh"), APP, "POST", "content-type").await;
        assert!(allowed.status().is_success(), "{}", allowed.status());
        assert_eq!(header(&allowed, "access-control-allow-origin").as_deref(), Some(APP));
        assert_eq!(header(&allowed, "access-control-allow-credentials").as_deref(), Some("true"));

        let login = app
            .client
            .post(app.url("/auth/login"))
            .header("origin", APP)
            .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .expect("request");
        assert_eq!(login.status(), 200);
        assert_eq!(header(&login, "access-control-allow-origin").as_deref(), Some(APP));
        assert_eq!(header(&login, "access-control-allow-credentials").as_deref(), Some("true"));

        // Another origin gets no CORS headers, so a browser refuses the answer.
        let refused = preflight(&app.client, &app.url("/auth/refresh"), EVIL, "POST", "content-type").await;
        assert_eq!(header(&refused, "access-control-allow-origin"), None);
        let foreign = app
            .client
            .post(app.url("/auth/login"))
            .header("origin", EVIL)
            .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .expect("request");
        assert_eq!(header(&foreign, "access-control-allow-origin"), None);
        assert_eq!(header(&foreign, "access-control-allow-credentials"), None);
    }

    async fn without_listed_origins_no_cors_headers_are_sent(backend: Backend) {
        let app = spawn_app(backend).await;
        let response = preflight(&app.client, &app.url("/auth/login"), APP, "POST", "content-type").await;
        assert_eq!(header(&response, "access-control-allow-origin"), None);
    }
}

#[tokio::test]
async fn the_resource_service_lets_listed_origins_send_bearer_tokens() {
    let auth = spawn_app(Backend::Sqlite).await;
    let resource = spawn_resource_configured(
        &auth.url("/.well-known/jwks.json"),
        resource_service::jwks::JwksOptions::default(),
        |s| s.cors_allowed_origins = vec![APP.into()],
    )
    .await;
    let tokens = auth.register_and_login(&email()).await;

    let allowed = preflight(
        &resource.client,
        &resource.url("/api/projects"),
        APP,
        "POST",
        "authorization, content-type",
    )
    .await;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        header(&allowed, "access-control-allow-origin").as_deref(),
        Some(APP)
    );
    let methods = header(&allowed, "access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");

    let me = resource
        .client
        .get(resource.url("/api/me"))
        .header("origin", APP)
        .bearer_auth(&tokens.access)
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), 200);
    assert_eq!(
        header(&me, "access-control-allow-origin").as_deref(),
        Some(APP)
    );

    let foreign = resource
        .client
        .get(resource.url("/api/me"))
        .header("origin", EVIL)
        .bearer_auth(&tokens.access)
        .send()
        .await
        .expect("request");
    assert_eq!(header(&foreign, "access-control-allow-origin"), None);
}
