//! The auth-service's own Bearer routes are not stateless (API.md §3): a
//! token works there only while its session is active, and admin routes
//! read the caller's role from the database, not from the token.

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

async fn put_role(app: &TestApp, access: &str, user_id: &str, role: &str) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/admin/users/{user_id}/role")))
        .bearer_auth(access)
        .json(&json!({ "role": role }))
        .send()
        .await
        .expect("request")
}

async fn change_password(app: &TestApp, access: &str) -> reqwest::Response {
    app.client
        .post(app.url("/auth/password"))
        .bearer_auth(access)
        .json(&json!({ "current_password": PASSWORD, "new_password": "another long passphrase" }))
        .send()
        .await
        .expect("request")
}

/// 401 `invalid_token` with its RFC 6750 challenge.
async fn assert_refused(response: reqwest::Response, what: &str) {
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        challenge.contains("error=\"invalid_token\""),
        "{what}: {challenge:?}"
    );
    assert_error(response, 401, "invalid_token").await;
}

both_backends! {
    async fn a_demoted_admins_unexpired_token_cannot_change_roles(backend: Backend) {
        let app = spawn_app(backend).await;
        let demoted = app.create_admin_and_login(&email()).await;
        let other_admin = app.create_admin_and_login(&email()).await;
        let demoted_id = demoted.body["user"]["id"].as_str().expect("id").to_owned();
        assert_eq!(put_role(&app, &other_admin.access, &demoted_id, "user").await.status(), 200);

        // The token still says admin and has not expired.
        assert_eq!(claims(&demoted.access)["role"], "admin");
        let refused = put_role(&app, &demoted.access, &demoted_id, "admin").await;
        assert_error(refused, 403, "insufficient_role").await;

        let me: Value = app.get_me(&demoted.access).await.json().await.expect("json");
        assert_eq!(me["role"], "user", "the re-promotion did not happen");
    }

    async fn a_promoted_users_token_is_an_admins_at_once(backend: Backend) {
        let app = spawn_app(backend).await;
        let admin = app.create_admin_and_login(&email()).await;
        let user = app.register_and_login(&email()).await;
        let user_id = user.body["user"]["id"].as_str().expect("id").to_owned();
        assert_eq!(put_role(&app, &admin.access, &user_id, "admin").await.status(), 200);

        assert_eq!(claims(&user.access)["role"], "user");
        assert_eq!(put_role(&app, &user.access, &user_id, "admin").await.status(), 200);
    }

    async fn a_logged_out_sessions_token_is_refused(backend: Backend) {
        let app = spawn_app(backend).await;
        let tokens = app.register_and_login(&email()).await;
        assert_eq!(app.post_logout(&tokens.refresh).await.status(), 204);

        assert_refused(change_password(&app, &tokens.access).await, "/auth/password").await;
        assert_refused(app.get_sessions(&tokens.access).await, "/auth/sessions").await;
        assert_refused(app.get_me(&tokens.access).await, "/auth/me").await;
        assert_refused(app.post_logout_all(&tokens.access).await, "/auth/logout-all").await;
        // The password did not change.
        assert_eq!(app.post_login(tokens.body["user"]["email"].as_str().expect("email"), PASSWORD).await.status(), 200);
    }

    async fn a_revoked_sessions_token_is_refused(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        let kept = app.register_and_login(&email).await;
        let revoked = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        let revoked_sid = session_id_of(&revoked.access);
        let deleted = app
            .client
            .delete(app.url(&format!("/auth/sessions/{revoked_sid}")))
            .bearer_auth(&kept.access)
            .send()
            .await
            .expect("request");
        assert_eq!(deleted.status(), 204);

        assert_refused(app.get_me(&revoked.access).await, "/auth/me").await;
        assert_refused(app.get_sessions(&revoked.access).await, "/auth/sessions").await;
        let kept_sid = session_id_of(&kept.access);
        let revoke_back = app
            .client
            .delete(app.url(&format!("/auth/sessions/{kept_sid}")))
            .bearer_auth(&revoked.access)
            .send()
            .await
            .expect("request");
        assert_refused(revoke_back, "DELETE /auth/sessions/{id}").await;
        // The session that stays is unaffected.
        assert_eq!(app.get_me(&kept.access).await.status(), 200);
    }

    async fn after_logout_all_no_token_of_the_user_works_at_the_auth_service(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        let first = app.register_and_login(&email).await;
        let second = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        assert_eq!(app.post_logout_all(&first.access).await.status(), 204);

        for tokens in [&first, &second] {
            assert_refused(app.get_me(&tokens.access).await, "/auth/me").await;
        }
    }
}
