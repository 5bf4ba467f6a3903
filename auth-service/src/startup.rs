//! Builds the server from [`Settings`]: pool, migrations, keys, routes.

use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, HttpServer};
use service_kit::server::Listener;
use service_kit::{Plumbing, Server};
use shared_claims::dpop::{ProofVerifier, PublicUrl, ReplayCache};
use shared_claims::{Authority, Verifier};
use utoipa::OpenApi;

use crate::config::Settings;
use crate::db;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::openapi::ApiDoc;
use crate::passwords::Hasher;
use crate::routes::health::DatabaseAnswers;
use crate::routes::web_client::WebClient;
use crate::state::AppState;

/// A bound, ready-to-run auth-service.
#[derive(Debug)]
pub struct Application {
    server: Server,
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
        // After the keys loaded: sealed keys and no variable stop the start
        // with a line of their own, not this warning beside it.
        if settings.key_encryption_key.is_none() {
            log::warn!(
                "KEY_ENCRYPTION_KEY is not set: private signing keys are stored unencrypted"
            );
        }
        let listener = Listener::bind(&settings.bind).map_err(|e| format!("AUTH_BIND: {e}"))?;
        log::info!(
            "auth-service listening on {} (database {}, issuer {})",
            listener.local_addr().map_err(|e| e.to_string())?,
            settings.database.redacted(),
            settings.issuer
        );
        let metrics = Metrics::new().map_err(|e| format!("cannot set up the metrics: {e}"))?;
        let plumbing = Plumbing::new(
            metrics.registry().clone(),
            settings.cors_allowed_origins.clone(),
            DatabaseAnswers(pool.clone()),
            ApiDoc::openapi(),
        )?;
        let web_client = settings
            .web_client
            .then(|| web::Data::new(WebClient::new(&settings.resource_url, &settings.issuer)));
        let hasher = Hasher::with_queue_limit(settings.login_queue_limit);
        let public_url =
            PublicUrl::parse(&settings.issuer).map_err(|e| format!("AUTH_ISSUER: {e}"))?;
        let dpop = ProofVerifier::new(public_url, ReplayCache::default());
        let state = web::Data::new(AppState::new(pool, settings, keys, metrics, hasher, dpop));
        let key_reloader = tokio::spawn(reload_keys_periodically(state.clone()));
        let purger = tokio::spawn(purge_periodically(state.clone()));
        let server = listener
            .serve(|socket| {
                Ok(HttpServer::new(move || {
                    let state = state.clone();
                    let authority = web::Data::new(
                        Authority::new(
                            crate::REALM,
                            // The issuer checks its own tokens; its clock is the reference.
                            Verifier::new(
                                &state.settings.issuer,
                                &state.settings.audience,
                                Duration::ZERO,
                            ),
                            state.keys.store(),
                        )
                        // The same verifier as the token endpoints': one replay
                        // cache per instance.
                        .with_dpop(state.dpop.clone()),
                    );
                    plumbing
                        .app::<Error>({
                            let web_client = web_client.clone();
                            move |cfg| {
                                crate::routes::configure(cfg);
                                if let Some(client) = web_client {
                                    crate::routes::web_client::configure(cfg, client);
                                }
                            }
                        })
                        .app_data(state)
                        .app_data(authority)
                })
                .listen(socket)?
                .shutdown_timeout(10)
                .run())
            })
            .map_err(|e| e.to_string())?
            .with_task(key_reloader)
            .with_task(purger);
        Ok(Self { server })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGINT/SIGTERM or [`ServerHandle::stop`]).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.run_until_stopped().await
    }
}

/// Rotates when `KEY_ROTATION_INTERVAL` has passed, picks up keys added by
/// `keys rotate` (or by another replica) and drops keys revoked or whose
/// tokens have all expired.
async fn reload_keys_periodically(state: web::Data<AppState>) {
    let mut ticks = tokio::time::interval(state.settings.key_reload_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let every = state.settings.key_rotation_interval;
        if !every.is_zero() {
            match crate::service::rotate_keys_if_due(&state, every).await {
                Ok(Some(kid)) => log::info!("new signing key {kid}: KEY_ROTATION_INTERVAL passed"),
                Ok(None) => {}
                Err(e) => log::warn!("could not rotate the signing key: {e}"),
            }
        }
        if let Err(e) = crate::service::reload_keys(&state).await {
            log::warn!("could not reload signing keys: {e}");
        }
    }
}

/// Deletes what no request can use any more, every `purge_interval` give or
/// take a fifth: the jitter keeps replicas started together from purging
/// together. The first run comes one interval after start, not at start, so
/// a fleet restarting at once does not purge at once either.
async fn purge_periodically(state: web::Data<AppState>) {
    use rand::Rng as _;
    loop {
        let jitter = rand::thread_rng().gen_range(0.8..1.2);
        tokio::time::sleep(state.settings.purge_interval.mul_f64(jitter)).await;
        match crate::service::purge_expired(&state).await {
            Ok(purged) if purged != Default::default() => log::info!(
                "purged {} expired refresh token(s), {} ended session(s), {} old login failure(s)",
                purged.refresh_tokens,
                purged.sessions,
                purged.login_failures
            ),
            Ok(_) => {}
            Err(e) => log::warn!("could not purge expired rows: {e}"),
        }
    }
}
