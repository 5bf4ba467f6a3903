//! The web client's page and assets as HTTP sees them: what is served, with
//! which policy, and that it can be turned off. The flow itself runs in a
//! real browser (browser.rs).

use reqwest::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};

use crate::helpers::{assert_error, spawn_app, spawn_app_with, Backend};

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_page_names_the_resource_service_and_allows_scripts_only_from_its_origin() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.resource_url = "https://api.example.com".into();
    })
    .await;

    let response = app.client.get(app.url("/")).send().await.expect("request");

    assert_eq!(response.status(), 200);
    assert!(header(&response, CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(header(&response, X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header(&response, CACHE_CONTROL), "no-cache");
    let policy = header(&response, CONTENT_SECURITY_POLICY);
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self' https://api.example.com",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let page = response.text().await.expect("body");
    assert!(
        page.contains(r#"<meta name="resource-url" content="https://api.example.com">"#),
        "{page}"
    );
    assert!(!page.contains("{{"), "every placeholder is filled");
}

#[tokio::test]
async fn the_scripts_and_style_sheet_are_served_with_their_types() {
    let app = spawn_app(Backend::Sqlite).await;

    for (path, content_type, sample) in [
        ("/web/app.js", "text/javascript", "createAuthClient"),
        ("/web/auth-client.js", "text/javascript", "navigator.locks"),
        ("/web/style.css", "text/css", "font-family"),
    ] {
        let response = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            header(&response, CONTENT_TYPE).starts_with(content_type),
            "{path}"
        );
        assert!(
            !header(&response, CONTENT_SECURITY_POLICY).is_empty(),
            "{path}"
        );
        assert!(
            response.text().await.expect("body").contains(sample),
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_unknown_asset_is_a_json_404() {
    let app = spawn_app(Backend::Sqlite).await;

    for path in ["/web/secret.txt", "/web/..%2fCargo.toml", "/web/"] {
        let response = app.client.get(app.url(path)).send().await.expect("request");
        assert_error(response, 404, "not_found").await;
    }
}

#[tokio::test]
async fn web_client_false_serves_no_page() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.web_client = false).await;

    for path in ["/", "/web/app.js"] {
        let response = app.client.get(app.url(path)).send().await.expect("request");
        assert_error(response, 404, "not_found").await;
    }
    // The API is unaffected.
    let response = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}
