//! Test scaffolding: a stand-in auth-service that serves a JWKS (and counts
//! how often it is fetched), Ed25519 keys that sign access tokens, and
//! `spawn_app`, which starts the resource-service on a free port; DPoP proof
//! keys in `proofs`.

pub mod proofs;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::SigningKey;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use resource_service::config::Settings;
use resource_service::jwks::JwksOptions;
use resource_service::startup::Application;
use serde_json::{json, Value};
use uuid::Uuid;

pub const ISSUER: &str = "http://auth.test";
pub const AUDIENCE: &str = "resource-service";

/// Logs only when `TEST_LOG` is set, so a normal run stays quiet.
fn init_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = env_logger::builder()
            .is_test(true)
            .filter_level(log::LevelFilter::Debug)
            .try_init();
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An Ed25519 signing key with its `kid`, as the auth-service holds one.
pub struct TestKey {
    pub kid: String,
    signing: SigningKey,
}

impl TestKey {
    pub fn generate() -> Self {
        Self::with_kid(&Uuid::new_v4().to_string())
    }

    pub fn with_kid(kid: &str) -> Self {
        Self {
            kid: kid.to_owned(),
            signing: SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    /// The public half as a JWK. Built from the raw 32-byte public key:
    /// `Jwk::from_encoding_key` does not take ed25519-dalek's PKCS#8 form.
    pub fn jwk(&self) -> Jwk {
        let public = DecodingKey::from_ed_der(self.signing.verifying_key().as_bytes());
        let mut jwk = Jwk::from_decoding_key(&public, Some(Algorithm::EdDSA)).unwrap();
        jwk.common.key_id = Some(self.kid.clone());
        jwk
    }

    /// The header the auth-service puts on an access token.
    pub fn header(&self) -> Header {
        Header {
            kid: Some(self.kid.clone()),
            typ: Some("at+jwt".to_owned()),
            ..Header::new(Algorithm::EdDSA)
        }
    }

    pub fn public_bytes(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(&self.header(), claims)
    }

    pub fn sign_with_header(&self, header: &Header, claims: &Value) -> String {
        let der = self.signing.to_pkcs8_der().unwrap();
        jsonwebtoken::encode(header, claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
    }
}

/// Claims of a valid access token for a fresh user with `role`.
pub fn claims(role: &str) -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": Uuid::new_v4().to_string(),
        "exp": now + 300,
        "iat": now,
        "jti": Uuid::new_v4().to_string(),
        "client_id": "first-party",
        "sid": Uuid::new_v4().to_string(),
        "role": role,
        "email": format!("{role}@example.com"),
    })
}

/// Claims of a valid service token (client credentials) of a fresh client.
pub fn service_claims() -> Value {
    let now = now();
    let client = Uuid::new_v4().to_string();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": client,
        "client_id": client,
        "exp": now + 300,
        "iat": now,
        "jti": Uuid::new_v4().to_string(),
        "role": "service",
    })
}

struct JwksState {
    jwks: Mutex<JwkSet>,
    fetches: AtomicUsize,
}

/// A stand-in for the auth-service's `/.well-known/jwks.json`. Its port is
/// reserved at once, so the resource-service can be pointed at it before it
/// starts.
pub struct JwksServer {
    port: u16,
    state: Arc<JwksState>,
    handle: Option<ServerHandle>,
}

impl JwksServer {
    /// Reserves a port and serves `keys` there once started.
    pub fn reserve(keys: &[&TestKey]) -> Self {
        // Bind then release: the port stays free for `start` in practice,
        // since the kernel hands out ephemeral ports in turn.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Self {
            port,
            state: Arc::new(JwksState {
                jwks: Mutex::new(JwkSet { keys: vec![] }),
                fetches: AtomicUsize::new(0),
            }),
            handle: None,
        };
        server.serve(keys);
        server
    }

    pub async fn spawn(keys: &[&TestKey]) -> Self {
        let mut server = Self::reserve(keys);
        server.start();
        server
    }

    pub fn start(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        let state = web::Data::from(self.state.clone());
        let server = HttpServer::new(move || {
            App::new().app_data(state.clone()).route(
                "/.well-known/jwks.json",
                web::get().to(|state: web::Data<JwksState>| async move {
                    state.fetches.fetch_add(1, Ordering::SeqCst);
                    let jwks = state.jwks.lock().unwrap().clone();
                    HttpResponse::Ok().json(jwks)
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

    pub async fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop(false).await;
        }
    }

    /// Serves `keys` from now on (a key rotation).
    pub fn serve(&self, keys: &[&TestKey]) {
        *self.state.jwks.lock().unwrap() = JwkSet {
            keys: keys.iter().map(|k| k.jwk()).collect(),
        };
    }

    pub fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/.well-known/jwks.json", self.port)
    }
}

/// JWKS timings for tests: quick retries, and a refetch interval short
/// enough to wait out but long enough to see the rate limit.
pub fn test_jwks_options() -> JwksOptions {
    JwksOptions {
        min_refresh_interval: Duration::from_millis(500),
        timeout: Duration::from_secs(2),
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..JwksOptions::default()
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
}

/// Starts the resource-service against `jwks_url`, without waiting for it to
/// hold the keys.
pub async fn spawn_app_with(jwks_url: &str, options: JwksOptions) -> TestApp {
    spawn_app_configured(jwks_url, options, |_| {}).await
}

/// [`spawn_app_with`], with the test settings changed by `configure` first.
pub async fn spawn_app_configured(
    jwks_url: &str,
    options: JwksOptions,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    init_logging();
    let mut settings = Settings {
        bind: "127.0.0.1:0".to_owned(),
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        jwks_url: jwks_url.to_owned(),
        clock_leeway: Duration::ZERO,
        cors_allowed_origins: vec![],
        jwks_refresh_interval: Duration::from_secs(60),
        introspection_url: "http://127.0.0.1:1/oauth/introspect".into(),
        introspection_client: None,
        introspection_cache_ttl: Duration::from_secs(10),
        public_url: None,
    };
    configure(&mut settings);
    let app = Application::build_with(settings, options).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
    }
}

/// A running JWKS server serving one key, and the resource-service, ready.
pub struct TestEnv {
    pub app: TestApp,
    pub jwks: JwksServer,
    pub key: TestKey,
}

pub async fn spawn_app() -> TestEnv {
    let key = TestKey::generate();
    let jwks = JwksServer::spawn(&[&key]).await;
    let app = spawn_app_with(&jwks.url(), test_jwks_options()).await;
    app.wait_until_ready().await;
    TestEnv { app, jwks, key }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Polls `/readyz` for up to 10 s.
    pub async fn wait_until_ready(&self) {
        for _ in 0..200 {
            if self.get("/readyz", None).await.status() == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the resource-service did not become ready");
    }

    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.request(reqwest::Method::GET, path, token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_me(&self, token: &str) -> reqwest::Response {
        self.get("/api/me", Some(token)).await
    }

    pub async fn get_projects(&self, token: &str) -> reqwest::Response {
        self.get("/api/projects", Some(token)).await
    }

    pub async fn post_project(&self, token: &str, body: &Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, "/api/projects", Some(token))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete_project(&self, token: &str, id: &str) -> reqwest::Response {
        self.request(
            reqwest::Method::DELETE,
            &format!("/api/projects/{id}"),
            Some(token),
        )
        .send()
        .await
        .unwrap()
    }
}

/// The `error` code of a JSON error body, checking the body is the API.md shape.
pub async fn error_code(response: reqwest::Response) -> String {
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type:?}"
    );
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error_description"].is_string(),
        "no error_description in {body}"
    );
    body["error"].as_str().unwrap().to_owned()
}

pub fn www_authenticate(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
