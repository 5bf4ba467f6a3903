use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use ed25519_dalek::VerifyingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::DecodingKey;

/// The public keys a verifier trusts, by key id (`kid`).
///
/// Only Ed25519 keys with a `kid` are taken from a JWKS: a verifier that
/// accepts only EdDSA has no use for the others, and keeping them out means an
/// HMAC key can never be confused with a public key.
///
/// ```
/// use shared_claims::KeySet;
///
/// let jwks = r#"{"keys":[
///   {"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA","use":"sig",
///    "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///   {"kty":"oct","kid":"h1","k":"c2VjcmV0"}
/// ]}"#;
/// let keys = KeySet::from_jwks_json(jwks).unwrap();
/// assert!(keys.contains("k1"));
/// assert!(!keys.contains("h1"));
/// assert_eq!(keys.len(), 1);
/// ```
#[derive(Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, TrustedKey>,
}

/// One trusted Ed25519 public key, as jsonwebtoken takes it and decompressed.
#[derive(Clone)]
pub(crate) struct TrustedKey {
    pub(crate) decoding: DecodingKey,
    /// Decompressed once here rather than by jsonwebtoken on every
    /// verification (see `crypto/mod.rs`). `None`: the bytes are not a point on
    /// the curve, and every signature under this id is bad.
    pub(crate) decompressed: Option<VerifyingKey>,
}

impl TrustedKey {
    fn ed25519(public_key: &[u8; 32]) -> Self {
        Self {
            decoding: DecodingKey::from_ed_der(public_key),
            decompressed: VerifyingKey::from_bytes(public_key).ok(),
        }
    }
}

impl KeySet {
    /// An empty key set: every token fails with [`VerifyError::UnknownKey`](crate::VerifyError::UnknownKey).
    ///
    /// ```
    /// assert!(shared_claims::KeySet::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The Ed25519 keys of a parsed JWKS.
    ///
    /// ```
    /// use jsonwebtoken::jwk::JwkSet;
    /// let set: JwkSet = serde_json::from_str(r#"{"keys":[]}"#).unwrap();
    /// assert!(shared_claims::KeySet::from_jwks(&set).is_empty());
    /// ```
    pub fn from_jwks(jwks: &JwkSet) -> Self {
        let keys = jwks
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                match &jwk.algorithm {
                    AlgorithmParameters::OctetKeyPair(okp)
                        if okp.curve == EllipticCurve::Ed25519 =>
                    {
                        // A raw Ed25519 public key is 32 bytes; anything else
                        // could never verify a signature.
                        let key = DecodingKey::from_ed_components(&okp.x).ok()?;
                        let bytes: &[u8; 32] = key.try_get_as_bytes().ok()?.try_into().ok()?;
                        Some((kid, TrustedKey::ed25519(bytes)))
                    }
                    _ => None,
                }
            })
            .collect();
        Self { keys }
    }

    /// Parses a JWKS document (`{"keys": [...]}`) and keeps its Ed25519 keys.
    ///
    /// ```
    /// assert!(shared_claims::KeySet::from_jwks_json("not json").is_err());
    /// ```
    pub fn from_jwks_json(json: &str) -> Result<Self, serde_json::Error> {
        let jwks: JwkSet = serde_json::from_str(json)?;
        Ok(Self::from_jwks(&jwks))
    }

    /// Adds a raw Ed25519 public key under `kid`. Bytes that are not a point
    /// on the curve are kept under their id, and every signature checked
    /// against them is bad.
    ///
    /// ```
    /// let mut keys = shared_claims::KeySet::new();
    /// keys.insert_ed25519("k1", &[7u8; 32]);
    /// assert!(keys.contains("k1"));
    /// ```
    pub fn insert_ed25519(&mut self, kid: impl Into<String>, public_key: &[u8; 32]) {
        self.keys
            .insert(kid.into(), TrustedKey::ed25519(public_key));
    }

    /// The key with this id, if it is trusted.
    pub(crate) fn get(&self, kid: &str) -> Option<&TrustedKey> {
        self.keys.get(kid)
    }

    /// The key and its id when the set holds exactly one.
    pub(crate) fn only(&self) -> Option<(&str, &TrustedKey)> {
        let mut keys = self.keys.iter();
        match (keys.next(), keys.next()) {
            (Some((kid, key)), None) => Some((kid, key)),
            _ => None,
        }
    }

    /// Whether a key with this id is trusted.
    ///
    /// ```
    /// assert!(!shared_claims::KeySet::new().contains("k1"));
    /// ```
    pub fn contains(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// How many keys are trusted.
    ///
    /// ```
    /// assert_eq!(shared_claims::KeySet::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is trusted.
    ///
    /// ```
    /// assert!(shared_claims::KeySet::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The ids of the trusted keys, in no particular order.
    ///
    /// ```
    /// let mut keys = shared_claims::KeySet::new();
    /// keys.insert_ed25519("k1", &[7u8; 32]);
    /// assert_eq!(keys.kids().collect::<Vec<_>>(), ["k1"]);
    /// ```
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A [`KeySet`] shared between the verifying requests and whatever refreshes it.
///
/// Readers take a cheap snapshot; a refresh swaps in a whole new set, so a
/// request never sees a half-updated one.
///
/// ```
/// use shared_claims::{KeySet, KeyStore};
///
/// let store = KeyStore::default();
/// assert!(store.snapshot().is_empty());
/// let mut keys = KeySet::new();
/// keys.insert_ed25519("k1", &[7u8; 32]);
/// store.replace(keys);
/// assert!(store.snapshot().contains("k1"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeyStore {
    current: Arc<RwLock<Arc<KeySet>>>,
}

impl KeyStore {
    /// A store holding `keys`.
    ///
    /// ```
    /// let store = shared_claims::KeyStore::new(shared_claims::KeySet::new());
    /// assert_eq!(store.snapshot().len(), 0);
    /// ```
    pub fn new(keys: KeySet) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(keys))),
        }
    }

    /// The keys as they are now.
    ///
    /// ```
    /// assert!(shared_claims::KeyStore::default().snapshot().is_empty());
    /// ```
    pub fn snapshot(&self) -> Arc<KeySet> {
        // A poisoned lock only means a writer panicked between two whole
        // assignments; the value inside is still a complete key set.
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the keys.
    ///
    /// ```
    /// let store = shared_claims::KeyStore::default();
    /// store.replace(shared_claims::KeySet::new());
    /// ```
    pub fn replace(&self, keys: KeySet) {
        let keys = Arc::new(keys);
        match self.current.write() {
            Ok(mut guard) => *guard = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }
}
