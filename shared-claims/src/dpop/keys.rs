//! The keys of proofs seen recently, ready to check signatures, keyed by
//! the proof's header segment.
//!
//! A client sends the same header with every proof (RFC 9449 §4.2 puts only
//! `typ`, `alg` and the public `jwk` in it), so what follows from the header
//! alone is worked out once per key: the checks of `typ`, `alg`, `crit` and
//! the `jwk`, the RFC 7638 thumbprint, and the curve point parsed (P-256) or
//! decompressed (Ed25519). Every proof still goes through `jsonwebtoken::decode`
//! in full: header, signature and claims.
//!
//! Entries are keyed on the SHA-256 of the whole header segment, so only
//! that exact header finds an entry: another key, another `alg` or one byte
//! changed is another entry. The cache holds a fixed number of entries and
//! forgets the oldest first: a flood of new keys costs each of them the full
//! parse (as if there were no cache) and never more memory.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use jsonwebtoken::Algorithm;
use sha2::{Digest, Sha256};

use super::proof::{decode_claims, ProofClaims, ProofKey};
use super::DpopError;
use crate::crypto::{with_lent_key, with_lent_p256_key, P256Key};

/// How many keys a proof verifier keeps ready: each entry is well under a
/// kilobyte, so the whole cache stays under a megabyte.
pub(super) const KEY_CACHE_CAPACITY: usize = 1024;

/// A proof's key, checked against its header, with the curve point ready
/// for the provider.
pub(super) struct PreparedKey {
    pub(super) key: ProofKey,
    lent: Lent,
}

/// What is lent to the crypto provider for the signature check.
enum Lent {
    P256(P256Key),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PreparedKey {
    /// Parses the point of `key`; refuses a point that is not on its curve.
    pub(super) fn prepare(key: ProofKey) -> Result<Self, DpopError> {
        let point = key
            .decoding
            .try_get_as_bytes()
            .map_err(|_| DpopError::InvalidKey)?;
        let lent = match key.algorithm {
            Algorithm::ES256 => Lent::P256(P256Key::parse(point).ok_or(DpopError::InvalidKey)?),
            Algorithm::EdDSA => {
                let bytes = point.try_into().map_err(|_| DpopError::InvalidKey)?;
                let public = ed25519_dalek::VerifyingKey::from_bytes(bytes)
                    .map_err(|_| DpopError::InvalidKey)?;
                Lent::Ed25519(public)
            }
            _ => return Err(DpopError::UnsupportedAlgorithm),
        };
        Ok(Self { key, lent })
    }

    /// `jsonwebtoken::decode` of `proof` (whose header is this key's), with
    /// this key lent to the provider so that it is not parsed again.
    pub(super) fn decode(&self, proof: &str) -> Result<ProofClaims, DpopError> {
        let decode = || decode_claims(proof, &self.key);
        match &self.lent {
            Lent::P256(point) => with_lent_p256_key(point, decode),
            Lent::Ed25519(point) => with_lent_key(Some(*point), decode),
        }
    }
}

/// The bounded cache of [`PreparedKey`]s. Clones share it.
#[derive(Clone)]
pub(super) struct KeyCache {
    inner: Arc<Mutex<Entries>>,
    capacity: usize,
}

#[derive(Default)]
struct Entries {
    keys: HashMap<[u8; 32], Arc<PreparedKey>>,
    /// The same digests, oldest first.
    order: VecDeque<[u8; 32]>,
}

impl KeyCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Entries::default())),
            capacity: capacity.max(1),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.lock().keys.len()
    }

    /// The key of the header segment `header`: the cached one, or `prepare`'s
    /// (run without the lock held), then cached. A refusal is not cached.
    pub(super) fn get_or_prepare(
        &self,
        header: &str,
        prepare: impl FnOnce() -> Result<PreparedKey, DpopError>,
    ) -> Result<Arc<PreparedKey>, DpopError> {
        let digest: [u8; 32] = Sha256::digest(header.as_bytes()).into();
        if let Some(key) = self.lock().keys.get(&digest) {
            return Ok(Arc::clone(key));
        }
        let key = Arc::new(prepare()?);
        let mut entries = self.lock();
        match entries.keys.entry(digest) {
            // Another thread prepared the same header meanwhile.
            Entry::Occupied(_) => return Ok(key),
            Entry::Vacant(slot) => {
                slot.insert(Arc::clone(&key));
            }
        }
        entries.order.push_back(digest);
        while entries.order.len() > self.capacity {
            if let Some(oldest) = entries.order.pop_front() {
                entries.keys.remove(&oldest);
            }
        }
        Ok(key)
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // Both collections are whole after every update.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::new(KEY_CACHE_CAPACITY)
    }
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::proof::public_jwk;
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    fn jwk(seed: u8) -> String {
        let public = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key();
        format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(public.as_bytes())
        )
    }

    fn prepared(seed: u8) -> Result<PreparedKey, DpopError> {
        PreparedKey::prepare(public_jwk(&jwk(seed))?)
    }

    /// Looks `header` up, preparing the key of `seed` on a miss; returns the
    /// thumbprint found and whether it was prepared for this call.
    fn look_up(cache: &KeyCache, header: &str, seed: u8) -> (String, bool) {
        let mut missed = false;
        let key = cache
            .get_or_prepare(header, || {
                missed = true;
                prepared(seed)
            })
            .expect("a key");
        (key.key.thumbprint.clone(), missed)
    }

    #[test]
    fn the_same_header_is_prepared_once() {
        let cache = KeyCache::new(8);
        let (first, missed) = look_up(&cache, "header-one", 1);
        assert!(missed);
        let (again, missed) = look_up(&cache, "header-one", 1);
        assert!(!missed);
        assert_eq!(again, first);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn another_header_never_finds_an_entry_that_is_not_its_own() {
        let cache = KeyCache::new(8);
        let segment = |alg: &str, seed: u8| {
            URL_SAFE_NO_PAD.encode(format!(
                r#"{{"typ":"dpop+jwt","alg":"{alg}","jwk":{}}}"#,
                jwk(seed)
            ))
        };
        let header = segment("EdDSA", 1);
        let (one, _) = look_up(&cache, &header, 1);

        let other_key = segment("EdDSA", 2);
        let other_alg = segment("ES256", 1);
        let mut one_byte = header.clone().into_bytes();
        one_byte[10] = if one_byte[10] == b'A' { b'B' } else { b'A' };
        let one_byte = String::from_utf8(one_byte).expect("ascii");
        for (name, different) in [
            ("other key", other_key),
            ("other alg", other_alg),
            ("one byte changed", one_byte),
            ("a prefix", header[..header.len() - 1].to_owned()),
        ] {
            let (found, missed) = look_up(&cache, &different, 2);
            assert!(missed, "{name}");
            assert_ne!(found, one, "{name}");
        }
        assert_eq!(look_up(&cache, &header, 2), (one, false));
    }

    #[test]
    fn a_refused_header_is_not_cached() {
        let cache = KeyCache::new(8);
        assert_eq!(
            cache
                .get_or_prepare("bad", || Err(DpopError::InvalidKey))
                .err(),
            Some(DpopError::InvalidKey)
        );
        assert_eq!(cache.len(), 0);
        assert!(look_up(&cache, "bad", 1).1);
    }

    #[test]
    fn many_distinct_headers_never_grow_it_past_the_capacity() {
        let cache = KeyCache::new(16);
        for i in 0..1_000 {
            look_up(&cache, &format!("header-{i}"), 1);
            assert!(cache.len() <= 16);
        }
        assert_eq!(cache.len(), 16);
        assert_eq!(cache.lock().order.len(), 16);
        // The newest stay, the oldest went first.
        assert!(!look_up(&cache, "header-999", 1).1);
        assert!(look_up(&cache, "header-0", 1).1);
    }

    #[test]
    fn a_point_off_its_curve_is_refused_when_prepared() {
        let mut key = public_jwk(
            r#"{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#,
        )
        .expect("well-formed");
        key.algorithm = Algorithm::ES256;
        assert_eq!(PreparedKey::prepare(key).err(), Some(DpopError::InvalidKey));
    }
}
