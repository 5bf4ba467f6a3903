//! A key the verifier has seen before: its header's work is kept, every
//! proof's signature and claims are still checked.

use crate::common::now;
use crate::common::proofs::{proof_claims, ProofKey};
use crate::{request, verifier, BASE, HTU, TOKEN};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;
use shared_claims::dpop::{DpopError, ProofRequest, ProofVerifier};

/// An edit of a proof's claims.
type Edit = fn(&mut serde_json::Value);

fn both_keys() -> [ProofKey; 2] {
    [ProofKey::es256(), ProofKey::eddsa()]
}

/// A verifier that has already accepted a proof by `key`.
fn seen(key: &ProofKey) -> ProofVerifier {
    let v = verifier();
    let first = key.proof("GET", HTU, now(), Some(TOKEN));
    assert_eq!(
        v.verify(&first, &request(now())).map(|p| p.into_jkt()),
        Ok(key.jkt())
    );
    assert_eq!(v.cached_keys(), 1);
    v
}

#[test]
fn a_seen_key_accepts_its_next_proof_with_its_thumbprint() {
    for key in both_keys() {
        let v = seen(&key);
        let next = key.proof("GET", HTU, now(), Some(TOKEN));
        assert_eq!(
            v.verify(&next, &request(now())).map(|p| p.into_jkt()),
            Ok(key.jkt())
        );
        assert_eq!(v.cached_keys(), 1, "{}", key.alg());
    }
}

#[test]
fn a_seen_header_signed_by_another_key_is_refused() {
    for key in both_keys() {
        let v = seen(&key);
        let thief = match key {
            ProofKey::Es256(_) => ProofKey::es256(),
            ProofKey::EdDsa(_) => ProofKey::eddsa(),
        };
        // The exact header of the seen key, the signature of another one.
        let forged = thief.sign(&key.header(), &proof_claims("GET", HTU, now(), Some(TOKEN)));
        assert_eq!(
            v.verify(&forged, &request(now())),
            Err(DpopError::BadSignature),
            "{}",
            key.alg()
        );
    }
}

#[test]
fn claims_changed_after_signing_are_refused_under_a_seen_key() {
    for key in both_keys() {
        let v = seen(&key);
        let proof = key.proof("GET", HTU, now(), Some(TOKEN));
        let (header, rest) = proof.split_once('.').expect("a JWS");
        let (_, signature) = rest.split_once('.').expect("a JWS");
        let other_claims =
            URL_SAFE_NO_PAD.encode(proof_claims("GET", HTU, now(), Some(TOKEN)).to_string());
        let spliced = format!("{header}.{other_claims}.{signature}");
        assert_eq!(
            v.verify(&spliced, &request(now())),
            Err(DpopError::BadSignature),
            "{}",
            key.alg()
        );
    }
}

#[test]
fn a_seen_key_still_needs_the_right_htm_htu_iat_and_ath() {
    for key in both_keys() {
        let v = seen(&key);
        let sign = |edit: Edit| {
            let mut claims = proof_claims("GET", HTU, now(), Some(TOKEN));
            edit(&mut claims);
            key.sign(&key.header(), &claims)
        };
        let cases: [(Edit, DpopError); 5] = [
            (|c| c["htm"] = json!("POST"), DpopError::WrongMethod),
            (
                |c| c["htu"] = json!(format!("{BASE}/api/projects")),
                DpopError::WrongUrl,
            ),
            (|c| c["iat"] = json!(now() - 3600), DpopError::TooOld),
            (|c| c["ath"] = json!("not-the-hash"), DpopError::WrongAth),
            (|c| c["jti"] = json!(""), DpopError::InvalidJti),
        ];
        for (edit, refusal) in cases {
            assert_eq!(
                v.verify(&sign(edit), &request(now())),
                Err(refusal),
                "{}",
                key.alg()
            );
        }
    }
}

#[test]
fn a_seen_key_still_refuses_a_replayed_jti_and_another_binding() {
    for key in both_keys() {
        let v = seen(&key);
        let proof = key.proof("GET", HTU, now(), Some(TOKEN));
        assert!(v.verify(&proof, &request(now())).is_ok());
        assert_eq!(
            v.verify(&proof, &request(now())),
            Err(DpopError::Replayed),
            "{}",
            key.alg()
        );

        let other = ProofKey::eddsa().jkt();
        let bound_elsewhere = ProofRequest {
            jkt: Some(&other),
            ..request(now())
        };
        let next = key.proof("GET", HTU, now(), Some(TOKEN));
        assert_eq!(
            v.verify(&next, &bound_elsewhere),
            Err(DpopError::KeyMismatch),
            "{}",
            key.alg()
        );
    }
}

#[test]
fn a_header_one_byte_away_from_a_seen_one_is_not_its_key() {
    for key in both_keys() {
        let v = seen(&key);
        // The same key's header with one character of `x` changed, signed
        // by the key: another key (or no point at all), never the seen one.
        let mut header = key.header();
        let x = header["jwk"]["x"].as_str().expect("x").to_owned();
        let (first, rest) = x.split_at(1);
        let changed = format!("{}{rest}", if first == "A" { "B" } else { "A" });
        header["jwk"]["x"] = json!(changed);
        let proof = key.sign(&header, &proof_claims("GET", HTU, now(), Some(TOKEN)));
        let result = v.verify(&proof, &request(now()));
        assert!(
            matches!(result, Err(DpopError::BadSignature | DpopError::InvalidKey)),
            "{}: {result:?}",
            key.alg()
        );
        // The other alg with the seen key: refused before any signature.
        let mut header = key.header();
        header["alg"] = json!(if key.alg() == "ES256" {
            "EdDSA"
        } else {
            "ES256"
        });
        let proof = key.sign(&header, &proof_claims("GET", HTU, now(), Some(TOKEN)));
        assert_eq!(
            v.verify(&proof, &request(now())),
            Err(DpopError::InvalidKey),
            "{}",
            key.alg()
        );
        // And the seen key is still itself.
        let next = key.proof("GET", HTU, now(), Some(TOKEN));
        assert_eq!(
            v.verify(&next, &request(now())).map(|p| p.into_jkt()),
            Ok(key.jkt())
        );
    }
}

#[test]
fn keys_of_many_clients_are_kept_apart() {
    let v = verifier();
    let keys = [
        ProofKey::es256(),
        ProofKey::eddsa(),
        ProofKey::es256(),
        ProofKey::eddsa(),
    ];
    for _ in 0..2 {
        for key in &keys {
            let proof = key.proof("GET", HTU, now(), Some(TOKEN));
            assert_eq!(
                v.verify(&proof, &request(now())).map(|p| p.into_jkt()),
                Ok(key.jkt())
            );
        }
    }
    assert_eq!(v.cached_keys(), keys.len());
    // Clones share the kept keys, as they share the replay cache.
    assert_eq!(v.clone().cached_keys(), keys.len());
}

/// jsonwebtoken reads a `jwk` with private members as the public key alone,
/// so a kept key must never stand in for a header that adds one.
#[test]
fn a_seen_key_with_a_private_member_added_is_refused() {
    for key in both_keys() {
        let v = seen(&key);
        let mut header = key.header();
        header["jwk"]["d"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        let leaky = key.sign(&header, &proof_claims("GET", HTU, now(), Some(TOKEN)));
        assert_eq!(
            v.verify(&leaky, &request(now())),
            Err(DpopError::PrivateKey),
            "{}",
            key.alg()
        );
        assert_eq!(v.cached_keys(), 1, "{}", key.alg());
    }
}
