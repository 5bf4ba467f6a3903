//! Token requests with a `DPoP` proof (API.md §7): login, refresh and the
//! grants of `/oauth/token` bind what they issue to the proof's key, and
//! a bound session refreshes only with a proof by that key.

use reqwest::Response;
use serde_json::{json, Value};

use super::proofs::ProofKey;
use crate::both_backends;
use crate::clients::{basic, create_client};
use crate::helpers::*;

impl TestApp {
    /// `POST /auth/login` with `proof` in the `DPoP` header.
    pub async fn post_login_with_proof(&self, email: &str, proof: &str) -> Response {
        self.client
            .post(self.url("/auth/login"))
            .header("DPoP", proof)
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .expect("request")
    }

    /// `POST /auth/refresh` with the token in the body and, if given,
    /// `proof` in the `DPoP` header.
    pub async fn post_refresh_with_proof(&self, refresh: &str, proof: Option<&str>) -> Response {
        let mut request = self
            .client
            .post(self.url("/auth/refresh"))
            .json(&json!({ "refresh_token": refresh }));
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        request.send().await.expect("request")
    }

    /// Registers `email` and logs in with a proof by `key`: a bound session.
    pub async fn register_and_login_bound(&self, email: &str, key: &ProofKey) -> Tokens {
        assert_eq!(self.post_register(email, PASSWORD).await.status(), 201);
        let proof = key.proof_at("POST", "/auth/login", None);
        Tokens::from_response(self.post_login_with_proof(email, &proof).await).await
    }

    /// The `dpop_jkt` of every stored session.
    fn stored_bindings(&self) -> Vec<Option<String>> {
        use auth_service::db::schema::sessions;
        use diesel::prelude::*;
        let pool = auth_service::db::connect(&self.db.url).expect("pool");
        auth_service::db::with_connection(&pool, |conn| {
            sessions::table
                .select(sessions::dpop_jkt)
                .load(conn)
                .map_err(|e| e.to_string())
        })
        .expect("sessions")
    }
}

async fn post_token(
    app: &TestApp,
    proof: Option<&str>,
    auth: Option<&str>,
    form: &[(&str, &str)],
) -> Response {
    let mut request = app.client.post(app.url("/oauth/token")).form(form);
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    request.send().await.expect("request")
}

/// Asserts that `tokens` are bound to `key`.
fn assert_bound(body: &Value, key: &ProofKey) {
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let access = body["access_token"].as_str().expect("access_token");
    assert_eq!(claims(access)["cnf"], json!({ "jkt": key.jkt() }));
}

fn assert_unbound(body: &Value) {
    assert_eq!(body["token_type"], "Bearer", "{body}");
    let access = body["access_token"].as_str().expect("access_token");
    assert!(claims(access).get("cnf").is_none(), "{body}");
}

both_backends! {
    async fn a_login_with_an_es256_or_eddsa_proof_binds_the_session_to_its_key(backend: Backend) {
        let app = spawn_app(backend).await;
        let keys = [ProofKey::es256(), ProofKey::eddsa()];
        for key in &keys {
            let tokens = app.register_and_login_bound(&email(), key).await;

            assert_bound(&tokens.body, key);
        }
        let mut stored = app.stored_bindings();
        stored.sort();
        let mut expected: Vec<_> = keys.iter().map(|key| Some(key.jkt())).collect();
        expected.sort();
        assert_eq!(stored, expected);
    }

    async fn a_bound_session_refreshes_only_with_a_proof_by_its_key(backend: Backend) {
        let app = spawn_app(backend).await;
        let key = ProofKey::es256();
        let tokens = app.register_and_login_bound(&email(), &key).await;
        let other = ProofKey::eddsa();

        let without = app.post_refresh_with_proof(&tokens.refresh, None).await;
        let with_other = app
            .post_refresh_with_proof(&tokens.refresh, Some(&other.proof_at("POST", "/auth/refresh", None)))
            .await;

        assert_error(without, 400, "invalid_dpop_proof").await;
        assert_error(with_other, 400, "invalid_dpop_proof").await;
        // The refused attempts used nothing up: the same token still
        // refreshes with the right key, and the session stays bound.
        let proof = key.proof_at("POST", "/auth/refresh", None);
        let next = Tokens::from_response(app.post_refresh_with_proof(&tokens.refresh, Some(&proof)).await).await;
        assert_bound(&next.body, &key);
        let proof = key.proof_at("POST", "/auth/refresh", None);
        let third = Tokens::from_response(app.post_refresh_with_proof(&next.refresh, Some(&proof)).await).await;
        assert_bound(&third.body, &key);
    }

    async fn an_invalid_proof_at_login_is_refused_before_the_password_is_checked(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let key = ProofKey::eddsa();

        let wrong_url = key.proof_at("POST", "/auth/refresh", None);
        let wrong_method = key.proof_at("GET", "/auth/login", None);
        let garbage = "not.a.proof";
        for proof in [wrong_url.as_str(), wrong_method.as_str(), garbage] {
            assert_error(app.post_login_with_proof(&email, proof).await, 400, "invalid_dpop_proof").await;
        }

        assert!(app.stored_bindings().is_empty(), "no session was opened");
        assert_eq!(app.counter("auth_login_failures_total{reason=\"invalid_credentials\"}").await, 0.0);
        assert_eq!(app.counter("auth_logins_total").await, 0.0);
    }

    async fn a_proof_is_accepted_once(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let key = ProofKey::es256();
        let proof = key.proof_at("POST", "/auth/login", None);
        assert_eq!(app.post_login_with_proof(&email, &proof).await.status(), 200);

        let replayed = app.post_login_with_proof(&email, &proof).await;

        assert_error(replayed, 400, "invalid_dpop_proof").await;
        assert_eq!(app.stored_bindings().len(), 1);
    }

    async fn an_unbound_session_stays_unbound_but_its_proofs_are_still_checked(backend: Backend) {
        let app = spawn_app(backend).await;
        let tokens = app.register_and_login(&email()).await;
        assert_unbound(&tokens.body);
        let key = ProofKey::eddsa();

        let invalid = key.proof_at("POST", "/auth/login", None);
        assert_error(app.post_refresh_with_proof(&tokens.refresh, Some(&invalid)).await, 400, "invalid_dpop_proof").await;
        let valid = key.proof_at("POST", "/auth/refresh", None);
        let next = Tokens::from_response(app.post_refresh_with_proof(&tokens.refresh, Some(&valid)).await).await;

        assert_unbound(&next.body);
        let plain = Tokens::from_response(app.post_refresh(&next.refresh).await).await;
        assert_unbound(&plain.body);
        assert_eq!(app.stored_bindings(), vec![None]);
    }

    async fn the_token_endpoint_binds_its_password_refresh_and_client_credentials_grants(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let key = ProofKey::es256();
        let password_grant = [("grant_type", "password"), ("username", &email), ("password", PASSWORD)];

        let proof = key.proof_at("POST", "/oauth/token", None);
        let response = post_token(&app, Some(&proof), None, &password_grant).await;
        let body: Value = {
            assert_eq!(response.status(), 200);
            response.json().await.expect("json")
        };
        assert_bound(&body, &key);
        let refresh = body["refresh_token"].as_str().expect("refresh_token");
        let refresh_grant = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
        assert_error(post_token(&app, None, None, &refresh_grant).await, 400, "invalid_dpop_proof").await;
        let proof = key.proof_at("POST", "/oauth/token", None);
        let refreshed: Value = post_token(&app, Some(&proof), None, &refresh_grant).await.json().await.expect("json");
        assert_bound(&refreshed, &key);

        let (id, secret) = create_client(&app.db, "dpop-service");
        let service_key = ProofKey::eddsa();
        let proof = service_key.proof_at("POST", "/oauth/token", None);
        let response = post_token(&app, Some(&proof), Some(&basic(&id, &secret)), &[("grant_type", "client_credentials")]).await;
        assert_eq!(response.status(), 200);
        assert_bound(&response.json().await.expect("json"), &service_key);
    }
}

#[tokio::test]
async fn the_metadata_names_the_proof_algorithms() {
    let app = spawn_app(Backend::Sqlite).await;

    let metadata: Value = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");

    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA"])
    );
}
