//! A token bound at the auth-service, used at the resource-service: both
//! check the same key, each against its own URL (API.md §4, §7).

use reqwest::Response;

use super::proofs::ProofKey;
use crate::both_backends;
use crate::helpers::*;

/// `GET /api/me` at the resource-service under the `DPoP` scheme.
async fn get_me_dpop(resource: &ResourceApp, token: &str, proof: &str) -> Response {
    resource
        .client
        .get(resource.url("/api/me"))
        .header("authorization", format!("DPoP {token}"))
        .header("DPoP", proof)
        .send()
        .await
        .expect("request")
}

both_backends! {
    async fn a_token_bound_at_login_and_refresh_is_accepted_by_the_resource_service_with_its_key_only(backend: Backend) {
        let app = spawn_app(backend).await;
        let resource = spawn_resource(&app).await;
        let key = ProofKey::es256();
        let tokens = app.register_and_login_bound(&email(), &key).await;
        let me = resource.url("/api/me");

        let with_proof = get_me_dpop(&resource, &tokens.access, &key.proof_for("GET", &me, Some(&tokens.access))).await;
        let by_another_key = get_me_dpop(&resource, &tokens.access, &ProofKey::eddsa().proof_for("GET", &me, Some(&tokens.access))).await;
        // A proof made for the auth-service is not one for the resource-service.
        let for_another_url = get_me_dpop(&resource, &tokens.access, &key.proof_at("GET", "/api/me", Some(&tokens.access))).await;
        let as_bearer = resource.get_me(&tokens.access).await;

        assert_eq!(with_proof.status(), 200);
        let body: serde_json::Value = with_proof.json().await.expect("json");
        assert_eq!(body["sub"], claims(&tokens.access)["sub"]);
        for refused in [by_another_key, for_another_url, as_bearer] {
            assert_eq!(refused.status(), 401);
            let challenge = refused.headers()["www-authenticate"].to_str().expect("ascii").to_owned();
            assert!(challenge.starts_with("DPoP "), "{challenge}");
        }
        let proof = key.proof_at("POST", "/auth/refresh", None);
        let next = Tokens::from_response(app.post_refresh_with_proof(&tokens.refresh, Some(&proof)).await).await;
        let again = get_me_dpop(&resource, &next.access, &key.proof_for("GET", &me, Some(&next.access))).await;
        assert_eq!(again.status(), 200);
    }
}
