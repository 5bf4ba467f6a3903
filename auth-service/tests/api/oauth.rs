//! The OAuth 2 endpoints (API.md §3): RFC 6749 token endpoint, RFC 7009
//! revocation and RFC 8414 metadata, as a second door to the engine behind
//! `/auth/*`; a stock OAuth 2 client library drives them in `stock_client`.

use std::time::Duration;

use oauth2::url::form_urlencoded;
use reqwest::Response;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

mod authlib;
mod stock_client;

const METADATA: &str = "/.well-known/oauth-authorization-server";

async fn post_form(app: &TestApp, path: &str, pairs: &[(&str, &str)]) -> Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    post_raw_form(app, path, body).await
}

async fn post_raw_form(app: &TestApp, path: &str, body: String) -> Response {
    app.client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("request")
}

async fn password_grant(app: &TestApp, username: &str, password: &str) -> Response {
    post_form(
        app,
        "/oauth/token",
        &[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ],
    )
    .await
}

async fn refresh_grant(app: &TestApp, refresh_token: &str) -> Response {
    post_form(
        app,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

async fn revoke(app: &TestApp, pairs: &[(&str, &str)]) -> Response {
    post_form(app, "/oauth/revoke", pairs).await
}

/// Registers `email` with [`PASSWORD`] and logs in through `/oauth/token`.
async fn register_and_grant(app: &TestApp, email: &str) -> Tokens {
    assert_eq!(app.post_register(email, PASSWORD).await.status(), 201);
    Tokens::from_response(password_grant(app, email, PASSWORD).await).await
}

fn retry_after(response: &Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("Retry-After is whole seconds")
}

/// The tests' issuer is a name, not the address the server is bound to, so
/// an endpoint from the metadata is reached at the same path on the server.
fn reachable(app: &TestApp, endpoint: &Value) -> String {
    let endpoint = endpoint.as_str().expect("endpoint is a string");
    let path = endpoint
        .strip_prefix(ISSUER)
        .unwrap_or_else(|| panic!("{endpoint} is not under the issuer {ISSUER}"));
    app.url(path)
}

both_backends! {
    async fn the_password_grant_answers_an_rfc_6749_token_response_without_a_cookie(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.access_token_ttl = Duration::from_secs(600)).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);

        let response = password_grant(&app, &email, PASSWORD).await;

        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["pragma"], "no-cache");
        assert!(response.headers().get("set-cookie").is_none(), "no cookie on this door");
        let body: Value = response.json().await.expect("json");
        let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 4, "exactly the RFC 6749 §5.1 fields: {body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 600);
        let refresh = body["refresh_token"].as_str().expect("refresh_token");
        assert!(refresh.len() >= 43 && !refresh.contains('.'), "opaque refresh token");
        let access = body["access_token"].as_str().expect("access_token");
        let me: Value = app.get_me(access).await.json().await.expect("json");
        assert_eq!(me["email"], email.as_str());
        // RFC 9068 §2.2: a public client's tokens are the first party's.
        assert_eq!(claims(access)["client_id"], "first-party");
    }

    async fn an_extra_client_id_is_accepted_and_the_username_is_an_email_in_any_case(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let upper = email.to_uppercase();

        let response = post_form(
            &app,
            "/oauth/token",
            &[
                ("grant_type", "password"),
                ("username", &upper),
                ("password", PASSWORD),
                ("client_id", "some-public-client"),
                ("scope", "anything"),
            ],
        )
        .await;

        Tokens::from_response(response).await;
    }

    async fn the_refresh_token_grant_rotates_and_reuse_revokes_the_session(backend: Backend) {
        let app = spawn_app(backend).await;
        let first = register_and_grant(&app, &email()).await;

        let next = Tokens::from_response(refresh_grant(&app, &first.refresh).await).await;
        assert_ne!(next.refresh, first.refresh);
        assert_eq!(app.get_me(&next.access).await.status(), 200);

        // RFC 6749 §5.2: a used refresh token is an invalid grant, 400 on this door.
        assert_error(refresh_grant(&app, &first.refresh).await, 400, "invalid_grant").await;
        // That was reuse: the successor died with the session.
        assert_error(refresh_grant(&app, &next.refresh).await, 400, "invalid_grant").await;
        assert_error(refresh_grant(&app, "never-issued").await, 400, "invalid_grant").await;
    }

    async fn a_wrong_password_or_unknown_user_is_an_invalid_grant(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);

        let wrong = password_grant(&app, &email, "wrong password").await;
        assert_eq!(wrong.headers()["cache-control"], "no-store");
        let wrong = assert_error(wrong, 400, "invalid_grant").await;
        let unknown = assert_error(password_grant(&app, &self::email(), PASSWORD).await, 400, "invalid_grant").await;
        // Nothing tells which accounts exist.
        assert_eq!(wrong, unknown);
    }

    async fn missing_empty_or_repeated_parameters_are_invalid_requests(backend: Backend) {
        let app = spawn_app(backend).await;
        let cases: [&[(&str, &str)]; 6] = [
            &[],
            &[("username", "a@example.com"), ("password", PASSWORD)],
            &[("grant_type", "password"), ("username", "a@example.com")],
            &[("grant_type", "password"), ("username", ""), ("password", PASSWORD)],
            &[("grant_type", "refresh_token")],
            &[("grant_type", ""), ("refresh_token", "x")],
        ];
        for case in cases {
            assert_error(post_form(&app, "/oauth/token", case).await, 400, "invalid_request").await;
        }
        // RFC 6749 §3.1: a parameter must not be sent twice.
        let repeated = "grant_type=refresh_token&refresh_token=a&refresh_token=b".to_owned();
        assert_error(post_raw_form(&app, "/oauth/token", repeated).await, 400, "invalid_request").await;
        let repeated = "grant_type=password&grant_type=refresh_token&refresh_token=a".to_owned();
        assert_error(post_raw_form(&app, "/oauth/token", repeated).await, 400, "invalid_request").await;
    }

    async fn an_unknown_grant_type_is_unsupported(backend: Backend) {
        let app = spawn_app(backend).await;
        for grant_type in ["authorization_code", "PASSWORD"] {
            let response = post_form(
                &app,
                "/oauth/token",
                &[("grant_type", grant_type), ("username", "a@example.com"), ("password", PASSWORD)],
            )
            .await;
            assert_error(response, 400, "unsupported_grant_type").await;
        }
    }

    async fn a_body_that_is_no_form_gets_a_json_error(backend: Backend) {
        let app = spawn_app(backend).await;
        let json_body = json!({ "grant_type": "password", "username": "a@example.com", "password": PASSWORD });
        assert_error(app.post_json("/oauth/token", &json_body).await, 400, "invalid_request").await;
        assert_error(app.post_json("/oauth/revoke", &json!({ "token": "x" })).await, 400, "invalid_request").await;
        let bare = app.client.post(app.url("/oauth/token")).send().await.expect("request");
        assert_error(bare, 400, "invalid_request").await;

        let huge = "x".repeat(17 * 1024);
        let oversized = post_form(&app, "/oauth/token", &[("grant_type", "password"), ("password", &huge)]).await;
        assert_error(oversized, 413, "payload_too_large").await;

        let get = app.client.get(app.url("/oauth/token")).send().await.expect("request");
        assert_error(get, 405, "method_not_allowed").await;
    }

    async fn failures_through_auth_login_lock_out_the_oauth_door(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.login_max_failures = 3).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        for _ in 0..3 {
            assert_error(app.post_login(&email, "wrong password").await, 401, "invalid_credentials").await;
        }

        let locked = password_grant(&app, &email, PASSWORD).await;

        assert!(retry_after(&locked) >= 1);
        assert_error(locked, 429, "too_many_attempts").await;
    }

    async fn failures_through_the_oauth_door_lock_out_auth_login(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.login_max_failures = 3).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        for _ in 0..3 {
            assert_error(password_grant(&app, &email, "wrong password").await, 400, "invalid_grant").await;
        }

        let locked = app.post_login(&email, PASSWORD).await;

        assert!(retry_after(&locked) >= 1);
        assert_error(locked, 429, "too_many_attempts").await;
        let again = password_grant(&app, &email, PASSWORD).await;
        assert!(retry_after(&again) >= 1);
        assert_error(again, 429, "too_many_attempts").await;
    }

    async fn a_session_refreshes_through_either_door(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();

        let via_oauth = register_and_grant(&app, &email).await;
        let via_auth = Tokens::from_response(app.post_refresh(&via_oauth.refresh).await).await;
        let back_via_oauth = Tokens::from_response(refresh_grant(&app, &via_auth.refresh).await).await;
        assert_eq!(app.get_me(&back_via_oauth.access).await.status(), 200);

        let logged_in = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        let rotated = Tokens::from_response(refresh_grant(&app, &logged_in.refresh).await).await;
        assert_eq!(app.post_refresh(&rotated.refresh).await.status(), 200);
        // Rotation is one engine: the token used on one door is reuse on the other.
        assert_error(app.post_refresh(&logged_in.refresh).await, 401, "invalid_grant").await;
    }

    async fn revoking_a_refresh_token_ends_its_session(backend: Backend) {
        let app = spawn_app(backend).await;
        let tokens = register_and_grant(&app, &email()).await;

        let response = revoke(&app, &[("token", &tokens.refresh), ("token_type_hint", "refresh_token")]).await;

        assert_eq!(response.status(), 200);
        assert_error(app.post_refresh(&tokens.refresh).await, 401, "invalid_grant").await;
        assert_error(refresh_grant(&app, &tokens.refresh).await, 400, "invalid_grant").await;
        // Revoking again, or with a wrong hint, is still 200 (RFC 7009 §2.2).
        assert_eq!(revoke(&app, &[("token", &tokens.refresh), ("token_type_hint", "access_token")]).await.status(), 200);
    }

    async fn revoking_an_unknown_token_or_an_access_token_answers_200(backend: Backend) {
        let app = spawn_app(backend).await;
        let tokens = register_and_grant(&app, &email()).await;

        assert_eq!(revoke(&app, &[("token", "never-issued")]).await.status(), 200);
        assert_eq!(revoke(&app, &[("token", &tokens.access), ("client_id", "c")]).await.status(), 200);

        // An access token is stateless: it lives until it expires, and its
        // session is untouched.
        assert_eq!(app.get_me(&tokens.access).await.status(), 200);
        assert_eq!(refresh_grant(&app, &tokens.refresh).await.status(), 200);
    }

    async fn revoking_without_a_token_is_an_invalid_request(backend: Backend) {
        let app = spawn_app(backend).await;
        assert_error(revoke(&app, &[]).await, 400, "invalid_request").await;
        assert_error(revoke(&app, &[("token", ""), ("token_type_hint", "refresh_token")]).await, 400, "invalid_request").await;
    }

    async fn the_metadata_document_describes_the_endpoints(backend: Backend) {
        let app = spawn_app(backend).await;

        let response = app.client.get(app.url(METADATA)).send().await.expect("request");

        assert_eq!(response.status(), 200);
        let metadata: Value = response.json().await.expect("json");
        assert_eq!(metadata["issuer"], ISSUER);
        assert_eq!(metadata["token_endpoint"], format!("{ISSUER}/oauth/token"));
        assert_eq!(metadata["revocation_endpoint"], format!("{ISSUER}/oauth/revoke"));
        assert_eq!(metadata["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
        assert_eq!(metadata["grant_types_supported"], json!(["password", "refresh_token", "client_credentials"]));
        assert!(metadata["response_types_supported"].is_array(), "RFC 8414 §2 requires it");
        // The endpoints it names are the ones that answer.
        let jwks = app.client.get(reachable(&app, &metadata["jwks_uri"])).send().await.expect("request");
        assert_eq!(jwks.status(), 200);
    }

    async fn the_metadata_keeps_the_issuer_but_drops_its_trailing_slash_from_endpoints(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.issuer = format!("{ISSUER}/")).await;

        let metadata: Value = app.client.get(app.url(METADATA)).send().await.expect("request").json().await.expect("json");

        assert_eq!(metadata["issuer"], format!("{ISSUER}/"));
        assert_eq!(metadata["token_endpoint"], format!("{ISSUER}/oauth/token"));
        assert_eq!(metadata["revocation_endpoint"], format!("{ISSUER}/oauth/revoke"));
        assert_eq!(metadata["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
    }
}
