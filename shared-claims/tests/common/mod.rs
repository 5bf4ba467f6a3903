//! Helpers shared by the integration tests: real Ed25519 keys, the JWKS a
//! verifier would fetch, and tokens signed the way the auth-service signs them.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of these helpers"
)]

pub mod proofs;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::json;
use shared_claims::{
    AccessClaims, KeyRefresher, KeySet, KeyStore, RefreshFuture, Role, Subject, Verifier,
};

pub const ISSUER: &str = "http://127.0.0.1:8080";
pub const AUDIENCE: &str = "resource-service";
pub const LEEWAY: Duration = Duration::from_secs(30);
pub const TTL: i64 = 900;

/// An Ed25519 signing key and the `kid` it is published under.
#[derive(Debug)]
pub struct TestKey {
    pub kid: String,
    pub signing: SigningKey,
}

impl TestKey {
    /// A fresh random key.
    pub fn generate(kid: &str) -> Self {
        // Before any token is signed: jsonwebtoken keeps the first provider,
        // and the tests are to run on the one servers run on.
        shared_claims::install_crypto_provider();
        Self {
            kid: kid.to_owned(),
            signing: SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    /// The raw 32-byte public key.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The public key as a JWK (RFC 8037): what the auth-service publishes.
    pub fn jwk(&self) -> serde_json::Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(self.public_bytes()),
        })
    }

    /// The jsonwebtoken key, from ed25519-dalek's (83-byte, PKCS#8 v2) DER.
    pub fn encoding_key(&self) -> EncodingKey {
        let der = self
            .signing
            .to_pkcs8_der()
            .expect("an Ed25519 key encodes as PKCS#8");
        EncodingKey::from_ed_der(der.as_bytes())
    }

    /// A token with the access-token header (`EdDSA`, `at+jwt`, this `kid`).
    pub fn sign(&self, claims: &impl Serialize) -> String {
        self.sign_with(&access_header(Some(&self.kid)), claims)
    }

    /// A token with any header, signed by this key.
    pub fn sign_with(&self, header: &Header, claims: &impl Serialize) -> String {
        jsonwebtoken::encode(header, claims, &self.encoding_key()).expect("signing succeeds")
    }
}

/// The header the auth-service puts on access tokens.
pub fn access_header(kid: Option<&str>) -> Header {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("at+jwt".to_owned());
    header.kid = kid.map(str::to_owned);
    header
}

/// A JWKS document listing these keys.
pub fn jwks_json(keys: &[&TestKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() }).to_string()
}

/// The key set a verifier builds from the JWKS of these keys.
pub fn key_set(keys: &[&TestKey]) -> KeySet {
    KeySet::from_jwks_json(&jwks_json(keys)).expect("the JWKS parses")
}

/// The verifier a resource server configured with the defaults would use.
pub fn verifier() -> Verifier {
    Verifier::new(ISSUER, AUDIENCE, LEEWAY)
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(elapsed.as_secs()).expect("the time fits an i64")
}

/// Claims of a token issued just now, valid for [`TTL`].
pub fn claims(role: Role) -> AccessClaims {
    let iat = now();
    AccessClaims {
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: "5f0c9d1e-6f43-4c5e-9d7a-1b2c3d4e5f60".to_owned(),
        exp: iat + TTL,
        iat,
        nbf: None,
        jti: "0b4e7f2a-9a51-4a8e-b0a4-8f1de2c3a4b5".to_owned(),
        client_id: shared_claims::FIRST_PARTY_CLIENT.to_owned(),
        subject: Subject::User {
            sid: "7d1e8c55-2b5e-4a39-8f02-6c3b1a2d4e5f".to_owned(),
            role,
            email: "ada@example.com".to_owned(),
        },
        cnf: None,
    }
}

/// base64url without padding, as JWS uses.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The decoded bytes of a base64url (no padding) string.
pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text)
        .expect("the part is base64url without padding")
}

/// A refresher that counts its calls and, when called, installs `keys` (if any)
/// into `store`, the way a JWKS refetch would.
#[derive(Debug)]
pub struct CountingRefresher {
    store: KeyStore,
    keys: Option<KeySet>,
    calls: AtomicUsize,
}

impl CountingRefresher {
    pub fn new(store: KeyStore, keys: Option<KeySet>) -> Arc<Self> {
        Arc::new(Self {
            store,
            keys,
            calls: AtomicUsize::new(0),
        })
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl KeyRefresher for CountingRefresher {
    fn refresh(&self) -> RefreshFuture<'_> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if let Some(keys) = &self.keys {
                self.store.replace(keys.clone());
            }
        })
    }
}
