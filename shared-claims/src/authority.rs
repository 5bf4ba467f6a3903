use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::cache::{Verified, VerifiedTokens};
use crate::dpop::{DpopError, ProofRequest, ProofVerifier};
use crate::scheme::{scheme_and_token, Scheme};
use crate::{AccessClaims, AuthError, KeyStore, SchemeError, Verifier, VerifyError};

/// How many verified tokens an [`Authority`] remembers by default: enough for
/// every active client of a busy instance, about 1 KB each.
///
/// ```
/// assert_eq!(shared_claims::DEFAULT_CACHE_CAPACITY, 1024);
/// ```
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

/// The future a [`KeyRefresher`] returns.
///
/// ```
/// let done: shared_claims::RefreshFuture<'static> = Box::pin(async {});
/// # let _ = done;
/// ```
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
    verified: Arc<VerifiedTokens>,
    proofs: Option<ProofVerifier>,
}

/// What authenticates one request: its `Authorization` and `DPoP` header
/// values, and the method and path a DPoP proof must name.
///
/// ```
/// let request = shared_claims::Credentials {
///     authorization: Some("DPoP eyJ..."),
///     dpop: Some("eyJ..."),
///     method: "GET",
///     path: "/api/me",
/// };
/// # let _ = request;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// The `Authorization` header value, if any.
    pub authorization: Option<&'a str>,
    /// The `DPoP` header value, if any (a request with several is refused
    /// before it gets here).
    pub dpop: Option<&'a str>,
    /// The request's method.
    pub method: &'a str,
    /// The request's path as it arrived (percent-encoded, without query).
    pub path: &'a str,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("realm", &self.realm)
            .field("keys", &self.keys)
            .field("refresher", &self.refresher.is_some())
            .field("proofs", &self.proofs)
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
            verified: Arc::new(VerifiedTokens::new(DEFAULT_CACHE_CAPACITY)),
            proofs: None,
        }
    }

    /// Accepts DPoP-bound tokens, with proofs checked by `proofs` (its
    /// public URL is the `htu` base, its replay cache is shared by every
    /// clone). Without it, a bound token is refused.
    ///
    /// ```
    /// # use shared_claims::{Authority, KeyStore, Verifier};
    /// use shared_claims::dpop::{ProofVerifier, PublicUrl, ReplayCache};
    ///
    /// let proofs = ProofVerifier::new(PublicUrl::parse("http://127.0.0.1:8081").unwrap(), ReplayCache::default());
    /// let a = Authority::new("api", Verifier::new("iss", "aud", std::time::Duration::ZERO), KeyStore::default())
    ///     .with_dpop(proofs);
    /// assert!(a.proofs().is_some());
    /// ```
    pub fn with_dpop(mut self, proofs: ProofVerifier) -> Self {
        self.proofs = Some(proofs);
        self
    }

    /// The DPoP proof verifier, if bound tokens are accepted.
    ///
    /// ```
    /// # use shared_claims::{Authority, KeyStore, Verifier};
    /// let a = Authority::new("api", Verifier::new("iss", "aud", std::time::Duration::ZERO), KeyStore::default());
    /// assert!(a.proofs().is_none());
    /// ```
    pub fn proofs(&self) -> Option<&ProofVerifier> {
        self.proofs.as_ref()
    }

    /// Remembers at most `capacity` verified tokens (0 turns the cache off).
    /// See [`Authority::verify`] for what a remembered token still goes through.
    ///
    /// ```
    /// # use shared_claims::{Authority, KeyStore, Verifier};
    /// let a = Authority::new("api", Verifier::new("iss", "aud", std::time::Duration::ZERO), KeyStore::default())
    ///     .with_cache_capacity(0);
    /// assert_eq!(a.cached_tokens(), 0);
    /// ```
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.verified = Arc::new(VerifiedTokens::new(capacity));
        self
    }

    /// How many verified tokens are remembered now.
    ///
    /// ```
    /// # use shared_claims::{Authority, KeyStore, Verifier};
    /// let a = Authority::new("api", Verifier::new("iss", "aud", std::time::Duration::ZERO), KeyStore::default());
    /// assert_eq!(a.cached_tokens(), 0);
    /// ```
    pub fn cached_tokens(&self) -> usize {
        self.verified.len()
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
    ///
    /// ```
    /// # use shared_claims::{Authority, KeyStore, Verifier};
    /// let a = Authority::new("api", Verifier::new("iss", "aud", std::time::Duration::ZERO), KeyStore::default());
    /// assert_eq!(a.realm(), "api");
    /// ```
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The trusted keys.
    ///
    /// ```
    /// # use shared_claims::{Authority, KeySet, KeyStore, Verifier};
    /// let store = KeyStore::default();
    /// let a = Authority::new("api", Verifier::new("iss", "aud", std::time::Duration::ZERO), store.clone());
    /// let mut keys = KeySet::new();
    /// keys.insert_ed25519("k1", &[7u8; 32]);
    /// store.replace(keys);
    /// assert!(a.keys().snapshot().contains("k1"));
    /// ```
    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// Authenticates a request from its `Authorization` header value, if
    /// any, with no DPoP proof: an unbound token under `Bearer`. A bound
    /// token is refused; [`Self::authenticate_request`] takes its proof.
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
        self.authenticate_request(&Credentials {
            authorization,
            ..Credentials::default()
        })
        .await
    }

    /// Authenticates a request (API.md §4, §7): an unbound token under
    /// `Authorization: Bearer`, or a token bound by `cnf.jkt` under
    /// `Authorization: DPoP` with a `DPoP` proof by that key, for this
    /// method and path, carrying the token's hash. A bound token under
    /// `Bearer`, an unbound one under `DPoP`, or a missing or invalid proof
    /// is refused.
    ///
    /// ```
    /// # use shared_claims::{AuthError, Authority, Credentials, KeyStore, Verifier};
    /// # let a = Authority::new("api", Verifier::new("iss", "aud", std::time::Duration::ZERO), KeyStore::default());
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let request = Credentials { authorization: None, dpop: Some("eyJ..."), method: "GET", path: "/" };
    /// assert_eq!(rt.block_on(a.authenticate_request(&request)), Err(AuthError::MissingToken));
    /// ```
    pub async fn authenticate_request(
        &self,
        request: &Credentials<'_>,
    ) -> Result<AccessClaims, AuthError> {
        self.authenticate_shared(request)
            .await
            .map(Arc::unwrap_or_clone)
    }

    /// [`Self::authenticate_request`], with the claims shared with the cache.
    pub(crate) async fn authenticate_shared(
        &self,
        request: &Credentials<'_>,
    ) -> Result<Arc<AccessClaims>, AuthError> {
        let (scheme, token) =
            scheme_and_token(request.authorization).ok_or(AuthError::MissingToken)?;
        let claims = self
            .verify_shared(token)
            .await
            .map_err(AuthError::InvalidToken)?;
        self.check_binding(scheme, token, claims, request)
    }

    /// [`Self::authenticate_request`] without waiting, which it needs only
    /// to ask the refresher for a `kid` not held yet: then `None`, and the
    /// caller takes the asynchronous path. A server can then answer the
    /// usual request without copying its headers into a boxed future.
    #[cfg(feature = "actix")]
    pub(crate) fn authenticate_now(
        &self,
        request: &Credentials<'_>,
    ) -> Option<Result<Arc<AccessClaims>, AuthError>> {
        let Some((scheme, token)) = scheme_and_token(request.authorization) else {
            return Some(Err(AuthError::MissingToken));
        };
        match self.verify_with_held_keys(token) {
            Err(VerifyError::UnknownKey(Some(_))) if self.refresher.is_some() => None,
            Err(e) => Some(Err(AuthError::InvalidToken(e))),
            Ok(claims) => Some(self.check_binding(scheme, token, claims, request)),
        }
    }

    /// Whether the scheme fits the token (`cnf` under `DPoP` only), and for
    /// a bound token, its proof.
    fn check_binding(
        &self,
        scheme: Scheme,
        token: &str,
        claims: Arc<AccessClaims>,
        request: &Credentials<'_>,
    ) -> Result<Arc<AccessClaims>, AuthError> {
        match (scheme, &claims.cnf) {
            (Scheme::Bearer, None) => Ok(claims),
            (Scheme::Bearer, Some(_)) => {
                Err(AuthError::WrongScheme(SchemeError::BoundTokenAsBearer))
            }
            (Scheme::Dpop, None) => Err(AuthError::WrongScheme(SchemeError::UnboundTokenAsDpop)),
            (Scheme::Dpop, Some(cnf)) => {
                let proofs = self
                    .proofs
                    .as_ref()
                    .ok_or(AuthError::WrongScheme(SchemeError::DpopNotAccepted))?;
                let proof = request
                    .dpop
                    .ok_or(AuthError::InvalidDpopProof(DpopError::Missing))?;
                let expected = ProofRequest {
                    method: request.method,
                    path: request.path,
                    access_token: Some(token),
                    jkt: Some(&cnf.jkt),
                    now: unix_now(),
                };
                proofs
                    .verify(proof, &expected)
                    .map_err(AuthError::InvalidDpopProof)?;
                Ok(claims)
            }
        }
    }

    /// Verifies a bare token, refetching keys once if its `kid` is unknown.
    ///
    /// A token verified before is recognised by its exact bytes and skips the
    /// signature check, but its `exp` and `nbf` are checked again, and its
    /// key must still be trusted (a key dropped from the JWKS takes its
    /// tokens with it).
    ///
    /// ```
    /// # use shared_claims::{Authority, KeyStore, Verifier, VerifyError};
    /// # let a = Authority::new("api", Verifier::new("iss", "aud", std::time::Duration::ZERO), KeyStore::default());
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let outcome = rt.block_on(a.verify("not-a-jwt"));
    /// assert_eq!(outcome, Err(VerifyError::Malformed));
    /// ```
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        self.verify_shared(token).await.map(Arc::unwrap_or_clone)
    }

    async fn verify_shared(&self, token: &str) -> Result<Arc<AccessClaims>, VerifyError> {
        match self.verify_with_held_keys(token) {
            Err(VerifyError::UnknownKey(Some(_))) if self.refresher.is_some() => {
                if let Some(refresher) = &self.refresher {
                    refresher.refresh().await;
                }
                self.verify_with_held_keys(token)
            }
            outcome => outcome,
        }
    }

    /// The cache, else the signature, against the keys held now.
    fn verify_with_held_keys(&self, token: &str) -> Result<Arc<AccessClaims>, VerifyError> {
        let keys = self.keys.snapshot();
        if let Some(hit) = self.verified.get(token) {
            if keys.contains(&hit.kid) {
                self.verifier.check_times(&hit.claims, unix_now())?;
                return Ok(hit.claims);
            }
            self.verified.remove(token);
        }
        let (claims, kid) = self.verifier.verify_with_kid(token, &keys)?;
        let claims = Arc::new(claims);
        self.verified.insert(
            token,
            Verified {
                claims: Arc::clone(&claims),
                kid: kid.into(),
            },
        );
        Ok(claims)
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
