//! DPoP proof keys of a client (P-256 for ES256, Ed25519 for EdDSA), signing
//! proofs with the RustCrypto signers directly, independent of the verifier:
//! the proof builder of shared-claims' tests.

#[path = "../../../shared-claims/tests/common/proofs.rs"]
#[allow(dead_code)]
mod builder;

pub use builder::ProofKey;

impl ProofKey {
    /// A proof for `method` `htu`, now, carrying `ath` of `token`.
    pub fn proof_now(&self, method: &str, htu: &str, token: &str) -> String {
        self.proof(method, htu, super::now(), Some(token))
    }
}
