//! Forged and misused tokens: each must be refused with 401 `invalid_token`
//! by the resource-service and by the auth-service's own protected routes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn parts(token: &str) -> (Value, Value, String) {
    let mut it = token.split('.');
    let header = it.next().expect("header");
    let payload = it.next().expect("payload");
    let signature = it.next().expect("signature").to_owned();
    let decode = |s: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).expect("b64")).expect("json")
    };
    (decode(header), decode(payload), signature)
}

fn assemble(header: &Value, payload: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    )
}

/// Forgeries of a real token, by name.
pub async fn forgeries(app: &TestApp, genuine: &str) -> Vec<(&'static str, String)> {
    let (header, payload, signature) = parts(genuine);
    let kid = header["kid"].as_str().expect("kid").to_owned();

    let alg_none = assemble(
        &json!({ "alg": "none", "typ": "at+jwt", "kid": kid }),
        &payload,
        "",
    );

    // HS256 keyed with the public key's bytes: the classic key-confusion attack.
    let jwks: Value = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let x = jwks["keys"][0]["x"].as_str().expect("x").to_owned();
    let public = URL_SAFE_NO_PAD.decode(&x).expect("x");
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.typ = Some("at+jwt".into());
    hs_header.kid = Some(kid.clone());
    let hs256_public =
        encode(&hs_header, &payload, &EncodingKey::from_secret(&public)).expect("hs256");
    let hs256_x = encode(
        &hs_header,
        &payload,
        &EncodingKey::from_secret(x.as_bytes()),
    )
    .expect("hs256");

    let mut escalated = payload.clone();
    escalated["role"] = json!("admin");
    let tampered = assemble(&header, &escalated, &signature);

    // Validly signed by a key of the attacker's, claiming the real kid.
    let attacker = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let der = attacker.to_pkcs8_der().expect("der");
    let mut ed_header = Header::new(Algorithm::EdDSA);
    ed_header.typ = Some("at+jwt".into());
    ed_header.kid = Some(kid.clone());
    let foreign_key = encode(
        &ed_header,
        &payload,
        &EncodingKey::from_ed_der(der.as_bytes()),
    )
    .expect("sign");

    let mut wrong_typ = header.clone();
    wrong_typ["typ"] = json!("JWT");

    vec![
        ("alg none", alg_none),
        ("HS256 keyed with the public key", hs256_public),
        ("HS256 keyed with the JWK x", hs256_x),
        ("tampered payload", tampered),
        ("signed by another key under the real kid", foreign_key),
        (
            "wrong typ (signature no longer matches either)",
            assemble(&wrong_typ, &payload, &signature),
        ),
        ("truncated", genuine[..genuine.len() - 10].to_owned()),
        ("garbage", "not.a.token".into()),
    ]
}

both_backends! {
    async fn forged_tokens_are_refused_by_both_services(backend: Backend) {
        let auth = spawn_app(backend).await;
        let resource = spawn_resource(&auth).await;
        let tokens = auth.register_and_login(&email()).await;
        assert_eq!(resource.get_me(&tokens.access).await.status(), 200);

        for (name, forged) in forgeries(&auth, &tokens.access).await {
            let at_resource = resource.get_me(&forged).await;
            assert_eq!(at_resource.status(), 401, "resource-service accepted: {name}");
            let challenge = at_resource.headers()["www-authenticate"].to_str().expect("ascii").to_owned();
            assert!(challenge.contains("error=\"invalid_token\""), "{name}: {challenge}");
            assert_error(at_resource, 401, "invalid_token").await;
            assert_error(auth.get_me(&forged).await, 401, "invalid_token").await;
        }
    }

    async fn tokens_for_another_audience_or_issuer_are_refused(backend: Backend) {
        // One database, so both auth-services sign with the same key: only
        // the claims differ.
        let auth = spawn_app(backend).await;
        let other_audience = spawn_on(auth.db.clone(), {
            let mut s = auth.settings.clone();
            s.audience = "billing-service".into();
            s
        })
        .await;
        let other_issuer = spawn_on(auth.db.clone(), {
            let mut s = auth.settings.clone();
            s.issuer = "http://evil.test".into();
            s
        })
        .await;
        let resource = spawn_resource(&auth).await;
        let email = email();
        auth.register_and_login(&email).await;

        for (name, app) in [("audience", &other_audience), ("issuer", &other_issuer)] {
            let tokens = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
            let response = resource.get_me(&tokens.access).await;
            assert_eq!(response.status(), 401, "wrong {name} accepted");
            assert_error(response, 401, "invalid_token").await;
        }
    }

    async fn a_refresh_token_is_never_accepted_as_an_access_token(backend: Backend) {
        let auth = spawn_app(backend).await;
        let resource = spawn_resource(&auth).await;
        let tokens = auth.register_and_login(&email()).await;
        assert_error(resource.get_me(&tokens.refresh).await, 401, "invalid_token").await;
        assert_error(auth.get_me(&tokens.refresh).await, 401, "invalid_token").await;
        // And an access token is no refresh token.
        assert_error(auth.post_refresh(&tokens.access).await, 401, "invalid_grant").await;
    }

    async fn access_tokens_carry_the_contracts_header_and_claims(backend: Backend) {
        let auth = spawn_app_with(backend, |s| s.access_token_ttl = std::time::Duration::from_secs(300)).await;
        let tokens = auth.register_and_login(&email()).await;
        let (header, claims, _) = parts(&tokens.access);
        assert_eq!(header["alg"], "EdDSA");
        assert_eq!(header["typ"], "at+jwt");
        assert!(header["kid"].is_string());
        for claim in ["iss", "aud", "sub", "exp", "iat", "jti", "sid", "role", "email", "client_id"] {
            assert!(claims.get(claim).is_some(), "missing {claim}");
        }
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["aud"], AUDIENCE);
        assert_eq!(claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"), 300);
        let again = Tokens::from_response(auth.post_refresh(&tokens.refresh).await).await;
        let (_, next, _) = parts(&again.access);
        assert_ne!(next["jti"], claims["jti"], "jti is unique per token");
        assert_eq!(next["sid"], claims["sid"], "a refresh stays in its session");
        assert_eq!(claims["client_id"], "first-party");
        assert_eq!(next["client_id"], "first-party");
    }
}
