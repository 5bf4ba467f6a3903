//! The JWKS client against a real HTTP server on 127.0.0.1 whose JWKS
//! changes during a test: start-up with backoff, the refetch for an unknown
//! `kid` and its rate limit, the issuer being down, the periodic refresh, and
//! the answers that are not a usable JWKS.
#![expect(clippy::unwrap_used, reason = "a failing test shows the value it got")]

mod common;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpResponse, HttpServer};
use common::{claims, jwks_json, verifier, TestKey};
use shared_claims::jwks::{FetchError, FetchKind, JwksClient, JwksObserver, JwksOptions};
use shared_claims::{Authority, KeyStore, Role, VerifyError};

/// What the stand-in issuer answers, and how often it was asked.
struct Served {
    status: Mutex<StatusCode>,
    body: Mutex<String>,
    fetches: AtomicUsize,
}

/// A stand-in for the auth-service's `/.well-known/jwks.json`. Its port is
/// reserved at once, so a client can be pointed at it before it starts.
struct JwksServer {
    port: u16,
    served: Arc<Served>,
    handle: Option<ServerHandle>,
}

impl JwksServer {
    fn reserve(keys: &[&TestKey]) -> Self {
        // Bind then release: the port stays free for `start` in practice,
        // since the kernel hands out ephemeral ports in turn.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self {
            port,
            served: Arc::new(Served {
                status: Mutex::new(StatusCode::OK),
                body: Mutex::new(jwks_json(keys)),
                fetches: AtomicUsize::new(0),
            }),
            handle: None,
        }
    }

    fn spawn(keys: &[&TestKey]) -> Self {
        let mut server = Self::reserve(keys);
        server.start();
        server
    }

    fn start(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        let served = web::Data::from(self.served.clone());
        let server = HttpServer::new(move || {
            App::new().app_data(served.clone()).route(
                "/.well-known/jwks.json",
                web::get().to(|served: web::Data<Served>| async move {
                    served.fetches.fetch_add(1, Ordering::SeqCst);
                    let status = *served.status.lock().unwrap();
                    let body = served.body.lock().unwrap().clone();
                    HttpResponse::build(status)
                        .content_type("application/json")
                        .body(body)
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        self.handle = Some(server.handle());
        tokio::spawn(server);
    }

    async fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop(false).await;
        }
    }

    /// Serves these keys from now on (a rotation, or a withdrawal).
    fn serve(&self, keys: &[&TestKey]) {
        self.answer(StatusCode::OK, jwks_json(keys));
    }

    fn answer(&self, status: StatusCode, body: String) {
        *self.served.status.lock().unwrap() = status;
        *self.served.body.lock().unwrap() = body;
    }

    fn fetches(&self) -> usize {
        self.served.fetches.load(Ordering::SeqCst)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/.well-known/jwks.json", self.port)
    }
}

/// Quick retries, and a refetch interval short enough to wait out but long
/// enough to see the rate limit.
fn options() -> JwksOptions {
    JwksOptions {
        min_refresh_interval: Duration::from_millis(500),
        timeout: Duration::from_secs(2),
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..JwksOptions::default()
    }
}

/// A fetch as the client reported it: its kind and the keys it brought, if any.
type Seen = (FetchKind, Option<usize>);

/// Every fetch the client reported.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
}

impl JwksObserver for Recorder {
    fn fetched(&self, kind: FetchKind, outcome: Result<usize, &FetchError>) {
        self.0.lock().unwrap().push((kind, outcome.ok()));
    }
}

/// A client of `server` with these options, and the authority that uses it.
fn client(server: &JwksServer, options: JwksOptions) -> (Arc<JwksClient>, Authority) {
    let keys = KeyStore::default();
    let client = Arc::new(JwksClient::new(&server.url(), keys.clone(), options).unwrap());
    let authority = Authority::new("api", verifier(), keys).with_refresher(client.clone());
    (client, authority)
}

/// Polls `done` every 20 ms for up to 10 s.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what} never happened");
}

// --- start-up ---

#[tokio::test]
async fn start_up_retries_with_backoff_until_the_issuer_answers() {
    let key = TestKey::generate("k1");
    let mut server = JwksServer::reserve(&[&key]);
    let recorder = Recorder::default();
    let keys = KeyStore::default();
    let client = Arc::new(
        JwksClient::new(&server.url(), keys, options())
            .unwrap()
            .with_observer(recorder.clone()),
    );
    let task = client.start();

    // The issuer is not up: several fetches fail meanwhile.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!client.is_ready());
    let failed = recorder.seen();
    assert!(failed.len() >= 2, "{failed:?}");
    assert!(failed
        .iter()
        .all(|seen| *seen == (FetchKind::Initial, None)));

    server.start();
    eventually("the start-up fetch", || client.is_ready()).await;

    assert!(client.keys().snapshot().contains("k1"));
    assert_eq!(recorder.seen().last(), Some(&(FetchKind::Initial, Some(1))));
    // Without a refresh interval the task ends once the keys are held.
    eventually("the end of the task", || task.is_finished()).await;
}

#[tokio::test]
async fn a_token_is_accepted_once_the_keys_are_fetched() {
    let key = TestKey::generate("k1");
    let server = JwksServer::spawn(&[&key]);
    let (client, authority) = client(&server, options());

    client.fetch_until_ready().await;

    let token = key.sign(&claims(Role::User));
    assert_eq!(
        authority.verify(&token).await.unwrap().subject.user_role(),
        Some(Role::User)
    );
    assert_eq!(server.fetches(), 1);
}

// --- the refetch for an unknown kid ---

#[tokio::test]
async fn a_token_from_a_rotated_in_key_is_accepted_after_a_refetch() {
    let old = TestKey::generate("old");
    let server = JwksServer::spawn(&[&old]);
    let (client, authority) = client(&server, options());
    client.fetch_until_ready().await;
    let new = TestKey::generate("new");
    server.serve(&[&old, &new]);
    tokio::time::sleep(options().min_refresh_interval).await;

    let outcome = authority.verify(&new.sign(&claims(Role::User))).await;

    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_the_jwks_at_most_twice() {
    let key = TestKey::generate("k1");
    let server = JwksServer::spawn(&[&key]);
    let options = JwksOptions {
        min_refresh_interval: Duration::from_secs(1),
        ..options()
    };
    let (client, authority) = client(&server, options.clone());
    client.fetch_until_ready().await;
    let before = server.fetches();
    // Past the interval, so the flood is allowed exactly one real fetch.
    tokio::time::sleep(options.min_refresh_interval).await;

    let attempts: Vec<_> = (0..50)
        .map(|i| {
            let authority = authority.clone();
            let forged = TestKey::generate(&format!("forged-{i}")).sign(&claims(Role::Admin));
            tokio::spawn(async move { authority.verify(&forged).await })
        })
        .collect();
    for attempt in attempts {
        assert!(matches!(
            attempt.await.unwrap(),
            Err(VerifyError::UnknownKey(Some(_)))
        ));
    }

    let refetches = server.fetches() - before;
    assert!(
        (1..=2).contains(&refetches),
        "{refetches} fetches for 50 unknown kids"
    );
}

#[tokio::test]
async fn tokens_are_still_verified_while_the_issuer_is_down() {
    let key = TestKey::generate("k1");
    let mut server = JwksServer::spawn(&[&key]);
    let recorder = Recorder::default();
    let keys = KeyStore::default();
    let client = Arc::new(
        JwksClient::new(&server.url(), keys.clone(), options())
            .unwrap()
            .with_observer(recorder.clone()),
    );
    let authority = Authority::new("api", verifier(), keys).with_refresher(client.clone());
    client.fetch_until_ready().await;
    let token = key.sign(&claims(Role::User));
    server.stop().await;
    // An unknown kid now makes a refetch that fails; the keys held must stay.
    tokio::time::sleep(options().min_refresh_interval).await;
    let forged = TestKey::generate("forged").sign(&claims(Role::User));
    assert!(authority.verify(&forged).await.is_err());
    assert_eq!(recorder.seen().last(), Some(&(FetchKind::Refetch, None)));

    let outcome = authority.verify(&token).await;

    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(client.is_ready());
}

// --- the periodic refresh ---

fn periodic() -> JwksOptions {
    JwksOptions {
        refresh_interval: Some(Duration::from_millis(200)),
        ..options()
    }
}

#[tokio::test]
async fn a_key_that_left_the_jwks_is_refused_after_the_periodic_refresh() {
    let leaving = TestKey::generate("leaving");
    let staying = TestKey::generate("staying");
    let server = JwksServer::spawn(&[&leaving, &staying]);
    let (client, authority) = client(&server, periodic());
    let _task = client.start();
    eventually("the start-up fetch", || client.is_ready()).await;
    let token = leaving.sign(&claims(Role::User));
    assert!(authority.verify(&token).await.is_ok());

    server.serve(&[&staying]);
    eventually("the periodic refresh", || {
        !client.keys().snapshot().contains("leaving")
    })
    .await;

    // Refused although it was verified (and cached) before.
    assert_eq!(
        authority.verify(&token).await,
        Err(VerifyError::UnknownKey(Some("leaving".to_owned())))
    );
    assert!(authority
        .verify(&staying.sign(&claims(Role::User)))
        .await
        .is_ok());
}

#[tokio::test]
async fn the_periodic_refresh_brings_a_new_key_before_any_token_asks_for_it() {
    let old = TestKey::generate("old");
    let server = JwksServer::spawn(&[&old]);
    let recorder = Recorder::default();
    let client = Arc::new(
        JwksClient::new(&server.url(), KeyStore::default(), periodic())
            .unwrap()
            .with_observer(recorder.clone()),
    );
    let _task = client.start();
    eventually("the start-up fetch", || client.is_ready()).await;

    let new = TestKey::generate("new");
    server.serve(&[&old, &new]);

    eventually("the periodic refresh", || {
        client.keys().snapshot().contains("new")
    })
    .await;
    assert!(recorder.seen().contains(&(FetchKind::Periodic, Some(2))));
}

#[tokio::test]
async fn a_failed_periodic_refresh_keeps_the_keys_held() {
    let key = TestKey::generate("k1");
    let mut server = JwksServer::spawn(&[&key]);
    let recorder = Recorder::default();
    let keys = KeyStore::default();
    let client = Arc::new(
        JwksClient::new(&server.url(), keys.clone(), periodic())
            .unwrap()
            .with_observer(recorder.clone()),
    );
    let authority = Authority::new("api", verifier(), keys).with_refresher(client.clone());
    let _task = client.start();
    eventually("the start-up fetch", || client.is_ready()).await;

    server.stop().await;
    eventually("two failed periodic refreshes", || {
        recorder
            .seen()
            .iter()
            .filter(|seen| **seen == (FetchKind::Periodic, None))
            .count()
            >= 2
    })
    .await;

    assert!(client.keys().snapshot().contains("k1"));
    assert!(authority
        .verify(&key.sign(&claims(Role::User)))
        .await
        .is_ok());
}

#[tokio::test]
async fn a_stopped_task_fetches_no_more() {
    let key = TestKey::generate("k1");
    let server = JwksServer::spawn(&[&key]);
    let (client, _) = client(&server, periodic());
    let task = client.start();
    eventually("a periodic refresh", || server.fetches() >= 2).await;

    task.stop().await;
    let fetches = server.fetches();
    tokio::time::sleep(periodic().refresh_interval.unwrap() * 3).await;

    assert_eq!(server.fetches(), fetches);
}

#[tokio::test]
async fn a_dropped_task_fetches_no_more() {
    let key = TestKey::generate("k1");
    let server = JwksServer::spawn(&[&key]);
    let (client, _) = client(&server, periodic());
    let task = client.start();
    eventually("a periodic refresh", || server.fetches() >= 2).await;

    drop(task);
    // Let an abort that lands mid-fetch settle before counting.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let fetches = server.fetches();
    tokio::time::sleep(periodic().refresh_interval.unwrap() * 3).await;

    assert_eq!(server.fetches(), fetches);
}

// --- answers that are not a usable JWKS ---

#[tokio::test]
async fn a_non_2xx_answer_is_a_status_error() {
    let server = JwksServer::spawn(&[]);
    server.answer(StatusCode::SERVICE_UNAVAILABLE, "{}".to_owned());
    let (client, _) = client(&server, options());

    let outcome = client.fetch().await;

    assert!(
        matches!(outcome, Err(FetchError::Status(s)) if s == 503),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_jwks_is_a_parse_error() {
    let server = JwksServer::spawn(&[]);
    server.answer(StatusCode::OK, "<html>sign in</html>".to_owned());
    let (client, _) = client(&server, options());

    let outcome = client.fetch().await;

    assert!(matches!(outcome, Err(FetchError::Parse(_))), "{outcome:?}");
}

#[tokio::test]
async fn a_jwks_without_ed25519_keys_is_refused_and_the_keys_held_stay() {
    let key = TestKey::generate("k1");
    let server = JwksServer::spawn(&[&key]);
    let (client, _) = client(&server, options());
    client.fetch_until_ready().await;
    server.answer(
        StatusCode::OK,
        r#"{"keys":[{"kty":"oct","kid":"h1","k":"c2VjcmV0"}]}"#.to_owned(),
    );

    assert!(matches!(client.fetch().await, Err(FetchError::NoKeys)));
    client.refresh_now().await;

    assert!(client.keys().snapshot().contains("k1"));
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    let server = JwksServer::spawn(&[]);
    let padding = " ".repeat(shared_claims::jwks::MAX_JWKS_BYTES);
    server.answer(StatusCode::OK, format!("{{\"keys\":[]{padding}}}"));
    let (client, _) = client(&server, options());

    let outcome = client.fetch().await;

    assert!(matches!(outcome, Err(FetchError::TooLarge)), "{outcome:?}");
}
