//! Builds the server from [`Settings`]: pool, migrations, keys, routes.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use shared_claims::actix::{
    cors, drop_unmatched_cors_headers, json_errors, request_id, request_logger,
};
use shared_claims::{Authority, Verifier};

use crate::config::Settings;
use crate::db;
use crate::error::json_payload_error;
use crate::metrics::Metrics;
use crate::passwords::Hasher;
use crate::routes::web_client::WebClient;
use crate::routes::MAX_BODY_BYTES;
use crate::state::AppState;

/// A bound, ready-to-run auth-service.
pub struct Application {
    port: u16,
    server: Server,
    key_reloader: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Connects, migrates, loads (or creates) the signing key and binds.
    /// With port 0 in `AUTH_BIND` the OS picks a free port; see [`Self::port`].
    pub async fn build(settings: Settings) -> Result<Self, String> {
        // First, so the operator sees what was asked for even when the
        // database is unreachable.
        log::info!(
            "auth-service configuration: {} RUST_LOG={}",
            settings.summary(),
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into())
        );
        let pool = db::open(&settings.database).await?;
        let keys = crate::service::load_or_create_keys(&pool, &settings).await?;
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| format!("AUTH_BIND: cannot bind {}: {e}", settings.bind))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        log::info!(
            "auth-service listening on {} (database {}, issuer {})",
            listener.local_addr().map_err(|e| e.to_string())?,
            settings.database.redacted(),
            settings.issuer
        );
        let metrics = Metrics::new().map_err(|e| format!("cannot set up the metrics: {e}"))?;
        let http_metrics = metrics.http_middleware()?;
        let web_client = settings
            .web_client
            .then(|| web::Data::new(WebClient::new(&settings.resource_url)));
        let state = web::Data::new(AppState::new(pool, settings, keys, metrics, Hasher::new()));
        let key_reloader = tokio::spawn(reload_keys_periodically(state.clone()));
        let server = HttpServer::new(move || {
            let state = state.clone();
            let authority = web::Data::new(Authority::new(
                crate::REALM,
                // The issuer checks its own tokens; its clock is the reference.
                Verifier::new(
                    &state.settings.issuer,
                    &state.settings.audience,
                    Duration::ZERO,
                ),
                state.keys.store(),
            ));
            App::new()
                .wrap(cors(&state.settings.cors_allowed_origins))
                .wrap(from_fn(drop_unmatched_cors_headers))
                .wrap(json_errors())
                .wrap(http_metrics.clone())
                .wrap(from_fn(request_id))
                // Outermost, so it logs the final status and the request id.
                .wrap(request_logger())
                .app_data(state)
                .app_data(authority)
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .app_data(
                    web::JsonConfig::default()
                        .limit(MAX_BODY_BYTES)
                        .error_handler(|err, _req| json_payload_error(err).into()),
                )
                .configure(crate::routes::configure)
                .configure(|cfg| {
                    if let Some(client) = &web_client {
                        crate::routes::web_client::configure(cfg, client.clone());
                    }
                })
        })
        .listen(listener)
        .map_err(|e| e.to_string())?
        .shutdown_timeout(10)
        .run();
        Ok(Self {
            port,
            server,
            key_reloader,
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

    /// Serves until stopped (SIGINT/SIGTERM or [`ServerHandle::stop`]).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let outcome = self.server.await;
        self.key_reloader.abort();
        outcome
    }
}

/// Picks up keys added by `keys rotate` (or by another replica) and drops
/// keys whose tokens have all expired.
async fn reload_keys_periodically(state: web::Data<AppState>) {
    let mut ticks = tokio::time::interval(state.settings.key_reload_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = crate::service::reload_keys(&state).await {
            log::warn!("could not reload signing keys: {e}");
        }
    }
}
