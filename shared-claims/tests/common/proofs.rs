//! DPoP proofs signed here, with P-256 (ES256) and Ed25519 (EdDSA) keys, by
//! the RustCrypto signers directly: an implementation independent of the
//! verifier under test.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A client's proof key.
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

    pub fn alg(&self) -> &'static str {
        match self {
            ProofKey::Es256(_) => "ES256",
            ProofKey::EdDsa(_) => "EdDSA",
        }
    }

    /// The public JWK, members in no particular order.
    pub fn jwk(&self) -> Value {
        match self {
            ProofKey::Es256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(point.x().expect("x")),
                    "y": URL_SAFE_NO_PAD.encode(point.y().expect("y")),
                })
            }
            ProofKey::EdDsa(key) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
            }),
        }
    }

    /// The RFC 7638 thumbprint, computed here from the JWK text.
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

    /// The header of a proof by this key.
    pub fn header(&self) -> Value {
        json!({ "typ": "dpop+jwt", "alg": self.alg(), "jwk": self.jwk() })
    }

    /// A compact JWS of `header` and `claims`, signed by this key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match self {
            ProofKey::Es256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(signing_input.as_bytes());
                signature.to_bytes().to_vec()
            }
            ProofKey::EdDsa(key) => ed25519_dalek::Signer::sign(key, signing_input.as_bytes())
                .to_bytes()
                .to_vec(),
        };
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// A valid proof for `method` `htu` at `iat`, with `ath` of `token` if given.
    pub fn proof(&self, method: &str, htu: &str, iat: i64, token: Option<&str>) -> String {
        self.sign(&self.header(), &proof_claims(method, htu, iat, token))
    }
}

/// The claims of a proof, with a fresh random `jti`.
pub fn proof_claims(method: &str, htu: &str, iat: i64, token: Option<&str>) -> Value {
    let mut claims = json!({
        "jti": URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
        "htm": method,
        "htu": htu,
        "iat": iat,
    });
    if let Some(token) = token {
        claims["ath"] = json!(ath(token));
    }
    claims
}

/// base64url(SHA-256(token)).
pub fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}
