//! Building and running the server: [`Application::build`] binds (port 0
//! picks a free port, read back with [`Application::port`]), starts the
//! JWKS fetch, and [`Application::run_until_stopped`] serves.

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, HttpServer};
use service_kit::server::Listener;
use service_kit::{Plumbing, Server};
use shared_claims::dpop::{ProofVerifier, ReplayCache};
use shared_claims::introspection::{IntrospectionClient, IntrospectionOptions};
use shared_claims::jwks::{JwksClient, JwksOptions, JwksTask};
use shared_claims::{Authority, KeyStore, Verifier};
use utoipa::OpenApi;

use crate::config::Settings;
use crate::error::Error;
use crate::metrics::{CountRefusedTokens, Metrics};
use crate::openapi::ApiDoc;
use crate::routes::health::KeysHeld;
use crate::routes::{self, ProjectStore};

/// The realm named in `WWW-Authenticate` challenges.
pub const REALM: &str = "resource-service";

/// A bound, not yet running server.
#[derive(Debug)]
pub struct Application {
    server: Server,
    jwks_task: JwksTask,
}

impl Application {
    /// Binds `settings.bind` and starts fetching the auth-service's keys.
    /// Must be called inside a Tokio runtime.
    pub async fn build(settings: Settings) -> std::io::Result<Self> {
        Self::build_with(settings, JwksOptions::default()).await
    }

    /// [`Application::build`] with other JWKS timings (tests shorten them);
    /// a `refresh_interval` left `None` is `JWKS_REFRESH_INTERVAL`'s.
    pub async fn build_with(settings: Settings, jwks: JwksOptions) -> std::io::Result<Self> {
        log::info!(
            "resource-service configuration: {} RUST_LOG={}",
            settings.summary(),
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into())
        );
        let listener = Listener::bind(&settings.bind)?;
        let public_url = settings
            .public_url_for(listener.port())
            .map_err(|e| std::io::Error::other(e.to_string()))?;

        let metrics = Metrics::new().map_err(std::io::Error::other)?;
        let keys = KeyStore::default();
        let jwks = JwksOptions {
            refresh_interval: jwks
                .refresh_interval
                .or(Some(settings.jwks_refresh_interval)),
            user_agent: jwks
                .user_agent
                .or_else(|| Some(concat!("resource-service/", env!("CARGO_PKG_VERSION")).into())),
            ..jwks
        };
        let plumbing = Plumbing::new(
            metrics.registry().clone(),
            settings.cors_allowed_origins.clone(),
            KeysHeld(keys.clone()),
            ApiDoc::openapi(),
        )
        .map_err(std::io::Error::other)?;
        let jwks_client = Arc::new(
            JwksClient::new(&settings.jwks_url, keys.clone(), jwks)
                .map_err(std::io::Error::other)?
                .with_observer(metrics.clone()),
        );
        let authority = Authority::new(
            REALM,
            Verifier::new(&settings.issuer, &settings.audience, settings.clock_leeway),
            keys,
        )
        .with_refresher(jwks_client.clone())
        // One replay cache for the instance: every worker shares it through
        // the one Authority, so a proof's jti is accepted once here.
        .with_dpop(ProofVerifier::new(public_url, ReplayCache::default()));
        let jwks_task = jwks_client.start();
        let introspection = introspection_client(&settings, &metrics)?.map(web::Data::new);
        let session_checked = introspection.is_some();

        // Built once, outside the factory: every worker must share them.
        let authority = web::Data::new(authority);
        let projects = web::Data::new(ProjectStore::default());
        let refused_tokens = CountRefusedTokens::new(metrics.clone());
        let metrics = web::Data::new(metrics);
        let server = listener.serve(|socket| {
            Ok(HttpServer::new(move || {
                let app = plumbing
                    .app::<Error>(move |cfg| routes::configure(cfg, session_checked))
                    .wrap(refused_tokens.clone())
                    .app_data(authority.clone())
                    .app_data(projects.clone())
                    .app_data(metrics.clone());
                match &introspection {
                    Some(client) => app.app_data(client.clone()),
                    None => app,
                }
                .default_service(web::to(routes::not_found))
            })
            // Small: the service does little per request, and tests start many.
            .workers(2)
            .listen(socket)?
            .run())
        })?;
        Ok(Self { server, jwks_task })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (by the handle or a signal).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let outcome = self.server.run_until_stopped().await;
        self.jwks_task.stop().await;
        outcome
    }
}

/// The client of the session-checked routes, when both client variables
/// are set. Its timeout keeps a check under the 5 s API.md promises.
fn introspection_client(
    settings: &Settings,
    metrics: &Metrics,
) -> std::io::Result<Option<IntrospectionClient>> {
    let Some(credentials) = &settings.introspection_client else {
        log::info!("DELETE /api/projects/{{id}} is stateless: INTROSPECTION_CLIENT_ID is not set");
        return Ok(None);
    };
    let options = IntrospectionOptions {
        cache_ttl: settings.introspection_cache_ttl,
        timeout: Duration::from_secs(3),
        user_agent: Some(concat!("resource-service/", env!("CARGO_PKG_VERSION")).into()),
        ..IntrospectionOptions::default()
    };
    let client = IntrospectionClient::new(
        &settings.introspection_url,
        &credentials.id,
        &credentials.secret,
        options,
    )
    .map_err(std::io::Error::other)?
    .with_observer(metrics.clone());
    log::info!(
        "DELETE /api/projects/{{id}} is session-checked at {} as client {}",
        client.logged_url(),
        credentials.id
    );
    Ok(Some(client))
}
