//! The auth-service: the authorization server of the system. It registers and
//! logs in users, keeps their sessions, rotates refresh tokens with reuse
//! detection, and signs short-lived EdDSA access tokens that resource servers
//! verify on their own with the keys it publishes at `/.well-known/jwks.json`.
//!
//! The HTTP contract is `API.md`; this crate is laid out as:
#![forbid(unsafe_code)]

/// The command line: `serve`, `migrate`, `user ...`, `keys rotate`.
pub mod cli;
/// Settings read once from the environment.
pub mod config;
/// Storage over PostgreSQL or SQLite.
pub mod db;
/// Validated types (email, password, ids) and the values the flows return.
pub mod domain;
/// The crate's error type and its HTTP mapping.
pub mod error;
/// The service's own Prometheus series (the kit serves `GET /metrics`).
pub mod metrics;
/// The OpenAPI document, which the kit serves at `GET /openapi.json` and `/docs`.
pub mod openapi;
/// The password hasher: bcrypt on low-priority threads the application owns.
pub mod passwords;
/// HTTP handlers.
pub mod routes;
/// The flows, one file each: register, login, refresh, sessions, password, admin, keys.
pub mod service;
/// Building and running the server.
pub mod startup;
/// `AppState`: what every flow needs, owned by one running application.
pub mod state;
/// Signing keys, access and refresh tokens.
pub mod tokens;

/// The realm named in this service's `WWW-Authenticate` challenges.
pub const REALM: &str = "auth-service";
