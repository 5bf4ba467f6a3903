//! The client itself: fetching, the rate-limited refetch, the periodic refresh.

use std::fmt;
use std::sync::Arc;

use tokio::sync::Mutex;
use tokio::time::{Instant, MissedTickBehavior};

use super::{FetchError, FetchKind, JwksObserver, JwksOptions, JwksTask, MAX_JWKS_BYTES};
use crate::{KeyRefresher, KeySet, KeyStore, RefreshFuture};

/// Fetches an issuer's JWKS into a [`KeyStore`]: at start until it succeeds,
/// on an unknown `kid` (rate-limited; as the [`KeyRefresher`] of an
/// [`Authority`](crate::Authority)), and periodically if asked to.
///
/// ```
/// use shared_claims::jwks::{JwksClient, JwksOptions};
/// use shared_claims::KeyStore;
///
/// let client = JwksClient::new(
///     "http://127.0.0.1:8080/.well-known/jwks.json",
///     KeyStore::default(),
///     JwksOptions::default(),
/// )
/// .unwrap();
/// assert!(!client.is_ready());
/// ```
pub struct JwksClient {
    http: reqwest::Client,
    url: String,
    /// `url` as logs show it: without a password.
    logged_url: String,
    keys: KeyStore,
    options: JwksOptions,
    observer: Option<Box<dyn JwksObserver>>,
    /// When the last fetch started. Held across the fetch itself, so callers
    /// arriving meanwhile wait for its result instead of fetching again.
    last_fetch: Mutex<Option<Instant>>,
}

impl fmt::Debug for JwksClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksClient")
            .field("url", &self.logged_url)
            .field("keys", &self.keys)
            .field("options", &self.options)
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl JwksClient {
    /// A client that fetches `url` into `keys`. Fails only if the HTTP
    /// client cannot be built (no TLS backend).
    ///
    /// ```
    /// # use shared_claims::{jwks::{JwksClient, JwksOptions}, KeyStore};
    /// let keys = KeyStore::default();
    /// let client = JwksClient::new("http://127.0.0.1:8080/.well-known/jwks.json", keys.clone(), JwksOptions::default());
    /// assert!(client.is_ok());
    /// ```
    pub fn new(url: &str, keys: KeyStore, options: JwksOptions) -> Result<Self, reqwest::Error> {
        let user_agent = options
            .user_agent
            .clone()
            .unwrap_or_else(|| concat!("shared-claims/", env!("CARGO_PKG_VERSION")).to_owned());
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .user_agent(user_agent)
            // Fetches are rare and may come from several actix workers, each
            // on its own runtime; a pooled connection belongs to the runtime
            // that opened it, so keep none.
            .pool_max_idle_per_host(0)
            .build()?;
        Ok(Self {
            http,
            url: url.to_owned(),
            logged_url: without_password(url),
            keys,
            options,
            observer: None,
            last_fetch: Mutex::new(None),
        })
    }

    /// Tells `observer` about every fetch from now on.
    ///
    /// ```
    /// # use shared_claims::{jwks::{FetchError, FetchKind, JwksClient, JwksObserver, JwksOptions}, KeyStore};
    /// struct Log;
    /// impl JwksObserver for Log {
    ///     fn fetched(&self, kind: FetchKind, outcome: Result<usize, &FetchError>) {
    ///         println!("{} fetch: {:?}", kind.as_str(), outcome.map_err(|e| e.to_string()));
    ///     }
    /// }
    /// let client = JwksClient::new("http://127.0.0.1:8080/.well-known/jwks.json", KeyStore::default(), JwksOptions::default())
    ///     .unwrap()
    ///     .with_observer(Log);
    /// # let _ = client;
    /// ```
    pub fn with_observer(mut self, observer: impl JwksObserver) -> Self {
        self.observer = Some(Box::new(observer));
        self
    }

    /// The store this client fills.
    ///
    /// ```
    /// # use shared_claims::{jwks::{JwksClient, JwksOptions}, KeyStore};
    /// let client = JwksClient::new("http://127.0.0.1:8080/.well-known/jwks.json", KeyStore::default(), JwksOptions::default()).unwrap();
    /// assert!(client.keys().snapshot().is_empty());
    /// ```
    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// Whether the store holds at least one key, i.e. tokens can be verified:
    /// what a readiness probe answers.
    ///
    /// ```
    /// # use shared_claims::{jwks::{JwksClient, JwksOptions}, KeySet, KeyStore};
    /// let mut keys = KeySet::new();
    /// keys.insert_ed25519("k1", &[7u8; 32]);
    /// let client = JwksClient::new("http://127.0.0.1:8080/.well-known/jwks.json", KeyStore::new(keys), JwksOptions::default()).unwrap();
    /// assert!(client.is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        !self.keys.snapshot().is_empty()
    }

    /// Fetches and parses the JWKS, without touching the store and without
    /// any rate limit.
    ///
    /// ```no_run
    /// # use shared_claims::{jwks::{JwksClient, JwksOptions}, KeyStore};
    /// # #[tokio::main] async fn main() {
    /// let client = JwksClient::new("http://127.0.0.1:8080/.well-known/jwks.json", KeyStore::default(), JwksOptions::default()).unwrap();
    /// let keys = client.fetch().await.unwrap();
    /// println!("the issuer publishes {} key(s)", keys.len());
    /// # }
    /// ```
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

    /// Fetches and, on success, replaces the store's keys, so keys that left
    /// the JWKS are dropped. The caller holds `last_fetch`.
    async fn fetch_into_store(
        &self,
        kind: FetchKind,
        last_fetch: &mut Option<Instant>,
    ) -> Result<(), FetchError> {
        // Counted from the start, and failures count too: an issuer that is
        // down must not be asked again on every forged token.
        *last_fetch = Some(Instant::now());
        let outcome = self.fetch().await;
        if let Some(observer) = &self.observer {
            observer.fetched(kind, outcome.as_ref().map(KeySet::len));
        }
        let keys = outcome?;
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

    /// Fetches unless a fetch started less than
    /// [`JwksOptions::min_refresh_interval`] ago. Concurrent callers share
    /// one fetch. A failure is logged and keeps the keys held.
    ///
    /// ```no_run
    /// # use shared_claims::{jwks::{JwksClient, JwksOptions}, KeyStore};
    /// # #[tokio::main] async fn main() {
    /// # let client = JwksClient::new("http://127.0.0.1:8080/.well-known/jwks.json", KeyStore::default(), JwksOptions::default()).unwrap();
    /// client.refresh_rate_limited().await;
    /// client.refresh_rate_limited().await; // too soon: no second fetch
    /// # }
    /// ```
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

    /// Fetches now, whatever the rate limit, as the periodic refresh does. A
    /// failure is logged and keeps the keys held.
    ///
    /// ```no_run
    /// # use shared_claims::{jwks::{JwksClient, JwksOptions}, KeyStore};
    /// # #[tokio::main] async fn main() {
    /// # let client = JwksClient::new("http://127.0.0.1:8080/.well-known/jwks.json", KeyStore::default(), JwksOptions::default()).unwrap();
    /// client.refresh_now().await;
    /// # }
    /// ```
    pub async fn refresh_now(&self) {
        let mut last_fetch = self.last_fetch.lock().await;
        if let Err(e) = self
            .fetch_into_store(FetchKind::Periodic, &mut last_fetch)
            .await
        {
            log::warn!(
                "periodic JWKS refresh from {} failed, keeping the keys held: {}",
                self.logged_url,
                error_chain(&e)
            );
        }
    }

    /// Fetches until the store holds keys, waiting
    /// [`JwksOptions::initial_backoff`], then twice as long each time, up to
    /// [`JwksOptions::max_backoff`], between failures.
    ///
    /// ```no_run
    /// # use shared_claims::{jwks::{JwksClient, JwksOptions}, KeyStore};
    /// # #[tokio::main] async fn main() {
    /// # let client = JwksClient::new("http://127.0.0.1:8080/.well-known/jwks.json", KeyStore::default(), JwksOptions::default()).unwrap();
    /// client.fetch_until_ready().await;
    /// assert!(client.is_ready());
    /// # }
    /// ```
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

    /// [`Self::fetch_until_ready`], then, if [`JwksOptions::refresh_interval`]
    /// is set, [`Self::refresh_now`] at that interval, forever. What
    /// [`Self::start`] runs.
    ///
    /// ```no_run
    /// # use shared_claims::{jwks::{JwksClient, JwksOptions}, KeyStore};
    /// # #[tokio::main] async fn main() {
    /// # let client = JwksClient::new("http://127.0.0.1:8080/.well-known/jwks.json", KeyStore::default(), JwksOptions::default()).unwrap();
    /// // With no refresh interval, this returns once the keys are fetched.
    /// client.run().await;
    /// # }
    /// ```
    pub async fn run(&self) {
        self.fetch_until_ready().await;
        let Some(every) = self.options.refresh_interval.filter(|d| !d.is_zero()) else {
            return;
        };
        let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
        // After a slow fetch or a suspended process, wait a whole interval
        // again rather than fetching in a burst to catch up.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.refresh_now().await;
        }
    }

    /// Spawns [`Self::run`] on the current Tokio runtime. The task lives
    /// until the returned [`JwksTask`] is stopped or dropped, so a server
    /// ties it to its own lifetime by holding it.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use shared_claims::{jwks::{JwksClient, JwksOptions}, KeyStore};
    /// # #[tokio::main] async fn main() {
    /// let client = Arc::new(JwksClient::new("http://127.0.0.1:8080/.well-known/jwks.json", KeyStore::default(), JwksOptions::default()).unwrap());
    /// let task = client.start();
    /// // ... serve ...
    /// task.stop().await;
    /// # }
    /// ```
    pub fn start(self: &Arc<Self>) -> JwksTask {
        let client = Arc::clone(self);
        JwksTask::spawn(async move { client.run().await })
    }
}

impl KeyRefresher for JwksClient {
    fn refresh(&self) -> RefreshFuture<'_> {
        Box::pin(self.refresh_rate_limited())
    }
}

/// An error and its sources on one line: reqwest's own message ("error
/// sending request") hides the cause ("Connection refused") in its sources.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

/// `url` with any password in it replaced by `***`, for logs.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_urls_hide_the_password_only() {
        assert_eq!(
            without_password("http://reader:s3cret@auth.example/jwks.json"),
            "http://reader:***@auth.example/jwks.json"
        );
        assert_eq!(
            without_password("http://auth.example/jwks.json"),
            "http://auth.example/jwks.json"
        );
    }

    #[test]
    fn an_error_chain_names_every_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let error = Outer(std::io::Error::other("Connection refused"));
        assert_eq!(error_chain(&error), "outer: Connection refused");
    }
}
