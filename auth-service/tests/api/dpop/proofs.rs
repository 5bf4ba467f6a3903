//! DPoP proofs made here, by a client's key pair: P-256 (ES256) or Ed25519
//! (EdDSA), signed by the RustCrypto signers directly, so the proofs do not
//! come from the code that checks them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::ISSUER;

/// A client's proof key.
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

    /// The public JWK.
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

    /// The RFC 7638 thumbprint: SHA-256 of the required members in
    /// lexicographic order, base64url.
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

    /// A compact JWS of `header` and `claims` signed by this key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
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

    /// A valid proof for `method` at the auth-service's `path`, now, with a
    /// fresh `jti` and, given an access token, its `ath`.
    pub fn proof(&self, method: &str, path: &str, access_token: Option<&str>) -> String {
        self.proof_for(method, &format!("{ISSUER}{path}"), access_token)
    }

    /// A valid proof for `method` at the absolute URL `htu`.
    pub fn proof_for(&self, method: &str, htu: &str, access_token: Option<&str>) -> String {
        let header = json!({ "typ": "dpop+jwt", "alg": self.alg(), "jwk": self.jwk() });
        let mut claims = json!({
            "jti": URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
            "htm": method,
            "htu": htu,
            "iat": chrono::Utc::now().timestamp(),
        });
        if let Some(token) = access_token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
        }
        self.sign(&header, &claims)
    }
}
