//! Users and services in the claims: each shape verifies as its own
//! `Subject`, and claims that make neither shape are refused as malformed.

#![expect(clippy::unwrap_used, reason = "a failing test shows the value it got")]

mod common;

use common::{claims, key_set, verifier, TestKey};
use serde_json::{json, Value};
use shared_claims::{Role, Subject, TokenRole, VerifyError, FIRST_PARTY_CLIENT};

const CLIENT: &str = "0f6d3c1e-2b7a-4e59-9c3d-5a1b2c3d4e5f";

/// The claims of a service token of [`CLIENT`], as the wire carries them.
fn service_claims() -> Value {
    let mut wire = serde_json::to_value(claims(Role::User)).expect("claims serialize");
    let object = wire.as_object_mut().expect("claims are an object");
    object.remove("sid");
    object.remove("email");
    object.insert("role".into(), json!("service"));
    object.insert("sub".into(), json!(CLIENT));
    object.insert("client_id".into(), json!(CLIENT));
    wire
}

fn verify(wire: &Value) -> Result<shared_claims::AccessClaims, VerifyError> {
    let key = TestKey::generate("k1");
    verifier().verify(&key.sign(wire), &key_set(&[&key]))
}

#[test]
fn a_service_token_verifies_as_a_service_without_session_or_email() {
    let verified = verify(&service_claims()).expect("a service token verifies");

    assert_eq!(verified.subject, Subject::Service);
    assert_eq!(verified.role(), TokenRole::Service);
    assert_eq!(verified.client_id, CLIENT);
    assert_eq!(verified.subject.sid(), None);
    assert_eq!(verified.subject.user_role(), None);
}

#[test]
fn a_user_token_verifies_as_a_user_of_its_client() {
    let verified = verify(&serde_json::to_value(claims(Role::Admin)).unwrap()).unwrap();

    assert_eq!(verified.client_id, FIRST_PARTY_CLIENT);
    assert_eq!(verified.subject.user_role(), Some(Role::Admin));
    assert_eq!(verified.subject.email(), Some("ada@example.com"));
}

#[test]
fn a_service_token_naming_a_session_or_an_email_is_malformed() {
    for (claim, value) in [("sid", "7d1e8c55"), ("email", "svc@example.com")] {
        let mut wire = service_claims();
        wire[claim] = json!(value);

        assert_eq!(verify(&wire), Err(VerifyError::Malformed), "with {claim}");
    }
}

#[test]
fn a_service_token_whose_subject_is_not_its_client_is_malformed() {
    let mut wire = service_claims();
    wire["sub"] = json!("5f0c9d1e-6f43-4c5e-9d7a-1b2c3d4e5f60");

    assert_eq!(verify(&wire), Err(VerifyError::Malformed));
}

#[test]
fn a_user_token_without_session_or_email_is_malformed() {
    for claim in ["sid", "email"] {
        let mut wire = serde_json::to_value(claims(Role::User)).unwrap();
        wire.as_object_mut().unwrap().remove(claim);

        assert_eq!(
            verify(&wire),
            Err(VerifyError::Malformed),
            "without {claim}"
        );
    }
}

#[test]
fn a_user_token_minted_before_client_id_existed_is_first_party() {
    let mut wire = serde_json::to_value(claims(Role::User)).unwrap();
    wire.as_object_mut().unwrap().remove("client_id");

    assert_eq!(verify(&wire).unwrap().client_id, FIRST_PARTY_CLIENT);
}

#[test]
fn a_service_token_without_client_id_is_malformed() {
    let mut wire = service_claims();
    wire.as_object_mut().unwrap().remove("client_id");

    assert_eq!(verify(&wire), Err(VerifyError::Malformed));
}

#[test]
fn claims_round_trip_through_their_wire_form() {
    let issued = claims(Role::User);
    let wire = serde_json::to_value(&issued).unwrap();

    assert_eq!(wire["client_id"], FIRST_PARTY_CLIENT);
    assert_eq!(wire["sid"], "7d1e8c55-2b5e-4a39-8f02-6c3b1a2d4e5f");
    assert_eq!(
        serde_json::from_value::<shared_claims::AccessClaims>(wire).unwrap(),
        issued
    );
}
