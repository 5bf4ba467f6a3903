//! The crypto provider jsonwebtoken uses in this process: its RustCrypto
//! provider, except that an Ed25519 signature can be checked against a public
//! key decompressed in advance.
//!
//! jsonwebtoken builds a verifier from the raw key bytes for every token, and
//! for Ed25519 that means decompressing the curve point again: a field
//! exponentiation, a large part of the signature check itself. [`KeySet`]
//! decompresses each trusted key once; the [`Verifier`] lends the key a token
//! names to this provider, on the calling thread, for the length of one
//! `jsonwebtoken::decode`. The provider takes it only if its bytes are the
//! bytes of the key jsonwebtoken was given, so a lent key can never stand in
//! for another one.
//!
//! jsonwebtoken's provider is one per process by that crate's design (a
//! `static` chosen once); the one installed here holds no state, and the lent
//! key lives on the stack of one call, so servers in one process share nothing.
//!
//! [`KeySet`]: crate::KeySet
//! [`Verifier`]: crate::Verifier

use std::cell::Cell;
use std::sync::{LazyLock, OnceLock};

use ed25519_dalek::{Signature, VerifyingKey};
use jsonwebtoken::crypto::{rust_crypto, CryptoProvider, JwtVerifier};
use jsonwebtoken::{signature, Algorithm, AlgorithmFamily, DecodingKey};

static PROVIDER: LazyLock<CryptoProvider> = LazyLock::new(|| CryptoProvider {
    verifier_factory: new_verifier,
    ..rust_crypto::DEFAULT_PROVIDER.clone()
});

thread_local! {
    /// The decompressed key lent by the verification running on this thread.
    static LENT: Cell<Option<VerifyingKey>> = const { Cell::new(None) };
}

/// Makes jsonwebtoken use shared-claims' crypto provider in this process;
/// returns whether it does. Idempotent.
///
/// jsonwebtoken picks its provider once per process, at its first signature
/// or verification: call this before anything signs or verifies a token. A
/// [`Verifier`](crate::Verifier) calls it when it is made. If another provider
/// was chosen first, tokens still verify the same, only each Ed25519 key is
/// decompressed again for every token.
///
/// ```
/// assert!(shared_claims::install_crypto_provider());
/// assert!(shared_claims::install_crypto_provider());
/// ```
pub fn install_crypto_provider() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        let installed = PROVIDER.install_default().is_ok();
        if !installed {
            log::warn!(
                "jsonwebtoken chose its crypto provider before shared-claims installed its own: \
                 Ed25519 keys are decompressed for every token"
            );
        }
        installed
    })
}

/// Runs `verify` with `key` lent to the provider on this thread.
pub(crate) fn with_lent_key<R>(key: Option<VerifyingKey>, verify: impl FnOnce() -> R) -> R {
    /// Puts back what was lent before, even if `verify` panics.
    struct Restore(Option<VerifyingKey>);
    impl Drop for Restore {
        fn drop(&mut self) {
            LENT.set(self.0.take());
        }
    }
    let _restore = Restore(LENT.replace(key));
    verify()
}

fn new_verifier(
    algorithm: &Algorithm,
    key: &DecodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    if *algorithm == Algorithm::EdDSA && key.family() == AlgorithmFamily::Ed {
        let lent = LENT
            .get()
            .filter(|lent| key.try_get_as_bytes().ok() == Some(lent.as_bytes().as_slice()));
        if let Some(lent) = lent {
            return Ok(Box::new(Ed25519Verifier(lent)));
        }
    }
    (rust_crypto::DEFAULT_PROVIDER.verifier_factory)(algorithm, key)
}

/// RustCrypto's EdDSA verifier, over a key already decompressed.
struct Ed25519Verifier(VerifyingKey);

impl signature::Verifier<Vec<u8>> for Ed25519Verifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        // The same (non-strict) check as jsonwebtoken's own EdDSA verifier.
        ed25519_dalek::Verifier::verify(&self.0, message, &Signature::from_slice(signature)?)
    }
}

impl JwtVerifier for Ed25519Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn verifies(public: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
        let decoding = DecodingKey::from_ed_der(public.as_bytes());
        new_verifier(&Algorithm::EdDSA, &decoding)
            .expect("an Ed25519 verifier")
            .verify(message, &signature.to_vec())
            .is_ok()
    }

    #[test]
    fn a_lent_key_checks_signatures_like_the_default_provider() {
        let signer = key(1);
        let public = signer.verifying_key();
        let signature = signer.sign(b"message").to_bytes();

        with_lent_key(Some(public), || {
            assert!(verifies(&public, b"message", &signature));
            assert!(!verifies(&public, b"messagE", &signature));
            assert!(!verifies(&public, b"message", &signature[..63]));
        });
        assert!(verifies(&public, b"message", &signature));
    }

    #[test]
    fn a_lent_key_never_stands_in_for_another_key() {
        let lent = key(1);
        let named = key(2);
        let signed_by_lent = lent.sign(b"message").to_bytes();
        let signed_by_named = named.sign(b"message").to_bytes();

        with_lent_key(Some(lent.verifying_key()), || {
            // jsonwebtoken was given the other key: the lent one is ignored.
            assert!(!verifies(
                &named.verifying_key(),
                b"message",
                &signed_by_lent
            ));
            assert!(verifies(
                &named.verifying_key(),
                b"message",
                &signed_by_named
            ));
        });
    }

    #[test]
    fn the_lent_key_is_taken_back_after_the_call_even_on_a_panic() {
        let public = key(1).verifying_key();

        let outcome = std::panic::catch_unwind(|| with_lent_key(Some(public), || panic!("boom")));

        assert!(outcome.is_err());
        assert!(LENT.get().is_none());
    }
}
