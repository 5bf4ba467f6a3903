//! DPoP proofs made here by a client's key pair, signed by the RustCrypto
//! signers directly so that they do not come from the code that checks them:
//! the proof builder of shared-claims' tests, with this suite's defaults.

#[path = "../../../../shared-claims/tests/common/proofs.rs"]
#[allow(dead_code)]
mod builder;

pub use builder::ProofKey;

use crate::helpers::ISSUER;

impl ProofKey {
    /// A valid proof for `method` at the auth-service's `path`, now, with a
    /// fresh `jti` and, given an access token, its `ath`.
    pub fn proof_at(&self, method: &str, path: &str, access_token: Option<&str>) -> String {
        self.proof_for(method, &format!("{ISSUER}{path}"), access_token)
    }

    /// A valid proof for `method` at the absolute URL `htu`, now.
    pub fn proof_for(&self, method: &str, htu: &str, access_token: Option<&str>) -> String {
        self.proof(method, htu, chrono::Utc::now().timestamp(), access_token)
    }
}
