//! ES256 (ECDSA on P-256 with SHA-256) checked by AWS-LC, with the public
//! key parsed for each signature or, when the caller lends one, parsed once.
//!
//! `UnparsedPublicKey::verify` decodes the SEC 1 point into an AWS-LC key
//! and checks that it lies on the curve for every call. A DPoP client signs
//! all its proofs with one key, so the proof verifier keeps a [`P256Key`]
//! per key it has seen and lends it for the one `jsonwebtoken::crypto::verify`
//! of a proof, as the access-token verifier lends its decompressed Ed25519
//! keys. The provider takes the lent key only if its point is byte for byte
//! the one jsonwebtoken was given.

use std::cell::RefCell;
use std::sync::Arc;

use aws_lc_rs::signature::{ParsedPublicKey, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use jsonwebtoken::crypto::JwtVerifier;
use jsonwebtoken::{signature, Algorithm};

/// A P-256 public key parsed by AWS-LC, ready to check signatures.
#[derive(Clone)]
pub(crate) struct P256Key(Arc<ParsedPublicKey>);

impl P256Key {
    /// Parses an SEC 1 uncompressed point; `None` if it is not a point of
    /// the curve.
    pub(crate) fn parse(point: &[u8]) -> Option<Self> {
        ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
            .ok()
            .map(|key| Self(Arc::new(key)))
    }
}

impl std::fmt::Debug for P256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P256Key").finish_non_exhaustive()
    }
}

thread_local! {
    /// The parsed key lent by the proof verification running on this thread.
    static LENT: RefCell<Option<P256Key>> = const { RefCell::new(None) };
}

/// Runs `verify` with `key` lent to the provider on this thread.
pub(crate) fn with_lent_p256_key<R>(key: &P256Key, verify: impl FnOnce() -> R) -> R {
    /// Puts back what was lent before, even if `verify` panics.
    struct Restore(Option<P256Key>);
    impl Drop for Restore {
        fn drop(&mut self) {
            LENT.set(self.0.take());
        }
    }
    let _restore = Restore(LENT.replace(Some(key.clone())));
    verify()
}

/// The verifier for the SEC 1 point `point`: the lent key if it is that
/// point, otherwise one that parses the point for the call.
pub(super) fn verifier(point: &[u8]) -> Box<dyn JwtVerifier> {
    let lent = LENT.with_borrow(|lent| {
        lent.as_ref()
            .filter(|lent| lent.0.as_ref().as_ref() == point)
            .cloned()
    });
    match lent {
        Some(key) => Box::new(Parsed(key)),
        None => Box::new(Unparsed(point.to_vec())),
    }
}

/// A JWS signature (`r || s`) checked against a point parsed for the call.
struct Unparsed(Vec<u8>);

impl signature::Verifier<Vec<u8>> for Unparsed {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.0)
            .verify(message, signature)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Unparsed {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

/// The same check against a key parsed in advance.
struct Parsed(P256Key);

impl signature::Verifier<Vec<u8>> for Parsed {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        self.0
             .0
            .verify_sig(message, signature)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Parsed {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::crypto::rust_crypto;
    use jsonwebtoken::DecodingKey;
    use p256::ecdsa::signature::Signer as _;

    struct Fixture {
        point: Vec<u8>,
        signature: Vec<u8>,
    }

    fn signed_by(seed: u8) -> Fixture {
        let signing = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).expect("a P-256 key");
        let point = signing.verifying_key().to_encoded_point(false);
        let signature: p256::ecdsa::Signature = signing.sign(b"message");
        Fixture {
            point: point.as_bytes().to_vec(),
            signature: signature.to_bytes().to_vec(),
        }
    }

    fn provider_verifies(point: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let decoding = DecodingKey::from_ec_der(point);
        super::super::new_verifier(&Algorithm::ES256, &decoding)
            .expect("an ES256 verifier")
            .verify(message, &signature.to_vec())
            .is_ok()
    }

    #[test]
    fn es256_signatures_are_checked_by_aws_lc_as_rust_crypto_checks_them() {
        let Fixture { point, signature } = signed_by(7);
        let decoding = DecodingKey::from_ec_der(&point);
        let reference =
            (rust_crypto::DEFAULT_PROVIDER.verifier_factory)(&Algorithm::ES256, &decoding)
                .expect("RustCrypto's ES256 verifier");
        let lent = P256Key::parse(&point).expect("on the curve");

        for (message, signature) in [
            (&b"message"[..], signature.clone()),
            (&b"messagE"[..], signature.clone()),
            (&b"message"[..], vec![0; 64]),
            (&b"message"[..], signature[..63].to_vec()),
        ] {
            let expected = reference.verify(message, &signature).is_ok();
            assert_eq!(
                provider_verifies(&point, message, &signature),
                expected,
                "{message:?}"
            );
            assert_eq!(
                with_lent_p256_key(&lent, || provider_verifies(&point, message, &signature)),
                expected,
                "lent, {message:?}"
            );
        }
        assert!(provider_verifies(&point, b"message", &signature));
    }

    #[test]
    fn a_lent_p256_key_never_stands_in_for_another_key() {
        let lent = signed_by(1);
        let named = signed_by(2);
        let lent_key = P256Key::parse(&lent.point).expect("on the curve");

        with_lent_p256_key(&lent_key, || {
            // jsonwebtoken was given the other point: the lent key is ignored.
            assert!(!provider_verifies(
                &named.point,
                b"message",
                &lent.signature
            ));
            assert!(provider_verifies(
                &named.point,
                b"message",
                &named.signature
            ));
        });
        assert!(LENT.with_borrow(Option::is_none));
    }

    #[test]
    fn a_point_off_the_curve_does_not_parse() {
        let mut point = signed_by(1).point;
        point[64] ^= 1;
        assert!(P256Key::parse(&point).is_none());
        assert!(P256Key::parse(&point[..33]).is_none());
    }
}
