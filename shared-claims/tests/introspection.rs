//! The introspection client and the `SessionChecked` extractor against a
//! real HTTP endpoint on 127.0.0.1 that answers as told: live and ended
//! sessions, the client credentials it receives, one call shared by
//! concurrent checks, and an issuer that is down, slow or refusing.
#![expect(clippy::unwrap_used, reason = "a failing test shows the value it got")]

mod common;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App, HttpRequest, HttpResponse, HttpServer};
use common::{claims, key_set, now, verifier, TestKey};
use serde_json::{json, Value};
use shared_claims::actix::{Rejection, SessionChecked};
use shared_claims::introspection::{
    IntrospectionClient, IntrospectionError, IntrospectionObserver, IntrospectionOptions,
};
use shared_claims::{Authority, KeyStore, Role};

const REALM: &str = "resource-service";

/// What the stand-in endpoint answers, and what it was sent.
struct Served {
    status: Mutex<StatusCode>,
    body: Mutex<Value>,
    delay: Mutex<Duration>,
    calls: AtomicUsize,
    authorization: Mutex<Option<String>>,
    form: Mutex<Option<String>>,
}

struct IntrospectionServer {
    port: u16,
    served: Arc<Served>,
}

impl IntrospectionServer {
    fn spawn(body: Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = Arc::new(Served {
            status: Mutex::new(StatusCode::OK),
            body: Mutex::new(body),
            delay: Mutex::new(Duration::ZERO),
            calls: AtomicUsize::new(0),
            authorization: Mutex::new(None),
            form: Mutex::new(None),
        });
        let data = web::Data::from(served.clone());
        let server = HttpServer::new(move || {
            App::new().app_data(data.clone()).route(
                "/oauth/introspect",
                web::post().to(
                    |req: HttpRequest, form: String, served: web::Data<Served>| async move {
                        served.calls.fetch_add(1, Ordering::SeqCst);
                        *served.authorization.lock().unwrap() = req
                            .headers()
                            .get(header::AUTHORIZATION)
                            .map(|v| v.to_str().unwrap().to_owned());
                        *served.form.lock().unwrap() = Some(form);
                        let delay = *served.delay.lock().unwrap();
                        tokio::time::sleep(delay).await;
                        let status = *served.status.lock().unwrap();
                        let body = served.body.lock().unwrap().clone();
                        HttpResponse::build(status).json(body)
                    },
                ),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self { port, served }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/oauth/introspect", self.port)
    }

    fn calls(&self) -> usize {
        self.served.calls.load(Ordering::SeqCst)
    }

    fn answer(&self, status: StatusCode, body: Value) {
        *self.served.status.lock().unwrap() = status;
        *self.served.body.lock().unwrap() = body;
    }
}

fn live() -> Value {
    json!({"active": true, "token_type": "Bearer", "sub": "u1", "sid": "s1", "exp": now() + 300})
}

fn client_of(url: &str, options: IntrospectionOptions) -> IntrospectionClient {
    IntrospectionClient::new(url, "resource-service", "s3cret", options).unwrap()
}

async fn delete(user: SessionChecked) -> Result<HttpResponse, Rejection> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sends `DELETE /things/1` with `token` to an app whose route is session-checked.
async fn delete_with(
    key: &TestKey,
    introspection: IntrospectionClient,
    token: &str,
) -> (StatusCode, Option<String>, Value) {
    let authority = Authority::new(REALM, verifier(), KeyStore::new(key_set(&[key])));
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(authority))
            .app_data(web::Data::new(introspection))
            .route("/things/{id}", web::delete().to(delete)),
    )
    .await;
    let request = test::TestRequest::delete()
        .uri("/things/1")
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .to_request();
    let response = test::call_service(&app, request).await;
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = if status == StatusCode::NO_CONTENT {
        Value::Null
    } else {
        test::read_body_json(response).await
    };
    (status, challenge, body)
}

#[actix_web::test]
async fn a_live_token_passes_and_its_answer_is_remembered() {
    let key = TestKey::generate("k1");
    let token = key.sign(&claims(Role::Admin));
    let server = IntrospectionServer::spawn(live());
    let client = client_of(&server.url(), IntrospectionOptions::default());

    assert!(client.introspect(&token).await.unwrap().active);
    assert!(client.introspect(&token).await.unwrap().active);

    assert_eq!(
        server.calls(),
        1,
        "the second check is answered from the cache"
    );
    assert_eq!(client.cached_answers(), 1);
    let (status, _, _) = delete_with(&key, client, &token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(server.calls(), 1);
}

#[actix_web::test]
async fn an_inactive_token_is_401_invalid_token_with_the_stateless_challenge() {
    let key = TestKey::generate("k1");
    let token = key.sign(&claims(Role::Admin));
    let server = IntrospectionServer::spawn(json!({"active": false}));

    let (status, challenge, body) = delete_with(
        &key,
        client_of(&server.url(), IntrospectionOptions::default()),
        &token,
    )
    .await;

    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(
        challenge.as_deref(),
        Some(
            r#"Bearer realm="resource-service", error="invalid_token", error_description="the access token is no longer active""#
        )
    );
}

#[actix_web::test]
async fn the_credentials_go_form_url_encoded_in_basic_and_the_token_in_the_form() {
    use base64::Engine;
    let key = TestKey::generate("k1");
    let token = key.sign(&claims(Role::Admin));
    let server = IntrospectionServer::spawn(live());
    let client = IntrospectionClient::new(
        &server.url(),
        "svc:one é",
        "a+b/c=%",
        IntrospectionOptions::default(),
    )
    .unwrap();

    client.introspect(&token).await.unwrap();

    let sent = server.served.authorization.lock().unwrap().clone().unwrap();
    let encoded = sent.strip_prefix("Basic ").unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "svc%3Aone+%C3%A9:a%2Bb%2Fc%3D%25"
    );
    let form = server.served.form.lock().unwrap().clone().unwrap();
    assert_eq!(
        form,
        format!("token={token}&token_type_hint=access_token"),
        "a JWS needs no escaping"
    );
    assert!(!format!("{client:?}").contains("a+b/c=%"));
}

#[actix_web::test]
async fn concurrent_checks_of_one_token_share_one_call() {
    let key = TestKey::generate("k1");
    let token = key.sign(&claims(Role::Admin));
    let other = key.sign(&claims(Role::User));
    let server = IntrospectionServer::spawn(live());
    *server.served.delay.lock().unwrap() = Duration::from_millis(300);
    let client = client_of(&server.url(), IntrospectionOptions::default());

    let checks = (0..16).map(|i| {
        let token = if i % 2 == 0 { &token } else { &other };
        client.introspect(token)
    });
    let outcomes = futures_util::future::join_all(checks).await;

    assert!(outcomes.iter().all(|o| o.as_ref().unwrap().active));
    assert_eq!(server.calls(), 2, "one call per distinct token");
}

/// Answers and failures an observer was told of.
#[derive(Clone, Default)]
struct Counted(Arc<(AtomicUsize, AtomicUsize)>);

impl IntrospectionObserver for Counted {
    fn introspected(&self, outcome: Result<bool, &IntrospectionError>) {
        match outcome {
            Ok(_) => self.0 .0.fetch_add(1, Ordering::SeqCst),
            Err(_) => self.0 .1.fetch_add(1, Ordering::SeqCst),
        };
    }
}

#[actix_web::test]
async fn an_unreachable_issuer_is_503_not_ready_and_is_asked_again_next_time() {
    let key = TestKey::generate("k1");
    let token = key.sign(&claims(Role::Admin));
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/oauth/introspect",
        closed.local_addr().unwrap().port()
    );
    drop(closed);
    let counted = Counted::default();
    let client = client_of(&url, IntrospectionOptions::default()).with_observer(counted.clone());

    let (status, challenge, body) = delete_with(&key, client, &token).await;

    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "not_ready");
    assert!(body["error_description"].is_string());
    assert_eq!(challenge, None);
    assert_eq!(counted.0 .1.load(Ordering::SeqCst), 1);
}

#[actix_web::test]
async fn a_slow_issuer_is_503_within_the_timeout() {
    let key = TestKey::generate("k1");
    let token = key.sign(&claims(Role::Admin));
    let server = IntrospectionServer::spawn(live());
    *server.served.delay.lock().unwrap() = Duration::from_secs(10);
    let options = IntrospectionOptions {
        timeout: Duration::from_millis(500),
        ..IntrospectionOptions::default()
    };

    let started = Instant::now();
    let (status, _, body) = delete_with(&key, client_of(&server.url(), options), &token).await;

    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "not_ready");
}

#[actix_web::test]
async fn an_issuer_refusing_the_credentials_or_answering_nonsense_is_503_and_not_remembered() {
    let key = TestKey::generate("k1");
    let token = key.sign(&claims(Role::Admin));
    let server = IntrospectionServer::spawn(json!({"error": "invalid_client"}));
    server.answer(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}));
    let client = client_of(&server.url(), IntrospectionOptions::default());

    assert_eq!(
        client.introspect(&token).await,
        Err(IntrospectionError::Status(401))
    );
    server.answer(StatusCode::OK, json!({"sub": "no active member"}));
    assert!(matches!(
        client.introspect(&token).await,
        Err(IntrospectionError::Malformed(_))
    ));
    assert_eq!(server.calls(), 2);
    assert_eq!(client.cached_answers(), 0);
}

#[actix_web::test]
async fn a_forged_or_missing_token_is_refused_without_a_call() {
    let key = TestKey::generate("k1");
    let forger = TestKey::generate("k1");
    let server = IntrospectionServer::spawn(live());

    let forged = forger.sign(&claims(Role::Admin));
    let (status, _, body) = delete_with(
        &key,
        client_of(&server.url(), IntrospectionOptions::default()),
        &forged,
    )
    .await;

    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(server.calls(), 0);
}

#[actix_web::test]
async fn a_user_with_a_live_session_is_still_refused_an_admin_route() {
    let key = TestKey::generate("k1");
    let token = key.sign(&claims(Role::User));
    let server = IntrospectionServer::spawn(live());

    let (status, _, body) = delete_with(
        &key,
        client_of(&server.url(), IntrospectionOptions::default()),
        &token,
    )
    .await;

    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "insufficient_role");
}

#[actix_web::test]
async fn a_session_checked_route_without_an_introspection_client_fails_closed() {
    let key = TestKey::generate("k1");
    let token = key.sign(&claims(Role::Admin));
    let authority = Authority::new(REALM, verifier(), KeyStore::new(key_set(&[&key])));
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(authority))
            .route("/things/{id}", web::delete().to(delete)),
    )
    .await;

    let request = test::TestRequest::delete()
        .uri("/things/1")
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .to_request();
    let response = test::call_service(&app, request).await;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}
