//! API.md §1: an `/oauth/*` request with no body or another content type is
//! `400 invalid_request` in RFC 6749's error format, never 415, so a stock
//! OAuth client library can read the answer.

use crate::both_backends;
use crate::helpers::*;

/// Every `/oauth/*` route that takes a POST body.
const FORM_ROUTES: [&str; 2] = ["/oauth/token", "/oauth/revoke"];

both_backends! {
    async fn a_request_without_a_body_is_invalid_request(backend: Backend) {
        let app = spawn_app(backend).await;
        for path in FORM_ROUTES {
            let response = app.client.post(app.url(path)).send().await.expect("request");

            assert_rfc_6749_invalid_request(response, path).await;
        }
    }

    async fn a_json_body_is_invalid_request(backend: Backend) {
        let app = spawn_app(backend).await;
        let body = serde_json::json!({ "grant_type": "password", "token": "x" });
        for path in FORM_ROUTES {
            let response = app.post_json(path, &body).await;

            assert_rfc_6749_invalid_request(response, path).await;
        }
    }

    async fn a_text_plain_body_is_invalid_request(backend: Backend) {
        let app = spawn_app(backend).await;
        for path in FORM_ROUTES {
            let response = app
                .client
                .post(app.url(path))
                .header("content-type", "text/plain")
                .body("grant_type=password&token=x")
                .send()
                .await
                .expect("request");

            assert_rfc_6749_invalid_request(response, path).await;
        }
    }
}

/// RFC 6749 §5.2: 400, `invalid_request`, and not cached.
async fn assert_rfc_6749_invalid_request(response: reqwest::Response, path: &str) {
    let cache_control = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = assert_error(response, 400, "invalid_request").await;
    assert_eq!(cache_control.as_deref(), Some("no-store"), "{path}: {body}");
}
