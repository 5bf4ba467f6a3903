//! The auth-service's public keys come through shared-claims' JWKS client
//! (fetched at start, refetched for an unknown `kid`, kept while the
//! auth-service is down: API.md §4); this module only counts its fetches in
//! the service's [`Metrics`].

use shared_claims::jwks::{FetchError, FetchKind, JwksObserver};
pub use shared_claims::jwks::{JwksClient, JwksOptions};

use crate::metrics::Metrics;

impl JwksObserver for Metrics {
    fn fetched(&self, kind: FetchKind, outcome: Result<usize, &FetchError>) {
        self.jwks_fetched(kind, outcome.ok());
    }
}
