//! DPoP proof verification (RFC 9449 §4.3, API.md §7): every refusal, both
//! algorithms, the replay cache, thumbprints; and, as properties, that no
//! edit of a valid proof is accepted and no input panics.

mod cached_keys;
mod claims;
#[path = "../common/mod.rs"]
mod common;
mod header;
mod properties;

use common::now;
use common::proofs::{proof_claims, ProofKey};
use serde_json::Value;
use shared_claims::dpop::{DpopError, ProofRequest, ProofVerifier, PublicUrl, ReplayCache};

pub const BASE: &str = "https://api.example";
pub const HTU: &str = "https://api.example/api/me";
pub const TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZGEifQ.c2ln";

pub fn verifier() -> ProofVerifier {
    shared_claims::install_crypto_provider();
    ProofVerifier::new(
        PublicUrl::parse(BASE).expect("base"),
        ReplayCache::new(1024),
    )
}

pub fn request(now: i64) -> ProofRequest<'static> {
    ProofRequest {
        method: "GET",
        path: "/api/me",
        access_token: Some(TOKEN),
        jkt: None,
        now,
    }
}

/// Verifies a proof by `key` whose claims `edit` changed.
pub fn verify_claims(key: &ProofKey, edit: impl FnOnce(&mut Value)) -> Result<String, DpopError> {
    let mut claims = proof_claims("GET", HTU, now(), Some(TOKEN));
    edit(&mut claims);
    let proof = key.sign(&key.header(), &claims);
    verifier()
        .verify(&proof, &request(now()))
        .map(|p| p.into_jkt())
}

/// Verifies a proof by `key` whose header `edit` changed.
pub fn verify_header(key: &ProofKey, edit: impl FnOnce(&mut Value)) -> Result<String, DpopError> {
    let mut header = key.header();
    edit(&mut header);
    let proof = key.sign(&header, &proof_claims("GET", HTU, now(), Some(TOKEN)));
    verifier()
        .verify(&proof, &request(now()))
        .map(|p| p.into_jkt())
}
