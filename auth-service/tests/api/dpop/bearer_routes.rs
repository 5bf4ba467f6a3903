//! The auth-service's own Bearer routes (API.md §3, §7): a bound token is
//! accepted only under the `DPoP` scheme with a proof by its key, and an
//! unbound one only under `Bearer`.

use reqwest::Response;

use super::proofs::ProofKey;
use crate::both_backends;
use crate::cli::{auth_service, stderr};
use crate::helpers::*;

/// `GET /auth/me` with `Authorization: DPoP <token>` and, if given, a proof.
async fn get_me_dpop(app: &TestApp, token: &str, proof: Option<&str>) -> Response {
    let mut request = app
        .client
        .get(app.url("/auth/me"))
        .header("authorization", format!("DPoP {token}"));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request.send().await.expect("request")
}

/// Asserts a 401 with a `DPoP` challenge naming the proof algorithms.
async fn assert_dpop_challenge(response: Response) {
    assert_eq!(response.status(), 401);
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(challenge.contains(r#"algs="ES256 EdDSA""#), "{challenge}");
    assert!(challenge.contains("error="), "{challenge}");
    let body: serde_json::Value = response.json().await.expect("json body");
    assert!(
        matches!(
            body["error"].as_str(),
            Some("invalid_token" | "invalid_dpop_proof")
        ),
        "{body}"
    );
}

both_backends! {
    async fn a_bound_token_works_under_dpop_with_a_proof_by_its_key_only(backend: Backend) {
        let app = spawn_app(backend).await;
        let key = ProofKey::es256();
        let tokens = app.register_and_login_bound(&email(), &key).await;

        let with_proof = get_me_dpop(&app, &tokens.access, Some(&key.proof_at("GET", "/auth/me", Some(&tokens.access)))).await;
        let as_bearer = app.get_me(&tokens.access).await;
        let without_proof = get_me_dpop(&app, &tokens.access, None).await;
        let other_key = ProofKey::eddsa().proof_at("GET", "/auth/me", Some(&tokens.access));
        let by_another_key = get_me_dpop(&app, &tokens.access, Some(&other_key)).await;

        assert_eq!(with_proof.status(), 200);
        assert_dpop_challenge(as_bearer).await;
        assert_dpop_challenge(without_proof).await;
        assert_dpop_challenge(by_another_key).await;
    }

    async fn an_unbound_token_is_refused_under_the_dpop_scheme(backend: Backend) {
        let app = spawn_app(backend).await;
        let tokens = app.register_and_login(&email()).await;
        let key = ProofKey::eddsa();

        let response = get_me_dpop(&app, &tokens.access, Some(&key.proof_at("GET", "/auth/me", Some(&tokens.access)))).await;

        assert_dpop_challenge(response).await;
        assert_eq!(app.get_me(&tokens.access).await.status(), 200);
    }

    async fn a_bound_token_of_a_revoked_key_is_refused_whatever_its_proof(backend: Backend) {
        let app = spawn_app(backend).await;
        let key = ProofKey::eddsa();
        let tokens = app.register_and_login_bound(&email(), &key).await;
        let header = jsonwebtoken::decode_header(&tokens.access).expect("header");
        let kid = header.kid.expect("kid");

        let output = auth_service(&app.db, &["keys", "revoke", "--kid", &kid], None, &[]);
        assert!(output.status.success(), "{}", stderr(&output));

        let proof = key.proof_at("GET", "/auth/me", Some(&tokens.access));
        assert_error(get_me_dpop(&app, &tokens.access, Some(&proof)).await, 401, "invalid_token").await;
    }
}
