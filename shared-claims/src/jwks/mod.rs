//! Fetching the issuer's public keys (its JWKS) into the
//! [`KeyStore`](crate::KeyStore) a verifier reads.
//!
//! Keys are fetched at start (retrying with backoff until the issuer
//! answers), again when a token names a `kid` the store does not hold (after
//! a key rotation, at most once per [`JwksOptions::min_refresh_interval`]),
//! and, if [`JwksOptions::refresh_interval`] is set, on a schedule, so that a
//! key the issuer withdrew stops being trusted. A failed fetch never clears
//! the keys already held: a resource server keeps verifying while the issuer
//! is down.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use shared_claims::jwks::{JwksClient, JwksOptions};
//! use shared_claims::{Authority, KeyStore, Verifier};
//!
//! # #[tokio::main] async fn main() -> Result<(), reqwest::Error> {
//! let keys = KeyStore::default();
//! let options = JwksOptions { refresh_interval: Some(Duration::from_secs(60)), ..JwksOptions::default() };
//! let jwks = Arc::new(JwksClient::new("https://auth.example/.well-known/jwks.json", keys.clone(), options)?);
//! // Fetches until ready, then every minute, until `task` is stopped or dropped.
//! let task = jwks.start();
//! let authority = Authority::new("api", Verifier::new("https://auth.example", "api", Duration::from_secs(30)), keys)
//!     .with_refresher(jwks);
//! # let _ = (authority, task);
//! # Ok(()) }
//! ```

mod client;
mod options;
mod task;

pub use client::JwksClient;
pub use options::{FetchError, FetchKind, JwksObserver, JwksOptions, MAX_JWKS_BYTES};
pub use task::JwksTask;
