//! An example resource server, and the template for others: it accepts
//! access tokens issued by the auth-service and verifies them *statelessly*,
//! with the auth-service's public keys (its JWKS) fetched once and cached. No
//! database, no call to the auth-service per request; a token signed by a key
//! it does not know yet makes it refetch the keys, at most once every few
//! seconds. The one exception is opt-in: with introspection credentials
//! (`INTROSPECTION_CLIENT_ID`), deleting a project also asks the
//! auth-service whether the token's session is still live, caching the
//! answer. Its example resources, projects, live in memory (API.md §4).
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use resource_service::{config::Settings, startup::Application};
//!
//! let settings = Settings::from_env().expect("valid settings");
//! let app = Application::build(settings).await?;
//! println!("listening on port {}", app.port());
//! app.run_until_stopped().await
//! # }
//! ```
#![forbid(unsafe_code)]

/// Settings read from the environment.
pub mod config;
/// The crate's error type and its JSON responses.
pub mod error;
/// Fetching and refreshing the auth-service's public keys.
pub mod jwks;
/// The service's own Prometheus series (the kit serves `GET /metrics`).
pub mod metrics;
/// The OpenAPI document, which the kit serves at `GET /openapi.json` and `/docs`.
pub mod openapi;
/// The HTTP handlers.
pub mod routes;
/// Binding, wiring and running the server.
pub mod startup;
