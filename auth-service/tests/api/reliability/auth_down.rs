//! The auth-service is down: the resource-service goes on verifying with the
//! keys it holds, telling valid tokens from forged, expired and unknown-kid
//! ones for as long as the outage lasts, and picks up a key rotated
//! meanwhile once the auth-service is back. (That a valid token keeps
//! working is in `cross_service`; this adds the rejections and the return.)

use std::time::{Duration, Instant};

use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};

use crate::attacks::forgeries;
use crate::both_backends;
use crate::cli::{auth_service, stderr};
use crate::helpers::*;

fn kid(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().expect("header");
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url");
    let header: serde_json::Value = serde_json::from_slice(&header).expect("json");
    header["kid"].as_str().expect("kid").to_owned()
}

/// The claims of `genuine`, validly signed by a key of the attacker's under
/// a `kid` nobody published: the resource-service must ask the auth-service
/// for it, and cannot.
fn signed_under_an_unknown_kid(genuine: &str) -> String {
    let attacker = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let der = attacker.to_pkcs8_der().expect("der");
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("at+jwt".into());
    header.kid = Some("a-kid-nobody-published".into());
    encode(
        &header,
        &claims(genuine),
        &EncodingKey::from_ed_der(der.as_bytes()),
    )
    .expect("sign")
}

fn port_of(app: &TestApp) -> u16 {
    app.address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port")
}

both_backends! {
    async fn while_the_auth_service_is_down_the_resource_service_still_tells_valid_tokens_from_invalid_ones(backend: Backend) {
        // Two instances on one database, so one signing key: one issues
        // tokens that expire during the outage, the other tokens that do not.
        let short = spawn_app_with(backend, |s| s.access_token_ttl = Duration::from_secs(1)).await;
        let long = spawn_on(short.db.clone(), test_settings(&short.db)).await;
        let resource = spawn_resource(&short).await;
        let email = email();
        let valid = long.register_and_login(&email).await.access;
        let expiring = Tokens::from_response(short.post_login(&email, PASSWORD).await).await.access;
        let issued = Instant::now();
        assert_eq!(kid(&valid), kid(&expiring));
        let mut invalid = forgeries(&long, &valid).await;
        invalid.push(("signed under an unknown kid", signed_under_an_unknown_kid(&valid)));
        assert_eq!(resource.get_me(&expiring).await.status(), 200);

        short.stop().await;
        long.stop().await;
        assert!(long.client.get(long.url("/healthz")).send().await.is_err(), "auth-service is down");

        // Twice: at once, and later, when the short-lived token has expired.
        for round in 0..2 {
            for (name, forged) in &invalid {
                let started = Instant::now();
                let response = resource.get_me(forged).await;
                assert!(started.elapsed() < Duration::from_secs(5), "{name}: a slow answer");
                assert_error(response, 401, "invalid_token").await;
            }
            // A failed refetch for the unknown kid costs the cached keys nothing.
            assert_eq!(resource.get_me(&valid).await.status(), 200, "round {round}: the valid token");
            if round == 0 {
                // `exp` is in whole seconds and checked without leeway here:
                // a 1 s token is surely dead 2 s after it was issued.
                tokio::time::sleep(Duration::from_millis(2100).saturating_sub(issued.elapsed())).await;
            }
        }
        assert_error(resource.get_me(&expiring).await, 401, "invalid_token").await;
        let ready = resource.client.get(resource.url("/readyz")).send().await.expect("request");
        assert_eq!(ready.status(), 200, "it holds the keys, so it stays ready");
    }

    async fn the_resource_service_trusts_a_key_rotated_while_the_auth_service_was_down(backend: Backend) {
        let auth = spawn_app(backend).await;
        let port = port_of(&auth);
        let resource = spawn_resource_with(
            &auth.url("/.well-known/jwks.json"),
            resource_service::jwks::JwksOptions {
                min_refresh_interval: Duration::from_secs(1),
                ..Default::default()
            },
        )
        .await;
        let email = email();
        let before = auth.register_and_login(&email).await.access;

        auth.stop().await;
        assert_eq!(resource.get_me(&before).await.status(), 200);
        // The operator rotates the key while the service is down...
        let output = auth_service(&auth.db, &["keys", "rotate"], None, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        // ...and it comes back at the same address.
        let mut settings = auth.settings.clone();
        settings.bind = format!("127.0.0.1:{port}");
        let back = spawn_on(auth.db.clone(), settings).await;
        let after = Tokens::from_response(back.post_login(&email, PASSWORD).await).await.access;
        assert_ne!(kid(&after), kid(&before), "the restarted service signs with the new key");

        // The unknown kid makes the resource-service refetch (rate-limited,
        // so allow a few seconds), and it finds the new key.
        let started = Instant::now();
        loop {
            let response = resource.get_me(&after).await;
            if response.status() == 200 {
                break;
            }
            assert_error(response, 401, "invalid_token").await;
            assert!(started.elapsed() < Duration::from_secs(10), "the new key was never fetched");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(resource.get_me(&before).await.status(), 200, "the old key is still trusted");
    }
}
