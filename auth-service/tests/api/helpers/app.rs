//! The auth-service on a free port of 127.0.0.1, and a method per endpoint.

use std::sync::Arc;

use actix_web::dev::ServerHandle;
use auth_service::config::Settings;
use auth_service::startup::Application;
use reqwest::Response;
use serde_json::{json, Value};

use super::{client, email, init_logging, Backend, TestDb, AUDIENCE, ISSUER, PASSWORD};

/// Settings for tests: port 0, a cheap bcrypt cost, the given database.
pub fn test_settings(db: &TestDb) -> Settings {
    let mut settings = Settings::from_lookup(|_| None).expect("default settings");
    settings.bind = "127.0.0.1:0".into();
    settings.database = db.url.clone();
    settings.issuer = ISSUER.into();
    settings.audience = AUDIENCE.into();
    settings.bcrypt_cost = 4;
    settings
}

/// A running auth-service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    handle: ServerHandle,
    pub db: Arc<TestDb>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let db = Arc::new(TestDb::new(backend));
    let mut settings = test_settings(&db);
    configure(&mut settings);
    spawn_on(db, settings).await
}

/// Starts an auth-service on an existing test database (a restart, or a replica).
pub async fn spawn_on(db: Arc<TestDb>, settings: Settings) -> TestApp {
    init_logging();
    let app = Application::build(settings.clone())
        .await
        .expect("auth-service starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: client(),
        settings,
        handle,
        db,
    }
}

/// The token response of a login or refresh.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub body: Value,
}

impl Tokens {
    pub async fn from_response(response: Response) -> Tokens {
        assert_eq!(response.status(), 200, "expected a token response");
        let body: Value = response.json().await.expect("json");
        Tokens {
            access: body["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            refresh: body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
            body,
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_register(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/auth/register",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn post_login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/auth/login",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn post_refresh(&self, refresh_token: &str) -> Response {
        self.post_json("/auth/refresh", &json!({ "refresh_token": refresh_token }))
            .await
    }

    pub async fn post_logout(&self, refresh_token: &str) -> Response {
        self.post_json("/auth/logout", &json!({ "refresh_token": refresh_token }))
            .await
    }

    /// A counter of `GET /metrics`, by its name and labels as they are
    /// printed (`auth_login_failures_total{reason="locked"}`).
    pub async fn counter(&self, series: &str) -> f64 {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("text");
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("{series} in\n{text}"))
    }

    pub async fn get_me(&self, access_token: &str) -> Response {
        self.client
            .get(self.url("/auth/me"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_logout_all(&self, access_token: &str) -> Response {
        self.client
            .post(self.url("/auth/logout-all"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
    }

    /// Registers `email` with [`PASSWORD`] and logs in.
    pub async fn register_and_login(&self, email: &str) -> Tokens {
        let registered = self.post_register(email, PASSWORD).await;
        assert_eq!(registered.status(), 201, "register {email}");
        Tokens::from_response(self.post_login(email, PASSWORD).await).await
    }

    /// Creates an admin directly in the database (as `user create --role admin`
    /// does) and logs in.
    pub async fn create_admin_and_login(&self, email: &str) -> Tokens {
        let pool = auth_service::db::connect(&self.db.url).expect("pool");
        auth_service::service::create_user(
            &pool,
            &auth_service::passwords::Hasher::new(),
            4,
            auth_service::domain::Email::parse(email).expect("email"),
            auth_service::domain::Password::parse(PASSWORD.to_owned()).expect("password"),
            shared_claims::Role::Admin,
        )
        .await
        .expect("create admin");
        Tokens::from_response(self.post_login(email, PASSWORD).await).await
    }

    pub async fn get_sessions(&self, access_token: &str) -> Response {
        self.client
            .get(self.url("/auth/sessions"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
    }

    /// Registers `count` users and logs each in once: `count` sessions.
    pub async fn open_sessions(&self, count: usize) -> Vec<Tokens> {
        let mut sessions = Vec::with_capacity(count);
        // In batches: enough concurrency to be quick, not so much that the
        // set-up itself is the load.
        for _ in 0..count.div_ceil(10) {
            let batch = (sessions.len()..count.min(sessions.len() + 10))
                .map(|_| async { self.register_and_login(&email()).await });
            sessions.extend(futures_util::future::join_all(batch).await);
        }
        sessions
    }

    /// Presents every session's refresh token `per_session` times, all
    /// requests of all sessions at once, and returns each session's answers
    /// as (status, body).
    pub async fn race_refreshes(
        &self,
        sessions: &[Tokens],
        per_session: usize,
    ) -> Vec<Vec<(u16, Value)>> {
        let requests = sessions.iter().flat_map(|tokens| {
            (0..per_session).map(move |_| async move {
                let response = self.post_refresh(&tokens.refresh).await;
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.expect("a JSON body"))
            })
        });
        let mut answers = futures_util::future::join_all(requests).await.into_iter();
        sessions
            .iter()
            .map(|_| answers.by_ref().take(per_session).collect())
            .collect()
    }
}
