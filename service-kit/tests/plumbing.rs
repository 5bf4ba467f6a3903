//! An `App` from `Plumbing`: the routes every service has, the readiness
//! check the service supplies, metrics by route pattern, request ids, and
//! refused JSON bodies answered as the service's own error.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, web, HttpResponse, ResponseError};
use serde_json::{json, Value};
use service_kit::errors::BodyError;
use service_kit::request_id::REQUEST_ID_HEADER;
use service_kit::{Plumbing, Readiness};
use shared_claims::ErrorBody;

/// A service's error type, as small as the kit needs it.
#[derive(Debug, thiserror::Error)]
enum Error {
    #[error("{0:?}")]
    Body(BodyError),
    #[error("the test says not yet")]
    NotReady,
}

impl From<BodyError> for Error {
    fn from(e: BodyError) -> Self {
        Error::Body(e)
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::Body(BodyError::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Body(BodyError::UnsupportedMediaType) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Body(BodyError::Invalid(_)) => StatusCode::BAD_REQUEST,
            Error::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            Error::Body(BodyError::TooLarge) => "payload_too_large",
            Error::Body(BodyError::UnsupportedMediaType) => "unsupported_media_type",
            Error::Body(BodyError::Invalid(_)) => "invalid_request",
            Error::NotReady => "not_ready",
        };
        HttpResponse::build(self.status_code()).json(ErrorBody::new(code, self.to_string()))
    }
}

/// Ready once the test says so.
#[derive(Debug, Clone, Default)]
struct Switch(Arc<AtomicBool>);

impl Readiness for Switch {
    type Error = Error;
    async fn check(&self) -> Result<(), Error> {
        if self.0.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(Error::NotReady)
        }
    }
}

async fn echo(body: web::Json<Value>) -> HttpResponse {
    HttpResponse::Ok().json(body.into_inner())
}

async fn spawn(
    ready: Switch,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    let plumbing = Plumbing::new(
        prometheus::Registry::new(),
        Vec::new(),
        ready,
        Default::default(),
    )
    .expect("plumbing");
    test::init_service(plumbing.app::<Error>(|routes| {
        routes.service(web::resource("/items/{id}").route(web::post().to(echo)));
    }))
    .await
}

async fn get(
    app: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
    path: &str,
) -> (StatusCode, String) {
    let response = test::call_service(app, test::TestRequest::get().uri(path).to_request()).await;
    let status = response.status();
    let body = test::read_body(response).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[actix_web::test]
async fn healthz_answers_ok_whatever_the_readiness() {
    let app = spawn(Switch::default()).await;

    let (status, body) = get(&app, "/healthz").await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json"),
        json!({ "status": "ok" })
    );
}

#[actix_web::test]
async fn readyz_answers_the_checks_error_until_it_passes() {
    let ready = Switch::default();
    let app = spawn(ready.clone()).await;

    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let body: ErrorBody = serde_json::from_str(&body).expect("an error body");
    assert_eq!(body.error, "not_ready");

    ready.0.store(true, Ordering::SeqCst);
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json"),
        json!({ "status": "ready" })
    );
}

#[actix_web::test]
async fn metrics_label_requests_by_route_pattern_and_unmatched_paths_by_one_label() {
    let app = spawn(Switch::default()).await;
    let request = test::TestRequest::post()
        .uri("/items/42")
        .set_json(json!({ "a": 1 }))
        .to_request();
    assert_eq!(
        test::call_service(&app, request).await.status(),
        StatusCode::OK
    );
    assert_eq!(get(&app, "/random/path").await.0, StatusCode::NOT_FOUND);

    let (status, text) = get(&app, "/metrics").await;

    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("route=\"/items/{id}\""), "{text}");
    assert!(text.contains("route=\"unmatched\""), "{text}");
    assert!(!text.contains("/random/path"), "{text}");
    assert!(!text.contains("/items/42"), "{text}");
}

#[actix_web::test]
async fn every_response_carries_a_request_id_and_a_sane_one_is_kept() {
    let app = spawn(Switch::default()).await;

    let kept = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/nowhere")
            .insert_header((REQUEST_ID_HEADER, "abc-123"))
            .to_request(),
    )
    .await;
    let made =
        test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;

    assert_eq!(
        kept.headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok()),
        Some("abc-123")
    );
    let made = made
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok());
    assert_eq!(made.map(str::len), Some(36), "{made:?}");
}

#[actix_web::test]
async fn refused_json_bodies_are_answered_as_the_services_error() {
    let app = spawn(Switch::default()).await;
    let cases = [
        (
            test::TestRequest::post()
                .uri("/items/1")
                .insert_header(("content-type", "application/json"))
                .set_payload("{"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            test::TestRequest::post()
                .uri("/items/1")
                .insert_header(("content-type", "text/plain"))
                .set_payload("{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            test::TestRequest::post()
                .uri("/items/1")
                .set_json(json!({ "padding": "x".repeat(service_kit::MAX_BODY_BYTES) })),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (request, expected, code) in cases {
        let response = test::call_service(&app, request.to_request()).await;
        assert_eq!(response.status(), expected);
        let body = test::read_body(response).await;
        let body: ErrorBody = serde_json::from_slice(&body).expect("an error body");
        assert_eq!(body.error, code);
        // The service's own text, not the framework's bare status.
        assert_ne!(
            Some(body.error_description.as_str()),
            expected.canonical_reason()
        );
    }
}

#[actix_web::test]
async fn the_document_and_its_page_are_served() {
    let app = spawn(Switch::default()).await;

    assert_eq!(get(&app, "/openapi.json").await.0, StatusCode::OK);
    let redirect =
        test::call_service(&app, test::TestRequest::get().uri("/docs").to_request()).await;
    assert_eq!(
        redirect
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/docs/")
    );
    assert_eq!(get(&app, "/docs/").await.0, StatusCode::OK);
}

#[actix_web::test]
async fn every_file_of_the_docs_page_carries_the_content_security_policy() {
    let app = spawn(Switch::default()).await;

    for path in [
        "/docs",
        "/docs/",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-initializer.js",
        "/docs/swagger-ui.css",
        "/docs/no-such-file.js",
    ] {
        let response =
            test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(
            response
                .headers()
                .get("content-security-policy")
                .and_then(|v| v.to_str().ok()),
            Some(service_kit::openapi::DOCS_POLICY),
            "{path}"
        );
    }
}
