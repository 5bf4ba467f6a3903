//! Building and running the server: [`Application::build`] binds (port 0
//! picks a free port, read back with [`Application::port`]), starts the
//! JWKS fetch, and [`Application::run_until_stopped`] serves.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::error::{JsonPayloadError, PayloadError};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpServer};
use shared_claims::actix::{
    cors, drop_unmatched_cors_headers, json_errors, request_id, request_logger,
};
use shared_claims::jwks::{JwksClient, JwksOptions, JwksTask};
use shared_claims::{Authority, KeyStore, Verifier};

use crate::config::Settings;
use crate::error::ApiError;
use crate::metrics::{count_refused_tokens, Metrics};
use crate::routes::{self, ProjectStore};

/// The realm named in `WWW-Authenticate` challenges.
pub const REALM: &str = "resource-service";

/// The largest request body accepted (API.md §1).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    jwks_task: JwksTask,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Binds `settings.bind` and starts fetching the auth-service's keys.
    /// Must be called inside a Tokio runtime.
    pub async fn build(settings: Settings) -> std::io::Result<Self> {
        Self::build_with(settings, JwksOptions::default()).await
    }

    /// [`Application::build`] with other JWKS timings (tests shorten them).
    pub async fn build_with(settings: Settings, jwks: JwksOptions) -> std::io::Result<Self> {
        log::info!(
            "resource-service configuration: {} RUST_LOG={}",
            settings.summary(),
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into())
        );
        let listener = TcpListener::bind(&settings.bind).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot bind {}: {e}", settings.bind))
        })?;
        let port = listener.local_addr()?.port();

        let metrics = Metrics::new().map_err(std::io::Error::other)?;
        let http_metrics = metrics.http_middleware().map_err(std::io::Error::other)?;
        let keys = KeyStore::default();
        let jwks = JwksOptions {
            user_agent: jwks
                .user_agent
                .or_else(|| Some(concat!("resource-service/", env!("CARGO_PKG_VERSION")).into())),
            ..jwks
        };
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
        .with_refresher(jwks_client.clone());
        let jwks_task = jwks_client.start();

        // Built once, outside the factory: every worker must share them.
        let authority = web::Data::new(authority);
        let projects = web::Data::new(ProjectStore::default());
        let metrics = web::Data::new(metrics);
        let origins = settings.cors_allowed_origins.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(cors(&origins))
                .wrap(from_fn(drop_unmatched_cors_headers))
                .wrap(from_fn(count_refused_tokens))
                .wrap(json_errors())
                .wrap(http_metrics.clone())
                .wrap(from_fn(request_id))
                // Outermost, so it logs the final status and the request id.
                .wrap(request_logger())
                .app_data(authority.clone())
                .app_data(projects.clone())
                .app_data(metrics.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .app_data(
                    web::JsonConfig::default()
                        .limit(MAX_BODY_BYTES)
                        .error_handler(json_error),
                )
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
        })
        // Small: the service does little per request, and tests start many.
        .workers(2)
        .listen(listener)?
        .run();

        Ok(Self {
            port,
            server,
            jwks_task,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (by the handle or a signal).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let outcome = self.server.await;
        self.jwks_task.stop().await;
        outcome
    }
}

/// Maps a failed JSON body to API.md's codes: 413, 415, else 400.
fn json_error(error: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api_error = match error {
        JsonPayloadError::Overflow { .. }
        | JsonPayloadError::OverflowKnownLength { .. }
        | JsonPayloadError::Payload(PayloadError::Overflow) => ApiError::PayloadTooLarge,
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(e) => {
            ApiError::InvalidRequest(format!("invalid JSON body: {e}"))
        }
        other => ApiError::InvalidRequest(other.to_string()),
    };
    api_error.into()
}
