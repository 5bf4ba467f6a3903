use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{AccessClaims, AuthError, KeyStore, Verifier, VerifyError};

/// The future a [`KeyRefresher`] returns.
pub type RefreshFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Fetches the issuer's keys again when a token names a `kid` not yet known
/// (after a key rotation). Implementations must limit how often they really
/// fetch, so that forged `kid`s cannot hammer the issuer.
///
/// ```
/// use shared_claims::{KeyRefresher, RefreshFuture};
///
/// struct Never;
/// impl KeyRefresher for Never {
///     fn refresh(&self) -> RefreshFuture<'_> {
///         Box::pin(async {})
///     }
/// }
/// ```
pub trait KeyRefresher: Send + Sync + 'static {
    /// Refreshes the [`KeyStore`] this refresher was built with, if allowed now.
    fn refresh(&self) -> RefreshFuture<'_>;
}

/// What a server needs to authenticate requests: its realm, a [`Verifier`], the
/// trusted keys, and optionally a way to refetch them.
///
/// ```
/// use std::time::Duration;
/// use shared_claims::{AuthError, Authority, KeyStore, Verifier};
///
/// let authority = Authority::new(
///     "resource-service",
///     Verifier::new("http://127.0.0.1:8080", "resource-service", Duration::from_secs(30)),
///     KeyStore::default(),
/// );
/// let outcome = futures_executor_block_on(authority.authenticate(None));
/// assert_eq!(outcome, Err(AuthError::MissingToken));
/// # fn futures_executor_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone)]
pub struct Authority {
    realm: Arc<str>,
    verifier: Verifier,
    keys: KeyStore,
    refresher: Option<Arc<dyn KeyRefresher>>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("realm", &self.realm)
            .field("keys", &self.keys)
            .field("refresher", &self.refresher.is_some())
            .finish()
    }
}

impl Authority {
    /// An authority for `realm` (the service's name in `WWW-Authenticate`).
    ///
    /// ```
    /// # use shared_claims::{Authority, KeyStore, Verifier};
    /// let a = Authority::new("api", Verifier::new("iss", "aud", std::time::Duration::ZERO), KeyStore::default());
    /// assert_eq!(a.realm(), "api");
    /// ```
    pub fn new(realm: &str, verifier: Verifier, keys: KeyStore) -> Self {
        Self {
            realm: realm.into(),
            verifier,
            keys,
            refresher: None,
        }
    }

    /// Adds a refresher, asked once when a token names an unknown `kid`.
    ///
    /// ```
    /// # use shared_claims::{Authority, KeyRefresher, KeyStore, RefreshFuture, Verifier};
    /// # struct Never;
    /// # impl KeyRefresher for Never { fn refresh(&self) -> RefreshFuture<'_> { Box::pin(async {}) } }
    /// let a = Authority::new("api", Verifier::new("iss", "aud", std::time::Duration::ZERO), KeyStore::default())
    ///     .with_refresher(std::sync::Arc::new(Never));
    /// # let _ = a;
    /// ```
    pub fn with_refresher(mut self, refresher: Arc<dyn KeyRefresher>) -> Self {
        self.refresher = Some(refresher);
        self
    }

    /// The realm named in challenges.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The trusted keys.
    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// Authenticates a request from its `Authorization` header value, if any.
    ///
    /// ```
    /// # use shared_claims::{AuthError, Authority, KeyStore, Verifier, VerifyError};
    /// # let a = Authority::new("api", Verifier::new("iss", "aud", std::time::Duration::ZERO), KeyStore::default());
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let outcome = rt.block_on(a.authenticate(Some("Bearer not-a-jwt")));
    /// assert_eq!(outcome, Err(AuthError::InvalidToken(VerifyError::Malformed)));
    /// ```
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<AccessClaims, AuthError> {
        let token = bearer_token(authorization).ok_or(AuthError::MissingToken)?;
        self.verify(token).await.map_err(AuthError::InvalidToken)
    }

    /// Verifies a bare token, refetching keys once if its `kid` is unknown.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        match self.verifier.verify(token, &self.keys.snapshot()) {
            Err(VerifyError::UnknownKey(Some(_))) if self.refresher.is_some() => {
                if let Some(refresher) = &self.refresher {
                    refresher.refresh().await;
                }
                self.verifier.verify(token, &self.keys.snapshot())
            }
            outcome => outcome,
        }
    }
}

/// The token of an `Authorization: Bearer <token>` value (RFC 6750 §2.1: the
/// scheme is case-insensitive).
fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let value = authorization?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_token_is_required() {
        assert_eq!(bearer_token(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(Some("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(Some("Bearer ")), None);
        assert_eq!(bearer_token(Some("Basic abc")), None);
        assert_eq!(bearer_token(Some("abc")), None);
        assert_eq!(bearer_token(None), None);
    }
}
