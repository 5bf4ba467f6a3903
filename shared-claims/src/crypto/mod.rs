//! The crypto provider jsonwebtoken uses in this process: its RustCrypto
//! provider, except that an Ed25519 signature can be checked against a public
//! key decompressed in advance, and made with a private key parsed in advance.
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
//! Signing is the same story: jsonwebtoken parses the PKCS#8 document and
//! derives the public half (a scalar multiplication, as dear as the signature)
//! for every token; a [`PreparedSigningKey`] lends its parsed key instead.
//!
//! ES256, the algorithm of the browsers' DPoP proofs, is checked by AWS-LC
//! (`aws-lc-rs`, already in every service through rustls): RustCrypto's
//! generic P-256 arithmetic takes several times as long as the whole
//! verification of an access token, which would make a DPoP-bound request
//! cost far more than a Bearer one. A DPoP client signs every proof with the
//! same key, so the proof verifier keeps each key parsed ([`es256`]) and lends
//! it the same way as an Ed25519 key. Every other algorithm goes to the
//! RustCrypto provider unchanged.
//!
//! jsonwebtoken's provider is one per process by that crate's design (a
//! `static` chosen once); the one installed here holds no state, and the lent
//! key lives on the stack of one call, so servers in one process share nothing.
//!
//! [`KeySet`]: crate::KeySet
//! [`Verifier`]: crate::Verifier

use std::cell::{Cell, RefCell};
use std::sync::{Arc, LazyLock, OnceLock};

use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signature, VerifyingKey};
use jsonwebtoken::crypto::{rust_crypto, CryptoProvider, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{signature, Algorithm, AlgorithmFamily, DecodingKey, EncodingKey, Header};
use serde::Serialize;

mod es256;

pub(crate) use es256::{with_lent_p256_key, P256Key};

static PROVIDER: LazyLock<CryptoProvider> = LazyLock::new(|| CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    ..rust_crypto::DEFAULT_PROVIDER.clone()
});

thread_local! {
    /// The decompressed key lent by the verification running on this thread.
    static LENT: Cell<Option<VerifyingKey>> = const { Cell::new(None) };
    /// The parsed key lent by the signature being made on this thread.
    static LENT_SIGNER: RefCell<Option<Arc<Prepared>>> = const { RefCell::new(None) };
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

/// An Ed25519 private key for `jsonwebtoken::encode`, parsed once.
///
/// ```
/// use ed25519_dalek::pkcs8::EncodePrivateKey;
/// use jsonwebtoken::{Algorithm, Header};
///
/// shared_claims::install_crypto_provider();
/// let der = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).to_pkcs8_der().unwrap();
/// let key = shared_claims::PreparedSigningKey::from_pkcs8_der(der.as_bytes()).unwrap();
/// let token = key.encode(&Header::new(Algorithm::EdDSA), &serde_json::json!({"sub": "ada"})).unwrap();
/// assert_eq!(token.split('.').count(), 3);
/// ```
#[derive(Clone)]
pub struct PreparedSigningKey(Arc<Prepared>);

struct Prepared {
    encoding: EncodingKey,
    parsed: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for PreparedSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedSigningKey").finish_non_exhaustive()
    }
}

impl PreparedSigningKey {
    /// The key of a PKCS#8 document (either of the two forms of RFC 8410).
    ///
    /// ```
    /// assert!(shared_claims::PreparedSigningKey::from_pkcs8_der(b"not a key").is_err());
    /// ```
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        let parsed = ed25519_dalek::SigningKey::from_pkcs8_der(der)
            .map_err(|_| Error::from(ErrorKind::InvalidEddsaKey))?;
        Ok(Self(Arc::new(Prepared {
            encoding: EncodingKey::from_ed_der(der),
            parsed,
        })))
    }

    /// The raw 32-byte public key.
    ///
    /// ```
    /// use ed25519_dalek::pkcs8::EncodePrivateKey;
    /// let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    /// let der = signing.to_pkcs8_der().unwrap();
    /// let key = shared_claims::PreparedSigningKey::from_pkcs8_der(der.as_bytes()).unwrap();
    /// assert_eq!(key.public_key(), signing.verifying_key().to_bytes());
    /// ```
    pub fn public_key(&self) -> [u8; 32] {
        self.0.parsed.verifying_key().to_bytes()
    }

    /// `jsonwebtoken::encode` with this key, lent parsed to the provider.
    /// The header's `alg` must be `EdDSA`.
    ///
    /// ```
    /// # use ed25519_dalek::pkcs8::EncodePrivateKey;
    /// # let der = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).to_pkcs8_der().unwrap();
    /// let key = shared_claims::PreparedSigningKey::from_pkcs8_der(der.as_bytes()).unwrap();
    /// let hs256 = jsonwebtoken::Header::default();
    /// assert!(key.encode(&hs256, &serde_json::json!({})).is_err());
    /// ```
    pub fn encode(&self, header: &Header, claims: &impl Serialize) -> Result<String, Error> {
        /// Puts back what was lent before, even if encoding panics.
        struct Restore(Option<Arc<Prepared>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                LENT_SIGNER.set(self.0.take());
            }
        }
        let _restore = Restore(LENT_SIGNER.replace(Some(Arc::clone(&self.0))));
        jsonwebtoken::encode(header, claims, &self.0.encoding)
    }
}

fn new_signer(
    algorithm: &Algorithm,
    key: &EncodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    if *algorithm == Algorithm::EdDSA && key.family() == AlgorithmFamily::Ed {
        let lent = LENT_SIGNER.with_borrow(|lent| {
            lent.as_ref()
                .filter(|lent| lent.encoding.as_bytes() == key.as_bytes())
                .cloned()
        });
        if let Some(lent) = lent {
            return Ok(Box::new(Ed25519Signer(lent)));
        }
    }
    (rust_crypto::DEFAULT_PROVIDER.signer_factory)(algorithm, key)
}

/// RustCrypto's EdDSA signer, over a key already parsed.
struct Ed25519Signer(Arc<Prepared>);

impl signature::Signer<Vec<u8>> for Ed25519Signer {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let signature = ed25519_dalek::Signer::sign(&self.0.parsed, message);
        Ok(signature.to_bytes().to_vec())
    }
}

impl JwtSigner for Ed25519Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
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
    if *algorithm == Algorithm::ES256 && key.family() == AlgorithmFamily::Ec {
        // The SEC 1 point, as RustCrypto's ES256 verifier reads it.
        return Ok(es256::verifier(key.try_get_as_bytes()?));
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

    fn der(seed: u8) -> Vec<u8> {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        key(seed)
            .to_pkcs8_der()
            .expect("PKCS#8")
            .as_bytes()
            .to_vec()
    }

    /// A signature of `message` by the signer the provider makes for `key`.
    fn sign_with(algorithm: &Algorithm, key: &EncodingKey) -> Vec<u8> {
        new_signer(algorithm, key)
            .expect("a signer")
            .try_sign(b"message")
            .expect("a signature")
    }

    #[test]
    fn a_prepared_key_signs_exactly_as_the_default_provider() {
        install_crypto_provider();
        let prepared = PreparedSigningKey::from_pkcs8_der(&der(1)).expect("key");
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("k1".into());
        let claims = serde_json::json!({"sub": "ada"});

        let token = prepared.encode(&header, &claims).expect("token");

        // Ed25519 signatures are deterministic: the same key signs the same
        // bytes the same way.
        let plain = EncodingKey::from_ed_der(&der(1));
        let expected = jsonwebtoken::encode(&header, &claims, &plain).expect("token");
        assert_eq!(token, expected);
        assert!(LENT_SIGNER.with_borrow(Option::is_none));
    }

    #[test]
    fn a_lent_signing_key_signs_for_its_own_bytes_only() {
        let lent = PreparedSigningKey::from_pkcs8_der(&der(1)).expect("key");
        let previous = LENT_SIGNER.replace(Some(Arc::clone(&lent.0)));

        let by_lent = sign_with(&Algorithm::EdDSA, &EncodingKey::from_ed_der(&der(1)));
        let by_other = sign_with(&Algorithm::EdDSA, &EncodingKey::from_ed_der(&der(2)));

        LENT_SIGNER.set(previous);
        assert_eq!(by_lent, key(1).sign(b"message").to_bytes());
        assert_eq!(by_other, key(2).sign(b"message").to_bytes());
    }

    #[test]
    fn the_lent_key_is_taken_back_after_the_call_even_on_a_panic() {
        let public = key(1).verifying_key();

        let outcome = std::panic::catch_unwind(|| with_lent_key(Some(public), || panic!("boom")));

        assert!(outcome.is_err());
        assert!(LENT.get().is_none());
    }
}
