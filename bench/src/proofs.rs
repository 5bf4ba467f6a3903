//! DPoP proofs (RFC 9449) made by the harness: an ES256 key of the kind a
//! browser makes with WebCrypto, and compact JWS proofs of it made by
//! `jsonwebtoken::encode`, outside any measured run.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePrivateKey as _;
use serde_json::json;
use sha2::{Digest, Sha256};

/// A client's proof key and the header every one of its proofs carries.
#[derive(Clone)]
pub struct ProofKey {
    key: EncodingKey,
    header: Header,
}

impl ProofKey {
    /// A new random P-256 key.
    pub fn generate() -> Self {
        let key = loop {
            // A 32-byte string is a valid scalar but for a ~2^-32 chance.
            if let Ok(key) = SigningKey::from_slice(&rand::random::<[u8; 32]>()) {
                break key;
            }
        };
        let point = key.verifying_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            unreachable!("an uncompressed point has both coordinates");
        };
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(Jwk {
            common: CommonParameters::default(),
            algorithm: AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve: EllipticCurve::P256,
                x: URL_SAFE_NO_PAD.encode(x),
                y: URL_SAFE_NO_PAD.encode(y),
            }),
        });
        let der = key.to_pkcs8_der().expect("a P-256 key encodes as PKCS#8");
        ProofKey {
            key: EncodingKey::from_ec_der(der.as_bytes()),
            header,
        }
    }

    /// A proof for `method` `htu` at `iat` with the given `jti`, and `ath`
    /// of `access_token` if given.
    pub fn proof(
        &self,
        method: &str,
        htu: &str,
        iat: i64,
        jti: &str,
        access_token: Option<&str>,
    ) -> String {
        let mut claims = json!({ "jti": jti, "htm": method, "htu": htu, "iat": iat });
        if let Some(token) = access_token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
        }
        jsonwebtoken::encode(&self.header, &claims, &self.key).expect("an ES256 signature")
    }
}

/// A `jti` no other proof of the run has: a random prefix for the run,
/// then the proof's number.
pub fn jti(run: &str, n: usize) -> String {
    format!("{run}-{n}")
}

/// A random prefix for the `jti`s of one run (128 bits, base64url).
pub fn run_nonce() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn a_proof_is_a_jws_its_own_jwk_verifies() {
        let key = ProofKey::generate();
        let proof = key.proof("GET", "http://127.0.0.1:1/api/me", 1, "j-1", Some("tok"));

        let header = jsonwebtoken::decode_header(&proof).expect("a header");
        assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
        assert_eq!(header.alg, Algorithm::ES256);
        let jwk = header.jwk.expect("a jwk");
        let public = DecodingKey::from_jwk(&jwk).expect("a public key");
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<serde_json::Value>(&proof, &public, &validation)
            .expect("signed by its own jwk")
            .claims;
        assert_eq!(claims["jti"], "j-1");
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["iat"], 1);
        // RFC 9449 §4.2: base64url of the SHA-256 of the token's ASCII.
        assert_eq!(
            claims["ath"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(b"tok"))
        );

        let other = ProofKey::generate();
        let other_public =
            DecodingKey::from_jwk(other.header.jwk.as_ref().expect("a jwk")).expect("a public key");
        assert!(
            jsonwebtoken::decode::<serde_json::Value>(&proof, &other_public, &validation).is_err()
        );
    }

    #[test]
    fn every_proof_of_a_key_has_the_same_header_and_its_own_jti() {
        let key = ProofKey::generate();
        let run = run_nonce();
        let a = key.proof("GET", "http://h/", 1, &jti(&run, 1), None);
        let b = key.proof("GET", "http://h/", 1, &jti(&run, 2), None);
        assert_eq!(a.split('.').next(), b.split('.').next());
        assert_ne!(a, b);
        assert_ne!(run_nonce(), run);
    }
}
