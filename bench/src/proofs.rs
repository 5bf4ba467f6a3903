//! DPoP proofs (RFC 9449) made by the harness: an ES256 key of the kind a
//! browser makes with WebCrypto, and compact JWS proofs signed with it by
//! RustCrypto's `p256`, outside any measured run.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::json;
use sha2::{Digest, Sha256};

/// A client's proof key and the header every one of its proofs carries.
#[derive(Clone)]
pub struct ProofKey {
    key: SigningKey,
    /// The header segment, base64url: the same in every proof.
    header: String,
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
        let header = json!({
            "typ": "dpop+jwt",
            "alg": "ES256",
            "jwk": {
                "kty": "EC",
                "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(x),
                "y": URL_SAFE_NO_PAD.encode(y),
            },
        });
        ProofKey {
            key,
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
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
        let signing_input = format!(
            "{}.{}",
            self.header,
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
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
    use p256::ecdsa::signature::Verifier as _;
    use p256::ecdsa::VerifyingKey;

    #[test]
    fn a_proof_is_a_jws_its_own_jwk_verifies() {
        let key = ProofKey::generate();
        let proof = key.proof("GET", "http://127.0.0.1:1/api/me", 1, "j-1", Some("tok"));
        let parts: Vec<&str> = proof.split('.').collect();
        assert_eq!(parts.len(), 3);

        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        let mut point = vec![4u8];
        for c in ["x", "y"] {
            let text = header["jwk"][c].as_str().expect("coordinate");
            point.extend(URL_SAFE_NO_PAD.decode(text).expect("b64"));
        }
        let public = VerifyingKey::from_sec1_bytes(&point).expect("a point");
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).expect("b64"))
            .expect("64 bytes");
        let signed = format!("{}.{}", parts[0], parts[1]);
        assert!(public.verify(signed.as_bytes(), &signature).is_ok());
        assert!(public.verify(b"something else", &signature).is_err());

        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!(claims["jti"], "j-1");
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["iat"], 1);
        // RFC 9449 §4.2: base64url of the SHA-256 of the token's ASCII.
        assert_eq!(
            claims["ath"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(b"tok"))
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
