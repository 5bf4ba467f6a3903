//! Asking the issuer whether a token is still live (RFC 7662 token
//! introspection), for the few routes where a stateless check is not enough.
//!
//! A verified access token stays valid until it expires, even after its
//! session ended (logout, revocation, a password change). A route that must
//! see the end sooner asks the auth-service's `/oauth/introspect` with the
//! resource server's own client credentials. [`IntrospectionClient`] does
//! that, remembers each answer for [`IntrospectionOptions::cache_ttl`]
//! (never past the token's `exp`; keyed by a hash of the token, in a map
//! bounded by [`IntrospectionOptions::cache_capacity`]), and lets concurrent
//! requests for the same token share one call. With the `actix` feature,
//! [`crate::actix::SessionChecked`] is the extractor built on it.
//!
//! ```no_run
//! use shared_claims::introspection::{IntrospectionClient, IntrospectionOptions};
//!
//! # #[tokio::main] async fn main() {
//! let client = IntrospectionClient::new(
//!     "http://127.0.0.1:8080/oauth/introspect",
//!     "my-resource-server",
//!     "its-client-secret",
//!     IntrospectionOptions::default(),
//! )
//! .unwrap();
//! match client.introspect("eyJ...").await {
//!     Ok(answer) if answer.active => println!("live"),
//!     Ok(_) => println!("no longer live"),
//!     Err(e) => println!("cannot tell: {e}"),
//! }
//! # }
//! ```

mod cache;
mod client;

use std::time::Duration;

use serde::Deserialize;

pub use client::IntrospectionClient;

/// The largest introspection response read. An RFC 7662 answer is a few
/// hundred bytes; a bigger body is not one.
///
/// ```
/// assert_eq!(shared_claims::introspection::MAX_RESPONSE_BYTES, 64 * 1024);
/// ```
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// How an [`IntrospectionClient`] asks and remembers.
///
/// ```
/// use std::time::Duration;
/// use shared_claims::introspection::IntrospectionOptions;
///
/// let options = IntrospectionOptions { cache_ttl: Duration::from_secs(5), ..IntrospectionOptions::default() };
/// assert!(options.timeout < Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct IntrospectionOptions {
    /// How long an answer is remembered (never past the token's `exp`).
    /// Zero: every check asks. A session that ends is seen within this time.
    pub cache_ttl: Duration,
    /// How many answers are remembered at most; when full, the oldest goes.
    pub cache_capacity: usize,
    /// Limit on one check, connection to last byte, waiting for a call
    /// another request started included. Keep it under the time clients wait.
    pub timeout: Duration,
    /// The `User-Agent` of the calls; `shared-claims/<version>` if `None`.
    pub user_agent: Option<String>,
}

impl Default for IntrospectionOptions {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(10),
            cache_capacity: 10_000,
            timeout: Duration::from_secs(3),
            user_agent: None,
        }
    }
}

/// An RFC 7662 §2.2 answer: whether the token is live, and what the issuer
/// says of it. Members other than `active` are present only for a live token.
///
/// ```
/// use shared_claims::introspection::Introspection;
///
/// let answer: Introspection = serde_json::from_str(r#"{"active": false}"#).unwrap();
/// assert!(!answer.active);
/// let answer: Introspection =
///     serde_json::from_str(r#"{"active": true, "sub": "u1", "sid": "s1", "exp": 1700000000}"#).unwrap();
/// assert_eq!(answer.sid.as_deref(), Some("s1"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Introspection {
    /// Whether the token is live: validly signed, unexpired, and its session
    /// (or a service token's client) still there.
    pub active: bool,
    /// `Bearer`, `DPoP` or `refresh_token`.
    #[serde(default)]
    pub token_type: Option<String>,
    /// The client the token was issued to.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The user, or a service token's client.
    #[serde(default)]
    pub sub: Option<String>,
    /// The session.
    #[serde(default)]
    pub sid: Option<String>,
    /// When the token expires, Unix seconds.
    #[serde(default)]
    pub exp: Option<i64>,
    /// The token's unique id.
    #[serde(default)]
    pub jti: Option<String>,
}

/// Why a check could not be answered. The token is neither live nor dead
/// then: a server answers that it cannot tell (503), never that it is valid.
///
/// ```
/// use shared_claims::introspection::IntrospectionError;
/// assert_eq!(IntrospectionError::Status(500).to_string(), "the introspection endpoint answered 500");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntrospectionError {
    /// No connection, a timeout, or a broken response; the text says which.
    #[error("the introspection endpoint could not be asked: {0}")]
    Unreachable(String),
    /// The endpoint answered, but not 200 (401: the credentials are refused).
    #[error("the introspection endpoint answered {0}")]
    Status(u16),
    /// The body is not an RFC 7662 answer.
    #[error("the introspection response is not an RFC 7662 answer: {0}")]
    Malformed(String),
}

/// Told about every call an [`IntrospectionClient`] makes (answers from the
/// cache are not calls), e.g. to count them in a server's metrics.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use shared_claims::introspection::{IntrospectionError, IntrospectionObserver};
///
/// #[derive(Default)]
/// struct Calls(AtomicUsize);
///
/// impl IntrospectionObserver for Calls {
///     fn introspected(&self, _outcome: Result<bool, &IntrospectionError>) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// ```
pub trait IntrospectionObserver: Send + Sync + 'static {
    /// A call ended: with whether the token is active, or why there is no answer.
    ///
    /// ```
    /// use shared_claims::introspection::{IntrospectionError, IntrospectionObserver};
    ///
    /// struct Print;
    /// impl IntrospectionObserver for Print {
    ///     fn introspected(&self, outcome: Result<bool, &IntrospectionError>) {
    ///         println!("introspection: {outcome:?}");
    ///     }
    /// }
    /// Print.introspected(Ok(true));
    /// ```
    fn introspected(&self, outcome: Result<bool, &IntrospectionError>);
}
