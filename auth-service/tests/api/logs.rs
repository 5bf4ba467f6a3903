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

const FIRST_PASSWORD: &str = "first-secret-passphrase-1";
const WRONG_PASSWORD: &str = "wrong-secret-passphrase-2";
const SECOND_PASSWORD: &str = "second-secret-passphrase-3";
/// Sent only inside bodies the services cannot parse.
const UNSENT_PASSWORD: &str = "truncated-secret-passphrase-4";

/// Both real binaries at `RUST_LOG=trace`, the auth-service on `db`.
struct Services {
    auth: Process,
    auth_url: String,
    resource: Process,
    resource_url: String,
    http: reqwest::Client,
    /// Every token the services handed out, to look for in their logs.
    tokens: Vec<String>,
}

impl Services {
    fn start_at_trace(db: &TestDb) -> Services {
        let (auth, auth_port) = Process::start(
            env!("CARGO_BIN_EXE_auth-service"),
            &[
                ("DATABASE_URL", database_url(db)),
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
        Services {
            auth,
            auth_url,
            resource,
            resource_url: format!("http://127.0.0.1:{resource_port}"),
            http: client(),
            tokens: Vec::new(),
        }
    }

    fn auth(&self, path: &str) -> String {
        format!("{}{path}", self.auth_url)
    }

    fn resource(&self, path: &str) -> String {
        format!("{}{path}", self.resource_url)
    }

    /// Keeps the tokens of a token response.
    fn keep_tokens(&mut self, body: &Value) {
        for key in ["access_token", "refresh_token"] {
            if let Some(t) = body[key].as_str() {
                self.tokens.push(t.to_owned());
            }
        }
    }

    async fn wait_for_the_resource_service(&self) {
        let mut ready = false;
        for _ in 0..100 {
            if self
                .http
                .get(self.resource("/readyz"))
                .send()
                .await
                .map(|r| r.status() == 200)
                .unwrap_or(false)
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready);
    }

    async fn post_credentials(&self, path: &str, email: &str, password: &str) -> reqwest::Response {
        let body = json!({ "email": email, "password": password });
        post(&self.http, self.auth(path), body).await
    }

    /// Registers, fails a login, then logs in; the access and refresh
    /// tokens.
    async fn register_and_log_in(&mut self, email: &str) -> (String, String) {
        let registered = self
            .post_credentials("/auth/register", email, FIRST_PASSWORD)
            .await;
        assert_eq!(registered.status(), 201);
        let wrong = self
            .post_credentials("/auth/login", email, WRONG_PASSWORD)
            .await;
        assert_eq!(wrong.status(), 401);
        let login = self
            .post_credentials("/auth/login", email, FIRST_PASSWORD)
            .await;
        let login: Value = login.json().await.expect("json");
        self.keep_tokens(&login);
        let access = login["access_token"].as_str().expect("access").to_owned();
        let refresh = login["refresh_token"].as_str().expect("refresh").to_owned();
        (access, refresh)
    }

    /// Presents both tokens (and a non-token) to the services' endpoints.
    async fn present_the_tokens(&self, access: &str, refresh: &str) {
        self.wait_for_the_resource_service().await;
        for token in [access, refresh, "not-a-token"] {
            self.http
                .get(self.resource("/api/me"))
                .bearer_auth(token)
                .send()
                .await
                .expect("request");
        }
        self.http
            .post(self.resource("/api/projects"))
            .bearer_auth(access)
            .json(&json!({ "name": "p" }))
            .send()
            .await
            .expect("request");
        for path in ["/auth/me", "/auth/sessions"] {
            self.http
                .get(self.auth(path))
                .bearer_auth(access)
                .send()
                .await
                .expect("request");
        }
    }

    /// Rotates `refresh` by body, then by cookie, then presents it again.
    async fn rotate_then_reuse(&mut self, refresh: &str) {
        let http = self.http.clone();
        let rotated: Value = post(
            &http,
            self.auth("/auth/refresh"),
            json!({ "refresh_token": refresh }),
        )
        .await
        .json()
        .await
        .expect("json");
        self.keep_tokens(&rotated);
        let by_cookie = http
            .post(self.auth("/auth/refresh"))
            .header(
                "cookie",
                format!(
                    "refresh_token={}",
                    rotated["refresh_token"].as_str().expect("refresh")
                ),
            )
            .send()
            .await
            .expect("request");
        let by_cookie: Value = by_cookie.json().await.expect("json");
        self.keep_tokens(&by_cookie);
        // Reuse: the session dies, and the log says so without the token.
        assert_eq!(
            post(
                &http,
                self.auth("/auth/refresh"),
                json!({ "refresh_token": refresh })
            )
            .await
            .status(),
            401
        );
    }

    /// Logs in again and changes the password; the new session's refresh
    /// token.
    async fn change_the_password(&mut self, email: &str) -> String {
        let again = self
            .post_credentials("/auth/login", email, FIRST_PASSWORD)
            .await;
        let again: Value = again.json().await.expect("json");
        self.keep_tokens(&again);
        let change = self
            .http
            .post(self.auth("/auth/password"))
            .bearer_auth(again["access_token"].as_str().expect("access"))
            .json(&json!({ "current_password": FIRST_PASSWORD, "new_password": SECOND_PASSWORD }))
            .send()
            .await
            .expect("request");
        assert_eq!(change.status(), 204);
        again["refresh_token"].as_str().expect("refresh").to_owned()
    }

    /// A password grant, a refresh grant and a revocation through `/oauth`.
    async fn go_through_the_oauth_door(&mut self, email: &str) {
        let http = self.http.clone();
        let form = [
            ("grant_type", "password"),
            ("username", email),
            ("password", SECOND_PASSWORD),
        ];
        let oauth: Value = http
            .post(self.auth("/oauth/token"))
            .form(&form)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        self.keep_tokens(&oauth);
        let oauth_refresh = oauth["refresh_token"].as_str().expect("refresh").to_owned();
        let oauth_rotated: Value = http
            .post(self.auth("/oauth/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", oauth_refresh.as_str()),
            ])
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        self.keep_tokens(&oauth_rotated);
        http.post(self.auth("/oauth/revoke"))
            .form(&[(
                "token",
                oauth_rotated["refresh_token"].as_str().expect("refresh"),
            )])
            .send()
            .await
            .expect("request");
    }

    /// A client's credentials grant by each method, and one with a wrong
    /// secret; the secret and the Basic credentials join the secrets.
    async fn use_a_client(&mut self, db: &TestDb) {
        let (id, secret) = crate::clients::create_client(db, "logged");
        let basic = crate::clients::basic(&id, &secret);
        let wrong = crate::clients::basic(&id, "not-the-secret-passphrase-5");
        let form = [("grant_type", "client_credentials")];
        for authorization in [&basic, &wrong] {
            let response = self
                .http
                .post(self.auth("/oauth/token"))
                .header("authorization", authorization.as_str())
                .form(&form)
                .send()
                .await
                .expect("request");
            let body: Value = response.json().await.expect("json");
            self.keep_tokens(&body);
        }
        let by_post = [
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ];
        let response = self
            .http
            .post(self.auth("/oauth/token"))
            .form(&by_post)
            .send()
            .await;
        self.keep_tokens(&response.expect("request").json().await.expect("json"));
        let encoded = |b: &str| b.trim_start_matches("Basic ").to_owned();
        self.tokens
            .extend([secret, encoded(&basic), encoded(&wrong)]);
    }

    async fn log_out(&self, refresh: &str) {
        post(
            &self.http,
            self.auth("/auth/logout"),
            json!({ "refresh_token": refresh }),
        )
        .await;
    }

    /// Malformed bodies that carry a password, which a parse error must not
    /// echo into a log.
    async fn send_malformed_bodies(&self, email: &str) {
        self.http
            .post(self.auth("/auth/login"))
            .header("content-type", "application/json")
            .body(format!(
                "{{\"email\":\"{email}\",\"password\":\"{UNSENT_PASSWORD}\""
            ))
            .send()
            .await
            .expect("request");
        self.http
            .post(self.auth("/auth/login"))
            .json(&json!({ "email": email, "password": [UNSENT_PASSWORD] }))
            .send()
            .await
            .expect("request");
    }

    /// Stops both services; every line they printed, and the tokens.
    fn stop(self) -> (Vec<String>, Vec<String>) {
        let mut logs = self.auth.stop();
        logs.extend(self.resource.stop());
        (logs, self.tokens)
    }
}

/// Panics with the first line of `logs` holding a password or any
/// identifying part of one of `tokens`.
fn assert_no_secret_in(logs: &[String], tokens: &[String]) {
    let mut secrets: Vec<(&str, &str)> = [
        FIRST_PASSWORD,
        WRONG_PASSWORD,
        SECOND_PASSWORD,
        UNSENT_PASSWORD,
    ]
    .into_iter()
    .map(|password| ("password", password))
    .collect();
    for token in tokens {
        secrets.push(("token", token));
        // Any identifying part of a JWT: payload and signature segments.
        for part in token.split('.').skip(1) {
            if part.len() >= 16 {
                secrets.push(("token part", part));
            }
        }
    }
    for (kind, secret) in secrets {
        if let Some(line) = logs.iter().find(|line| line.contains(secret)) {
            panic!("a {kind} reached the logs: {line}");
        }
    }
}

both_backends! {
    async fn no_secret_reaches_the_logs_at_trace_level(backend: Backend) {
        let db = TestDb::new(backend);
        let mut services = Services::start_at_trace(&db);
        let email = email();

        let (access, refresh) = services.register_and_log_in(&email).await;
        services.present_the_tokens(&access, &refresh).await;
        services.rotate_then_reuse(&refresh).await;
        let session = services.change_the_password(&email).await;
        services.go_through_the_oauth_door(&email).await;
        services.use_a_client(&db).await;
        services.log_out(&session).await;
        services.send_malformed_bodies(&email).await;
        let (logs, tokens) = services.stop();

        let text = logs.join("\n");
        assert!(text.contains("POST /auth/login"), "the logs were captured: {} lines", logs.len());
        assert!(text.contains("reuse"), "reuse is logged");
        assert!(tokens.len() >= 17, "{} tokens", tokens.len());
        assert_no_secret_in(&logs, &tokens);
    }
}
