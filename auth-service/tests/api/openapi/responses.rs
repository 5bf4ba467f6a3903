//! Every response the services give, endpoint by endpoint, matches their
//! OpenAPI documents: one test per part of the contract, each on both
//! backends.

use serde_json::{json, Value};

use super::{expect, oversized, send, spawn_services, Services};
use crate::both_backends;
use crate::helpers::*;

/// Registers a fresh user: its email and the registration's body.
pub(super) async fn registered(auth: &TestApp) -> (String, Value) {
    let user_email = email();
    let response = auth.post_register(&user_email, PASSWORD).await;
    assert_eq!(response.status(), 201, "register");
    (user_email, response.json().await.expect("the user as JSON"))
}

both_backends! {
    async fn registration_answers_as_documented(backend: Backend) {
        let Services { auth, auth_doc: ad, .. } = spawn_services(backend).await;
        let http = &auth.client;
        let url = |path: &str| auth.url(path);
        let credentials = json!({ "email": email(), "password": PASSWORD });

        let o = send(&ad, "/auth/register", http.post(url("/auth/register")).json(&credentials)).await;
        expect(o, 201, None);
        let o = send(&ad, "/auth/register", http.post(url("/auth/register")).json(&credentials)).await;
        expect(o, 409, Some("email_taken"));
        for (body, code) in [
            (json!({ "email": "not an email", "password": PASSWORD }), "invalid_email"),
            (json!({ "email": email(), "password": "short" }), "weak_password"),
            (json!({ "email": email() }), "invalid_request"),
        ] {
            let o = send(&ad, "/auth/register", http.post(url("/auth/register")).json(&body)).await;
            expect(o, 400, Some(code));
        }
        let o = send(
            &ad,
            "/auth/register",
            http.post(url("/auth/register")).header("content-type", "text/plain").body("hi"),
        )
        .await;
        expect(o, 415, Some("unsupported_media_type"));
        let o = send(&ad, "/auth/register", http.post(url("/auth/register")).json(&oversized())).await;
        expect(o, 413, Some("payload_too_large"));
    }

    async fn login_me_and_refresh_answer_as_documented(backend: Backend) {
        let Services { auth, auth_doc: ad, .. } = spawn_services(backend).await;
        let http = &auth.client;
        let url = |path: &str| auth.url(path);
        let (user_email, user) = registered(&auth).await;
        let credentials = json!({ "email": user_email, "password": PASSWORD });

        let o = send(&ad, "/auth/login", http.post(url("/auth/login")).json(&credentials)).await;
        let o = expect(o, 200, None);
        assert_eq!(
            o.headers.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        let login = o.body;
        let access = login["access_token"].as_str().expect("access_token").to_owned();
        let refresh = login["refresh_token"].as_str().expect("refresh_token").to_owned();
        let wrong = json!({ "email": user_email, "password": "wrong password" });
        let o = send(&ad, "/auth/login", http.post(url("/auth/login")).json(&wrong)).await;
        expect(o, 401, Some("invalid_credentials"));
        let o = send(&ad, "/auth/login", http.post(url("/auth/login")).body("{")).await;
        expect(o, 415, None);
        let o = send(&ad, "/auth/me", http.get(url("/auth/me")).bearer_auth(&access)).await;
        assert_eq!(expect(o, 200, None).body, user);
        let o = send(&ad, "/auth/me", http.get(url("/auth/me"))).await;
        expect(o, 401, Some("unauthorized"));
        let o = send(&ad, "/auth/me", http.get(url("/auth/me")).bearer_auth("not.a.token")).await;
        expect(o, 401, Some("invalid_token"));
        let o = send(
            &ad,
            "/auth/refresh",
            http.post(url("/auth/refresh")).json(&json!({ "refresh_token": refresh })),
        )
        .await;
        expect(o, 200, None);
        let o = send(
            &ad,
            "/auth/refresh",
            http.post(url("/auth/refresh")).json(&json!({ "refresh_token": "unknown" })),
        )
        .await;
        expect(o, 401, Some("invalid_grant"));
        let o = send(&ad, "/auth/refresh", http.post(url("/auth/refresh"))).await;
        expect(o, 400, Some("invalid_request"));
    }

    async fn sessions_and_password_changes_answer_as_documented(backend: Backend) {
        let Services { auth, auth_doc: ad, .. } = spawn_services(backend).await;
        let http = &auth.client;
        let url = |path: &str| auth.url(path);
        let (user_email, _) = registered(&auth).await;
        let first = Tokens::from_response(auth.post_login(&user_email, PASSWORD).await).await;
        let access = first.access;
        let second = Tokens::from_response(auth.post_login(&user_email, PASSWORD).await).await;

        let o = send(&ad, "/auth/sessions", http.get(url("/auth/sessions")).bearer_auth(&access)).await;
        let sessions = expect(o, 200, None).body;
        assert_eq!(sessions.as_array().map(Vec::len), Some(2), "{sessions}");
        let other = sessions
            .as_array()
            .and_then(|all| all.iter().find(|s| s["current"] == false))
            .and_then(|s| s["id"].as_str())
            .expect("the other session")
            .to_owned();
        let o = send(
            &ad,
            "/auth/sessions/{id}",
            http.delete(url(&format!("/auth/sessions/{}", uuid::Uuid::new_v4()))).bearer_auth(&access),
        )
        .await;
        expect(o, 404, Some("not_found"));
        let o = send(
            &ad,
            "/auth/sessions/{id}",
            http.delete(url(&format!("/auth/sessions/{other}"))).bearer_auth(&access),
        )
        .await;
        expect(o, 204, None);
        let o = send(
            &ad,
            "/auth/refresh",
            http.post(url("/auth/refresh")).json(&json!({ "refresh_token": second.refresh })),
        )
        .await;
        expect(o, 401, Some("invalid_grant"));
        let change = |current: &str, new: &str| {
            http.post(url("/auth/password"))
                .bearer_auth(&access)
                .json(&json!({ "current_password": current, "new_password": new }))
        };
        let o = send(&ad, "/auth/password", change("wrong password", "another good one")).await;
        expect(o, 401, Some("invalid_credentials"));
        let o = send(&ad, "/auth/password", change(PASSWORD, "short")).await;
        expect(o, 400, Some("weak_password"));
        let o = send(&ad, "/auth/password", change(PASSWORD, "another good one")).await;
        expect(o, 204, None);
        let o = send(&ad, "/auth/password", http.post(url("/auth/password")).json(&json!({}))).await;
        expect(o, 401, Some("unauthorized"));
    }

    async fn role_changes_answer_as_documented(backend: Backend) {
        let Services { auth, auth_doc: ad, .. } = spawn_services(backend).await;
        let http = &auth.client;
        let url = |path: &str| auth.url(path);
        let (user_email, user) = registered(&auth).await;
        let access = Tokens::from_response(auth.post_login(&user_email, PASSWORD).await).await.access;
        let admin = auth.create_admin_and_login(&email()).await;
        let user_id = user["id"].as_str().expect("id").to_owned();
        let set_role = |token: &str, id: &str, body: Value| {
            http.put(url(&format!("/admin/users/{id}/role"))).bearer_auth(token).json(&body)
        };
        let role = "/admin/users/{id}/role";

        let o = send(&ad, role, set_role(&access, &user_id, json!({ "role": "admin" }))).await;
        expect(o, 403, Some("insufficient_role"));
        let o = send(
            &ad,
            role,
            set_role(&admin.access, &uuid::Uuid::new_v4().to_string(), json!({ "role": "admin" })),
        )
        .await;
        expect(o, 404, Some("not_found"));
        let o = send(&ad, role, set_role(&admin.access, &user_id, json!({ "role": "king" }))).await;
        expect(o, 400, Some("invalid_request"));
        let o = send(&ad, role, set_role(&admin.access, &user_id, json!({ "role": "user" }))).await;
        assert_eq!(expect(o, 200, None).body["role"], "user");
        let o = send(&ad, role, http.put(url(&format!("/admin/users/{user_id}/role")))).await;
        expect(o, 401, None);
    }

    async fn the_oauth_endpoints_answer_as_documented(backend: Backend) {
        let Services { auth, auth_doc: ad, .. } = spawn_services(backend).await;
        let http = &auth.client;
        let url = |path: &str| auth.url(path);
        let (user_email, _) = registered(&auth).await;
        let token = "/oauth/token";
        let form = |pairs: &[(&str, &str)]| http.post(url(token)).form(pairs);

        let o = send(
            &ad,
            token,
            form(&[("grant_type", "password"), ("username", &user_email), ("password", PASSWORD)]),
        )
        .await;
        let oauth = expect(o, 200, None).body;
        let oauth_refresh = oauth["refresh_token"].as_str().expect("refresh_token").to_owned();
        let o = send(
            &ad,
            token,
            form(&[("grant_type", "refresh_token"), ("refresh_token", &oauth_refresh)]),
        )
        .await;
        let oauth_refresh = expect(o, 200, None).body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned();
        let o = send(&ad, token, form(&[("grant_type", "client_credentials")])).await;
        expect(o, 401, Some("invalid_client"));
        let o = send(&ad, token, form(&[("grant_type", "authorization_code")])).await;
        expect(o, 400, Some("unsupported_grant_type"));
        let o = send(&ad, token, form(&[("grant_type", "refresh_token"), ("refresh_token", "nope")])).await;
        expect(o, 400, Some("invalid_grant"));
        let o = send(&ad, token, form(&[])).await;
        expect(o, 400, Some("invalid_request"));
        let o = send(&ad, token, http.post(url(token)).json(&json!({ "grant_type": "password" }))).await;
        expect(o, 400, Some("invalid_request"));
        let big = "x".repeat(17 * 1024);
        let o = send(&ad, token, form(&[("grant_type", "password"), ("password", &big)])).await;
        expect(o, 413, Some("payload_too_large"));
        let revoke = "/oauth/revoke";
        let o = send(
            &ad,
            revoke,
            http.post(url(revoke)).form(&[("token", oauth_refresh.as_str()), ("token_type_hint", "refresh_token")]),
        )
        .await;
        expect(o, 200, None);
        let o = send(&ad, revoke, http.post(url(revoke)).form(&[("token_type_hint", "refresh_token")])).await;
        expect(o, 400, Some("invalid_request"));
        let introspect = "/oauth/introspect";
        let (id, secret) = crate::clients::create_client(&auth.db, "documented");
        let client = crate::clients::basic(&id, &secret);
        let ask = |pairs: &[(&str, &str)]| http.post(url(introspect)).header("authorization", &client).form(pairs);
        let login = [("grant_type", "password"), ("username", user_email.as_str()), ("password", PASSWORD)];
        let live = expect(send(&ad, token, form(&login)).await, 200, None).body;
        let access = live["access_token"].as_str().expect("access_token");
        let o = send(&ad, introspect, ask(&[("token", access), ("token_type_hint", "access_token")])).await;
        assert_eq!(expect(o, 200, None).body["active"], true);
        let o = send(&ad, introspect, ask(&[("token", oauth_refresh.as_str())])).await;
        assert_eq!(expect(o, 200, None).body["active"], false);
        let o = send(&ad, introspect, ask(&[])).await;
        expect(o, 400, Some("invalid_request"));
        let o = send(&ad, introspect, http.post(url(introspect)).form(&[("token", access)])).await;
        expect(o, 401, Some("invalid_client"));
    }

    async fn discovery_and_probes_answer_as_documented(backend: Backend) {
        let Services { auth, auth_doc: ad, .. } = spawn_services(backend).await;
        for path in [
            "/.well-known/oauth-authorization-server",
            "/.well-known/jwks.json",
            "/healthz",
            "/readyz",
        ] {
            let o = send(&ad, path, auth.client.get(auth.url(path))).await;
            expect(o, 200, None);
        }
    }

    async fn unknown_routes_and_methods_answer_as_documented(backend: Backend) {
        let Services { auth, auth_doc: ad, .. } = spawn_services(backend).await;
        let http = &auth.client;

        let o = send(&ad, "/auth/login", http.get(auth.url("/auth/login"))).await;
        let o = expect(o, 405, Some("method_not_allowed"));
        assert_eq!(o.headers.get("allow").and_then(|v| v.to_str().ok()), Some("POST"));
        let o = send(&ad, "/no/such/route", http.get(auth.url("/no/such/route"))).await;
        expect(o, 404, Some("not_found"));
    }

    async fn logging_out_answers_as_documented(backend: Backend) {
        let Services { auth, auth_doc: ad, .. } = spawn_services(backend).await;
        let http = &auth.client;
        let url = |path: &str| auth.url(path);
        let tokens = auth.register_and_login(&email()).await;

        let o = send(&ad, "/auth/logout", http.post(url("/auth/logout")).body("{")).await;
        expect(o, 400, Some("invalid_request"));
        let o = send(
            &ad,
            "/auth/logout",
            http.post(url("/auth/logout")).json(&json!({ "refresh_token": tokens.refresh })),
        )
        .await;
        expect(o, 204, None);
        // The logged-out session's access token no longer works here (API.md §3).
        let o = send(&ad, "/auth/logout-all", http.post(url("/auth/logout-all")).bearer_auth(&tokens.access)).await;
        expect(o, 401, Some("invalid_token"));
        let email = tokens.body["user"]["email"].as_str().expect("email").to_owned();
        let live = Tokens::from_response(auth.post_login(&email, PASSWORD).await).await;
        let o = send(&ad, "/auth/logout-all", http.post(url("/auth/logout-all")).bearer_auth(&live.access)).await;
        expect(o, 204, None);
        let o = send(&ad, "/auth/logout-all", http.post(url("/auth/logout-all"))).await;
        expect(o, 401, None);
    }

    async fn the_lockout_answers_as_documented_through_both_doors(backend: Backend) {
        let locked = spawn_app_with(backend, |s| s.login_max_failures = 2).await;
        let locked_doc = OpenApiDoc::fetch(&locked.address).await;
        let user_email = email();
        let credentials = json!({ "email": user_email, "password": PASSWORD });
        let wrong = json!({ "email": user_email, "password": "wrong password" });
        locked.register_and_login(&user_email).await;

        for _ in 0..2 {
            let o = send(&locked_doc, "/auth/login", locked.client.post(locked.url("/auth/login")).json(&wrong)).await;
            expect(o, 401, Some("invalid_credentials"));
        }
        let o = send(&locked_doc, "/auth/login", locked.client.post(locked.url("/auth/login")).json(&credentials)).await;
        let o = expect(o, 429, Some("too_many_attempts"));
        let retry_after = o.headers.get("retry-after").and_then(|v| v.to_str().ok());
        assert!(
            retry_after.is_some_and(|v| v.parse::<u64>().is_ok()),
            "Retry-After in whole seconds: {retry_after:?}"
        );
        let o = send(
            &locked_doc,
            "/oauth/token",
            locked.client.post(locked.url("/oauth/token")).form(&[
                ("grant_type", "password"),
                ("username", user_email.as_str()),
                ("password", PASSWORD),
            ]),
        )
        .await;
        expect(o, 429, Some("too_many_attempts"));
    }

    async fn closed_registration_answers_as_documented(backend: Backend) {
        let closed = spawn_app_with(backend, |s| s.allow_registration = false).await;
        let closed_doc = OpenApiDoc::fetch(&closed.address).await;
        let credentials = json!({ "email": email(), "password": PASSWORD });

        let o = send(
            &closed_doc,
            "/auth/register",
            closed.client.post(closed.url("/auth/register")).json(&credentials),
        )
        .await;
        expect(o, 403, Some("registration_disabled"));
    }
}
