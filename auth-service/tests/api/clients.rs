//! Confidential clients (API.md §6, §8): the `client` commands, client
//! authentication at the OAuth endpoints and the client-credentials grant.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use reqwest::Response;
use serde_json::Value;

use crate::both_backends;
use crate::cli::{auth_service, stderr};
use crate::helpers::*;

/// Registers a client with the real command; its (id, secret).
pub fn create_client(db: &TestDb, name: &str) -> (String, String) {
    let output = auth_service(db, &["client", "create", "--name", name], None, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let created: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    let id = created["client_id"].as_str().expect("client_id").to_owned();
    let secret = created["client_secret"]
        .as_str()
        .expect("client_secret")
        .to_owned();
    (id, secret)
}

fn list_clients(db: &TestDb) -> Value {
    let output = auth_service(db, &["client", "list"], None, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("a JSON array")
}

/// `client_secret_basic`: the id and secret form-url-encoded, then base64.
pub fn basic(id: &str, secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(id), encode(secret)))
    )
}

pub async fn post_form(
    app: &TestApp,
    path: &str,
    authorization: Option<&str>,
    pairs: &[(&str, &str)],
) -> Response {
    let mut request = app.client.post(app.url(path)).form(pairs);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.expect("request")
}

async fn assert_invalid_client(response: Response) {
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().expect("ascii")),
        Some(r#"Basic realm="auth-service""#)
    );
    assert_error(response, 401, "invalid_client").await;
}

const CLIENT_CREDENTIALS: &[(&str, &str)] = &[("grant_type", "client_credentials")];

both_backends! {
    async fn client_commands_create_list_and_delete_clients(backend: Backend) {
        let db = TestDb::new(backend);

        let (id, secret) = create_client(&db, "billing");

        assert!(uuid::Uuid::parse_str(&id).is_ok(), "a UUID id: {id}");
        let bytes = URL_SAFE_NO_PAD.decode(&secret).expect("a base64url secret");
        assert_eq!(bytes.len(), 32, "256 random bits");
        let listed = list_clients(&db);
        let listed = listed.as_array().expect("array");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["client_id"], id.as_str());
        assert_eq!(listed[0]["name"], "billing");
        assert!(listed[0]["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(listed[0].get("client_secret").is_none(), "the secret is shown only once");

        let deleted = auth_service(&db, &["client", "delete", "--id", &id], None, &[]);
        assert!(deleted.status.success(), "{}", stderr(&deleted));
        assert_eq!(list_clients(&db), serde_json::json!([]));
        let again = auth_service(&db, &["client", "delete", "--id", &id], None, &[]);
        assert!(!again.status.success());
        assert!(stderr(&again).contains("no client"), "{}", stderr(&again));
    }

    async fn only_a_hash_of_the_secret_is_stored(backend: Backend) {
        let db = TestDb::new(backend);
        let (id, secret) = create_client(&db, "stored");

        let pool = auth_service::db::connect(&db.url).expect("pool");
        let stored = auth_service::db::with_connection(&pool, |conn| {
            auth_service::db::clients::list(conn).map_err(|e| e.to_string())
        })
        .expect("rows");

        assert_eq!(stored[0].id, id);
        assert!(!stored[0].secret_hash.contains(&secret));
        assert_eq!(stored[0].secret_hash, auth_service::tokens::sha256_hex(secret.as_bytes()));
    }

    async fn client_credentials_by_basic_or_post_issue_a_service_token(backend: Backend) {
        let app = spawn_app(backend).await;
        let (id, secret) = create_client(&app.db, "reports");
        let by_post = [
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ];

        for response in [
            post_form(&app, "/oauth/token", Some(&basic(&id, &secret)), CLIENT_CREDENTIALS).await,
            post_form(&app, "/oauth/token", None, &by_post).await,
        ] {
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["cache-control"], "no-store");
            let body: Value = response.json().await.expect("json");
            assert!(body.get("refresh_token").is_none(), "no refresh token: {body}");
            assert_eq!(body["token_type"], "Bearer");
            let claims = claims(body["access_token"].as_str().expect("access_token"));
            assert_eq!(claims["sub"], id.as_str());
            assert_eq!(claims["client_id"], id.as_str());
            assert_eq!(claims["role"], "service");
            assert!(claims.get("sid").is_none() && claims.get("email").is_none(), "{claims}");
        }
    }

    async fn a_service_token_is_no_caller_of_the_user_routes(backend: Backend) {
        let app = spawn_app(backend).await;
        let (id, secret) = create_client(&app.db, "svc");
        let response = post_form(&app, "/oauth/token", Some(&basic(&id, &secret)), CLIENT_CREDENTIALS).await;
        let body: Value = response.json().await.expect("json");

        let me = app.get_me(body["access_token"].as_str().expect("token")).await;

        assert_error(me, 401, "invalid_token").await;
    }

    async fn failed_client_authentication_is_401_invalid_client_with_a_basic_challenge(backend: Backend) {
        let app = spawn_app(backend).await;
        let (id, secret) = create_client(&app.db, "victim");
        let wrong = format!("{secret}x");
        let unknown = uuid::Uuid::new_v4().to_string();

        for authorization in [basic(&id, &wrong), basic(&unknown, &secret), "Basic %%%".to_owned()] {
            for path in ["/oauth/token", "/oauth/revoke"] {
                let pairs = [("grant_type", "client_credentials"), ("token", "x")];
                assert_invalid_client(post_form(&app, path, Some(&authorization), &pairs).await).await;
            }
        }
        let by_post = [("grant_type", "client_credentials"), ("client_id", id.as_str()), ("client_secret", wrong.as_str())];
        assert_invalid_client(post_form(&app, "/oauth/token", None, &by_post).await).await;
        // client_credentials needs a client.
        assert_invalid_client(post_form(&app, "/oauth/token", None, CLIENT_CREDENTIALS).await).await;
        let public = [("grant_type", "client_credentials"), ("client_id", id.as_str())];
        assert_invalid_client(post_form(&app, "/oauth/token", None, &public).await).await;
    }

    async fn a_deleted_client_can_no_longer_authenticate(backend: Backend) {
        let app = spawn_app(backend).await;
        let (id, secret) = create_client(&app.db, "gone");
        let deleted = auth_service(&app.db, &["client", "delete", "--id", &id], None, &[]);
        assert!(deleted.status.success(), "{}", stderr(&deleted));

        let response = post_form(&app, "/oauth/token", Some(&basic(&id, &secret)), CLIENT_CREDENTIALS).await;

        assert_invalid_client(response).await;
    }

    async fn a_client_cannot_revoke_a_token_it_was_not_issued(backend: Backend) {
        let app = spawn_app(backend).await;
        let (id, secret) = create_client(&app.db, "nosy");
        let tokens = app.register_and_login(&email()).await;

        let response = post_form(&app, "/oauth/revoke", Some(&basic(&id, &secret)), &[("token", &tokens.refresh)]).await;

        assert_eq!(response.status(), 200);
        assert_eq!(app.post_refresh(&tokens.refresh).await.status(), 200, "the session lives on");
    }

    async fn two_authentication_methods_at_once_are_an_invalid_request(backend: Backend) {
        let app = spawn_app(backend).await;
        let (id, secret) = create_client(&app.db, "both");
        let pairs = [
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ];

        let response = post_form(&app, "/oauth/token", Some(&basic(&id, &secret)), &pairs).await;

        assert_error(response, 400, "invalid_request").await;
    }

    async fn the_metadata_lists_the_grant_and_the_client_authentication_methods(backend: Backend) {
        let app = spawn_app(backend).await;
        let metadata: Value = app
            .client
            .get(app.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");

        let methods = serde_json::json!(["none", "client_secret_basic", "client_secret_post"]);
        assert_eq!(metadata["token_endpoint_auth_methods_supported"], methods);
        assert_eq!(metadata["revocation_endpoint_auth_methods_supported"], methods);
        assert_eq!(
            metadata["grant_types_supported"],
            serde_json::json!(["password", "refresh_token", "client_credentials"])
        );
    }
}
