//! The claims of a proof, the request they must match, and the replay cache.

use crate::common::now;
use crate::common::proofs::{ath, ProofKey};
use crate::{request, verifier, verify_claims, BASE, HTU, TOKEN};
use serde_json::json;
use shared_claims::dpop::{DpopError, ProofRequest, ProofVerifier, PublicUrl, ReplayCache};

#[test]
fn htm_must_be_the_request_method() {
    let key = ProofKey::eddsa();
    assert_eq!(
        verify_claims(&key, |c| c["htm"] = json!("POST")),
        Err(DpopError::WrongMethod)
    );
    assert_eq!(
        verify_claims(&key, |c| c["htm"] = json!("get")),
        Err(DpopError::WrongMethod)
    );
}

#[test]
fn htu_must_be_the_public_url_of_the_request() {
    let key = ProofKey::es256();
    for htu in [
        "https://api.example/api/projects",
        "http://api.example/api/me",
        "https://evil.example/api/me",
        "https://api.example:8443/api/me",
        "/api/me",
    ] {
        assert_eq!(
            verify_claims(&key, |c| c["htu"] = json!(htu)),
            Err(DpopError::WrongUrl),
            "htu {htu}"
        );
    }
}

#[test]
fn htu_compares_normalized_and_without_query_or_fragment() {
    let key = ProofKey::es256();
    for htu in [
        "https://API.EXAMPLE/api/me",
        "https://api.example:443/api/me",
        "https://api.example/api/me?x=1",
        "https://api.example/api/me#top",
        "https://api.example/api/%6De",
    ] {
        assert!(
            verify_claims(&key, |c| c["htu"] = json!(htu)).is_ok(),
            "htu {htu}"
        );
    }
}

#[test]
fn iat_must_be_within_60_seconds_either_way() {
    let key = ProofKey::eddsa();
    let now = now();
    assert_eq!(
        verify_claims(&key, |c| c["iat"] = json!(now - 120)),
        Err(DpopError::TooOld)
    );
    assert_eq!(
        verify_claims(&key, |c| c["iat"] = json!(now + 120)),
        Err(DpopError::TooNew)
    );
    assert!(verify_claims(&key, |c| c["iat"] = json!(now - 50)).is_ok());
    assert!(verify_claims(&key, |c| c["iat"] = json!(now + 50)).is_ok());
}

#[test]
fn iat_bounds_are_exact() {
    let key = ProofKey::es256();
    let v = verifier();
    let at = 1_700_000_000;
    let proof = |iat| key.proof("GET", HTU, iat, Some(TOKEN));
    assert!(v.verify(&proof(at - 60), &request(at)).is_ok());
    assert!(v.verify(&proof(at + 60), &request(at)).is_ok());
    assert_eq!(
        v.verify(&proof(at - 61), &request(at)),
        Err(DpopError::TooOld)
    );
    assert_eq!(
        v.verify(&proof(at + 61), &request(at)),
        Err(DpopError::TooNew)
    );
}

#[test]
fn ath_is_required_with_an_access_token_and_must_be_its_hash() {
    let key = ProofKey::es256();
    assert_eq!(
        verify_claims(&key, |c| {
            c.as_object_mut().expect("object").remove("ath");
        }),
        Err(DpopError::MissingAth)
    );
    assert_eq!(
        verify_claims(&key, |c| c["ath"] = json!(ath("another token"))),
        Err(DpopError::WrongAth)
    );
}

#[test]
fn without_an_access_token_ath_is_not_required() {
    let key = ProofKey::eddsa();
    let proof = key.proof("POST", "https://api.example/oauth/token", now(), None);
    let token_request = ProofRequest {
        method: "POST",
        path: "/oauth/token",
        access_token: None,
        jkt: None,
        now: now(),
    };
    assert!(verifier().verify(&proof, &token_request).is_ok());
}

#[test]
fn jti_is_required_and_bounded() {
    let key = ProofKey::es256();
    assert_eq!(
        verify_claims(&key, |c| {
            c.as_object_mut().expect("object").remove("jti");
        }),
        Err(DpopError::Malformed)
    );
    assert_eq!(
        verify_claims(&key, |c| c["jti"] = json!("")),
        Err(DpopError::InvalidJti)
    );
    assert_eq!(
        verify_claims(&key, |c| c["jti"] = json!("j".repeat(129))),
        Err(DpopError::InvalidJti)
    );
    assert!(verify_claims(&key, |c| c["jti"] = json!("j".repeat(128))).is_ok());
}

#[test]
fn missing_claims_make_the_proof_malformed() {
    let key = ProofKey::eddsa();
    for claim in ["htm", "htu", "iat"] {
        assert_eq!(
            verify_claims(&key, |c| {
                c.as_object_mut().expect("object").remove(claim);
            }),
            Err(DpopError::Malformed),
            "without {claim}"
        );
    }
}

#[test]
fn a_replayed_jti_is_refused() {
    let key = ProofKey::es256();
    let v = verifier();
    let proof = key.proof("GET", HTU, now(), Some(TOKEN));

    assert!(v.verify(&proof, &request(now())).is_ok());
    assert_eq!(v.verify(&proof, &request(now())), Err(DpopError::Replayed));
    // A clone shares the cache, as the workers of one instance do.
    assert_eq!(
        v.clone().verify(&proof, &request(now())),
        Err(DpopError::Replayed)
    );
    // Another instance has its own.
    assert!(verifier().verify(&proof, &request(now())).is_ok());
}

#[test]
fn a_refused_proof_does_not_use_up_its_jti() {
    let key = ProofKey::es256();
    let v = verifier();
    let proof = key.proof("GET", HTU, now(), Some(TOKEN));
    let wrong_token = ProofRequest {
        access_token: Some("another token"),
        ..request(now())
    };
    assert_eq!(v.verify(&proof, &wrong_token), Err(DpopError::WrongAth));
    assert!(v.replay_cache().is_empty());
    assert!(v.verify(&proof, &request(now())).is_ok());
}

#[test]
fn a_proof_by_another_key_than_the_bound_one_is_refused() {
    let key = ProofKey::es256();
    let bound = ProofKey::eddsa().jkt();
    let v = verifier();
    let proof = key.proof("GET", HTU, now(), Some(TOKEN));
    let for_bound = ProofRequest {
        jkt: Some(&bound),
        ..request(now())
    };
    assert_eq!(v.verify(&proof, &for_bound), Err(DpopError::KeyMismatch));
    let own = key.jkt();
    let for_own = ProofRequest {
        jkt: Some(&own),
        ..request(now())
    };
    assert!(v.verify(&proof, &for_own).is_ok());
}

#[test]
fn a_full_replay_cache_refuses_new_proofs() {
    let key = ProofKey::eddsa();
    let v = ProofVerifier::new(PublicUrl::parse(BASE).expect("base"), ReplayCache::new(2));
    for _ in 0..2 {
        let proof = key.proof("GET", HTU, now(), Some(TOKEN));
        assert!(v.verify(&proof, &request(now())).is_ok());
    }
    let proof = key.proof("GET", HTU, now(), Some(TOKEN));
    assert_eq!(
        v.verify(&proof, &request(now())),
        Err(DpopError::ReplayCacheFull)
    );
    assert_eq!(v.replay_cache().len(), 2);
}
