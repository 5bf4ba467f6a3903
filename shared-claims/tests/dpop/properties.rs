//! Properties: no input panics, no edit of a valid proof is accepted (by a
//! key seen before or not), no `iat` outside the window passes.
//!
//! Case counts are modest so `cargo test` stays quick; `PROPTEST_CASES`
//! raises them for a longer run.

use crate::common::now;
use crate::common::proofs::ProofKey;
use crate::{request, verifier, HTU, TOKEN};
use proptest::prelude::*;
use shared_claims::dpop::DpopError;

/// Cases per property: `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig::with_cases(cases)
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn arbitrary_text_is_refused_without_panicking(text in ".{0,600}") {
        prop_assert!(verifier().verify(&text, &request(now())).is_err());
    }

    #[test]
    fn any_single_byte_change_to_a_valid_proof_is_refused(
        es256 in any::<bool>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let key = if es256 { ProofKey::es256() } else { ProofKey::eddsa() };
        let proof = key.proof("GET", HTU, now(), Some(TOKEN));
        let mut bytes = proof.clone().into_bytes();
        let at = at.index(bytes.len());
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        let edited = String::from_utf8_lossy(&bytes).into_owned();
        let v = verifier();
        // The original is fine; the edit is not.
        prop_assert!(v.verify(&edited, &request(now())).is_err(), "accepted {}", edited);
        prop_assert!(v.verify(&proof, &request(now())).is_ok());
    }

    #[test]
    fn any_single_byte_change_to_a_proof_by_a_seen_key_is_refused(
        es256 in any::<bool>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let key = if es256 { ProofKey::es256() } else { ProofKey::eddsa() };
        let v = verifier();
        // The key is kept ready by a first proof; the edited one comes next.
        prop_assert!(v.verify(&key.proof("GET", HTU, now(), Some(TOKEN)), &request(now())).is_ok());
        let proof = key.proof("GET", HTU, now(), Some(TOKEN));
        let mut bytes = proof.clone().into_bytes();
        let at = at.index(bytes.len());
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        let edited = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(v.verify(&edited, &request(now())).is_err(), "accepted {}", edited);
        prop_assert!(v.verify(&proof, &request(now())).is_ok());
    }

    #[test]
    fn an_iat_outside_the_window_is_always_refused(offset in 61i64..100_000, past in any::<bool>()) {
        let key = ProofKey::eddsa();
        let at = 1_700_000_000;
        let iat = if past { at - offset } else { at + offset };
        let refused = verifier().verify(&key.proof("GET", HTU, iat, Some(TOKEN)), &request(at));
        prop_assert_eq!(refused, Err(if past { DpopError::TooOld } else { DpopError::TooNew }));
    }
}
