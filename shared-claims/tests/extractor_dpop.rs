//! The extractor with DPoP (API.md §7): a bound token is accepted only under
//! `Authorization: DPoP` with a valid proof by its key; the refusals carry
//! a `DPoP` challenge. Unbound tokens under `Bearer` are unchanged.

mod common;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpResponse};
use common::proofs::ProofKey;
use common::{claims, key_set, now, TestKey};
use serde_json::Value;
use shared_claims::actix::Authenticated;
use shared_claims::dpop::{ProofVerifier, PublicUrl, ReplayCache};
use shared_claims::{Authority, Confirmation, KeyStore, Role};

const BASE: &str = "http://api.test:8081";
const ME: &str = "http://api.test:8081/api/me";

async fn me(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(user.claims())
}

/// An authority trusting `key`, accepting DPoP proofs addressed to [`BASE`]
/// unless `dpop` is false.
fn authority(key: &TestKey, dpop: bool) -> Authority {
    let authority = Authority::new(
        "resource-service",
        common::verifier(),
        KeyStore::new(key_set(&[key])),
    );
    if dpop {
        let proofs = ProofVerifier::new(PublicUrl::parse(BASE).expect("URL"), ReplayCache::new(64));
        authority.with_dpop(proofs)
    } else {
        authority
    }
}

async fn spawn(
    authority: Authority,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(
        App::new()
            .app_data(web::Data::new(authority))
            .route("/api/me", web::get().to(me))
            .route("/api/me", web::post().to(me)),
    )
    .await
}

/// An access token signed by `key`, bound to `proof_key` if given.
fn access_token(key: &TestKey, proof_key: Option<&ProofKey>) -> String {
    let mut claims = claims(Role::User);
    claims.cnf = proof_key.map(|k| Confirmation { jkt: k.jkt() });
    key.sign(&claims)
}

fn get(authorization: &str, proofs: &[&str]) -> actix_http::Request {
    let mut request = test::TestRequest::get()
        .uri("/api/me")
        .insert_header((header::AUTHORIZATION, authorization.to_owned()));
    for proof in proofs {
        request = request.append_header(("DPoP", proof.to_string()));
    }
    request.to_request()
}

/// Status, `error` code and challenge of a response.
async fn outcome<B: MessageBody>(response: ServiceResponse<B>) -> (StatusCode, String, String) {
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&test::read_body(response).await).unwrap_or_default();
    let code = body["error"].as_str().unwrap_or_default().to_owned();
    (status, code, challenge)
}

fn assert_dpop_refusal(outcome: &(StatusCode, String, String), code: &str) {
    assert_eq!(outcome.0, StatusCode::UNAUTHORIZED, "{outcome:?}");
    assert_eq!(outcome.1, code, "{outcome:?}");
    let expected = format!(r#"DPoP error="{code}", algs="ES256 EdDSA""#);
    assert!(outcome.2.starts_with(&expected), "{outcome:?}");
}

#[actix_web::test]
async fn a_bound_token_with_a_proof_by_its_key_is_accepted_for_both_algorithms() {
    let key = TestKey::generate("k1");
    let app = spawn(authority(&key, true)).await;
    for proof_key in [ProofKey::es256(), ProofKey::eddsa()] {
        let token = access_token(&key, Some(&proof_key));
        let proof = proof_key.proof("GET", ME, now(), Some(&token));

        let response = test::call_service(&app, get(&format!("DPoP {token}"), &[&proof])).await;

        assert_eq!(response.status(), StatusCode::OK, "{}", proof_key.alg());
        let body: Value = test::read_body_json(response).await;
        assert_eq!(body["cnf"]["jkt"], proof_key.jkt());
    }
}

#[actix_web::test]
async fn an_unbound_bearer_token_is_accepted_as_before() {
    let key = TestKey::generate("k1");
    let app = spawn(authority(&key, true)).await;
    let token = access_token(&key, None);

    let response = test::call_service(&app, get(&format!("Bearer {token}"), &[])).await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[actix_web::test]
async fn a_bound_token_presented_as_bearer_is_refused_with_a_dpop_challenge() {
    let key = TestKey::generate("k1");
    let app = spawn(authority(&key, true)).await;
    let proof_key = ProofKey::es256();
    let token = access_token(&key, Some(&proof_key));
    let proof = proof_key.proof("GET", ME, now(), Some(&token));

    let response = test::call_service(&app, get(&format!("Bearer {token}"), &[&proof])).await;

    assert_dpop_refusal(&outcome(response).await, "invalid_token");
}

#[actix_web::test]
async fn an_unbound_token_under_the_dpop_scheme_is_refused() {
    let key = TestKey::generate("k1");
    let app = spawn(authority(&key, true)).await;
    let proof_key = ProofKey::es256();
    let token = access_token(&key, None);
    let proof = proof_key.proof("GET", ME, now(), Some(&token));

    let response = test::call_service(&app, get(&format!("DPoP {token}"), &[&proof])).await;

    assert_dpop_refusal(&outcome(response).await, "invalid_token");
}

#[actix_web::test]
async fn a_bound_token_without_a_proof_is_refused() {
    let key = TestKey::generate("k1");
    let app = spawn(authority(&key, true)).await;
    let token = access_token(&key, Some(&ProofKey::eddsa()));

    let response = test::call_service(&app, get(&format!("DPoP {token}"), &[])).await;

    assert_dpop_refusal(&outcome(response).await, "invalid_dpop_proof");
}

#[actix_web::test]
async fn a_proof_by_another_key_than_the_bound_one_is_refused() {
    let key = TestKey::generate("k1");
    let app = spawn(authority(&key, true)).await;
    let token = access_token(&key, Some(&ProofKey::es256()));
    let proof = ProofKey::es256().proof("GET", ME, now(), Some(&token));

    let response = test::call_service(&app, get(&format!("DPoP {token}"), &[&proof])).await;

    assert_dpop_refusal(&outcome(response).await, "invalid_dpop_proof");
}

#[actix_web::test]
async fn a_proof_for_another_request_or_token_is_refused() {
    let key = TestKey::generate("k1");
    let app = spawn(authority(&key, true)).await;
    let proof_key = ProofKey::es256();
    let token = access_token(&key, Some(&proof_key));
    let mut other = claims(Role::User);
    other.jti = "another token".into();
    other.cnf = Some(Confirmation {
        jkt: proof_key.jkt(),
    });
    let other_token = key.sign(&other);
    let proofs = [
        proof_key.proof("POST", ME, now(), Some(&token)),
        proof_key.proof(
            "GET",
            "http://api.test:8081/api/projects",
            now(),
            Some(&token),
        ),
        proof_key.proof("GET", "http://127.0.0.1:8081/api/me", now(), Some(&token)),
        proof_key.proof("GET", ME, now() - 300, Some(&token)),
        proof_key.proof("GET", ME, now(), Some(&other_token)),
        proof_key.proof("GET", ME, now(), None),
    ];
    for proof in &proofs {
        let response = test::call_service(&app, get(&format!("DPoP {token}"), &[proof])).await;
        assert_dpop_refusal(&outcome(response).await, "invalid_dpop_proof");
    }
}

#[actix_web::test]
async fn a_replayed_proof_is_refused() {
    let key = TestKey::generate("k1");
    let app = spawn(authority(&key, true)).await;
    let proof_key = ProofKey::eddsa();
    let token = access_token(&key, Some(&proof_key));
    let proof = proof_key.proof("GET", ME, now(), Some(&token));
    let authorization = format!("DPoP {token}");

    let first = test::call_service(&app, get(&authorization, &[&proof])).await;
    let second = test::call_service(&app, get(&authorization, &[&proof])).await;

    assert_eq!(first.status(), StatusCode::OK);
    assert_dpop_refusal(&outcome(second).await, "invalid_dpop_proof");
}

#[actix_web::test]
async fn two_dpop_headers_are_refused() {
    let key = TestKey::generate("k1");
    let app = spawn(authority(&key, true)).await;
    let proof_key = ProofKey::es256();
    let token = access_token(&key, Some(&proof_key));
    let proof = proof_key.proof("GET", ME, now(), Some(&token));
    let another = proof_key.proof("GET", ME, now(), Some(&token));

    let response =
        test::call_service(&app, get(&format!("DPoP {token}"), &[&proof, &another])).await;

    assert_dpop_refusal(&outcome(response).await, "invalid_dpop_proof");
}

#[actix_web::test]
async fn a_server_without_dpop_refuses_bound_tokens() {
    let key = TestKey::generate("k1");
    let app = spawn(authority(&key, false)).await;
    let proof_key = ProofKey::es256();
    let token = access_token(&key, Some(&proof_key));
    let proof = proof_key.proof("GET", ME, now(), Some(&token));

    let response = test::call_service(&app, get(&format!("DPoP {token}"), &[&proof])).await;

    assert_dpop_refusal(&outcome(response).await, "invalid_token");
}

#[actix_web::test]
async fn a_token_bound_by_another_confirmation_method_is_refused() {
    let key = TestKey::generate("k1");
    let app = spawn(authority(&key, true)).await;
    let mut claims = serde_json::to_value(claims(Role::User)).expect("JSON");
    claims["cnf"] =
        serde_json::json!({ "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" });
    let token = key.sign(&claims);

    let response = test::call_service(&app, get(&format!("Bearer {token}"), &[])).await;

    let (status, code, _) = outcome(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
}
