//! DPoP proofs (RFC 9449): what binds a token to a key pair of the client's,
//! so that a stolen token is useless without the private key.
//!
//! Framework-free: a [`ProofVerifier`] checks the `DPoP` header value of one
//! request against what the server knows of that request ([`ProofRequest`]),
//! and returns the thumbprint of the key that signed it, which a bound
//! token names in `cnf.jkt`.
//!
//! ```
//! use shared_claims::dpop::{DpopError, ProofRequest, ProofVerifier, PublicUrl, ReplayCache};
//!
//! let verifier = ProofVerifier::new(PublicUrl::parse("https://api.example").unwrap(), ReplayCache::new(1024));
//! let request = ProofRequest { method: "GET", path: "/api/me", access_token: Some("eyJ..."), jkt: None, now: 1_700_000_000 };
//! assert_eq!(verifier.verify("not-a-proof", &request).unwrap_err(), DpopError::Malformed);
//! ```

mod error;
mod keys;
mod proof;
mod replay;
mod target;

pub use error::DpopError;
use keys::{KeyCache, PreparedKey};
pub use replay::{ReplayCache, DEFAULT_REPLAY_CAPACITY};
pub use target::{PublicUrl, PublicUrlError};

/// The proof algorithms accepted, as the `algs` parameter of a `DPoP`
/// challenge and `dpop_signing_alg_values_supported` (RFC 9449 §5.1) name them.
///
/// ```
/// assert_eq!(shared_claims::dpop::ALGORITHMS, ["ES256", "EdDSA"]);
/// ```
pub const ALGORITHMS: [&str; 2] = ["ES256", "EdDSA"];

/// The header's `typ` of a proof (RFC 9449 §4.2).
///
/// ```
/// assert_eq!(shared_claims::dpop::PROOF_TYPE, "dpop+jwt");
/// ```
pub const PROOF_TYPE: &str = "dpop+jwt";

/// The longest `DPoP` header value looked at. A proof with an `ES256` key
/// is about 600 bytes; anything past this is refused before parsing.
///
/// ```
/// assert_eq!(shared_claims::dpop::MAX_PROOF_LEN, 4096);
/// ```
pub const MAX_PROOF_LEN: usize = 4096;

/// The longest `jti` accepted. RFC 9449 §4.2 asks for 96 random bits or
/// more; a UUID is 36 characters.
///
/// ```
/// assert_eq!(shared_claims::dpop::MAX_JTI_LEN, 128);
/// ```
pub const MAX_JTI_LEN: usize = 128;

/// How far a proof's `iat` may be from the server's clock, either way, in
/// seconds. A `jti` is remembered that long after its `iat`.
///
/// ```
/// assert_eq!(shared_claims::dpop::IAT_WINDOW, 60);
/// ```
pub const IAT_WINDOW: i64 = 60;

/// What the server knows of the request a proof came with.
///
/// ```
/// let request = shared_claims::dpop::ProofRequest {
///     method: "POST",
///     path: "/oauth/token",
///     access_token: None,
///     jkt: None,
///     now: 1_700_000_000,
/// };
/// # let _ = request;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    /// The request's method; `htm` must equal it.
    pub method: &'a str,
    /// The request's path as it arrived; `htu` must be the server's
    /// [`PublicUrl`] followed by it.
    pub path: &'a str,
    /// The access token presented with the proof, if any: then `ath` is
    /// required and must be its hash (at a resource server).
    pub access_token: Option<&'a str>,
    /// The thumbprint the proof's key must have, if the token or session is
    /// already bound: checked before the `jti` is recorded.
    pub jkt: Option<&'a str>,
    /// The server's clock, seconds since the Unix epoch.
    pub now: i64,
}

/// A proof that passed every check.
///
/// ```
/// # use shared_claims::dpop::VerifiedProof;
/// fn bind(proof: &VerifiedProof) -> serde_json::Value {
///     serde_json::json!({ "jkt": proof.jkt() })
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    jkt: String,
    iat: i64,
}

impl VerifiedProof {
    /// The RFC 7638 SHA-256 thumbprint of the proof's key, base64url: the
    /// `cnf.jkt` of tokens bound to it.
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// The proof's `iat`, seconds since the Unix epoch.
    pub fn iat(&self) -> i64 {
        self.iat
    }

    /// Takes the thumbprint.
    pub fn into_jkt(self) -> String {
        self.jkt
    }
}

/// Checks `DPoP` proofs for one server: its public URL, its replay cache,
/// and the keys of the proofs it saw lately.
///
/// Clones share the replay cache, so every worker of an instance (and, at
/// the auth-service, the token endpoint and the protected routes) accepts a
/// `jti` once. They share the key cache too: a client's header (its `typ`,
/// `alg` and `jwk`) is the same in every proof, so what follows from it
/// alone (the header's checks, the key's thumbprint, its curve point parsed)
/// is worked out once per key and kept for up to 1,024 keys, oldest
/// forgotten first. Each proof's signature and claims are checked every time.
///
/// ```
/// use shared_claims::dpop::{ProofVerifier, PublicUrl, ReplayCache};
///
/// let verifier = ProofVerifier::new(PublicUrl::parse("http://127.0.0.1:8081").unwrap(), ReplayCache::default());
/// assert_eq!(verifier.public_url().as_str(), "http://127.0.0.1:8081/");
/// ```
#[derive(Debug, Clone)]
pub struct ProofVerifier {
    public_url: PublicUrl,
    replay: ReplayCache,
    keys: KeyCache,
}

impl ProofVerifier {
    /// A verifier for proofs addressed to `public_url`, remembering `jti`s in `replay`.
    ///
    /// ```
    /// # use shared_claims::dpop::{ProofVerifier, PublicUrl, ReplayCache};
    /// let v = ProofVerifier::new(PublicUrl::parse("https://auth.example").unwrap(), ReplayCache::new(10));
    /// assert_eq!(v.replay_cache().capacity(), 10);
    /// ```
    pub fn new(public_url: PublicUrl, replay: ReplayCache) -> Self {
        crate::install_crypto_provider();
        Self {
            public_url,
            replay,
            keys: KeyCache::default(),
        }
    }

    /// The URL `htu` is checked against.
    ///
    /// ```
    /// # use shared_claims::dpop::{ProofVerifier, PublicUrl, ReplayCache};
    /// let v = ProofVerifier::new(PublicUrl::parse("https://auth.example").unwrap(), ReplayCache::new(10));
    /// assert_eq!(v.public_url().as_str(), "https://auth.example/");
    /// ```
    pub fn public_url(&self) -> &PublicUrl {
        &self.public_url
    }

    /// The `jti`s accepted so far.
    ///
    /// ```
    /// # use shared_claims::dpop::{ProofVerifier, PublicUrl, ReplayCache};
    /// let v = ProofVerifier::new(PublicUrl::parse("https://auth.example").unwrap(), ReplayCache::new(10));
    /// assert!(v.replay_cache().is_empty());
    /// ```
    pub fn replay_cache(&self) -> &ReplayCache {
        &self.replay
    }

    /// How many proof keys are kept ready (at most 1,024).
    ///
    /// ```
    /// # use shared_claims::dpop::{ProofVerifier, PublicUrl, ReplayCache};
    /// let v = ProofVerifier::new(PublicUrl::parse("https://auth.example").unwrap(), ReplayCache::new(10));
    /// assert_eq!(v.cached_keys(), 0);
    /// ```
    pub fn cached_keys(&self) -> usize {
        self.keys.len()
    }

    /// Verifies the `DPoP` header value `proof` for `request` (RFC 9449
    /// §4.3): its length, then `typ`, `alg`, a public `jwk` fitting `alg`
    /// and on its curve (or the key of this exact header, seen before),
    /// the signature by that key, `jti`, `htm`, `htu`, `iat` within
    /// [`IAT_WINDOW`], `ath` when an access token came with it, the key's
    /// thumbprint when `request.jkt` names one, and last that its `jti` was
    /// not accepted before. Only a proof that passed everything else is
    /// recorded, so refused proofs cannot fill the replay cache.
    ///
    /// ```
    /// use shared_claims::dpop::{DpopError, ProofRequest, ProofVerifier, PublicUrl, ReplayCache};
    ///
    /// let v = ProofVerifier::new(PublicUrl::parse("https://api.example").unwrap(), ReplayCache::new(10));
    /// let request = ProofRequest { method: "GET", path: "/", access_token: None, jkt: None, now: 0 };
    /// let huge = "a".repeat(10_000);
    /// assert_eq!(v.verify(&huge, &request), Err(DpopError::TooLong));
    /// ```
    pub fn verify(
        &self,
        proof: &str,
        request: &ProofRequest<'_>,
    ) -> Result<VerifiedProof, DpopError> {
        if proof.len() > MAX_PROOF_LEN {
            return Err(DpopError::TooLong);
        }
        let prepared = self
            .keys
            .get_or_prepare(proof::header_segment(proof)?, || {
                PreparedKey::prepare(proof::header_key(proof)?)
            })?;
        let claims = prepared.decode(proof)?;
        let key = &prepared.key;
        if claims.htm != request.method {
            return Err(DpopError::WrongMethod);
        }
        if !self.public_url.matches(&claims.htu, request.path) {
            return Err(DpopError::WrongUrl);
        }
        if claims.iat < request.now.saturating_sub(IAT_WINDOW) {
            return Err(DpopError::TooOld);
        }
        if claims.iat > request.now.saturating_add(IAT_WINDOW) {
            return Err(DpopError::TooNew);
        }
        if let Some(token) = request.access_token {
            let ath = claims.ath.as_deref().ok_or(DpopError::MissingAth)?;
            if ath != proof::access_token_hash(token) {
                return Err(DpopError::WrongAth);
            }
        }
        if request.jkt.is_some_and(|jkt| jkt != key.thumbprint) {
            return Err(DpopError::KeyMismatch);
        }
        self.replay.remember(
            &key.thumbprint,
            &claims.jti,
            claims.iat.saturating_add(IAT_WINDOW),
            request.now,
        )?;
        Ok(VerifiedProof {
            jkt: key.thumbprint.clone(),
            iat: claims.iat,
        })
    }
}

/// The RFC 7638 SHA-256 thumbprint (base64url) of a public JWK: `EC` on
/// `P-256` (members `crv`, `kty`, `x`, `y`) or `OKP` on `Ed25519` (`crv`,
/// `kty`, `x`). Other members are ignored; a private key is refused.
///
/// ```
/// use shared_claims::dpop::{thumbprint, DpopError};
///
/// // RFC 8037 §A.3.
/// let jwk = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
/// assert_eq!(thumbprint(jwk).unwrap(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
/// assert_eq!(thumbprint(r#"{"kty":"oct","k":"c2VjcmV0"}"#), Err(DpopError::PrivateKey));
/// ```
pub fn thumbprint(jwk: &str) -> Result<String, DpopError> {
    proof::public_jwk(jwk).map(|key| key.thumbprint)
}
