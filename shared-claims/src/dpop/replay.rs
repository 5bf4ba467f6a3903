//! The `jti` replay cache (RFC 9449 §11.1).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sha2::{Digest, Sha256};

use super::DpopError;

/// How many proofs a [`ReplayCache`] remembers by default: with honest
/// clients an entry lives about [`IAT_WINDOW`](super::IAT_WINDOW), so this
/// holds over 1,600 proofs a second, in at most 6.5 MB: each entry is 16
/// bytes in the set and 32 in the expiry heap, in tables that grow by
/// doubling (131,072 slots each at this capacity, 6.1 MiB together).
/// `bench/run` floods a resource-service with more distinct `jti`s than
/// this and checks its peak RSS against that bound.
///
/// ```
/// assert_eq!(shared_claims::dpop::DEFAULT_REPLAY_CAPACITY, 100_000);
/// ```
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// The proofs accepted recently, so that each `jti` is accepted once.
///
/// A value the application owns (clones share one cache), never a
/// process-wide one: two servers in one process remember separately.
/// An entry is kept until its proof's `iat` is more than
/// [`IAT_WINDOW`](super::IAT_WINDOW) old, when the proof would be refused
/// as too old anyway. Entries are keyed on a 128-bit hash of the key's
/// thumbprint and the `jti`, so each costs the same few dozen bytes however
/// long the `jti`.
///
/// Memory is bounded by the capacity. When the cache is full, expired
/// entries go first; if none has expired, the new proof is refused
/// ([`DpopError::ReplayCacheFull`]) rather than an unexpired entry evicted:
/// evicting would let a proof captured within its window be replayed, so a
/// flood of distinct `jti`s costs availability for a minute at most, never
/// the replay protection.
///
/// ```
/// use shared_claims::dpop::ReplayCache;
///
/// let cache = ReplayCache::new(2);
/// assert!(cache.is_empty());
/// let other = cache.clone();
/// # let _ = other;
/// ```
#[derive(Clone)]
pub struct ReplayCache {
    inner: Arc<Mutex<Seen>>,
    capacity: usize,
}

#[derive(Default)]
struct Seen {
    ids: HashSet<u128>,
    /// The same entries, soonest expiry first.
    expiries: BinaryHeap<Reverse<(i64, u128)>>,
}

impl ReplayCache {
    /// A cache holding at most `capacity` unexpired proofs.
    ///
    /// ```
    /// let cache = shared_claims::dpop::ReplayCache::new(1024);
    /// assert_eq!(cache.capacity(), 1024);
    /// ```
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Seen::default())),
            capacity,
        }
    }

    /// The most proofs it holds at once.
    ///
    /// ```
    /// assert_eq!(shared_claims::dpop::ReplayCache::default().capacity(), 100_000);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many proofs it holds now (expired ones included until they are
    /// swept, at the next proof accepted).
    ///
    /// ```
    /// assert_eq!(shared_claims::dpop::ReplayCache::new(8).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().ids.len()
    }

    /// Whether it holds no proof.
    ///
    /// ```
    /// assert!(shared_claims::dpop::ReplayCache::new(8).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records `jti` of a proof by the key `jkt`, kept until `expires_at`;
    /// refuses it if it was recorded before, or if the cache is full.
    pub(crate) fn remember(
        &self,
        jkt: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), DpopError> {
        let id = entry_id(jkt, jti);
        let mut seen = self.lock();
        while let Some(Reverse((expiry, old))) = seen.expiries.peek().copied() {
            if expiry >= now {
                break;
            }
            seen.expiries.pop();
            seen.ids.remove(&old);
        }
        if seen.ids.contains(&id) {
            return Err(DpopError::Replayed);
        }
        if seen.ids.len() >= self.capacity {
            return Err(DpopError::ReplayCacheFull);
        }
        seen.ids.insert(id);
        seen.expiries.push(Reverse((expires_at, id)));
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Seen> {
        // Every update leaves both collections whole; a panic elsewhere
        // cannot leave them half-written.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ReplayCache {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_CAPACITY)
    }
}

impl std::fmt::Debug for ReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayCache")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// 128 bits of SHA-256 over the thumbprint and the `jti`: the thumbprint is
/// base64url, so the separator cannot occur in it and no two pairs collide
/// by concatenation.
fn entry_id(jkt: &str, jti: &str) -> u128 {
    let digest = Sha256::new()
        .chain_update(jkt.as_bytes())
        .chain_update(b".")
        .chain_update(jti.as_bytes())
        .finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_accepted_once_per_key() {
        let cache = ReplayCache::new(8);
        assert_eq!(cache.remember("k1", "j", 160, 100), Ok(()));
        assert_eq!(
            cache.remember("k1", "j", 160, 101),
            Err(DpopError::Replayed)
        );
        assert_eq!(cache.remember("k2", "j", 160, 101), Ok(()));
        assert_eq!(
            cache.clone().remember("k1", "j", 160, 102),
            Err(DpopError::Replayed)
        );
    }

    #[test]
    fn an_entry_is_kept_until_its_expiry_then_swept() {
        let cache = ReplayCache::new(8);
        cache.remember("k", "old", 160, 100).expect("first");
        assert_eq!(
            cache.remember("k", "old", 160, 160),
            Err(DpopError::Replayed)
        );
        cache
            .remember("k", "new", 220, 161)
            .expect("sweeps the old one");
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_full_cache_refuses_new_proofs_and_keeps_unexpired_ones() {
        let cache = ReplayCache::new(2);
        cache.remember("k", "a", 160, 100).expect("a");
        cache.remember("k", "b", 170, 100).expect("b");

        assert_eq!(
            cache.remember("k", "c", 170, 150),
            Err(DpopError::ReplayCacheFull)
        );
        assert_eq!(cache.remember("k", "a", 170, 150), Err(DpopError::Replayed));
        assert_eq!(cache.len(), 2);

        // Once "a" has expired it makes room.
        assert_eq!(cache.remember("k", "c", 230, 161), Ok(()));
        assert_eq!(cache.remember("k", "b", 230, 161), Err(DpopError::Replayed));
    }

    #[test]
    fn a_flood_of_distinct_jtis_never_grows_past_the_capacity() {
        let cache = ReplayCache::new(100);
        for i in 0..1_000 {
            let _ = cache.remember("k", &i.to_string(), 1_000, 100);
        }
        assert_eq!(cache.len(), 100);
    }
}
