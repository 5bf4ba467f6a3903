//! Fetching the auth-service's public keys (its JWKS) into the
//! [`KeyStore`] the verifier reads.
//!
//! Keys are fetched once at start (retrying with backoff until the
//! auth-service answers) and again only when a token names a `kid` the store
//! does not hold, i.e. after a key rotation. A failed fetch never clears the
//! keys already held: the service keeps verifying while the auth-service is
//! down (API.md §4).

use std::time::Duration;

use shared_claims::{KeyRefresher, KeySet, KeyStore, RefreshFuture};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::metrics::{FetchKind, Metrics};

/// A JWKS holds a handful of keys; anything much bigger is not one, and
/// reading it whole would let a misbehaving endpoint exhaust memory.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// How the client fetches and how often it may.
#[derive(Debug, Clone)]
pub struct JwksOptions {
    /// At most one fetch per this interval on behalf of unknown `kid`s, so a
    /// flood of forged `kid`s cannot hammer the auth-service.
    pub min_refresh_interval: Duration,
    /// Limit on one whole fetch, connection to last byte.
    pub timeout: Duration,
    /// First wait between failed start-up fetches; it doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest wait between failed start-up fetches.
    pub max_backoff: Duration,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            min_refresh_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(3),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Why a fetch brought no keys.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No connection, a timeout, or a broken response. The cause is the
    /// error's source; [`error_chain`] prints it.
    #[error("request failed")]
    Http(#[from] reqwest::Error),
    /// The server answered, but not with 2xx.
    #[error("answered {0}")]
    Status(reqwest::StatusCode),
    /// The body is over [`MAX_JWKS_BYTES`].
    #[error("response larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    /// The body is not a JWKS document.
    #[error("not a JWKS document: {0}")]
    Parse(String),
    /// A JWKS without a single usable Ed25519 key. Taking it would make every
    /// token fail, so the keys held stay.
    #[error("the JWKS holds no Ed25519 key with a kid")]
    NoKeys,
}

/// Fetches the JWKS into a [`KeyStore`], with the rate limit API.md §4 asks for.
#[derive(Debug)]
pub struct JwksClient {
    http: reqwest::Client,
    url: String,
    /// `url` as logs show it: without a password.
    logged_url: String,
    keys: KeyStore,
    options: JwksOptions,
    metrics: Metrics,
    /// When the last fetch started. Held across the fetch itself, so callers
    /// arriving meanwhile wait for its result instead of fetching again.
    last_fetch: Mutex<Option<Instant>>,
}

impl JwksClient {
    /// A client that fetches `url` into `keys`, counting its fetches in `metrics`.
    pub fn new(
        url: &str,
        keys: KeyStore,
        options: JwksOptions,
        metrics: Metrics,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .user_agent(concat!("resource-service/", env!("CARGO_PKG_VERSION")))
            // Fetches are rare and come from several actix workers, each on
            // its own runtime; a pooled connection belongs to the runtime that
            // opened it, so keep none.
            .pool_max_idle_per_host(0)
            .build()?;
        Ok(Self {
            http,
            url: url.to_owned(),
            logged_url: crate::config::without_password(url),
            keys,
            options,
            metrics,
            last_fetch: Mutex::new(None),
        })
    }

    /// The store this client fills.
    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// Whether the store holds at least one key, i.e. tokens can be verified.
    pub fn is_ready(&self) -> bool {
        !self.keys.snapshot().is_empty()
    }

    /// Fetches and parses the JWKS, without touching the store.
    pub async fn fetch(&self) -> Result<KeySet, FetchError> {
        let mut response = self.http.get(&self.url).send().await?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let text = std::str::from_utf8(&body).map_err(|e| FetchError::Parse(e.to_string()))?;
        let keys = KeySet::from_jwks_json(text).map_err(|e| FetchError::Parse(e.to_string()))?;
        if keys.is_empty() {
            return Err(FetchError::NoKeys);
        }
        Ok(keys)
    }

    /// Fetches and, on success, replaces the store's keys. The caller holds
    /// `last_fetch`.
    async fn fetch_into_store(
        &self,
        kind: FetchKind,
        last_fetch: &mut Option<Instant>,
    ) -> Result<(), FetchError> {
        // Counted from the start, and failures count too: an auth-service
        // that is down must not be asked again on every forged token.
        *last_fetch = Some(Instant::now());
        let keys = match self.fetch().await {
            Ok(keys) => keys,
            Err(e) => {
                self.metrics.jwks_fetched(kind, None);
                return Err(e);
            }
        };
        self.metrics.jwks_fetched(kind, Some(keys.len()));
        let mut kids: Vec<&str> = keys.kids().collect();
        kids.sort_unstable();
        log::info!(
            "loaded {} signing key(s) from {}: {kids:?}",
            kids.len(),
            self.logged_url
        );
        self.keys.replace(keys);
        Ok(())
    }

    /// Fetches unless a fetch started less than `min_refresh_interval` ago.
    /// Concurrent callers share one fetch.
    pub async fn refresh_rate_limited(&self) {
        let mut last_fetch = self.last_fetch.lock().await;
        if last_fetch.is_some_and(|at| at.elapsed() < self.options.min_refresh_interval) {
            return;
        }
        if let Err(e) = self
            .fetch_into_store(FetchKind::Refetch, &mut last_fetch)
            .await
        {
            log::warn!(
                "JWKS refresh from {} failed, keeping the keys held: {}",
                self.logged_url,
                error_chain(&e)
            );
        }
    }

    /// Fetches until the store holds keys, waiting `initial_backoff`, then
    /// twice as long each time, up to `max_backoff`, between failures. Runs
    /// as the start-up task; `/readyz` answers 200 once it has succeeded.
    pub async fn fetch_until_ready(&self) {
        let mut delay = self.options.initial_backoff;
        for attempt in 1u64.. {
            {
                let mut last_fetch = self.last_fetch.lock().await;
                // A refresh for an unknown kid may have got there first.
                if self.is_ready() {
                    return;
                }
                match self
                    .fetch_into_store(FetchKind::Initial, &mut last_fetch)
                    .await
                {
                    Ok(()) => return,
                    Err(e) => {
                        // Retries go on forever, every few seconds once backed
                        // off: warn on the first few and then about once a
                        // minute, so a long outage does not flood the log.
                        let level = if attempt <= 3 || attempt % 12 == 0 {
                            log::Level::Warn
                        } else {
                            log::Level::Debug
                        };
                        log::log!(
                            level,
                            "JWKS fetch {attempt} from {} failed, retrying in {delay:?}: {}",
                            self.logged_url,
                            error_chain(&e)
                        );
                    }
                }
            }
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2).min(self.options.max_backoff);
        }
    }
}

/// An error and its sources on one line: reqwest's own message ("error
/// sending request") hides the cause ("Connection refused") in its sources.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

impl KeyRefresher for JwksClient {
    fn refresh(&self) -> RefreshFuture<'_> {
        Box::pin(self.refresh_rate_limited())
    }
}
