//! What every flow needs, owned by one running application.

use std::sync::OnceLock;

use shared_claims::dpop::ProofVerifier;

use crate::config::Settings;
use crate::db::DbPool;
use crate::metrics::Metrics;
use crate::passwords::Hasher;
use crate::service::KeyCheck;
use crate::tokens::KeyRing;

/// The pool, the settings, the signing keys, the password hasher, the DPoP
/// proof verifier, and the metrics the flows count their outcomes in. Nothing here is shared with
/// another application in the same process.
#[derive(Debug)]
pub struct AppState {
    /// The database.
    pub pool: DbPool,
    /// The settings the service started with.
    pub settings: Settings,
    /// The signing keys.
    pub keys: KeyRing,
    /// This instance's metrics.
    pub metrics: Metrics,
    /// This instance's bcrypt threads.
    pub hasher: Hasher,
    /// Checks `DPoP` proofs against `AUTH_ISSUER`; its replay cache is this
    /// instance's, shared by the token endpoints and the Bearer routes.
    pub dpop: ProofVerifier,
    /// The ration of database checks the JWKS endpoint may make.
    pub(crate) key_check: KeyCheck,
    /// A hash to verify against when the email is unknown; made on first use.
    pub(crate) dummy_hash: OnceLock<String>,
}

impl AppState {
    /// Bundles the parts.
    pub fn new(
        pool: DbPool,
        settings: Settings,
        keys: KeyRing,
        metrics: Metrics,
        hasher: Hasher,
        dpop: ProofVerifier,
    ) -> Self {
        metrics.set_signing_keys(keys.store().snapshot().len());
        Self {
            pool,
            settings,
            keys,
            metrics,
            hasher,
            dpop,
            key_check: KeyCheck::default(),
            dummy_hash: OnceLock::new(),
        }
    }
}
