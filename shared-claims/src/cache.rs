use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::AccessClaims;

/// Tokens already verified, found by their signature and compared on
/// their exact bytes.
///
/// A signature check costs tens of microseconds; a client sends the same
/// access token with every request for its whole lifetime, so gateways cache
/// the outcome. What may be cached is only what cannot change for the same
/// bytes: the signature, `typ`, `iss` and `aud`. The time checks (`exp`,
/// `nbf`) and whether the signing key is still trusted are made again on
/// every hit by [`crate::Authority`]. The map is bounded: when it is full an
/// arbitrary entry makes room, so a flood of distinct tokens costs memory
/// only up to `capacity`.
///
/// The map's key is the token's last segment, the signature: it tells
/// tokens apart as well as the whole token does (an Ed25519 signature
/// depends on every signed byte) and is a seventh of its length, so a cold
/// verification, which looks the token up and then inserts it, hashes 86
/// bytes twice rather than the whole token. A hit still compares every
/// byte of the token, so a forged token carrying a cached token's
/// signature is a miss.
#[derive(Debug)]
pub(crate) struct VerifiedTokens {
    entries: Mutex<HashMap<Box<str>, Entry>>,
    capacity: usize,
}

#[derive(Debug)]
struct Entry {
    token: Box<str>,
    verified: Verified,
}

/// The part of `token` the map is keyed on: its signature segment (all of
/// it when it has no `.`).
fn signature_of(token: &str) -> &str {
    token
        .rsplit_once('.')
        .map_or(token, |(_, signature)| signature)
}

/// Shared rather than owned: a hit hands out the claims to the request by
/// bumping two counters, where a deep copy of the claims cost a handful of
/// allocations on every reused token.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    pub(crate) claims: Arc<AccessClaims>,
    pub(crate) kid: Arc<str>,
}

impl VerifiedTokens {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::with_capacity(capacity.min(1024))),
            capacity,
        }
    }

    pub(crate) fn get(&self, token: &str) -> Option<Verified> {
        self.lock()
            .get(signature_of(token))
            .filter(|entry| &*entry.token == token)
            .map(|entry| entry.verified.clone())
    }

    pub(crate) fn insert(&self, token: &str, verified: Verified) {
        if self.capacity == 0 {
            return;
        }
        let key = signature_of(token);
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(key) {
            if let Some(victim) = entries.keys().next().cloned() {
                entries.remove(&victim);
            }
        }
        let entry = Entry {
            token: token.into(),
            verified,
        };
        entries.insert(key.into(), entry);
    }

    pub(crate) fn remove(&self, token: &str) {
        let key = signature_of(token);
        let mut entries = self.lock();
        if entries.get(key).is_some_and(|entry| &*entry.token == token) {
            entries.remove(key);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Entry>> {
        // The map holds only whole entries; a panic elsewhere cannot leave
        // one half-written, so a poisoned lock is still usable.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Role, Subject};

    fn verified(sub: &str) -> Verified {
        Verified {
            claims: Arc::new(AccessClaims {
                iss: "iss".into(),
                aud: "aud".into(),
                sub: sub.into(),
                exp: 2,
                iat: 1,
                nbf: None,
                cnf: None,
                jti: "jti".into(),
                client_id: crate::FIRST_PARTY_CLIENT.into(),
                subject: Subject::User {
                    sid: "sid".into(),
                    role: Role::User,
                    email: "ada@example.com".into(),
                },
            }),
            kid: "k".into(),
        }
    }

    #[test]
    fn a_token_with_a_cached_tokens_signature_but_other_bytes_is_a_miss() {
        let cache = VerifiedTokens::new(8);
        cache.insert("h.p.sig", verified("ada"));

        assert_eq!(
            cache.get("h.p.sig").map(|v| v.claims.sub.clone()),
            Some("ada".into())
        );
        assert!(cache.get("h.forged.sig").is_none());
        assert!(cache.get("sig").is_none());
        // Removing the forgery leaves the real one.
        cache.remove("h.forged.sig");
        assert!(cache.get("h.p.sig").is_some());
        cache.remove("h.p.sig");
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_full_cache_makes_room_and_stays_bounded() {
        let cache = VerifiedTokens::new(2);
        for i in 0..5 {
            cache.insert(&format!("h.p{i}.s{i}"), verified("ada"));
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.get("h.p4.s4").is_some(), "the newest entry is there");
    }
}
