//! The actix-web glue (`actix` feature): the `Authenticated` extractor and
//! the RFC 6750 rejections, each with its JSON body.

mod common;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpResponse};
use common::{claims, key_set, now, CountingRefresher, TestKey};
use serde_json::{json, Value};
use shared_claims::actix::{Authenticated, Rejection};
use shared_claims::{AccessClaims, Authority, ErrorBody, KeyStore, Role};

const REALM: &str = "resource-service";

async fn me(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(user.claims())
}

async fn admin_only(user: Authenticated) -> Result<HttpResponse, Rejection> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Ok().json(json!({ "ok": true })))
}

/// The app a resource server would build: the authority and a few routes.
async fn spawn(
    authority: Authority,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(
        App::new()
            .app_data(web::Data::new(authority))
            .service(web::resource("/api/me").route(web::get().to(me)))
            .route("/admin", web::get().to(admin_only)),
    )
    .await
}

/// An authority trusting `key`.
fn authority_for(key: &TestKey) -> Authority {
    Authority::new(REALM, common::verifier(), KeyStore::new(key_set(&[key])))
}

fn bearer(token: &str) -> (header::HeaderName, String) {
    (header::AUTHORIZATION, format!("Bearer {token}"))
}

fn header_str<B>(response: &ServiceResponse<B>, name: header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("a visible-ASCII header").to_owned())
}

/// Asserts the response is JSON and returns its body.
async fn json_body<B: MessageBody>(response: ServiceResponse<B>) -> Value {
    let content_type = header_str(&response, header::CONTENT_TYPE);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let bytes = test::read_body(response).await;
    serde_json::from_slice(&bytes).expect("the body is JSON")
}

/// Asserts the body is exactly `{error, error_description}` with this code.
fn assert_error_body(body: &Value, code: &str) {
    let parsed: ErrorBody = serde_json::from_value(body.clone()).expect("an error body");
    assert_eq!(parsed.error, code, "{body}");
    assert!(!parsed.error_description.is_empty(), "{body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");
}

// --- the extractor ------------------------------------------------------------

#[actix_web::test]
async fn a_request_without_a_token_gets_401_with_a_bare_bearer_challenge() {
    let key = TestKey::generate("k1");
    let app = spawn(authority_for(&key)).await;

    let response =
        test::call_service(&app, test::TestRequest::get().uri("/api/me").to_request()).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header_str(&response, header::WWW_AUTHENTICATE).as_deref(),
        Some(r#"Bearer realm="resource-service""#)
    );
    let body = json_body(response).await;
    assert_error_body(&body, "unauthorized");
}

#[actix_web::test]
async fn a_request_with_a_bad_token_gets_401_invalid_token() {
    let key = TestKey::generate("k1");
    let app = spawn(authority_for(&key)).await;

    let request = test::TestRequest::get()
        .uri("/api/me")
        .insert_header(bearer("not-a-jwt"))
        .to_request();
    let response = test::call_service(&app, request).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = header_str(&response, header::WWW_AUTHENTICATE).expect("a challenge");
    assert!(
        challenge.starts_with(
            r#"Bearer realm="resource-service", error="invalid_token", error_description=""#
        ),
        "{challenge}"
    );
    let body = json_body(response).await;
    assert_error_body(&body, "invalid_token");
}

#[actix_web::test]
async fn an_expired_token_gets_401_invalid_token_that_says_it_expired() {
    let key = TestKey::generate("k1");
    let app = spawn(authority_for(&key)).await;
    let mut expired = claims(Role::User);
    expired.exp = now() - 3600;

    let request = test::TestRequest::get()
        .uri("/api/me")
        .insert_header(bearer(&key.sign(&expired)))
        .to_request();
    let response = test::call_service(&app, request).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header_str(&response, header::WWW_AUTHENTICATE).as_deref(),
        Some(concat!(
            r#"Bearer realm="resource-service", error="invalid_token", "#,
            r#"error_description="the access token expired""#
        ))
    );
    let body = json_body(response).await;
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(body["error_description"], "the access token expired");
}

#[actix_web::test]
async fn an_authorization_header_that_is_not_ascii_gets_401_invalid_token() {
    let key = TestKey::generate("k1");
    let app = spawn(authority_for(&key)).await;

    let request = test::TestRequest::get()
        .uri("/api/me")
        .insert_header((
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff\xfe").expect("obs-text is a valid header value"),
        ))
        .to_request();
    let response = test::call_service(&app, request).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body = json_body(response).await;
    assert_error_body(&body, "invalid_token");
}

#[actix_web::test]
async fn a_valid_token_reaches_the_handler_with_its_claims() {
    let key = TestKey::generate("k1");
    let app = spawn(authority_for(&key)).await;
    let issued = claims(Role::User);

    let request = test::TestRequest::get()
        .uri("/api/me")
        .insert_header(bearer(&key.sign(&issued)))
        .to_request();
    let response = test::call_service(&app, request).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: AccessClaims = test::read_body_json(response).await;
    assert_eq!(body, issued);
}

#[actix_web::test]
async fn the_bearer_scheme_is_matched_case_insensitively() {
    let key = TestKey::generate("k1");
    let app = spawn(authority_for(&key)).await;

    let request = test::TestRequest::get()
        .uri("/api/me")
        .insert_header((
            header::AUTHORIZATION,
            format!("bearer {}", key.sign(&claims(Role::User))),
        ))
        .to_request();
    let response = test::call_service(&app, request).await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[actix_web::test]
async fn a_user_token_on_an_admin_route_gets_403_insufficient_role() {
    let key = TestKey::generate("k1");
    let app = spawn(authority_for(&key)).await;

    let request = test::TestRequest::get()
        .uri("/admin")
        .insert_header(bearer(&key.sign(&claims(Role::User))))
        .to_request();
    let response = test::call_service(&app, request).await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(header_str(&response, header::WWW_AUTHENTICATE), None);
    let body = json_body(response).await;
    assert_error_body(&body, "insufficient_role");
}

#[actix_web::test]
async fn an_admin_token_on_an_admin_route_gets_200() {
    let key = TestKey::generate("k1");
    let app = spawn(authority_for(&key)).await;

    let request = test::TestRequest::get()
        .uri("/admin")
        .insert_header(bearer(&key.sign(&claims(Role::Admin))))
        .to_request();
    let response = test::call_service(&app, request).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body, json!({ "ok": true }));
}

#[actix_web::test]
async fn a_token_from_a_rotated_key_is_accepted_after_one_refresh() {
    let old = TestKey::generate("old");
    let rotated = TestKey::generate("rotated");
    let store = KeyStore::new(key_set(&[&old]));
    let refresher = CountingRefresher::new(store.clone(), Some(key_set(&[&old, &rotated])));
    let authority =
        Authority::new(REALM, common::verifier(), store).with_refresher(refresher.clone());
    let app = spawn(authority).await;

    let request = test::TestRequest::get()
        .uri("/api/me")
        .insert_header(bearer(&rotated.sign(&claims(Role::User))))
        .to_request();
    let response = test::call_service(&app, request).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(refresher.calls(), 1);
}

#[actix_web::test]
async fn a_reused_token_gets_the_same_claims_until_its_key_leaves_the_store() {
    let key = TestKey::generate("k1");
    let store = KeyStore::new(key_set(&[&key]));
    let app = spawn(Authority::new(REALM, common::verifier(), store.clone())).await;
    let token = key.sign(&claims(Role::User));
    let get_me = || {
        test::TestRequest::get()
            .uri("/api/me")
            .insert_header(bearer(&token))
            .to_request()
    };

    let first = json_body(test::call_service(&app, get_me()).await).await;
    let second = json_body(test::call_service(&app, get_me()).await).await;
    store.replace(key_set(&[]));
    let after = test::call_service(&app, get_me()).await;

    assert_eq!(
        first, second,
        "the remembered token answers as the verified one"
    );
    assert_eq!(first["sub"], claims(Role::User).sub.as_str());
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert_error_body(&json_body(after).await, "invalid_token");
}

#[actix_web::test]
async fn a_protected_route_in_an_app_without_an_authority_fails_closed() {
    let key = TestKey::generate("k1");
    let app = test::init_service(App::new().route("/api/me", web::get().to(me))).await;

    let request = test::TestRequest::get()
        .uri("/api/me")
        .insert_header(bearer(&key.sign(&claims(Role::Admin))))
        .to_request();
    let response = test::call_service(&app, request).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
