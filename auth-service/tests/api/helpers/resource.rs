//! The resource-service on a free port of 127.0.0.1, trusting a JWKS URL.

use std::time::Duration;

use reqwest::Response;

use super::{client, init_logging, TestApp, AUDIENCE, ISSUER};

/// A running resource-service trusting `auth`.
pub struct ResourceApp {
    pub address: String,
    pub client: reqwest::Client,
}

pub async fn spawn_resource(auth: &TestApp) -> ResourceApp {
    spawn_resource_for(&auth.url("/.well-known/jwks.json")).await
}

pub async fn spawn_resource_for(jwks_url: &str) -> ResourceApp {
    spawn_resource_with(jwks_url, resource_service::jwks::JwksOptions::default()).await
}

pub async fn spawn_resource_with(
    jwks_url: &str,
    options: resource_service::jwks::JwksOptions,
) -> ResourceApp {
    spawn_resource_configured(jwks_url, options, |_| {}).await
}

pub async fn spawn_resource_configured(
    jwks_url: &str,
    options: resource_service::jwks::JwksOptions,
    configure: impl FnOnce(&mut resource_service::config::Settings),
) -> ResourceApp {
    init_logging();
    let mut settings = resource_service::config::Settings {
        bind: "127.0.0.1:0".into(),
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        jwks_url: jwks_url.into(),
        clock_leeway: Duration::ZERO,
        cors_allowed_origins: Vec::new(),
        jwks_refresh_interval: Duration::from_secs(60),
        introspection_url: "http://127.0.0.1:1/oauth/introspect".into(),
        introspection_client: None,
        introspection_cache_ttl: Duration::from_secs(10),
        public_url: None,
    };
    configure(&mut settings);
    let app = resource_service::startup::Application::build_with(settings, options)
        .await
        .expect("resource-service starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let resource = ResourceApp {
        address,
        client: client(),
    };
    resource.wait_ready().await;
    resource
}

impl ResourceApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn wait_ready(&self) {
        for _ in 0..100 {
            if let Ok(r) = self.client.get(self.url("/readyz")).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("resource-service never became ready");
    }

    /// Creates a project named `name` with `access_token`; its id.
    pub async fn post_project(&self, access_token: &str, name: &str) -> String {
        let response = self
            .client
            .post(self.url("/api/projects"))
            .bearer_auth(access_token)
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 201, "create {name}");
        let body: serde_json::Value = response.json().await.expect("json");
        body["id"].as_str().expect("id").to_owned()
    }

    pub async fn delete_project(&self, access_token: &str, id: &str) -> Response {
        self.client
            .delete(self.url(&format!("/api/projects/{id}")))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
    }

    /// A sample of `GET /metrics`, by its name and labels as they are printed.
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
            .get(self.url("/api/me"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
    }
}
