//! The verifier, the key set and the authority, against real Ed25519 keys and
//! tokens signed with jsonwebtoken the way the auth-service signs them.

mod common;

use std::time::Duration;

use common::{
    access_header, b64, claims, jwks_json, key_set, now, unb64, verifier, CountingRefresher,
    TestKey, AUDIENCE, ISSUER,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::RngCore as _;
use serde_json::json;
use shared_claims::{AuthError, Authority, KeySet, KeyStore, Role, Verifier, VerifyError};

// --- the happy path -------------------------------------------------------

#[test]
fn a_valid_token_verifies_and_yields_its_claims() {
    let key = TestKey::generate("k1");
    let issued = claims(Role::User);
    let token = key.sign(&issued);

    let verified = verifier().verify(&token, &key_set(&[&key]));

    assert_eq!(verified, Ok(issued));
}

#[test]
fn a_key_set_built_from_a_jwks_keeps_only_ed25519_keys_with_a_kid() {
    let key = TestKey::generate("k1");
    let mut without_kid = TestKey::generate("ignored").jwk();
    without_kid
        .as_object_mut()
        .expect("a JWK is an object")
        .remove("kid");
    let jwks = json!({ "keys": [
        key.jwk(),
        without_kid,
        { "kty": "oct", "kid": "h1", "k": b64(key.public_bytes()) },
        { "kty": "OKP", "crv": "Ed25519", "kid": "short", "x": b64([1u8; 16]) },
    ]});

    let keys = KeySet::from_jwks_json(&jwks.to_string()).expect("the JWKS parses");

    assert_eq!(keys.kids().collect::<Vec<_>>(), ["k1"]);
}

#[test]
fn a_key_inserted_from_its_raw_bytes_verifies_tokens() {
    let key = TestKey::generate("k1");
    let mut keys = KeySet::new();
    keys.insert_ed25519("k1", &key.public_bytes());
    let issued = claims(Role::Admin);

    let verified = verifier().verify(&key.sign(&issued), &keys);

    assert_eq!(verified, Ok(issued));
}

#[test]
fn a_token_from_one_of_several_published_keys_verifies() {
    let old = TestKey::generate("old");
    let new = TestKey::generate("new");
    let keys = key_set(&[&old, &new]);

    assert!(verifier()
        .verify(&old.sign(&claims(Role::User)), &keys)
        .is_ok());
    assert!(verifier()
        .verify(&new.sign(&claims(Role::User)), &keys)
        .is_ok());
}

// --- exp and nbf ------------------------------------------------------------

#[test]
fn an_expired_token_is_refused_as_expired() {
    let key = TestKey::generate("k1");
    let mut expired = claims(Role::User);
    expired.iat = now() - 1000;
    expired.exp = now() - 100;

    let outcome = verifier().verify(&key.sign(&expired), &key_set(&[&key]));

    assert_eq!(outcome, Err(VerifyError::Expired));
}

#[test]
fn a_token_expired_within_the_leeway_is_accepted() {
    let key = TestKey::generate("k1");
    let mut just_expired = claims(Role::User);
    just_expired.iat = now() - 1000;
    just_expired.exp = now() - 10;

    let outcome = verifier().verify(&key.sign(&just_expired), &key_set(&[&key]));

    assert_eq!(outcome, Ok(just_expired));
}

#[test]
fn without_leeway_a_token_expired_two_seconds_ago_is_refused() {
    let key = TestKey::generate("k1");
    let mut expired = claims(Role::User);
    expired.exp = now() - 2;
    let strict = Verifier::new(ISSUER, AUDIENCE, Duration::ZERO);

    let outcome = strict.verify(&key.sign(&expired), &key_set(&[&key]));

    assert_eq!(outcome, Err(VerifyError::Expired));
}

#[test]
fn a_token_whose_nbf_is_in_the_future_is_not_yet_valid() {
    let key = TestKey::generate("k1");
    let mut early = claims(Role::User);
    early.nbf = Some(now() + 300);

    let outcome = verifier().verify(&key.sign(&early), &key_set(&[&key]));

    assert_eq!(outcome, Err(VerifyError::NotYetValid));
}

#[test]
fn a_token_whose_nbf_is_within_the_leeway_is_accepted() {
    let key = TestKey::generate("k1");
    let mut slightly_early = claims(Role::User);
    slightly_early.nbf = Some(now() + 10);

    let outcome = verifier().verify(&key.sign(&slightly_early), &key_set(&[&key]));

    assert_eq!(outcome, Ok(slightly_early));
}

#[test]
fn a_token_that_expired_before_1970_is_refused_as_expired() {
    // jsonwebtoken reads a negative NumericDate as a claim of the wrong
    // format; it is still a time long past.
    let key = TestKey::generate("k1");
    let mut ancient = claims(Role::User);
    ancient.iat = -100;
    ancient.exp = -1;

    let outcome = verifier().verify(&key.sign(&ancient), &key_set(&[&key]));

    assert_eq!(outcome, Err(VerifyError::Expired));
}

#[test]
fn a_token_without_exp_is_malformed() {
    let key = TestKey::generate("k1");
    let mut no_exp = serde_json::to_value(claims(Role::User)).expect("claims serialize");
    no_exp
        .as_object_mut()
        .expect("claims are an object")
        .remove("exp");

    let outcome = verifier().verify(&key.sign(&no_exp), &key_set(&[&key]));

    assert_eq!(outcome, Err(VerifyError::Malformed));
}

// --- iss and aud ------------------------------------------------------------

#[test]
fn a_token_from_another_issuer_is_refused_as_wrong_issuer() {
    let key = TestKey::generate("k1");
    let mut foreign = claims(Role::User);
    foreign.iss = "https://evil.example".to_owned();

    let outcome = verifier().verify(&key.sign(&foreign), &key_set(&[&key]));

    assert_eq!(outcome, Err(VerifyError::WrongIssuer));
}

#[test]
fn a_token_for_another_audience_is_refused_as_wrong_audience() {
    let key = TestKey::generate("k1");
    let mut elsewhere = claims(Role::User);
    elsewhere.aud = "billing-service".to_owned();

    let outcome = verifier().verify(&key.sign(&elsewhere), &key_set(&[&key]));

    assert_eq!(outcome, Err(VerifyError::WrongAudience));
}

// --- typ --------------------------------------------------------------------

#[test]
fn a_token_typed_jwt_is_refused_as_wrong_type() {
    let key = TestKey::generate("k1");
    let mut header = access_header(Some("k1"));
    header.typ = Some("JWT".to_owned());

    let outcome = verifier().verify(
        &key.sign_with(&header, &claims(Role::User)),
        &key_set(&[&key]),
    );

    assert_eq!(outcome, Err(VerifyError::WrongType));
}

#[test]
fn a_token_without_typ_is_refused_as_wrong_type() {
    let key = TestKey::generate("k1");
    let mut header = access_header(Some("k1"));
    header.typ = None;

    let outcome = verifier().verify(
        &key.sign_with(&header, &claims(Role::User)),
        &key_set(&[&key]),
    );

    assert_eq!(outcome, Err(VerifyError::WrongType));
}

#[test]
fn a_token_typed_application_at_jwt_is_accepted() {
    let key = TestKey::generate("k1");
    let mut header = access_header(Some("k1"));
    header.typ = Some("application/at+jwt".to_owned());
    let issued = claims(Role::User);

    let outcome = verifier().verify(&key.sign_with(&header, &issued), &key_set(&[&key]));

    assert_eq!(outcome, Ok(issued));
}

#[test]
fn the_type_is_compared_case_insensitively_prefix_included() {
    let key = TestKey::generate("k1");
    let keys = key_set(&[&key]);
    for typ in ["AT+JWT", "Application/At+Jwt", "APPLICATION/AT+JWT"] {
        let mut header = access_header(Some("k1"));
        header.typ = Some(typ.to_owned());

        let outcome = verifier().verify(&key.sign_with(&header, &claims(Role::User)), &keys);

        assert!(outcome.is_ok(), "typ {typ:?} was refused: {outcome:?}");
    }
}

#[test]
fn a_type_that_only_resembles_at_jwt_is_refused_as_wrong_type() {
    let key = TestKey::generate("k1");
    let keys = key_set(&[&key]);
    for typ in [
        "application/jwt",
        "at+jwt ",
        "application/application/at+jwt",
        "xapplication/at+jwt",
        "",
    ] {
        let mut header = access_header(Some("k1"));
        header.typ = Some(typ.to_owned());

        let outcome = verifier().verify(&key.sign_with(&header, &claims(Role::User)), &keys);

        assert_eq!(outcome, Err(VerifyError::WrongType), "typ {typ:?}");
    }
}

// --- algorithm attacks --------------------------------------------------------

#[test]
fn an_unsigned_alg_none_token_is_refused() {
    let key = TestKey::generate("k1");
    let header = json!({ "alg": "none", "typ": "at+jwt", "kid": "k1" });
    let payload = serde_json::to_vec(&claims(Role::Admin)).expect("claims serialize");
    let token = format!("{}.{}.", b64(header.to_string()), b64(payload));

    let outcome = verifier().verify(&token, &key_set(&[&key]));

    assert!(
        matches!(
            outcome,
            Err(VerifyError::Malformed | VerifyError::WrongAlgorithm)
        ),
        "alg none was not refused as it should be: {outcome:?}"
    );
}

#[test]
fn an_hs256_token_keyed_with_the_public_key_is_refused_as_wrong_algorithm() {
    let key = TestKey::generate("k1");
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".to_owned());
    header.kid = Some("k1".to_owned());
    // The classic key confusion: the attacker knows the public key and hopes
    // the verifier will use it as an HMAC secret.
    let forged = jsonwebtoken::encode(
        &header,
        &claims(Role::Admin),
        &EncodingKey::from_secret(&key.public_bytes()),
    )
    .expect("HS256 signing succeeds");

    let outcome = verifier().verify(&forged, &key_set(&[&key]));

    assert_eq!(outcome, Err(VerifyError::WrongAlgorithm));
}

#[test]
fn an_hs256_token_keyed_with_the_published_jwk_x_is_refused_as_wrong_algorithm() {
    let key = TestKey::generate("k1");
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".to_owned());
    header.kid = Some("k1".to_owned());
    let x = b64(key.public_bytes());
    let forged = jsonwebtoken::encode(
        &header,
        &claims(Role::Admin),
        &EncodingKey::from_secret(x.as_bytes()),
    )
    .expect("HS256 signing succeeds");

    let outcome = verifier().verify(&forged, &key_set(&[&key]));

    assert_eq!(outcome, Err(VerifyError::WrongAlgorithm));
}

// --- signatures -------------------------------------------------------------

#[test]
fn a_token_whose_payload_was_tampered_with_is_refused_as_bad_signature() {
    let key = TestKey::generate("k1");
    let token = key.sign(&claims(Role::User));
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        panic!("a JWS has three parts: {token}");
    };
    let mut claims: serde_json::Value =
        serde_json::from_slice(&unb64(payload)).expect("the payload is JSON");
    assert_eq!(claims["role"], "user");
    claims["role"] = json!("admin");
    let tampered = format!("{header}.{}.{signature}", b64(claims.to_string()));

    let outcome = verifier().verify(&tampered, &key_set(&[&key]));

    assert_eq!(outcome, Err(VerifyError::BadSignature));
}

#[test]
fn a_token_signed_by_another_key_under_the_same_kid_is_refused_as_bad_signature() {
    let published = TestKey::generate("k1");
    let impostor = TestKey::generate("k1");

    let outcome = verifier().verify(
        &impostor.sign(&claims(Role::Admin)),
        &key_set(&[&published]),
    );

    assert_eq!(outcome, Err(VerifyError::BadSignature));
}

#[test]
fn a_token_with_a_truncated_signature_is_refused() {
    let key = TestKey::generate("k1");
    let token = key.sign(&claims(Role::User));
    let truncated = &token[..token.len() - 8];

    let outcome = verifier().verify(truncated, &key_set(&[&key]));

    assert!(outcome.is_err(), "a truncated signature was accepted");
}

#[test]
fn a_token_naming_a_kid_the_key_set_does_not_hold_is_refused_as_unknown_key() {
    let published = TestKey::generate("k1");
    let unpublished = TestKey::generate("k2");

    let outcome = verifier().verify(
        &unpublished.sign(&claims(Role::User)),
        &key_set(&[&published]),
    );

    assert_eq!(outcome, Err(VerifyError::UnknownKey(Some("k2".to_owned()))));
}

#[test]
fn a_token_without_a_kid_is_refused_as_unknown_key() {
    let key = TestKey::generate("k1");
    let token = key.sign_with(&access_header(None), &claims(Role::User));

    let outcome = verifier().verify(&token, &key_set(&[&key]));

    assert_eq!(outcome, Err(VerifyError::UnknownKey(None)));
}

#[test]
fn an_empty_key_set_refuses_every_token_as_unknown_key() {
    let key = TestKey::generate("k1");

    let outcome = verifier().verify(&key.sign(&claims(Role::User)), &KeySet::new());

    assert_eq!(outcome, Err(VerifyError::UnknownKey(Some("k1".to_owned()))));
}

// --- things that are not access tokens ----------------------------------------

#[test]
fn an_opaque_refresh_token_is_refused_as_malformed() {
    let key = TestKey::generate("k1");
    let mut random = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let refresh_token = b64(random);
    assert_eq!(refresh_token.len(), 43);

    let outcome = verifier().verify(&refresh_token, &key_set(&[&key]));

    assert_eq!(outcome, Err(VerifyError::Malformed));
}

#[test]
fn garbage_in_any_part_is_refused_as_malformed() {
    let key = TestKey::generate("k1");
    let keys = key_set(&[&key]);
    let header = b64(serde_json::to_vec(&access_header(Some("k1"))).expect("a header serializes"));
    for token in [
        "",
        ".",
        "..",
        "a.b.c",
        "a.b.c.d",
        &format!("{header}.!!!.sig"),
        &format!("{header}.{}.sig", b64("not json")),
    ] {
        let outcome = verifier().verify(token, &keys);

        assert!(
            matches!(
                outcome,
                Err(VerifyError::Malformed | VerifyError::BadSignature)
            ),
            "{token:?} gave {outcome:?}"
        );
    }
}

#[test]
fn a_token_whose_claims_do_not_fit_access_claims_is_malformed() {
    let key = TestKey::generate("k1");
    let mut claims = serde_json::to_value(claims(Role::User)).expect("claims serialize");
    claims["role"] = json!("root");

    let outcome = verifier().verify(&key.sign(&claims), &key_set(&[&key]));

    assert_eq!(outcome, Err(VerifyError::Malformed));
}

/// A compact JWS with any header JSON, signed by `key` over the exact bytes.
fn sign_raw(key: &TestKey, header: &serde_json::Value, claims: &impl serde::Serialize) -> String {
    use ed25519_dalek::Signer as _;
    let signed = format!(
        "{}.{}",
        b64(serde_json::to_vec(header).expect("a header serializes")),
        b64(serde_json::to_vec(claims).expect("claims serialize"))
    );
    let signature = key.signing.sign(signed.as_bytes());
    format!("{signed}.{}", b64(signature.to_bytes()))
}

#[test]
fn a_hand_signed_token_verifies_so_the_raw_signer_below_is_sound() {
    let key = TestKey::generate("k1");
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1"});
    let issued = claims(Role::User);

    let outcome = verifier().verify(&sign_raw(&key, &header, &issued), &key_set(&[&key]));

    assert_eq!(outcome, Ok(issued));
}

#[test]
fn a_token_whose_header_demands_critical_extensions_is_refused() {
    // RFC 7515 §4.1.11: extensions listed in crit must be understood, and
    // this verifier understands none.
    let key = TestKey::generate("k1");
    let header =
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1", "crit": ["b64"], "b64": false});

    let outcome = verifier().verify(
        &sign_raw(&key, &header, &claims(Role::User)),
        &key_set(&[&key]),
    );

    assert_eq!(outcome, Err(VerifyError::Malformed));
}

#[test]
fn a_kid_whose_bytes_are_not_a_curve_point_refuses_its_tokens_as_bad_signature() {
    let key = TestKey::generate("k1");
    let not_a_point = (0u8..=255)
        .map(|b| [b; 32])
        .find(|bytes| ed25519_dalek::VerifyingKey::from_bytes(bytes).is_err())
        .expect("some 32-byte strings are not points");
    let mut keys = KeySet::new();
    keys.insert_ed25519("k1", &not_a_point);

    let outcome = verifier().verify(&key.sign(&claims(Role::User)), &keys);

    assert!(keys.contains("k1"));
    assert_eq!(outcome, Err(VerifyError::BadSignature));
}

#[test]
fn a_signature_of_the_wrong_length_or_encoding_is_refused() {
    let key = TestKey::generate("k1");
    let keys = key_set(&[&key]);
    let token = key.sign(&claims(Role::User));
    let (signed, signature) = token.rsplit_once('.').expect("three segments");
    let mut short = unb64(signature);
    short.pop();

    let outcomes = [
        verifier().verify(&format!("{signed}.{}", b64(&short)), &keys),
        verifier().verify(&format!("{signed}.{signature}=="), &keys),
        verifier().verify(&format!("{signed}.+{}", &signature[1..]), &keys),
    ];

    assert_eq!(outcomes[0], Err(VerifyError::BadSignature));
    for outcome in &outcomes[1..] {
        assert!(
            matches!(
                outcome,
                Err(VerifyError::Malformed | VerifyError::BadSignature)
            ),
            "{outcome:?}"
        );
    }
}

// --- the authority and key refresh ------------------------------------------

fn authority(store: &KeyStore) -> Authority {
    Authority::new("resource-service", verifier(), store.clone())
}

#[tokio::test]
async fn an_unknown_kid_triggers_one_refresh_and_then_verifies_with_the_new_key() {
    let old = TestKey::generate("old");
    let rotated = TestKey::generate("rotated");
    let store = KeyStore::new(key_set(&[&old]));
    let refresher = CountingRefresher::new(store.clone(), Some(key_set(&[&old, &rotated])));
    let authority = authority(&store).with_refresher(refresher.clone());
    let issued = claims(Role::User);

    let outcome = authority.verify(&rotated.sign(&issued)).await;

    assert_eq!(outcome, Ok(issued));
    assert_eq!(refresher.calls(), 1);
    assert!(store.snapshot().contains("rotated"));
}

#[tokio::test]
async fn a_known_kid_never_calls_the_refresher() {
    let key = TestKey::generate("k1");
    let store = KeyStore::new(key_set(&[&key]));
    let refresher = CountingRefresher::new(store.clone(), None);
    let authority = authority(&store).with_refresher(refresher.clone());

    for _ in 0..3 {
        assert!(authority
            .verify(&key.sign(&claims(Role::User)))
            .await
            .is_ok());
    }
    // A known kid with a bad signature is not a reason to refetch either.
    let impostor = TestKey::generate("k1");
    let outcome = authority.verify(&impostor.sign(&claims(Role::User))).await;

    assert_eq!(outcome, Err(VerifyError::BadSignature));
    assert_eq!(refresher.calls(), 0);
}

#[tokio::test]
async fn an_unknown_kid_the_refresh_does_not_bring_fails_after_exactly_one_refresh() {
    let key = TestKey::generate("k1");
    let forged = TestKey::generate("forged");
    let store = KeyStore::new(key_set(&[&key]));
    let refresher = CountingRefresher::new(store.clone(), Some(key_set(&[&key])));
    let authority = authority(&store).with_refresher(refresher.clone());

    let outcome = authority.verify(&forged.sign(&claims(Role::User))).await;

    assert_eq!(outcome, Err(VerifyError::UnknownKey(Some("forged".into()))));
    assert_eq!(refresher.calls(), 1);
}

#[tokio::test]
async fn a_token_without_a_kid_never_calls_the_refresher() {
    let key = TestKey::generate("k1");
    let store = KeyStore::new(key_set(&[&key]));
    let refresher = CountingRefresher::new(store.clone(), None);
    let authority = authority(&store).with_refresher(refresher.clone());

    let outcome = authority
        .verify(&key.sign_with(&access_header(None), &claims(Role::User)))
        .await;

    assert_eq!(outcome, Err(VerifyError::UnknownKey(None)));
    assert_eq!(refresher.calls(), 0);
}

#[tokio::test]
async fn an_authority_without_a_refresher_refuses_an_unknown_kid() {
    let key = TestKey::generate("k1");
    let store = KeyStore::default();

    let outcome = authority(&store)
        .verify(&key.sign(&claims(Role::User)))
        .await;

    assert_eq!(outcome, Err(VerifyError::UnknownKey(Some("k1".into()))));
}

#[tokio::test]
async fn authenticate_reads_the_bearer_token_of_the_authorization_header() {
    let key = TestKey::generate("k1");
    let store = KeyStore::new(key_set(&[&key]));
    let issued = claims(Role::User);
    let header = format!("Bearer {}", key.sign(&issued));

    let outcome = authority(&store).authenticate(Some(&header)).await;

    assert_eq!(outcome, Ok(issued));
}

#[tokio::test]
async fn authenticate_without_a_bearer_token_is_a_missing_token() {
    let store = KeyStore::default();
    let authority = authority(&store);

    for header in [
        None,
        Some("Basic YWRhOnNlY3JldA=="),
        Some("Bearer "),
        Some(""),
    ] {
        let outcome = authority.authenticate(header).await;

        assert_eq!(outcome, Err(AuthError::MissingToken), "header {header:?}");
    }
}

#[tokio::test]
async fn authenticate_with_a_bad_token_is_an_invalid_token() {
    let key = TestKey::generate("k1");
    let store = KeyStore::new(key_set(&[&key]));
    let mut expired = claims(Role::User);
    expired.exp = now() - 3600;
    let header = format!("Bearer {}", key.sign(&expired));

    let outcome = authority(&store).authenticate(Some(&header)).await;

    assert_eq!(outcome, Err(AuthError::InvalidToken(VerifyError::Expired)));
}

// --- AuthError -> HTTP ------------------------------------------------------

#[test]
fn a_missing_token_maps_to_401_with_a_bare_bearer_challenge() {
    let error = AuthError::MissingToken;

    assert_eq!(error.status(), 401);
    assert_eq!(error.code(), "unauthorized");
    assert_eq!(
        error.www_authenticate("resource-service").as_deref(),
        Some(r#"Bearer realm="resource-service""#)
    );
    assert_eq!(error.body().error, "unauthorized");
}

#[test]
fn an_invalid_token_maps_to_401_invalid_token_with_an_rfc_6750_challenge() {
    let error = AuthError::InvalidToken(VerifyError::BadSignature);

    assert_eq!(error.status(), 401);
    assert_eq!(error.code(), "invalid_token");
    assert_eq!(
        error.www_authenticate("resource-service").as_deref(),
        Some(concat!(
            r#"Bearer realm="resource-service", error="invalid_token", "#,
            r#"error_description="the access token signature is invalid""#
        ))
    );
    let body = error.body();
    assert_eq!(body.error, "invalid_token");
    assert_eq!(
        body.error_description,
        "the access token signature is invalid"
    );
}

#[test]
fn an_insufficient_role_maps_to_403_without_a_challenge() {
    let error = AuthError::InsufficientRole {
        required: Role::Admin,
    };

    assert_eq!(error.status(), 403);
    assert_eq!(error.code(), "insufficient_role");
    assert_eq!(error.www_authenticate("resource-service"), None);
    assert_eq!(error.body().error, "insufficient_role");
}

#[test]
fn every_verify_error_maps_to_invalid_token_with_a_quote_free_description() {
    let all = [
        VerifyError::Malformed,
        VerifyError::WrongAlgorithm,
        VerifyError::WrongType,
        VerifyError::UnknownKey(Some("k\"1".into())),
        VerifyError::UnknownKey(None),
        VerifyError::BadSignature,
        VerifyError::Expired,
        VerifyError::NotYetValid,
        VerifyError::WrongIssuer,
        VerifyError::WrongAudience,
    ];
    for cause in all {
        let error = AuthError::InvalidToken(cause.clone());
        let challenge = error
            .www_authenticate("api")
            .expect("a 401 has a challenge");
        let description = cause.description();

        assert_eq!(error.status(), 401);
        assert_eq!(error.code(), "invalid_token");
        // RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E.
        assert!(
            description
                .chars()
                .all(|c| matches!(c, ' '..='!' | '#'..='[' | ']'..='~')),
            "{description:?}"
        );
        assert!(challenge.ends_with(&format!("error_description=\"{description}\"")));
    }
}

#[test]
fn a_realm_cannot_break_out_of_its_quoted_string() {
    let error = AuthError::MissingToken;

    let challenge = error.www_authenticate("api\", error=\"x\\\r\n");

    assert_eq!(challenge.as_deref(), Some(r#"Bearer realm="api, error=x""#));
}

// --- the crypto provider -----------------------------------------------------

#[test]
fn these_tests_verify_through_shared_claims_crypto_provider() {
    // The helpers install it before they sign anything; had jsonwebtoken
    // chosen its own first, the decompressed keys would go unused here.
    let _key = TestKey::generate("k1");

    assert!(shared_claims::install_crypto_provider());
}

// --- the JWKS helpers themselves --------------------------------------------

#[test]
fn the_jwks_helper_publishes_x_as_base64url_without_padding() {
    let key = TestKey::generate("k1");
    let jwks: serde_json::Value =
        serde_json::from_str(&jwks_json(&[&key])).expect("the JWKS is JSON");
    let x = jwks["keys"][0]["x"].as_str().expect("x is a string");

    assert_eq!(x.len(), 43);
    assert_eq!(unb64(x), key.public_bytes());
}

// --- one trusted key or several: the same refusals --------------------------

/// With one trusted key the verifier decodes first and checks the header
/// after; with several it checks the header first to choose the key. Either
/// way a token refused for two reasons is refused for the header's: a
/// wrongly typed, expired token is `WrongType`, an expired token naming an
/// unknown key is `UnknownKey`, one without a kid `UnknownKey(None)`.
#[test]
fn a_token_is_refused_for_the_same_reason_with_one_trusted_key_as_with_two() {
    let key = TestKey::generate("k1");
    let other = TestKey::generate("k2");
    let mut expired = claims(Role::User);
    expired.exp = now() - 3600;
    let mut jwt_typed = access_header(Some("k1"));
    jwt_typed.typ = Some("JWT".to_owned());
    let stranger = TestKey::generate("k3");
    let cases = [
        (key.sign_with(&jwt_typed, &expired), VerifyError::WrongType),
        (
            stranger.sign_with(&access_header(Some("k3")), &expired),
            VerifyError::UnknownKey(Some("k3".into())),
        ),
        (
            key.sign_with(&access_header(None), &claims(Role::User)),
            VerifyError::UnknownKey(None),
        ),
        (key.sign(&expired), VerifyError::Expired),
        ("not-a-jwt".to_owned(), VerifyError::Malformed),
    ];

    for (token, refusal) in cases {
        for keys in [key_set(&[&key]), key_set(&[&key, &other])] {
            assert_eq!(
                verifier().verify(&token, &keys),
                Err(refusal.clone()),
                "{} keys",
                keys.len()
            );
        }
    }
}
