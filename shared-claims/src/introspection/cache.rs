//! The answers of the introspection endpoint, remembered for a while.
//!
//! Keyed by the SHA-256 of the token: the map never holds a bearer credential,
//! so a heap dump of a resource server gives no token away. Bounded: when it
//! is full the oldest answer makes room, so a flood of distinct tokens costs
//! memory only up to the capacity. An answer is kept for the TTL, and never
//! past the `exp` the issuer gave for the token.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::Introspection;

/// The SHA-256 of a token.
pub(crate) type TokenHash = [u8; 32];

pub(crate) fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

#[derive(Debug)]
pub(crate) struct AnswerCache {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<TokenHash, Entry>,
    /// Keys oldest first, each with the generation it was stored under; a
    /// key stored again leaves a stale item behind, skipped when reached.
    order: VecDeque<(TokenHash, u64)>,
    generation: u64,
}

#[derive(Debug)]
struct Entry {
    answer: Introspection,
    expires: Instant,
    generation: u64,
}

impl AnswerCache {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            inner: Mutex::default(),
        }
    }

    pub(crate) fn get(&self, key: &TokenHash, now: Instant) -> Option<Introspection> {
        let mut inner = self.lock();
        match inner.entries.get(key) {
            Some(entry) if entry.expires > now => Some(entry.answer.clone()),
            Some(_) => {
                inner.entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remembers `answer` until `now` plus the TTL, or until the token's
    /// `exp` (Unix seconds, `unix_now` being the same instant) if that comes
    /// first. An answer for a token already expired is not kept.
    pub(crate) fn insert(
        &self,
        key: TokenHash,
        answer: Introspection,
        now: Instant,
        unix_now: i64,
    ) {
        let mut lifetime = self.ttl;
        if let Some(exp) = answer.exp {
            let left = u64::try_from(exp.saturating_sub(unix_now)).unwrap_or(0);
            lifetime = lifetime.min(Duration::from_secs(left));
        }
        if self.capacity == 0 || lifetime.is_zero() {
            return;
        }
        let mut inner = self.lock();
        inner.drop_expired_front(now);
        while inner.entries.len() >= self.capacity && !inner.entries.contains_key(&key) {
            if !inner.evict_oldest() {
                break;
            }
        }
        inner.generation += 1;
        let generation = inner.generation;
        inner.entries.insert(
            key,
            Entry {
                answer,
                expires: now + lifetime,
                generation,
            },
        );
        inner.order.push_back((key, generation));
        // Stale items pile up behind a live one only when keys are stored
        // again; compacting at twice the capacity keeps the queue bounded
        // at a cost spread over as many inserts.
        if inner.order.len() > self.capacity.saturating_mul(2) {
            let Inner { entries, order, .. } = &mut *inner;
            order.retain(|(k, g)| entries.get(k).is_some_and(|e| e.generation == *g));
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change leaves the map and the queue consistent before
        // anything that could panic, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Whether the queue's first item is stale or expired; then it is gone.
    fn pop_front_if_dead(&mut self, now: Instant) -> bool {
        let Some((key, generation)) = self.order.front().copied() else {
            return false;
        };
        match self.entries.get(&key) {
            Some(entry) if entry.generation == generation => {
                if entry.expires > now {
                    return false;
                }
                self.entries.remove(&key);
            }
            _ => {}
        }
        self.order.pop_front();
        true
    }

    fn drop_expired_front(&mut self, now: Instant) {
        while self.pop_front_if_dead(now) {}
    }

    /// Removes the oldest live entry; false if there was none.
    fn evict_oldest(&mut self) -> bool {
        while let Some((key, generation)) = self.order.pop_front() {
            if self
                .entries
                .get(&key)
                .is_some_and(|e| e.generation == generation)
            {
                self.entries.remove(&key);
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_UNIX: i64 = 1_700_000_000;

    fn active(exp: Option<i64>) -> Introspection {
        Introspection {
            active: true,
            exp,
            ..Introspection::default()
        }
    }

    #[test]
    fn an_answer_is_kept_for_the_ttl_and_then_forgotten() {
        let cache = AnswerCache::new(Duration::from_secs(10), 8);
        let now = Instant::now();
        let key = hash("token");
        cache.insert(key, active(None), now, NOW_UNIX);

        assert_eq!(
            cache.get(&key, now + Duration::from_secs(9)),
            Some(active(None))
        );
        assert_eq!(cache.get(&key, now + Duration::from_secs(10)), None);
        assert_eq!(cache.len(), 0, "an expired answer read is dropped");
    }

    #[test]
    fn an_answer_is_never_kept_past_the_tokens_exp() {
        let cache = AnswerCache::new(Duration::from_secs(60), 8);
        let now = Instant::now();
        let key = hash("token");
        cache.insert(key, active(Some(NOW_UNIX + 3)), now, NOW_UNIX);

        assert!(cache.get(&key, now + Duration::from_secs(2)).is_some());
        assert_eq!(cache.get(&key, now + Duration::from_secs(3)), None);
    }

    #[test]
    fn an_answer_for_an_expired_token_or_with_a_zero_ttl_is_not_kept() {
        let now = Instant::now();
        let cache = AnswerCache::new(Duration::from_secs(60), 8);
        cache.insert(hash("old"), active(Some(NOW_UNIX - 1)), now, NOW_UNIX);
        cache.insert(hash("now"), active(Some(NOW_UNIX)), now, NOW_UNIX);
        assert_eq!(cache.len(), 0);

        let off = AnswerCache::new(Duration::ZERO, 8);
        off.insert(hash("t"), active(None), now, NOW_UNIX);
        assert_eq!(off.len(), 0);
        let empty = AnswerCache::new(Duration::from_secs(60), 0);
        empty.insert(hash("t"), active(None), now, NOW_UNIX);
        assert_eq!(empty.len(), 0);
    }

    #[test]
    fn a_full_cache_forgets_its_oldest_answer_and_never_grows_past_its_capacity() {
        let cache = AnswerCache::new(Duration::from_secs(60), 3);
        let now = Instant::now();
        for i in 0..1_000 {
            cache.insert(hash(&format!("t{i}")), active(None), now, NOW_UNIX);
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&hash("t999"), now).is_some());
        assert!(cache.get(&hash("t997"), now).is_some());
        assert_eq!(cache.get(&hash("t996"), now), None, "the oldest went first");
    }

    #[test]
    fn storing_a_key_again_keeps_the_queue_bounded() {
        let cache = AnswerCache::new(Duration::from_secs(1), 4);
        let start = Instant::now();
        for round in 0..100u64 {
            let now = start + Duration::from_secs(round);
            cache.insert(hash("same"), active(None), now, NOW_UNIX);
            assert_eq!(cache.get(&hash("same"), now), Some(active(None)));
        }
        assert_eq!(cache.len(), 1);
        assert!(cache.lock().order.len() <= 8);
    }

    #[test]
    fn inactive_answers_are_kept_too() {
        let cache = AnswerCache::new(Duration::from_secs(10), 8);
        let now = Instant::now();
        cache.insert(hash("revoked"), Introspection::default(), now, NOW_UNIX);
        assert_eq!(
            cache.get(&hash("revoked"), now).map(|a| a.active),
            Some(false)
        );
    }

    #[test]
    fn keys_are_hashes_of_the_token() {
        assert_ne!(hash("a"), hash("b"));
        assert_eq!(hash("a"), hash("a"));
        // SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        assert_eq!(hash("abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}
