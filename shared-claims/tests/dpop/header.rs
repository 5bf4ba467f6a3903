//! The header, the key and the signature of a proof.

use crate::common::now;
use crate::common::proofs::{proof_claims, ProofKey};
use crate::{request, verifier, verify_claims, verify_header, HTU, TOKEN};
use serde_json::json;
use shared_claims::dpop::{thumbprint, DpopError, MAX_PROOF_LEN};

#[test]
fn a_valid_es256_proof_is_accepted_with_its_key_thumbprint() {
    let key = ProofKey::es256();
    assert_eq!(verify_claims(&key, |_| {}), Ok(key.jkt()));
}

#[test]
fn a_valid_eddsa_proof_is_accepted_with_its_key_thumbprint() {
    let key = ProofKey::eddsa();
    assert_eq!(verify_claims(&key, |_| {}), Ok(key.jkt()));
}

#[test]
fn a_proof_signed_through_jsonwebtoken_is_accepted() {
    use jsonwebtoken::{jwk::Jwk, Algorithm, EncodingKey, Header};
    use p256::pkcs8::EncodePrivateKey;
    let signing = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let key = ProofKey::Es256(signing.clone());
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(serde_json::from_value::<Jwk>(key.jwk()).expect("a JWK"));
    let der = signing.to_pkcs8_der().expect("PKCS#8");
    let proof = jsonwebtoken::encode(
        &header,
        &proof_claims("GET", HTU, now(), Some(TOKEN)),
        &EncodingKey::from_ec_der(der.as_bytes()),
    )
    .expect("signed");

    assert_eq!(
        verifier()
            .verify(&proof, &request(now()))
            .map(|p| p.into_jkt()),
        Ok(key.jkt())
    );
}

/// What `crypto.subtle.exportKey("jwk", publicKey)` gives a browser, sent
/// as it is: the public members beside `ext` and `key_ops`.
#[test]
fn a_jwk_as_webcrypto_exports_it_is_accepted() {
    let key = ProofKey::es256();
    assert_eq!(
        verify_header(&key, |h| {
            h["jwk"]["ext"] = json!(true);
            h["jwk"]["key_ops"] = json!(["verify"]);
        }),
        Ok(key.jkt())
    );
}

#[test]
fn typ_must_be_dpop_jwt() {
    let key = ProofKey::es256();
    for typ in [
        json!("JWT"),
        json!("at+jwt"),
        json!("DPOP+JWT"),
        json!(null),
    ] {
        assert_eq!(
            verify_header(&key, |h| h["typ"] = typ.clone()),
            Err(DpopError::WrongType),
            "typ {typ}"
        );
    }
    assert_eq!(
        verify_header(&key, |h| {
            h.as_object_mut().expect("object").remove("typ");
        }),
        Err(DpopError::WrongType)
    );
}

#[test]
fn alg_none_hs256_and_rs256_are_refused() {
    let key = ProofKey::es256();
    for alg in ["none", "HS256", "RS256", "ES384", "es256", ""] {
        assert_eq!(
            verify_header(&key, |h| h["alg"] = json!(alg)),
            Err(DpopError::UnsupportedAlgorithm),
            "alg {alg}"
        );
    }
    // An unsigned proof, as `alg: none` would have it.
    let header = json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk()});
    let unsigned = key.sign(&header, &proof_claims("GET", HTU, now(), Some(TOKEN)));
    let unsigned = format!("{}.", unsigned.rsplit_once('.').expect("three parts").0);
    assert_eq!(
        verifier().verify(&unsigned, &request(now())),
        Err(DpopError::UnsupportedAlgorithm)
    );
}

#[test]
fn an_hs256_proof_keyed_with_the_public_jwk_is_refused() {
    let key = ProofKey::es256();
    let header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": "c2VjcmV0"}});
    let signing_input = key.sign(&header, &proof_claims("GET", HTU, now(), None));
    assert_eq!(
        verifier().verify(&signing_input, &request(now())),
        Err(DpopError::UnsupportedAlgorithm)
    );
}

#[test]
fn alg_must_fit_the_key_type_and_curve() {
    let ec = ProofKey::es256();
    let ed = ProofKey::eddsa();
    assert_eq!(
        verify_header(&ec, |h| h["alg"] = json!("EdDSA")),
        Err(DpopError::InvalidKey)
    );
    assert_eq!(
        verify_header(&ed, |h| h["alg"] = json!("ES256")),
        Err(DpopError::InvalidKey)
    );
    assert_eq!(
        verify_header(&ec, |h| h["jwk"]["crv"] = json!("P-384")),
        Err(DpopError::InvalidKey)
    );
    assert_eq!(
        verify_header(&ed, |h| h["jwk"]["crv"] = json!("X25519")),
        Err(DpopError::InvalidKey)
    );
    assert_eq!(
        verify_header(&ec, |h| {
            h.as_object_mut().expect("object").remove("jwk");
        }),
        Err(DpopError::InvalidKey)
    );
}

#[test]
fn a_jwk_with_private_members_is_refused() {
    let ec = ProofKey::es256();
    let ed = ProofKey::eddsa();
    let d = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(
        verify_header(&ec, |h| h["jwk"]["d"] = d.clone()),
        Err(DpopError::PrivateKey)
    );
    assert_eq!(
        verify_header(&ed, |h| h["jwk"]["d"] = d.clone()),
        Err(DpopError::PrivateKey)
    );
    for member in ["p", "q", "dp", "dq", "qi", "oth", "k"] {
        assert_eq!(
            verify_header(&ec, |h| h["jwk"][member] = json!("AQAB")),
            Err(DpopError::PrivateKey),
            "member {member}"
        );
    }
}

#[test]
fn a_key_off_the_curve_is_refused() {
    let key = ProofKey::es256();
    let result = verify_header(&key, |h| {
        h["jwk"]["y"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    });
    assert!(
        matches!(result, Err(DpopError::InvalidKey | DpopError::BadSignature)),
        "{result:?}"
    );
}

#[test]
fn a_bad_signature_is_refused() {
    let key = ProofKey::es256();
    let other = ProofKey::es256();
    // Signed by another key than the one in the header.
    let proof = other.sign(&key.header(), &proof_claims("GET", HTU, now(), Some(TOKEN)));
    assert_eq!(
        verifier().verify(&proof, &request(now())),
        Err(DpopError::BadSignature)
    );
    // Claims changed after signing.
    let proof = key.proof("GET", HTU, now(), Some(TOKEN));
    let (head, rest) = proof.split_once('.').expect("parts");
    let (_, signature) = rest.split_once('.').expect("parts");
    let forged = key.sign(&key.header(), &proof_claims("GET", HTU, now(), Some(TOKEN)));
    let forged_claims = forged.split('.').nth(1).expect("claims");
    let spliced = format!("{head}.{forged_claims}.{signature}");
    assert_eq!(
        verifier().verify(&spliced, &request(now())),
        Err(DpopError::BadSignature)
    );
}

#[test]
fn an_oversized_proof_is_refused_before_parsing() {
    let key = ProofKey::es256();
    let mut claims = proof_claims("GET", HTU, now(), Some(TOKEN));
    claims["padding"] = json!("x".repeat(MAX_PROOF_LEN));
    let proof = key.sign(&key.header(), &claims);
    assert_eq!(
        verifier().verify(&proof, &request(now())),
        Err(DpopError::TooLong)
    );
}

#[test]
fn crit_and_garbage_are_malformed() {
    let key = ProofKey::es256();
    assert_eq!(
        verify_header(&key, |h| h["crit"] = json!(["exp"])),
        Err(DpopError::Malformed)
    );
    let v = verifier();
    for garbage in ["", ".", "..", "a.b.c", "a.b.c.d", "eyJ9.e30.c2ln"] {
        assert_eq!(
            v.verify(garbage, &request(now())),
            Err(DpopError::Malformed),
            "{garbage:?}"
        );
    }
}

#[test]
fn thumbprints_match_rfc_8037_and_the_keys_own() {
    // RFC 8037 §A.3.
    let jwk = r#"{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    assert_eq!(
        thumbprint(jwk),
        Ok("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k".to_owned())
    );
    for key in [ProofKey::es256(), ProofKey::eddsa()] {
        // Members in another order, and extra ones, change nothing.
        let mut jwk = key.jwk();
        jwk["kid"] = json!("k");
        jwk["use"] = json!("sig");
        assert_eq!(thumbprint(&jwk.to_string()), Ok(key.jkt()));
    }
}
