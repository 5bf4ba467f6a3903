//! API.md §2 "Session history": each end reason from its real cause, the
//! events of a session in order with their addresses, the admin routes,
//! and events written atomically with the rotation.

use std::time::Duration;

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

const AGENT: &str = "history-test/1.0";

impl TestApp {
    async fn get_as(&self, path: &str, access: &str) -> reqwest::Response {
        let request = self.client.get(self.url(path)).bearer_auth(access);
        request.send().await.expect("request")
    }

    async fn delete_as(&self, path: &str, access: &str) -> reqwest::Response {
        let request = self.client.delete(self.url(path)).bearer_auth(access);
        request.send().await.expect("request")
    }

    /// `GET /auth/sessions?state=all` as `access`.
    async fn history(&self, access: &str) -> Vec<Value> {
        let response = self.get_as("/auth/sessions?state=all", access).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    }

    /// The session `sid` as `?state=all` shows it to `access`.
    async fn session_in_history(&self, access: &str, sid: &str) -> Value {
        let all = self.history(access).await;
        let found = all.into_iter().find(|s| s["id"] == sid);
        found.unwrap_or_else(|| panic!("session {sid} in the history"))
    }

    /// The events of `sid`, as `access` reads them.
    async fn events(&self, access: &str, sid: &str) -> Vec<Value> {
        let response = self
            .get_as(&format!("/auth/sessions/{sid}/events"), access)
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    }

    async fn refresh_with_agent(&self, refresh: &str) -> reqwest::Response {
        let request = self
            .client
            .post(self.url("/auth/refresh"))
            .header("user-agent", AGENT);
        let request = request.json(&json!({ "refresh_token": refresh }));
        request.send().await.expect("request")
    }
}

/// Two sessions of one user: the first ends, the second looks at it.
async fn two_sessions(app: &TestApp) -> (Tokens, Tokens) {
    let email = email();
    let first = app.register_and_login(&email).await;
    let second = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
    (first, second)
}

fn ended_as(session: &Value, reason: &str) {
    assert_eq!(session["end_reason"], reason, "{session}");
    assert!(session["ended_at"].is_string(), "{session}");
}

fn last_event_ended_as(events: &[Value], reason: &str) {
    let last = events.last().expect("events");
    assert_eq!(last["type"], "ended", "{events:?}");
    assert_eq!(last["reason"], reason, "{events:?}");
}

both_backends! {
    async fn a_logout_ends_the_session_as_logout(backend: Backend) {
        let app = spawn_app(backend).await;
        let (first, second) = two_sessions(&app).await;
        let sid = session_id_of(&first.access);

        assert_eq!(app.post_logout(&first.refresh).await.status(), 204);

        ended_as(&app.session_in_history(&second.access, &sid).await, "logout");
        last_event_ended_as(&app.events(&second.access, &sid).await, "logout");
        let active: Vec<Value> = app.get_sessions(&second.access).await.json().await.expect("json");
        assert!(active.iter().all(|s| s["id"] != sid), "the default lists active sessions only");
    }

    async fn an_rfc_7009_revoke_ends_the_session_as_logout(backend: Backend) {
        let app = spawn_app(backend).await;
        let (first, second) = two_sessions(&app).await;
        let form = [("token", first.refresh.as_str())];
        let revoked = app.client.post(app.url("/oauth/revoke")).form(&form).send().await.expect("request");
        assert_eq!(revoked.status(), 200);

        ended_as(&app.session_in_history(&second.access, &session_id_of(&first.access)).await, "logout");
    }

    async fn deleting_a_session_and_logout_all_end_them_as_revoked(backend: Backend) {
        let app = spawn_app(backend).await;
        let (first, second) = two_sessions(&app).await;
        let sid = session_id_of(&first.access);
        let deleted = app.delete_as(&format!("/auth/sessions/{sid}"), &second.access).await;
        assert_eq!(deleted.status(), 204);
        ended_as(&app.session_in_history(&second.access, &sid).await, "revoked");

        assert_eq!(app.post_logout_all(&second.access).await.status(), 204);
        let third = Tokens::from_response(
            app.post_login(second.body["user"]["email"].as_str().expect("email"), PASSWORD).await,
        )
        .await;
        let own = session_id_of(&second.access);
        ended_as(&app.session_in_history(&third.access, &own).await, "revoked");
        last_event_ended_as(&app.events(&third.access, &own).await, "revoked");
    }

    async fn reuse_ends_the_session_as_reuse_detected(backend: Backend) {
        let app = spawn_app(backend).await;
        let (first, second) = two_sessions(&app).await;
        assert_eq!(app.post_refresh(&first.refresh).await.status(), 200);
        assert_eq!(app.post_refresh(&first.refresh).await.status(), 401);

        let sid = session_id_of(&first.access);
        ended_as(&app.session_in_history(&second.access, &sid).await, "reuse_detected");
        let events = app.events(&second.access, &sid).await;
        let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().expect("type")).collect();
        assert_eq!(kinds, ["login", "refresh", "reuse_detected", "ended"]);
        last_event_ended_as(&events, "reuse_detected");
    }

    async fn a_password_change_ends_the_other_sessions_as_password_changed(backend: Backend) {
        let app = spawn_app(backend).await;
        let (first, second) = two_sessions(&app).await;
        let body = json!({ "current_password": PASSWORD, "new_password": "another horse battery" });
        let changed = app.client.post(app.url("/auth/password")).bearer_auth(&second.access)
            .json(&body).send().await.expect("request");
        assert_eq!(changed.status(), 204);

        let sid = session_id_of(&first.access);
        ended_as(&app.session_in_history(&second.access, &sid).await, "password_changed");
    }

    async fn a_session_past_its_sliding_lifetime_is_listed_as_expired(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.refresh_token_ttl = Duration::from_secs(1)).await;
        let email = email();
        let first = app.register_and_login(&email).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // A new session to look with: the expired one's access token is
        // still unexpired, but no longer speaks for a session.
        let viewer = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;

        let sid = session_id_of(&first.access);
        ended_as(&app.session_in_history(&viewer.access, &sid).await, "expired");
        let events = app.events(&viewer.access, &sid).await;
        last_event_ended_as(&events, "expired");
        assert!(events.last().expect("ended")["ip"].is_null(), "no request caused it");
        let refused = app.get_me(&first.access).await;
        assert_error(refused, 401, "invalid_token").await;
    }

    async fn a_sessions_events_come_oldest_first_with_their_addresses(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.refresh_reuse_grace = Duration::from_secs(30)).await;
        let (first, second) = two_sessions(&app).await;
        let rotated = Tokens::from_response(app.refresh_with_agent(&first.refresh).await).await;
        // The rotated token again, within the grace: a lost response retried.
        let retried = Tokens::from_response(app.refresh_with_agent(&first.refresh).await).await;
        assert_eq!(app.post_logout(&retried.refresh).await.status(), 204);

        let sid = session_id_of(&rotated.access);
        let events = app.events(&second.access, &sid).await;
        let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().expect("type")).collect();
        assert_eq!(kinds, ["login", "refresh", "refresh_in_grace", "ended"]);
        assert!(events.iter().all(|e| e["ip"] == "127.0.0.1"), "{events:?}");
        assert_eq!(events[1]["user_agent"], AGENT);
        assert_eq!(events[2]["user_agent"], AGENT);
        assert!(events[..3].iter().all(|e| e["reason"].is_null()));
        let times: Vec<&str> = events.iter().map(|e| e["at"].as_str().expect("at")).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    }

    async fn another_users_or_an_unknown_sessions_events_are_not_found(backend: Backend) {
        let app = spawn_app(backend).await;
        let mine = app.register_and_login(&email()).await;
        let theirs = app.register_and_login(&email()).await;
        let path = format!("/auth/sessions/{}/events", session_id_of(&theirs.access));
        assert_error(app.get_as(&path, &mine.access).await, 404, "not_found").await;
        let unknown = format!("/auth/sessions/{}/events", uuid::Uuid::new_v4());
        assert_error(app.get_as(&unknown, &mine.access).await, 404, "not_found").await;
        assert_error(app.get_as("/auth/sessions/x/events", &mine.access).await, 404, "not_found").await;
    }

    async fn an_admin_sees_and_ends_every_session_of_a_user(backend: Backend) {
        let app = spawn_app(backend).await;
        let admin = app.create_admin_and_login(&email()).await;
        let (first, second) = two_sessions(&app).await;
        let user_id = first.body["user"]["id"].as_str().expect("id").to_owned();
        let path = format!("/admin/users/{user_id}/sessions");

        let listed: Vec<Value> = app.get_as(&path, &admin.access).await.json().await.expect("json");
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|s| s["current"] == false && s["end_reason"].is_null()));

        assert_eq!(app.delete_as(&path, &admin.access).await.status(), 204);
        assert_eq!(app.post_refresh(&second.refresh).await.status(), 401);
        let listed: Vec<Value> = app.get_as(&path, &admin.access).await.json().await.expect("json");
        assert_eq!(listed.len(), 2);
        for session in &listed {
            ended_as(session, "revoked");
        }
    }

    async fn the_admin_session_routes_answer_401_403_and_404(backend: Backend) {
        let app = spawn_app(backend).await;
        let admin = app.create_admin_and_login(&email()).await;
        let user = app.register_and_login(&email()).await;
        let path = format!("/admin/users/{}/sessions", user.body["user"]["id"].as_str().expect("id"));
        let unknown = format!("/admin/users/{}/sessions", uuid::Uuid::new_v4());

        let anonymous = app.client.get(app.url(&path)).send().await.expect("request");
        assert_error(anonymous, 401, "unauthorized").await;
        let anonymous = app.client.delete(app.url(&path)).send().await.expect("request");
        assert_error(anonymous, 401, "unauthorized").await;
        assert_error(app.get_as(&path, &user.access).await, 403, "insufficient_role").await;
        assert_error(app.delete_as(&path, &user.access).await, 403, "insufficient_role").await;
        assert_error(app.get_as(&unknown, &admin.access).await, 404, "not_found").await;
        assert_error(app.delete_as(&unknown, &admin.access).await, 404, "not_found").await;
        assert_eq!(app.post_refresh(&user.refresh).await.status(), 200, "a refused admin call ends nothing");
    }

    async fn an_unknown_state_is_a_bad_request(backend: Backend) {
        let app = spawn_app(backend).await;
        let user = app.register_and_login(&email()).await;
        let response = app.get_as("/auth/sessions?state=ended", &user.access).await;
        assert_error(response, 400, "invalid_request").await;
    }
}

both_backends! {
    async fn metrics_count_ended_sessions_by_reason(backend: Backend) {
        let app = spawn_app(backend).await;
        let (first, second) = two_sessions(&app).await;
        assert_eq!(app.post_logout(&first.refresh).await.status(), 204);
        assert_eq!(app.post_refresh(&second.refresh).await.status(), 200);
        assert_eq!(app.post_refresh(&second.refresh).await.status(), 401);

        let text = app.client.get(app.url("/metrics")).send().await.expect("request")
            .text().await.expect("text");
        for line in [
            "auth_sessions_ended_total{reason=\"logout\"} 1",
            "auth_sessions_ended_total{reason=\"reuse_detected\"} 1",
            "auth_sessions_ended_total{reason=\"revoked\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
