//! The sessions API, password change and role change (API.md §3).

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn the_sessions_list_shows_active_sessions_and_marks_the_current_one(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        let first = app.register_and_login(&email).await;
        let second = Tokens::from_response(
            app.client
                .post(app.url("/auth/login"))
                .header("user-agent", "second-browser/1.0")
                .json(&json!({ "email": email, "password": PASSWORD }))
                .send()
                .await
                .expect("request"),
        )
        .await;
        let ended = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        assert_eq!(app.post_logout(&ended.refresh).await.status(), 204);
        let stranger = app.register_and_login(&self::email()).await;

        let response = app.get_sessions(&second.access).await;
        assert_eq!(response.status(), 200);
        let sessions: Vec<Value> = response.json().await.expect("json");
        assert_eq!(sessions.len(), 2, "only this user's active sessions: {sessions:?}");
        let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
        assert_eq!(current.len(), 1);
        assert_eq!(current[0]["user_agent"], "second-browser/1.0");
        assert_eq!(current[0]["ip"], "127.0.0.1");
        for session in &sessions {
            for field in ["id", "created_at", "last_used_at", "expires_at"] {
                let value = session[field].as_str().expect(field);
                if field != "id" {
                    assert!(chrono::DateTime::parse_from_rfc3339(value).is_ok(), "{field}: {value}");
                }
            }
        }
        let _ = (first, stranger);
    }

    async fn a_user_can_end_one_of_their_sessions_but_not_anothers(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        let laptop = app.register_and_login(&email).await;
        let phone = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        let stranger = app.register_and_login(&self::email()).await;

        let sessions: Vec<Value> = app.get_sessions(&laptop.access).await.json().await.expect("json");
        let phone_id = sessions
            .iter()
            .find(|s| s["current"] == false)
            .and_then(|s| s["id"].as_str())
            .expect("the phone session")
            .to_owned();

        // Another user's session is "not found".
        let theirs = app
            .client
            .delete(app.url(&format!("/auth/sessions/{phone_id}")))
            .bearer_auth(&stranger.access)
            .send()
            .await
            .expect("request");
        assert_error(theirs, 404, "not_found").await;
        let unknown = app
            .client
            .delete(app.url("/auth/sessions/no-such-session"))
            .bearer_auth(&laptop.access)
            .send()
            .await
            .expect("request");
        assert_error(unknown, 404, "not_found").await;

        let mine = app
            .client
            .delete(app.url(&format!("/auth/sessions/{phone_id}")))
            .bearer_auth(&laptop.access)
            .send()
            .await
            .expect("request");
        assert_eq!(mine.status(), 204);
        assert_error(app.post_refresh(&phone.refresh).await, 401, "invalid_grant").await;
        assert_eq!(app.post_refresh(&laptop.refresh).await.status(), 200);
        let remaining: Vec<Value> = app.get_sessions(&laptop.access).await.json().await.expect("json");
        assert_eq!(remaining.len(), 1);
    }

    async fn changing_the_password_revokes_every_other_session(backend: Backend) {
        let app = spawn_app(backend).await;
        let email = email();
        let here = app.register_and_login(&email).await;
        let elsewhere = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        let new_password = "a brand new passphrase";

        let change = |current: &str, new: &str| {
            app.client
                .post(app.url("/auth/password"))
                .bearer_auth(&here.access)
                .json(&json!({ "current_password": current, "new_password": new }))
                .send()
        };
        assert_error(change("wrong", new_password).await.expect("request"), 401, "invalid_credentials").await;
        assert_error(change(PASSWORD, "short").await.expect("request"), 400, "weak_password").await;
        assert_error(change(PASSWORD, &"x".repeat(73)).await.expect("request"), 400, "weak_password").await;
        assert_eq!(change(PASSWORD, new_password).await.expect("request").status(), 204);

        assert_error(app.post_refresh(&elsewhere.refresh).await, 401, "invalid_grant").await;
        assert_eq!(app.post_refresh(&here.refresh).await.status(), 200, "the current session stays");
        assert_error(app.post_login(&email, PASSWORD).await, 401, "invalid_credentials").await;
        assert_eq!(app.post_login(&email, new_password).await.status(), 200);
    }

    async fn an_admin_changes_a_role_and_it_shows_at_the_next_refresh(backend: Backend) {
        let app = spawn_app(backend).await;
        let admin = app.create_admin_and_login(&email()).await;
        assert_eq!(admin.body["user"]["role"], "admin");
        let user = app.register_and_login(&email()).await;
        let user_id = user.body["user"]["id"].as_str().expect("id").to_owned();
        let put_role = |token: &str, id: &str, body: Value| {
            app.client
                .put(app.url(&format!("/admin/users/{id}/role")))
                .bearer_auth(token)
                .json(&body)
                .send()
        };

        // Not an admin: 403; no token: 401.
        assert_error(put_role(&user.access, &user_id, json!({ "role": "admin" })).await.expect("request"), 403, "insufficient_role").await;
        let anonymous = app
            .client
            .put(app.url(&format!("/admin/users/{user_id}/role")))
            .json(&json!({ "role": "admin" }))
            .send()
            .await
            .expect("request");
        assert_eq!(anonymous.status(), 401);
        assert_error(put_role(&admin.access, &user_id, json!({ "role": "root" })).await.expect("request"), 400, "invalid_request").await;
        assert_error(put_role(&admin.access, "no-such-user", json!({ "role": "admin" })).await.expect("request"), 404, "not_found").await;

        let promoted = put_role(&admin.access, &user_id, json!({ "role": "admin" })).await.expect("request");
        assert_eq!(promoted.status(), 200);
        let body: Value = promoted.json().await.expect("json");
        assert_eq!(body["role"], "admin");
        assert_eq!(body["id"], user_id.as_str());

        // The access token in hand keeps its role; the next refresh carries the new one.
        let me: Value = app.get_me(&user.access).await.json().await.expect("json");
        assert_eq!(me["role"], "admin", "/auth/me reads the database");
        let refreshed = Tokens::from_response(app.post_refresh(&user.refresh).await).await;
        assert_eq!(refreshed.body["user"]["role"], "admin");
        let resource = spawn_resource(&app).await;
        let claims: Value = resource.get_me(&refreshed.access).await.json().await.expect("json");
        assert_eq!(claims["role"], "admin");
        let old: Value = resource.get_me(&user.access).await.json().await.expect("json");
        assert_eq!(old["role"], "user");
    }
}
