//! API.md §1: neither service ever writes a password, a refresh token or an
//! access token into its logs, at any level. Both real binaries run at
//! `RUST_LOG=trace` through a full flow, and everything they print is searched.

use std::time::Duration;

use serde_json::{json, Value};

use crate::both_backends;
use crate::cli::database_url;
use crate::helpers::*;

async fn post(client: &reqwest::Client, url: String, body: Value) -> reqwest::Response {
    client.post(url).json(&body).send().await.expect("request")
}

both_backends! {
    async fn no_secret_reaches_the_logs_at_trace_level(backend: Backend) {
        let db = TestDb::new(backend);
        let (auth, auth_port) = Process::start(
            env!("CARGO_BIN_EXE_auth-service"),
            &[
                ("DATABASE_URL", database_url(&db)),
                ("AUTH_BIND", "127.0.0.1:0".into()),
                ("BCRYPT_COST", "4".into()),
                ("COOKIE_SECURE", "false".into()),
            ],
            "listening on ",
        );
        let auth_url = format!("http://127.0.0.1:{auth_port}");
        let (resource, resource_port) = Process::start(
            &resource_service_binary(),
            &[
                ("RESOURCE_BIND", "127.0.0.1:0".into()),
                ("AUTH_JWKS_URL", format!("{auth_url}/.well-known/jwks.json")),
            ],
            "listening on port",
        );
        let resource_url = format!("http://127.0.0.1:{resource_port}");
        let http = client();

        let email = email();
        let first_password = "first-secret-passphrase-1";
        let wrong_password = "wrong-secret-passphrase-2";
        let second_password = "second-secret-passphrase-3";
        let unsent_password = "truncated-secret-passphrase-4";
        let mut tokens: Vec<String> = Vec::new();
        let mut collect = |body: &Value| {
            for key in ["access_token", "refresh_token"] {
                if let Some(t) = body[key].as_str() {
                    tokens.push(t.to_owned());
                }
            }
        };

        assert_eq!(post(&http, format!("{auth_url}/auth/register"), json!({ "email": email, "password": first_password })).await.status(), 201);
        assert_eq!(post(&http, format!("{auth_url}/auth/login"), json!({ "email": email, "password": wrong_password })).await.status(), 401);
        let login: Value = post(&http, format!("{auth_url}/auth/login"), json!({ "email": email, "password": first_password })).await.json().await.expect("json");
        collect(&login);
        let access = login["access_token"].as_str().expect("access").to_owned();
        let refresh = login["refresh_token"].as_str().expect("refresh").to_owned();

        let mut ready = false;
        for _ in 0..100 {
            if http.get(format!("{resource_url}/readyz")).send().await.map(|r| r.status() == 200).unwrap_or(false) {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready);
        for token in [access.as_str(), refresh.as_str(), "not-a-token"] {
            http.get(format!("{resource_url}/api/me")).bearer_auth(token).send().await.expect("request");
        }
        http.post(format!("{resource_url}/api/projects")).bearer_auth(&access).json(&json!({ "name": "p" })).send().await.expect("request");
        http.get(format!("{auth_url}/auth/me")).bearer_auth(&access).send().await.expect("request");
        http.get(format!("{auth_url}/auth/sessions")).bearer_auth(&access).send().await.expect("request");

        let rotated: Value = post(&http, format!("{auth_url}/auth/refresh"), json!({ "refresh_token": refresh })).await.json().await.expect("json");
        collect(&rotated);
        let by_cookie = http
            .post(format!("{auth_url}/auth/refresh"))
            .header("cookie", format!("refresh_token={}", rotated["refresh_token"].as_str().expect("refresh")))
            .send()
            .await
            .expect("request");
        let by_cookie: Value = by_cookie.json().await.expect("json");
        collect(&by_cookie);
        // Reuse: the session dies, and the log says so without the token.
        assert_eq!(post(&http, format!("{auth_url}/auth/refresh"), json!({ "refresh_token": refresh })).await.status(), 401);

        let again: Value = post(&http, format!("{auth_url}/auth/login"), json!({ "email": email, "password": first_password })).await.json().await.expect("json");
        collect(&again);
        let change = http
            .post(format!("{auth_url}/auth/password"))
            .bearer_auth(again["access_token"].as_str().expect("access"))
            .json(&json!({ "current_password": first_password, "new_password": second_password }))
            .send()
            .await
            .expect("request");
        assert_eq!(change.status(), 204);

        let form = [("grant_type", "password"), ("username", email.as_str()), ("password", second_password)];
        let oauth: Value = http.post(format!("{auth_url}/oauth/token")).form(&form).send().await.expect("request").json().await.expect("json");
        collect(&oauth);
        let oauth_refresh = oauth["refresh_token"].as_str().expect("refresh").to_owned();
        let oauth_rotated: Value = http
            .post(format!("{auth_url}/oauth/token"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", oauth_refresh.as_str())])
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        collect(&oauth_rotated);
        http.post(format!("{auth_url}/oauth/revoke"))
            .form(&[("token", oauth_rotated["refresh_token"].as_str().expect("refresh"))])
            .send()
            .await
            .expect("request");
        post(&http, format!("{auth_url}/auth/logout"), json!({ "refresh_token": again["refresh_token"] })).await;
        // Malformed bodies that carry a password must not be echoed into a log.
        http.post(format!("{auth_url}/auth/login"))
            .header("content-type", "application/json")
            .body(format!("{{\"email\":\"{email}\",\"password\":\"{unsent_password}\""))
            .send()
            .await
            .expect("request");
        http.post(format!("{auth_url}/auth/login"))
            .json(&json!({ "email": email, "password": [unsent_password] }))
            .send()
            .await
            .expect("request");

        let mut logs = auth.stop();
        logs.extend(resource.stop());
        let text = logs.join("\n");
        assert!(text.contains("POST /auth/login"), "the logs were captured: {} lines", logs.len());
        assert!(text.contains("reuse"), "reuse is logged");

        let mut secrets: Vec<(String, String)> = vec![
            ("password".into(), first_password.into()),
            ("password".into(), wrong_password.into()),
            ("password".into(), second_password.into()),
            ("password".into(), unsent_password.into()),
        ];
        for token in &tokens {
            secrets.push(("token".into(), token.clone()));
            // Any identifying part of a JWT: payload and signature segments.
            for part in token.split('.').skip(1) {
                if part.len() >= 16 {
                    secrets.push(("token part".into(), part.to_owned()));
                }
            }
        }
        assert!(tokens.len() >= 12, "{} tokens", tokens.len());
        for (kind, secret) in secrets {
            if let Some(line) = logs.iter().find(|line| line.contains(&secret)) {
                panic!("a {kind} reached the logs: {line}");
            }
        }
    }
}
