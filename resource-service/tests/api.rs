//! The resource-service's HTTP contract (API.md §1, §4), tested against a
//! stand-in JWKS server and tokens signed here.
#![expect(clippy::unwrap_used, reason = "a failing test shows the value it got")]

mod helpers;
// A crate root resolves modules beside itself, where cargo would take the
// file for a test binary of its own.
#[path = "api/dpop.rs"]
mod dpop;
#[path = "api/service_tokens.rs"]
mod service_tokens;

use std::time::Duration;

use helpers::{
    claims, error_code, now, spawn_app, spawn_app_with, test_jwks_options, www_authenticate,
    JwksServer, TestKey,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{ALLOW, CONTENT_TYPE};
use reqwest::Method;
use resource_service::jwks::JwksOptions;
use serde_json::{json, Value};
use uuid::Uuid;

// --- probes ---

#[tokio::test]
async fn healthz_answers_ok_without_a_token() {
    let env = spawn_app().await;

    let response = env.app.get("/healthz", None).await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
}

#[tokio::test]
async fn readyz_is_503_until_the_jwks_is_fetched_with_backoff_then_200() {
    let key = TestKey::generate();
    let mut jwks = JwksServer::reserve(&[&key]);
    let app = spawn_app_with(&jwks.url(), test_jwks_options()).await;

    // The auth-service is not up: several fetches fail meanwhile.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = app.get("/readyz", None).await;
    assert_eq!(response.status(), 503);
    assert_eq!(error_code(response).await, "not_ready");
    let token = key.sign(&claims("user"));
    assert_eq!(app.get_me(&token).await.status(), 401);

    jwks.start();
    app.wait_until_ready().await;

    assert_eq!(app.get_me(&token).await.status(), 200);
}

// --- /api/me and token verification ---

#[tokio::test]
async fn me_returns_the_verified_claims() {
    let env = spawn_app().await;
    let claims = claims("admin");
    let token = env.key.sign(&claims);

    let response = env.app.get_me(&token).await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["sub"], claims["sub"]);
    assert_eq!(body["email"], claims["email"]);
    assert_eq!(body["role"], "admin");
    assert_eq!(body["sid"], claims["sid"]);
    let exp = humantime::parse_rfc3339(body["exp"].as_str().unwrap()).unwrap();
    let exp = exp.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(exp as i64, claims["exp"].as_i64().unwrap());
}

#[tokio::test]
async fn a_request_without_a_token_is_401_with_a_bearer_challenge() {
    let env = spawn_app().await;

    for path in ["/api/me", "/api/projects"] {
        let response = env.app.get(path, None).await;

        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(
            www_authenticate(&response),
            r#"Bearer realm="resource-service""#
        );
        error_code(response).await;
    }
}

#[tokio::test]
async fn refused_tokens_are_401_invalid_token_with_an_rfc6750_challenge() {
    let env = spawn_app().await;
    let key = &env.key;
    let with = |field: &str, value: Value| {
        let mut c = claims("user");
        c[field] = value;
        c
    };
    let impostor = TestKey::with_kid(&key.kid);
    let hs256_with_public_key = jsonwebtoken::encode(
        &Header {
            kid: Some(key.kid.clone()),
            typ: Some("at+jwt".into()),
            ..Header::new(Algorithm::HS256)
        },
        &claims("user"),
        &EncodingKey::from_secret(&key.public_bytes()),
    )
    .unwrap();
    // Each with the reason it must be refused for, as the challenge says it.
    let cases = [
        ("expired", key.sign(&with("exp", json!(now() - 60)))),
        ("not valid yet", key.sign(&with("nbf", json!(now() + 600)))),
        (
            "another audience",
            key.sign(&with("aud", json!("another-api"))),
        ),
        (
            "another issuer",
            key.sign(&with("iss", json!("http://evil.test"))),
        ),
        (
            "not an access token",
            key.sign_with_header(
                &Header {
                    typ: Some("JWT".into()),
                    ..key.header()
                },
                &claims("user"),
            ),
        ),
        ("signature is invalid", impostor.sign(&claims("user"))),
        ("algorithm that is not allowed", hs256_with_public_key),
        ("malformed", "not-a-jwt".to_owned()),
    ];

    for (case, token) in cases {
        let response = env.app.get_me(&token).await;

        assert_eq!(response.status(), 401, "{case}");
        let challenge = www_authenticate(&response);
        assert!(
            challenge.starts_with(r#"Bearer realm="resource-service""#),
            "{case}: {challenge}"
        );
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{case}: {challenge}"
        );
        assert_eq!(error_code(response).await, "invalid_token", "{case}");
    }
}

// --- projects ---

#[tokio::test]
async fn a_created_project_is_owned_by_its_creator_and_listed() {
    let env = spawn_app().await;
    let claims = claims("user");
    let token = env.key.sign(&claims);

    let response = env
        .app
        .post_project(&token, &json!({"name": "  Apollo "}))
        .await;

    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "Apollo");
    assert_eq!(created["owner"], claims["sub"]);
    let id = Uuid::parse_str(created["id"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 4);

    let response = env.app.get_projects(&token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!([created]));
}

#[tokio::test]
async fn invalid_project_bodies_are_400_invalid_request() {
    let env = spawn_app().await;
    let token = env.key.sign(&claims("user"));
    let cases = [
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": "a".repeat(201)}),
        json!({}),
        json!({"name": 42}),
        json!("Apollo"),
        json!(null),
    ];

    for body in cases {
        let response = env.app.post_project(&token, &body).await;

        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(error_code(response).await, "invalid_request", "{body}");
    }
    let listed: Value = env.app.get_projects(&token).await.json().await.unwrap();
    assert_eq!(listed, json!([]));
}

#[tokio::test]
async fn a_name_of_200_characters_is_accepted() {
    let env = spawn_app().await;
    let token = env.key.sign(&claims("user"));

    let response = env
        .app
        .post_project(&token, &json!({"name": "é".repeat(200)}))
        .await;

    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn malformed_json_is_400_invalid_request() {
    let env = spawn_app().await;
    let token = env.key.sign(&claims("user"));

    let response = env
        .app
        .request(Method::POST, "/api/projects", Some(&token))
        .header(CONTENT_TYPE, "application/json")
        .body(r#"{"name": "#)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    assert_eq!(error_code(response).await, "invalid_request");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let env = spawn_app().await;
    let token = env.key.sign(&claims("user"));

    let response = env
        .app
        .request(Method::POST, "/api/projects", Some(&token))
        .header(CONTENT_TYPE, "text/plain")
        .body(r#"{"name": "x"}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 415);
    assert_eq!(error_code(response).await, "unsupported_media_type");
}

#[tokio::test]
async fn a_body_over_16_kib_is_413_and_nothing_is_stored() {
    let env = spawn_app().await;
    let token = env.key.sign(&claims("user"));
    let body = json!({"name": "a".repeat(17 * 1024)});

    let response = env.app.post_project(&token, &body).await;

    assert_eq!(response.status(), 413);
    assert_eq!(error_code(response).await, "payload_too_large");
    let listed: Value = env.app.get_projects(&token).await.json().await.unwrap();
    assert_eq!(listed, json!([]));
}

#[tokio::test]
async fn a_user_cannot_delete_a_project() {
    let env = spawn_app().await;
    let token = env.key.sign(&claims("user"));
    let created: Value = env
        .app
        .post_project(&token, &json!({"name": "mine"}))
        .await
        .json()
        .await
        .unwrap();

    let response = env
        .app
        .delete_project(&token, created["id"].as_str().unwrap())
        .await;

    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "insufficient_role");
    let listed: Value = env.app.get_projects(&token).await.json().await.unwrap();
    assert_eq!(listed, json!([created]));
}

#[tokio::test]
async fn an_admin_deletes_a_project_once() {
    let env = spawn_app().await;
    let user = env.key.sign(&claims("user"));
    let admin = env.key.sign(&claims("admin"));
    let created: Value = env
        .app
        .post_project(&user, &json!({"name": "doomed"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();

    let response = env.app.delete_project(&admin, id).await;

    assert_eq!(response.status(), 204);
    let listed: Value = env.app.get_projects(&user).await.json().await.unwrap();
    assert_eq!(listed, json!([]));
    let again = env.app.delete_project(&admin, id).await;
    assert_eq!(again.status(), 404);
    assert_eq!(error_code(again).await, "not_found");
}

#[tokio::test]
async fn deleting_an_unknown_or_malformed_id_is_404() {
    let env = spawn_app().await;
    let admin = env.key.sign(&claims("admin"));

    for id in [Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
        let response = env.app.delete_project(&admin, &id).await;

        assert_eq!(response.status(), 404, "{id}");
        assert_eq!(error_code(response).await, "not_found");
    }
}

#[tokio::test]
async fn deleting_without_a_token_is_401() {
    let env = spawn_app().await;

    let response = env
        .app
        .request(
            Method::DELETE,
            &format!("/api/projects/{}", Uuid::new_v4()),
            None,
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    assert_eq!(
        www_authenticate(&response),
        r#"Bearer realm="resource-service""#
    );
}

// --- framework errors are JSON too ---

#[tokio::test]
async fn an_unknown_route_is_404_json() {
    let env = spawn_app().await;

    let response = env.app.get("/api/nothing-here", None).await;

    assert_eq!(response.status(), 404);
    assert_eq!(error_code(response).await, "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_405_json_with_allow() {
    let env = spawn_app().await;
    let token = env.key.sign(&claims("admin"));

    let response = env
        .app
        .request(Method::PUT, "/api/projects", Some(&token))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 405);
    assert_eq!(
        response.headers().get(ALLOW).unwrap().to_str().unwrap(),
        "GET, POST"
    );
    assert_eq!(error_code(response).await, "method_not_allowed");
    let response = env
        .app
        .request(Method::POST, "/api/me", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(error_code(response).await, "method_not_allowed");
}

// --- key rotation, the refetch rate limit, and the auth-service being down ---

#[tokio::test]
async fn a_token_from_a_rotated_in_key_is_accepted_after_a_refetch() {
    let env = spawn_app().await;
    let new_key = TestKey::generate();
    env.jwks.serve(&[&env.key, &new_key]);
    let fetches = env.jwks.fetches();
    tokio::time::sleep(test_jwks_options().min_refresh_interval).await;

    let response = env.app.get_me(&new_key.sign(&claims("user"))).await;

    assert_eq!(response.status(), 200);
    assert_eq!(env.jwks.fetches(), fetches + 1);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_the_jwks_at_most_twice() {
    let key = TestKey::generate();
    let jwks = JwksServer::spawn(&[&key]).await;
    let options = JwksOptions {
        min_refresh_interval: Duration::from_secs(1),
        ..test_jwks_options()
    };
    let app = spawn_app_with(&jwks.url(), options.clone()).await;
    app.wait_until_ready().await;
    let before = jwks.fetches();
    // Past the interval, so the flood is allowed exactly one real fetch.
    tokio::time::sleep(options.min_refresh_interval).await;

    let requests: Vec<_> = (0..50)
        .map(|_| {
            let forged = TestKey::generate().sign(&claims("admin"));
            let request = app.request(Method::GET, "/api/me", Some(&forged));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), 401);
    }

    let refetches = jwks.fetches() - before;
    assert!(
        (1..=2).contains(&refetches),
        "{refetches} fetches for 50 unknown kids"
    );
}

#[tokio::test]
async fn tokens_are_still_verified_while_the_auth_service_is_down() {
    let mut env = spawn_app().await;
    let token = env.key.sign(&claims("user"));
    env.jwks.stop().await;
    // An unknown kid now makes a refetch that fails; the keys held must stay.
    tokio::time::sleep(test_jwks_options().min_refresh_interval).await;
    let forged = TestKey::generate().sign(&claims("user"));
    assert_eq!(env.app.get_me(&forged).await.status(), 401);

    let response = env.app.get_me(&token).await;

    assert_eq!(response.status(), 200);
    assert_eq!(env.app.get("/readyz", None).await.status(), 200);
}
