//! Token introspection (RFC 7662, API.md §3): `POST /oauth/introspect`
//! answers authenticated clients whether a token is live now, and uses
//! nothing up.

use reqwest::Response;
use serde_json::{json, Value};

use crate::attacks::forgeries;
use crate::both_backends;
use crate::cli::{auth_service, stderr};
use crate::clients::{basic, create_client, post_form};
use crate::helpers::*;

/// Introspects `token` with `authorization`; the response, unread.
async fn ask(app: &TestApp, authorization: &str, token: &str) -> Response {
    post_form(
        app,
        "/oauth/introspect",
        Some(authorization),
        &[("token", token)],
    )
    .await
}

/// Introspects `token` as the client behind `authorization`; the body of
/// the 200 answer.
async fn introspect(app: &TestApp, authorization: &str, token: &str) -> Value {
    let response = ask(app, authorization, token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.expect("json")
}

fn inactive() -> Value {
    json!({ "active": false })
}

/// `genuine` with `iat` and `exp` moved by `shift` seconds, signed again by
/// the service's own key under the same `kid`.
fn resigned(app: &TestApp, genuine: &str, shift: i64) -> String {
    use auth_service::db::signing_keys;
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};

    let kid = jsonwebtoken::decode_header(genuine)
        .expect("header")
        .kid
        .expect("kid");
    let pool = auth_service::db::connect(&app.db.url).expect("pool");
    let keys = auth_service::db::with_connection(&pool, |conn| {
        signing_keys::all(conn).map_err(|e| e.to_string())
    })
    .expect("keys");
    let key = keys.iter().find(|k| k.kid == kid).expect("the signing key");
    let mut payload = claims(genuine);
    for claim in ["iat", "exp"] {
        payload[claim] = json!(payload[claim].as_i64().expect(claim) + shift);
    }
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid);
    encode(
        &header,
        &payload,
        &EncodingKey::from_ed_der(&key.private_key),
    )
    .expect("sign")
}

both_backends! {
    async fn live_tokens_are_described_and_introspection_uses_nothing_up(backend: Backend) {
        let app = spawn_app(backend).await;
        let (id, secret) = create_client(&app.db, "resource-server");
        let client = basic(&id, &secret);
        let tokens = app.register_and_login(&email()).await;
        let access = claims(&tokens.access);

        let described = introspect(&app, &client, &tokens.access).await;

        let expected = json!({
            "active": true,
            "token_type": "Bearer",
            "client_id": "first-party",
            "sub": access["sub"], "exp": access["exp"], "iat": access["iat"],
            "iss": ISSUER, "aud": AUDIENCE, "jti": access["jti"],
            "sid": access["sid"], "role": "user", "email": access["email"],
        });
        assert_eq!(described, expected);
        // The hint is a hint only; client_secret_post works as Basic does.
        let hinted = [
            ("token", tokens.access.as_str()),
            ("token_type_hint", "refresh_token"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ];
        let by_post = post_form(&app, "/oauth/introspect", None, &hinted).await;
        assert_eq!(by_post.json::<Value>().await.expect("json"), expected);

        let refresh = introspect(&app, &client, &tokens.refresh).await;
        assert_eq!(refresh["active"], true, "{refresh}");
        assert_eq!(refresh["token_type"], "refresh_token");
        assert_eq!(refresh["client_id"], "first-party");
        assert_eq!(refresh["sub"], access["sub"]);
        assert_eq!(refresh["sid"], access["sid"]);
        let lifetime = refresh["exp"].as_i64().expect("exp") - access["iat"].as_i64().expect("iat");
        assert!((lifetime - app.settings.refresh_token_ttl.as_secs() as i64).abs() <= 2, "{refresh}");
        assert_eq!(introspect(&app, &client, &tokens.refresh).await, refresh, "asking twice changes nothing");

        let rotated = Tokens::from_response(app.post_refresh(&tokens.refresh).await).await;
        assert_eq!(introspect(&app, &client, &tokens.refresh).await, inactive(), "a used refresh token");
        assert_eq!(introspect(&app, &client, &rotated.refresh).await["active"], true);
        assert_eq!(introspect(&app, &client, &tokens.access).await["active"], true, "its session lives on");
    }

    async fn tokens_of_ended_sessions_revoked_keys_and_forgeries_are_inactive(backend: Backend) {
        let app = spawn_app(backend).await;
        let (id, secret) = create_client(&app.db, "resource-server");
        let client = basic(&id, &secret);
        let email = email();
        let tokens = app.register_and_login(&email).await;

        for (name, forged) in forgeries(&app, &tokens.access).await {
            assert_eq!(introspect(&app, &client, &forged).await, inactive(), "{name}");
        }
        let copy = resigned(&app, &tokens.access, 0);
        assert_eq!(introspect(&app, &client, &copy).await["active"], true, "signed as the service signs");
        let expired = resigned(&app, &tokens.access, -3600);
        assert_eq!(introspect(&app, &client, &expired).await, inactive(), "expired");
        assert_eq!(introspect(&app, &client, "garbage").await, inactive());

        assert_eq!(app.post_logout(&tokens.refresh).await.status(), 204);
        assert_eq!(introspect(&app, &client, &tokens.access).await, inactive(), "ended by logout");
        assert_eq!(introspect(&app, &client, &tokens.refresh).await, inactive());

        let other = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        let kid = jsonwebtoken::decode_header(&other.access).expect("header").kid.expect("kid");
        let revoked = auth_service(&app.db, &["keys", "revoke", "--kid", &kid], None, &[]);
        assert!(revoked.status.success(), "{}", stderr(&revoked));
        assert_eq!(introspect(&app, &client, &other.access).await, inactive(), "its key is revoked");

        let last = Tokens::from_response(app.post_refresh(&other.refresh).await).await;
        assert_eq!(introspect(&app, &client, &last.access).await["active"], true, "signed by the new key");
        assert_eq!(app.post_logout_all(&last.access).await.status(), 204);
        assert_eq!(introspect(&app, &client, &last.access).await, inactive(), "revoked by logout-all");
    }

    async fn a_service_token_is_live_until_its_client_is_deleted(backend: Backend) {
        let app = spawn_app(backend).await;
        let (asker, asker_secret) = create_client(&app.db, "resource-server");
        let client = basic(&asker, &asker_secret);
        let (id, secret) = create_client(&app.db, "reports");
        let granted = post_form(&app, "/oauth/token", Some(&basic(&id, &secret)), &[("grant_type", "client_credentials")]).await;
        let body: Value = granted.json().await.expect("json");
        let token = body["access_token"].as_str().expect("access_token");
        let issued = claims(token);

        let described = introspect(&app, &client, token).await;

        assert_eq!(described, json!({
            "active": true, "token_type": "Bearer", "client_id": id, "sub": id,
            "exp": issued["exp"], "iat": issued["iat"], "iss": ISSUER, "aud": AUDIENCE,
            "jti": issued["jti"], "role": "service",
        }));
        let deleted = auth_service(&app.db, &["client", "delete", "--id", &id], None, &[]);
        assert!(deleted.status.success(), "{}", stderr(&deleted));
        assert_eq!(introspect(&app, &client, token).await, inactive());
    }

    async fn introspection_answers_authenticated_clients_only(backend: Backend) {
        let app = spawn_app(backend).await;
        let (id, secret) = create_client(&app.db, "resource-server");
        let tokens = app.register_and_login(&email()).await;
        let wrong = basic(&id, &format!("{secret}x"));
        let unknown = basic(&uuid::Uuid::new_v4().to_string(), &secret);
        let public = [("token", tokens.access.as_str()), ("client_id", id.as_str())];

        for refused in [
            post_form(&app, "/oauth/introspect", None, &[("token", &tokens.access)]).await,
            post_form(&app, "/oauth/introspect", None, &public).await,
            ask(&app, &wrong, &tokens.access).await,
            ask(&app, &unknown, &tokens.access).await,
            ask(&app, &wrong, "garbage").await,
            ask(&app, &wrong, &tokens.refresh).await,
            post_form(&app, "/oauth/introspect", Some(&wrong), &[]).await,
        ] {
            assert_eq!(
                refused.headers().get("www-authenticate").map(|v| v.to_str().expect("ascii")),
                Some(r#"Basic realm="auth-service""#)
            );
            assert_error(refused, 401, "invalid_client").await;
        }
        let missing = post_form(&app, "/oauth/introspect", Some(&basic(&id, &secret)), &[("token", "")]).await;
        assert_error(missing, 400, "invalid_request").await;

        let metadata: Value = app.client.get(app.url("/.well-known/oauth-authorization-server"))
            .send().await.expect("request").json().await.expect("json");
        assert_eq!(metadata["introspection_endpoint"], format!("{ISSUER}/oauth/introspect"));
        assert_eq!(
            metadata["introspection_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post"])
        );
    }
}
