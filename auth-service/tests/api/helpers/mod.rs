//! Test scaffolding, one module per job: starting the services, the
//! database each test gets, the private PostgreSQL cluster, the real
//! binaries as child processes, the OpenAPI response checks, and reading
//! what the database stored.
//!
//! Everything is re-exported here, so a test module needs only
//! `use crate::helpers::*;`.

use std::sync::Once;
use std::time::Duration;

use reqwest::Response;
use serde_json::Value;

mod app;
mod databases;
mod openapi;
mod postgres_cluster;
mod process;
mod resource;
mod stored;

pub use app::*;
pub use databases::*;
pub use openapi::*;
pub use postgres_cluster::*;
pub use process::*;
pub use resource::*;
pub use stored::*;

pub const ISSUER: &str = "http://auth.test";
pub const AUDIENCE: &str = "resource-service";
pub const PASSWORD: &str = "correct horse battery";

/// Runs each named test once per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($backend:ident: Backend) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn scenario($backend: Backend) $body

                #[tokio::test]
                async fn sqlite() {
                    scenario(Backend::Sqlite).await
                }

                #[tokio::test]
                async fn postgres() {
                    scenario(Backend::Postgres).await
                }
            }
        )*
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub(crate) fn init_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = env_logger::Builder::from_env(
                env_logger::Env::default().default_filter_or("debug"),
            )
            .is_test(true)
            .try_init();
        }
    });
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A unique email for a test.
pub fn email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// Asserts a JSON error body with this status and code.
pub async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type}"
    );
    let body: Value = response.json().await.expect("json body");
    assert_eq!(body["error"], code, "body {body}");
    assert!(body["error_description"].is_string(), "body {body}");
    body
}

/// The claims of an access token, read without verifying it.
pub fn claims(access_token: &str) -> Value {
    use base64::Engine;
    let payload = access_token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

/// The `sid` claim of an access token (read, not verified: the tests got
/// the token from the service itself).
pub fn session_id_of(access_token: &str) -> String {
    use base64::Engine as _;
    let payload = access_token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    let claims: Value = serde_json::from_slice(&bytes).expect("JSON claims");
    claims["sid"].as_str().expect("sid").to_owned()
}
