//! The client itself: one call per token and TTL, shared by concurrent callers.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use tokio::sync::OnceCell;

use super::cache::{self, AnswerCache, TokenHash};
use super::{
    Introspection, IntrospectionError, IntrospectionObserver, IntrospectionOptions,
    MAX_RESPONSE_BYTES,
};

type Outcome = Result<Introspection, IntrospectionError>;
type Flights = Mutex<HashMap<TokenHash, Arc<OnceCell<Outcome>>>>;

/// Asks an RFC 7662 introspection endpoint about tokens, authenticating
/// with `client_secret_basic` (RFC 6749 §2.3.1: id and secret each
/// form-url-encoded, then joined for HTTP Basic). Answers are cached by a
/// hash of the token; concurrent checks of one uncached token share one call.
///
/// ```
/// use shared_claims::introspection::{IntrospectionClient, IntrospectionOptions};
///
/// let client = IntrospectionClient::new(
///     "http://127.0.0.1:8080/oauth/introspect",
///     "resource-server",
///     "s3cret",
///     IntrospectionOptions::default(),
/// )
/// .unwrap();
/// assert!(!format!("{client:?}").contains("s3cret"));
/// ```
pub struct IntrospectionClient {
    http: reqwest::Client,
    url: String,
    /// `url` as logs show it: without a password.
    logged_url: String,
    client_id: String,
    /// The id and secret as Basic carries them (form-url-encoded).
    basic_id: String,
    basic_secret: String,
    options: IntrospectionOptions,
    cache: AnswerCache,
    flights: Flights,
    observer: Option<Box<dyn IntrospectionObserver>>,
}

impl fmt::Debug for IntrospectionClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionClient")
            .field("url", &self.logged_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("options", &self.options)
            .field("cached", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl IntrospectionClient {
    /// A client of the endpoint at `url`, authenticating as `client_id`
    /// with `client_secret`. Fails only if the HTTP client cannot be built.
    ///
    /// ```
    /// # use shared_claims::introspection::{IntrospectionClient, IntrospectionOptions};
    /// let client = IntrospectionClient::new("http://127.0.0.1:8080/oauth/introspect", "id", "secret", IntrospectionOptions::default());
    /// assert!(client.is_ok());
    /// ```
    pub fn new(
        url: &str,
        client_id: &str,
        client_secret: &str,
        options: IntrospectionOptions,
    ) -> Result<Self, reqwest::Error> {
        let user_agent = options
            .user_agent
            .clone()
            .unwrap_or_else(|| concat!("shared-claims/", env!("CARGO_PKG_VERSION")).to_owned());
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .user_agent(user_agent)
            // Checks may come from several actix workers, each on its own
            // runtime; a pooled connection belongs to the runtime that
            // opened it, so keep none.
            .pool_max_idle_per_host(0)
            .build()?;
        let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
        Ok(Self {
            http,
            url: url.to_owned(),
            logged_url: without_password(url),
            client_id: client_id.to_owned(),
            basic_id: encode(client_id),
            basic_secret: encode(client_secret),
            cache: AnswerCache::new(options.cache_ttl, options.cache_capacity),
            options,
            flights: Mutex::default(),
            observer: None,
        })
    }

    /// Tells `observer` about every call from now on.
    ///
    /// ```
    /// # use shared_claims::introspection::{IntrospectionClient, IntrospectionError, IntrospectionObserver, IntrospectionOptions};
    /// struct Log;
    /// impl IntrospectionObserver for Log {
    ///     fn introspected(&self, outcome: Result<bool, &IntrospectionError>) {
    ///         println!("introspection: {outcome:?}");
    ///     }
    /// }
    /// let client = IntrospectionClient::new("http://127.0.0.1:8080/oauth/introspect", "id", "secret", IntrospectionOptions::default())
    ///     .unwrap()
    ///     .with_observer(Log);
    /// # let _ = client;
    /// ```
    pub fn with_observer(mut self, observer: impl IntrospectionObserver) -> Self {
        self.observer = Some(Box::new(observer));
        self
    }

    /// The endpoint's URL, any password in it hidden: fit for a log line.
    ///
    /// ```
    /// # use shared_claims::introspection::{IntrospectionClient, IntrospectionOptions};
    /// let client = IntrospectionClient::new("http://u:p@127.0.0.1:8080/oauth/introspect", "id", "secret", IntrospectionOptions::default()).unwrap();
    /// assert_eq!(client.logged_url(), "http://u:***@127.0.0.1:8080/oauth/introspect");
    /// ```
    pub fn logged_url(&self) -> &str {
        &self.logged_url
    }

    /// How many answers are remembered now.
    ///
    /// ```
    /// # use shared_claims::introspection::{IntrospectionClient, IntrospectionOptions};
    /// let client = IntrospectionClient::new("http://127.0.0.1:8080/oauth/introspect", "id", "secret", IntrospectionOptions::default()).unwrap();
    /// assert_eq!(client.cached_answers(), 0);
    /// ```
    pub fn cached_answers(&self) -> usize {
        self.cache.len()
    }

    /// Whether `token` is live, from the cache or by one call. An answer,
    /// `active` or not, is remembered; a failure is not, so the next check
    /// asks again. Never takes longer than [`IntrospectionOptions::timeout`].
    ///
    /// ```no_run
    /// # use shared_claims::introspection::{IntrospectionClient, IntrospectionOptions};
    /// # #[tokio::main] async fn main() {
    /// let client = IntrospectionClient::new("http://127.0.0.1:8080/oauth/introspect", "id", "secret", IntrospectionOptions::default()).unwrap();
    /// let live = client.introspect("eyJ...").await.is_ok_and(|answer| answer.active);
    /// # let _ = live;
    /// # }
    /// ```
    pub async fn introspect(&self, token: &str) -> Result<Introspection, IntrospectionError> {
        let key = cache::hash(token);
        if let Some(answer) = self.cache.get(&key, Instant::now()) {
            return Ok(answer);
        }
        let flight = Flight::join(&self.flights, key);
        let shared = flight.cell().get_or_init(|| self.call(token, key));
        match tokio::time::timeout(self.options.timeout, shared).await {
            Ok(outcome) => outcome.clone(),
            Err(_) => Err(IntrospectionError::Unreachable(format!(
                "no answer within {:?}",
                self.options.timeout
            ))),
        }
    }

    /// One call, unless a flight that just ended left its answer.
    async fn call(&self, token: &str, key: TokenHash) -> Outcome {
        if let Some(answer) = self.cache.get(&key, Instant::now()) {
            return Ok(answer);
        }
        let outcome = self.ask(token).await;
        if let Some(observer) = &self.observer {
            observer.introspected(outcome.as_ref().map(|answer| answer.active));
        }
        match &outcome {
            Ok(answer) => self
                .cache
                .insert(key, answer.clone(), Instant::now(), unix_now()),
            Err(e) => log::warn!("token introspection at {} failed: {e}", self.logged_url),
        }
        outcome
    }

    async fn ask(&self, token: &str) -> Outcome {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let mut response = self
            .http
            .post(&self.url)
            .basic_auth(&self.basic_id, Some(&self.basic_secret))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(unreachable)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(IntrospectionError::Status(response.status().as_u16()));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(IntrospectionError::Malformed(format!(
                    "larger than {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&bytes).map_err(|e| IntrospectionError::Malformed(e.to_string()))
    }
}

/// One caller's share in the call for a token. The map holds a flight while
/// someone waits on it or until it has its answer; every clone and drop of
/// its cell happens under the map's lock, so the last one out removes it,
/// and a caller that gave up (cancelled, timed out) leaves nothing behind.
struct Flight<'a> {
    flights: &'a Flights,
    key: TokenHash,
    cell: Option<Arc<OnceCell<Outcome>>>,
}

impl<'a> Flight<'a> {
    fn join(flights: &'a Flights, key: TokenHash) -> Self {
        let cell = lock(flights).entry(key).or_default().clone();
        Self {
            flights,
            key,
            cell: Some(cell),
        }
    }

    fn cell(&self) -> &OnceCell<Outcome> {
        // Set in `join`, taken only in `drop`.
        self.cell.as_deref().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        let mut flights = lock(self.flights);
        let Some(cell) = self.cell.take() else {
            return;
        };
        let ours = flights
            .get(&self.key)
            .is_some_and(|c| Arc::ptr_eq(c, &cell));
        // Two holders: the map and this caller.
        if ours && (cell.initialized() || Arc::strong_count(&cell) == 2) {
            flights.remove(&self.key);
        }
        drop(cell);
        drop(flights);
    }
}

fn lock(flights: &Flights) -> MutexGuard<'_, HashMap<TokenHash, Arc<OnceCell<Outcome>>>> {
    // The map only ever holds whole entries: a poisoned lock is still usable.
    flights.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A transport failure as text, with its causes and without the URL (which
/// may carry a password).
fn unreachable(error: reqwest::Error) -> IntrospectionError {
    let timed_out = error.is_timeout();
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if timed_out {
        text.push_str(" (timed out)");
    }
    IntrospectionError::Unreachable(text)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
