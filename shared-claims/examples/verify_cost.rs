//! The work of one cold verification against the bare Ed25519 check, for
//! an instruction counter (criterion's times are useless on a busy machine;
//! instruction counts are not).
//!
//! ```sh
//! cargo build --release -p shared-claims --example verify_cost
//! for mode in setup ed25519 cold; do
//!   valgrind --tool=callgrind --callgrind-out-file=cg.$mode \
//!     target/release/examples/verify_cost $mode 200
//! done
//! ```
//!
//! Each mode signs the same `N` tokens and cuts out their signatures first;
//! `ed25519` then checks each signature alone (criterion's `ed25519_verify`),
//! `cold` verifies each token once through [`Authority::verify`]
//! (`verify_cold`), `setup` does neither. (total − setup) ÷ N is the cost of
//! one, and cold ÷ ed25519 the share the bench's target is about.

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::Verifier as _;
use jsonwebtoken::{Algorithm, Header};
use shared_claims::{
    install_crypto_provider, AccessClaims, Authority, KeySet, KeyStore, PreparedSigningKey, Role,
    Verifier, ACCESS_TOKEN_TYPE,
};

const ISSUER: &str = "http://127.0.0.1:8080";
const AUDIENCE: &str = "resource-service";
const KID: &str = "bench-key";

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let n: u64 = args.next().and_then(|v| v.parse().ok()).unwrap_or(200);
    assert!(install_crypto_provider());

    // A fixed key: the runs of every mode sign exactly the same tokens.
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let der = key.to_pkcs8_der().expect("PKCS#8");
    let prepared = PreparedSigningKey::from_pkcs8_der(der.as_bytes()).expect("a key");
    let mut keys = KeySet::new();
    keys.insert_ed25519(KID, &key.verifying_key().to_bytes());
    let verifier = Verifier::new(ISSUER, AUDIENCE, Duration::from_secs(30));
    let authority = Authority::new("cost", verifier, KeyStore::new(keys));
    let public = key.verifying_key();

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    let tokens: Vec<String> = (0..n).map(|i| token(&prepared, now, i)).collect();
    let cut: Vec<(&str, ed25519_dalek::Signature)> = tokens
        .iter()
        .map(|t| {
            let (input, signature) = t.rsplit_once('.').expect("a JWS");
            let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
            let signature = ed25519_dalek::Signature::from_slice(&signature).expect("64 bytes");
            (input, signature)
        })
        .collect();

    match mode.as_str() {
        "setup" => {}
        "ed25519" => {
            for (input, signature) in &cut {
                public
                    .verify(black_box(input.as_bytes()), signature)
                    .expect("valid signature");
            }
        }
        "cold" => {
            for t in &tokens {
                ready(authority.verify(black_box(t))).expect("valid token");
            }
        }
        other => panic!("mode {other:?}: setup, ed25519 or cold"),
    }
}

/// Token `i`, as the auth-service makes them.
fn token(key: &PreparedSigningKey, now: i64, i: u64) -> String {
    let claims = AccessClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: format!("5f0c9d1e-6f43-4c5e-9d7a-{i:012}"),
        exp: now + 900,
        iat: now,
        nbf: None,
        cnf: None,
        jti: format!("0b4e7f2a-9a51-4a8e-b0a4-{i:012}"),
        client_id: shared_claims::FIRST_PARTY_CLIENT.into(),
        subject: shared_claims::Subject::User {
            sid: format!("7d1e8c55-2b5e-4a39-8f02-{i:012}"),
            role: Role::User,
            email: "ada@example.com".into(),
        },
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
    header.kid = Some(KID.to_owned());
    key.encode(&header, &claims).expect("signing")
}

/// Drives a future that never waits (no key refresher is configured).
fn ready<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}
