//! Refresh tokens bound to their client (RFC 6749 §6, API.md §8): a token
//! issued to a confidential client is refreshed and revoked by that client
//! only; presented by anyone else it is refused and not used up.

use serde_json::Value;

use crate::both_backends;
use crate::cli::{auth_service, stderr};
use crate::clients::{basic, create_client, post_form};
use crate::helpers::*;

/// The password grant of `/oauth/token` as the client behind `authorization`.
async fn password_grant(app: &TestApp, authorization: &str, email: &str) -> Tokens {
    let pairs = [
        ("grant_type", "password"),
        ("username", email),
        ("password", PASSWORD),
    ];
    Tokens::from_response(post_form(app, "/oauth/token", Some(authorization), &pairs).await).await
}

/// The refresh grant of `/oauth/token`, as a client or (`None`) in public.
async fn refresh_grant(
    app: &TestApp,
    authorization: Option<&str>,
    refresh: &str,
) -> reqwest::Response {
    let pairs = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    post_form(app, "/oauth/token", authorization, &pairs).await
}

async fn revoke(app: &TestApp, authorization: Option<&str>, token: &str) {
    let response = post_form(app, "/oauth/revoke", authorization, &[("token", token)]).await;
    assert_eq!(
        response.status(),
        200,
        "RFC 7009 answers 200 whatever it did"
    );
}

async fn introspect(app: &TestApp, authorization: &str, token: &str) -> Value {
    let response = post_form(
        app,
        "/oauth/introspect",
        Some(authorization),
        &[("token", token)],
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

both_backends! {
    async fn a_clients_refresh_token_is_refreshed_by_that_client_only(backend: Backend) {
        let app = spawn_app(backend).await;
        let (owner_id, owner_secret) = create_client(&app.db, "owner");
        let (other_id, other_secret) = create_client(&app.db, "other");
        let (owner, other) = (basic(&owner_id, &owner_secret), basic(&other_id, &other_secret));
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);

        let issued = password_grant(&app, &owner, &email).await;

        assert_eq!(claims(&issued.access)["client_id"], owner_id.as_str());
        assert_eq!(introspect(&app, &other, &issued.refresh).await["client_id"], owner_id.as_str());
        assert_error(refresh_grant(&app, Some(&other), &issued.refresh).await, 400, "invalid_grant").await;
        assert_error(refresh_grant(&app, None, &issued.refresh).await, 400, "invalid_grant").await;
        assert_error(app.post_refresh(&issued.refresh).await, 401, "invalid_grant").await;
        let refreshed = Tokens::from_response(refresh_grant(&app, Some(&owner), &issued.refresh).await).await;
        assert_eq!(claims(&refreshed.access)["client_id"], owner_id.as_str(), "not used up, and still bound");
        assert_eq!(claims(&refreshed.access)["sid"], claims(&issued.access)["sid"]);

        // A first-party token is no client's either.
        let first_party = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        assert_error(refresh_grant(&app, Some(&owner), &first_party.refresh).await, 400, "invalid_grant").await;
        let still = Tokens::from_response(refresh_grant(&app, None, &first_party.refresh).await).await;
        assert_eq!(claims(&still.access)["client_id"], "first-party");

        // Deleting the client ends the sessions it opened.
        let deleted = auth_service(&app.db, &["client", "delete", "--id", &owner_id], None, &[]);
        assert!(deleted.status.success(), "{}", stderr(&deleted));
        assert_eq!(introspect(&app, &other, &refreshed.access).await["active"], false);
        assert_eq!(introspect(&app, &other, &refreshed.refresh).await["active"], false);
        assert_eq!(introspect(&app, &other, &still.access).await["active"], true, "first-party lives on");
    }

    async fn a_client_revokes_only_the_tokens_issued_to_it(backend: Backend) {
        let app = spawn_app(backend).await;
        let (owner_id, owner_secret) = create_client(&app.db, "owner");
        let (other_id, other_secret) = create_client(&app.db, "other");
        let (owner, other) = (basic(&owner_id, &owner_secret), basic(&other_id, &other_secret));
        let email = email();
        let first_party = app.register_and_login(&email).await;
        let issued = password_grant(&app, &owner, &email).await;

        revoke(&app, Some(&other), &issued.refresh).await;
        revoke(&app, None, &issued.refresh).await;
        assert_eq!(app.post_logout(&issued.refresh).await.status(), 204);
        let issued = Tokens::from_response(refresh_grant(&app, Some(&owner), &issued.refresh).await).await;
        revoke(&app, Some(&owner), &first_party.refresh).await;
        assert_eq!(app.post_refresh(&first_party.refresh).await.status(), 200, "not the client's to revoke");

        revoke(&app, Some(&owner), &issued.refresh).await;

        assert_error(refresh_grant(&app, Some(&owner), &issued.refresh).await, 400, "invalid_grant").await;
        assert_eq!(introspect(&app, &other, &issued.access).await["active"], false, "its session ended");
    }
}
