//! DPoP-bound tokens at the resource-service (API.md §4, §7), over real
//! HTTP: a bound token is accepted only as `Authorization: DPoP` with a
//! proof by its key for this URL, checked against `RESOURCE_PUBLIC_URL`, and
//! each proof once per instance.

use crate::helpers::proofs::ProofKey;
use crate::helpers::{
    claims, error_code, spawn_app, spawn_app_configured, test_jwks_options, www_authenticate,
    JwksServer, TestApp, TestKey,
};
use reqwest::header::AUTHORIZATION;
use reqwest::Method;
use serde_json::{json, Value};
use shared_claims::dpop::PublicUrl;

/// A user's access token signed by `key` and bound to `proof_key`.
fn bound_token(key: &TestKey, proof_key: &ProofKey) -> String {
    let mut claims = claims("user");
    claims["cnf"] = json!({ "jkt": proof_key.jkt() });
    key.sign(&claims)
}

/// A request with `Authorization: <scheme> <token>` and these `DPoP` headers.
fn request(
    app: &TestApp,
    method: Method,
    path: &str,
    authorization: String,
    proofs: &[&str],
) -> reqwest::RequestBuilder {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header(AUTHORIZATION, authorization);
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    request
}

async fn assert_dpop_refusal(response: reqwest::Response, code: &str) {
    assert_eq!(response.status(), 401);
    let challenge = www_authenticate(&response);
    assert!(
        challenge.starts_with(&format!(r#"DPoP error="{code}", algs="ES256 EdDSA""#)),
        "{challenge}"
    );
    assert_eq!(error_code(response).await, code);
}

#[tokio::test]
async fn a_bound_token_with_a_proof_by_its_key_reads_and_writes() {
    let env = spawn_app().await;
    for proof_key in [ProofKey::es256(), ProofKey::eddsa()] {
        let token = bound_token(&env.key, &proof_key);
        let me = proof_key.proof_now("GET", &env.app.url("/api/me"), &token);
        let create = proof_key.proof_now("POST", &env.app.url("/api/projects"), &token);

        let read = request(
            &env.app,
            Method::GET,
            "/api/me",
            format!("DPoP {token}"),
            &[&me],
        )
        .send()
        .await
        .unwrap();
        let written = request(
            &env.app,
            Method::POST,
            "/api/projects",
            format!("DPoP {token}"),
            &[&create],
        )
        .json(&json!({"name": "bound"}))
        .send()
        .await
        .unwrap();

        assert_eq!(read.status(), 200);
        assert_eq!(written.status(), 201);
    }
}

#[tokio::test]
async fn a_bound_token_presented_as_bearer_is_refused() {
    let env = spawn_app().await;
    let proof_key = ProofKey::es256();
    let token = bound_token(&env.key, &proof_key);
    let proof = proof_key.proof_now("GET", &env.app.url("/api/me"), &token);

    let response = request(
        &env.app,
        Method::GET,
        "/api/me",
        format!("Bearer {token}"),
        &[&proof],
    )
    .send()
    .await
    .unwrap();

    assert_dpop_refusal(response, "invalid_token").await;
}

#[tokio::test]
async fn an_unbound_token_under_the_dpop_scheme_is_refused() {
    let env = spawn_app().await;
    let proof_key = ProofKey::es256();
    let token = env.key.sign(&claims("user"));
    let proof = proof_key.proof_now("GET", &env.app.url("/api/me"), &token);

    let response = request(
        &env.app,
        Method::GET,
        "/api/me",
        format!("DPoP {token}"),
        &[&proof],
    )
    .send()
    .await
    .unwrap();

    assert_dpop_refusal(response, "invalid_token").await;
}

#[tokio::test]
async fn a_bound_token_without_a_valid_proof_is_refused() {
    let env = spawn_app().await;
    let proof_key = ProofKey::eddsa();
    let token = bound_token(&env.key, &proof_key);
    let url = env.app.url("/api/me");
    let cases = [
        vec![],
        vec!["not-a-proof".to_owned()],
        vec![ProofKey::eddsa().proof_now("GET", &url, &token)],
        vec![proof_key.proof_now("POST", &url, &token)],
        vec![proof_key.proof_now("GET", &env.app.url("/api/projects"), &token)],
        vec![proof_key.proof_now("GET", &url, "another token")],
        vec![
            proof_key.proof_now("GET", &url, &token),
            proof_key.proof_now("GET", &url, &token),
        ],
    ];
    for proofs in &cases {
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let response = request(
            &env.app,
            Method::GET,
            "/api/me",
            format!("DPoP {token}"),
            &proofs,
        )
        .send()
        .await
        .unwrap();
        assert_dpop_refusal(response, "invalid_dpop_proof").await;
    }
}

#[tokio::test]
async fn a_proof_is_accepted_once_by_the_instance_whatever_worker_answers() {
    let env = spawn_app().await;
    let proof_key = ProofKey::es256();
    let token = bound_token(&env.key, &proof_key);
    let proof = proof_key.proof_now("GET", &env.app.url("/api/me"), &token);

    let mut statuses = Vec::new();
    for _ in 0..4 {
        // A fresh connection each time, so the requests spread over workers.
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let response = client
            .get(env.app.url("/api/me"))
            .header(AUTHORIZATION, format!("DPoP {token}"))
            .header("DPoP", &proof)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }

    assert_eq!(statuses, [200, 401, 401, 401]);
}

#[tokio::test]
async fn htu_is_checked_against_resource_public_url() {
    let key = TestKey::generate();
    let jwks = JwksServer::spawn(&[&key]).await;
    let public = "https://API.example.test/resource";
    let app = spawn_app_configured(&jwks.url(), test_jwks_options(), |settings| {
        settings.public_url = Some(PublicUrl::parse(public).unwrap());
    })
    .await;
    app.wait_until_ready().await;
    let proof_key = ProofKey::eddsa();
    let token = bound_token(&key, &proof_key);
    let get_me = |proof: String| {
        request(
            &app,
            Method::GET,
            "/api/me",
            format!("DPoP {token}"),
            &[&proof],
        )
        .send()
    };

    let as_addressed = get_me(proof_key.proof_now("GET", &app.url("/api/me"), &token))
        .await
        .unwrap();
    let public =
        get_me(proof_key.proof_now("GET", "https://api.example.test/resource/api/me", &token))
            .await
            .unwrap();

    assert_dpop_refusal(as_addressed, "invalid_dpop_proof").await;
    assert_eq!(public.status(), 200);
    let body: Value = public.json().await.unwrap();
    assert_eq!(body["role"], "user");
}
