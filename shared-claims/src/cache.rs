use std::collections::HashMap;
use std::sync::Mutex;

use crate::AccessClaims;

/// Tokens already verified, keyed on their exact bytes.
///
/// A signature check costs tens of microseconds; a client sends the same
/// access token with every request for its whole lifetime, so gateways cache
/// the outcome. What may be cached is only what cannot change for the same
/// bytes: the signature, `typ`, `iss` and `aud`. The time checks (`exp`,
/// `nbf`) and whether the signing key is still trusted are made again on
/// every hit by [`crate::Authority`]. The map is bounded: when it is full an
/// arbitrary entry makes room, so a flood of distinct tokens costs memory
/// only up to `capacity`.
#[derive(Debug)]
pub(crate) struct VerifiedTokens {
    entries: Mutex<HashMap<Box<str>, Verified>>,
    capacity: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Verified {
    pub(crate) claims: AccessClaims,
    pub(crate) kid: Box<str>,
}

impl VerifiedTokens {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::with_capacity(capacity.min(1024))),
            capacity,
        }
    }

    pub(crate) fn get(&self, token: &str) -> Option<Verified> {
        self.lock().get(token).cloned()
    }

    pub(crate) fn insert(&self, token: &str, verified: Verified) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(token) {
            if let Some(victim) = entries.keys().next().cloned() {
                entries.remove(&victim);
            }
        }
        entries.insert(token.into(), verified);
    }

    pub(crate) fn remove(&self, token: &str) {
        self.lock().remove(token);
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Verified>> {
        // The map holds only whole entries; a panic elsewhere cannot leave
        // one half-written, so a poisoned lock is still usable.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
