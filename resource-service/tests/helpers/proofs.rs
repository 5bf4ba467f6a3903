//! DPoP proof keys of a client (P-256 for ES256, Ed25519 for EdDSA), signing
//! proofs with the RustCrypto signers directly: independent of the verifier.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[derive(Debug)]
pub enum ProofKey {
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

impl ProofKey {
    pub fn es256() -> Self {
        ProofKey::Es256(p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng))
    }

    pub fn eddsa() -> Self {
        ProofKey::EdDsa(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng))
    }

    fn alg(&self) -> &'static str {
        match self {
            ProofKey::Es256(_) => "ES256",
            ProofKey::EdDsa(_) => "EdDSA",
        }
    }

    pub fn jwk(&self) -> Value {
        match self {
            ProofKey::Es256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
                    "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
                })
            }
            ProofKey::EdDsa(key) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
            }),
        }
    }

    /// The RFC 7638 thumbprint: what a bound token names in `cnf.jkt`.
    pub fn jkt(&self) -> String {
        let jwk = self.jwk();
        let canonical = match self {
            ProofKey::Es256(_) => format!(
                r#"{{"crv":"P-256","kty":"EC","x":{},"y":{}}}"#,
                jwk["x"], jwk["y"]
            ),
            ProofKey::EdDsa(_) => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":{}}}"#, jwk["x"]),
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// A proof for `method` `htu`, now, carrying `ath` of `token`.
    pub fn proof(&self, method: &str, htu: &str, token: &str) -> String {
        let header = json!({ "typ": "dpop+jwt", "alg": self.alg(), "jwk": self.jwk() });
        let claims = json!({
            "jti": URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
            "htm": method,
            "htu": htu,
            "iat": super::now(),
            "ath": URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())),
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match self {
            ProofKey::Es256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
                signature.to_bytes().to_vec()
            }
            ProofKey::EdDsa(key) => ed25519_dalek::Signer::sign(key, input.as_bytes())
                .to_bytes()
                .to_vec(),
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}
