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
use shared_claims::{
    install_crypto_provider, Authority, KeySet, KeyStore, PreparedSigningKey, Verifier,
};

const KID: &str = "bench-key";

mod common;
use common::{ready, token, AUDIENCE, ISSUER};

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
    let tokens: Vec<String> = (0..n)
        .map(|i| token(&prepared, KID, now, i, None))
        .collect();
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
