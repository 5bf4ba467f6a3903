//! `json_errors`: every answer the framework makes itself (404, 405, 413 …)
//! gets the `{error, error_description}` body of API.md §1, and a 405 keeps
//! the `Allow` header actix-web derives from the resource's routes.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpResponse};
use serde_json::{json, Value};
use service_kit::errors::json_errors;
use shared_claims::ErrorBody;

async fn ok() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "ok": true }))
}

async fn taken() -> HttpResponse {
    HttpResponse::Conflict().json(ErrorBody::new("email_taken", "that email is registered"))
}

async fn plain_text_error() -> HttpResponse {
    HttpResponse::BadRequest().body("nope")
}

async fn echo(body: web::Json<Value>) -> HttpResponse {
    HttpResponse::Ok().json(body.into_inner())
}

/// An app with `json_errors` and a few routes.
async fn spawn() -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(
        App::new()
            .wrap(json_errors())
            .app_data(web::JsonConfig::default().limit(64))
            // A resource answers a wrong method with 405; `App::route` would
            // move the method guard onto the resource and answer 404.
            .service(web::resource("/api/me").route(web::get().to(ok)))
            .service(
                web::resource("/api/projects")
                    .route(web::get().to(ok))
                    .route(web::post().to(ok)),
            )
            .route("/taken", web::post().to(taken))
            .route("/plain", web::get().to(plain_text_error))
            .route("/echo", web::post().to(echo)),
    )
    .await
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

#[actix_web::test]
async fn json_errors_turns_an_unknown_route_into_a_json_404() {
    let app = spawn().await;

    let response =
        test::call_service(&app, test::TestRequest::get().uri("/nowhere").to_request()).await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = json_body(response).await;
    assert_error_body(&body, "not_found");
}

#[actix_web::test]
async fn json_errors_turns_a_wrong_method_into_a_json_405() {
    let app = spawn().await;

    let response = test::call_service(
        &app,
        test::TestRequest::delete().uri("/api/me").to_request(),
    )
    .await;

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header_str(&response, header::ALLOW).as_deref(), Some("GET"));
    let body = json_body(response).await;
    assert_error_body(&body, "method_not_allowed");
}

#[actix_web::test]
async fn a_405_lists_every_method_of_a_resource_with_several_routes() {
    let app = spawn().await;

    let response = test::call_service(
        &app,
        test::TestRequest::put().uri("/api/projects").to_request(),
    )
    .await;

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        header_str(&response, header::ALLOW).as_deref(),
        Some("GET, POST")
    );
    let body = json_body(response).await;
    assert_error_body(&body, "method_not_allowed");
}

#[actix_web::test]
async fn json_errors_leaves_a_handlers_own_json_error_untouched() {
    let app = spawn().await;

    let response =
        test::call_service(&app, test::TestRequest::post().uri("/taken").to_request()).await;

    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = json_body(response).await;
    assert_eq!(
        body,
        json!({ "error": "email_taken", "error_description": "that email is registered" })
    );
}

#[actix_web::test]
async fn json_errors_replaces_a_handlers_plain_text_error_with_a_json_body() {
    let app = spawn().await;

    let response =
        test::call_service(&app, test::TestRequest::get().uri("/plain").to_request()).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = json_body(response).await;
    assert_error_body(&body, "invalid_request");
}

#[actix_web::test]
async fn json_errors_turns_an_oversized_body_into_a_json_413() {
    let app = spawn().await;

    let request = test::TestRequest::post()
        .uri("/echo")
        .set_json(json!({ "padding": "x".repeat(1024) }))
        .to_request();
    let response = test::call_service(&app, request).await;

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = json_body(response).await;
    assert_error_body(&body, "payload_too_large");
}

#[actix_web::test]
async fn json_errors_leaves_successful_responses_alone() {
    let app = spawn().await;

    let request = test::TestRequest::post()
        .uri("/echo")
        .set_json(json!({ "a": 1 }))
        .to_request();
    let response = test::call_service(&app, request).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body, json!({ "a": 1 }));
}
