//! How the client is configured, and what it tells an observer.

use std::time::Duration;

/// The largest JWKS document accepted. A JWKS holds a handful of keys;
/// anything much bigger is not one, and reading it whole would let a
/// misbehaving endpoint exhaust memory.
///
/// ```
/// assert_eq!(shared_claims::jwks::MAX_JWKS_BYTES, 256 * 1024);
/// ```
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// How a [`JwksClient`](super::JwksClient) fetches and how often it may.
///
/// ```
/// use std::time::Duration;
/// use shared_claims::jwks::JwksOptions;
///
/// let options = JwksOptions {
///     refresh_interval: Some(Duration::from_secs(60)),
///     ..JwksOptions::default()
/// };
/// assert_eq!(options.min_refresh_interval, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct JwksOptions {
    /// At most one fetch per this interval on behalf of unknown `kid`s, so a
    /// flood of forged `kid`s cannot hammer the issuer.
    pub min_refresh_interval: Duration,
    /// Limit on one whole fetch, connection to last byte.
    pub timeout: Duration,
    /// First wait between failed start-up fetches; it doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest wait between failed start-up fetches.
    pub max_backoff: Duration,
    /// Once ready, fetch again every this long, so that keys the issuer
    /// withdrew are dropped. `None` (the default) or zero: never, and a
    /// withdrawn key stays trusted until the process restarts.
    pub refresh_interval: Option<Duration>,
    /// The `User-Agent` of the fetches; `shared-claims/<version>` if `None`.
    pub user_agent: Option<String>,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            min_refresh_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(3),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            refresh_interval: None,
            user_agent: None,
        }
    }
}

/// Why a [`JwksClient`](super::JwksClient) fetched.
///
/// ```
/// assert_eq!(shared_claims::jwks::FetchKind::Refetch.as_str(), "refetch");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FetchKind {
    /// The start-up fetch (and its retries) that makes the client ready.
    Initial,
    /// A refetch for a token whose `kid` is not held.
    Refetch,
    /// A scheduled refetch ([`JwksOptions::refresh_interval`]).
    Periodic,
}

impl FetchKind {
    /// Every kind, for observers that set up one series per kind ahead of time.
    ///
    /// ```
    /// assert_eq!(shared_claims::jwks::FetchKind::ALL.len(), 3);
    /// ```
    pub const ALL: [FetchKind; 3] = [FetchKind::Initial, FetchKind::Refetch, FetchKind::Periodic];

    /// A short lower-case name, fit for a metric label.
    ///
    /// ```
    /// assert_eq!(shared_claims::jwks::FetchKind::Periodic.as_str(), "periodic");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            FetchKind::Initial => "initial",
            FetchKind::Refetch => "refetch",
            FetchKind::Periodic => "periodic",
        }
    }
}

/// Why a fetch brought no keys.
///
/// ```
/// use shared_claims::jwks::FetchError;
/// assert_eq!(FetchError::NoKeys.to_string(), "the JWKS holds no Ed25519 key with a kid");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No connection, a timeout, or a broken response. The cause is in the
    /// error's sources.
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

/// Told about every fetch a [`JwksClient`](super::JwksClient) makes, e.g. to count them in a
/// server's metrics. Called after the fetch, before the next one starts.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use shared_claims::jwks::{FetchError, FetchKind, JwksObserver};
///
/// #[derive(Default)]
/// struct FailedFetches(AtomicUsize);
///
/// impl JwksObserver for FailedFetches {
///     fn fetched(&self, _kind: FetchKind, outcome: Result<usize, &FetchError>) {
///         if outcome.is_err() {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// ```
pub trait JwksObserver: Send + Sync + 'static {
    /// A fetch of `kind` ended: with the number of keys now held, or why it
    /// brought none (the keys held then stay).
    ///
    /// ```
    /// use shared_claims::jwks::{FetchError, FetchKind, JwksObserver};
    ///
    /// struct Print;
    /// impl JwksObserver for Print {
    ///     fn fetched(&self, kind: FetchKind, outcome: Result<usize, &FetchError>) {
    ///         match outcome {
    ///             Ok(keys) => println!("{} fetch: {keys} key(s)", kind.as_str()),
    ///             Err(e) => println!("{} fetch failed: {e}", kind.as_str()),
    ///         }
    ///     }
    /// }
    /// Print.fetched(FetchKind::Initial, Ok(2));
    /// Print.fetched(FetchKind::Refetch, Err(&FetchError::NoKeys));
    /// ```
    fn fetched(&self, kind: FetchKind, outcome: Result<usize, &FetchError>);
}
