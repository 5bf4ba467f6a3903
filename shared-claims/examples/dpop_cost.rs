//! The work of one DPoP-bound request against a Bearer one, for an
//! instruction counter, as `verify_cost.rs` does for the token alone.
//!
//! ```sh
//! cargo build --release -p shared-claims --example dpop_cost
//! for mode in setup bearer es256 es256-new-key eddsa p256; do
//!   valgrind --tool=callgrind --callgrind-out-file=cg.$mode \
//!     target/release/examples/dpop_cost $mode 200
//! done
//! callgrind_annotate --inclusive=yes cg.es256 | head -60
//! ```
//!
//! Every mode makes the same kind of inputs first: `N` tokens, Bearer and
//! bound, and `N` proofs by one ES256 key, one EdDSA key, and by `N`
//! distinct ES256 keys. `bearer` then sends each Bearer token once through
//! [`Authority::authenticate_request`]; `es256` and `eddsa` each bound token
//! with a new proof by a key seen before (a first request by it is made
//! during the setup); `es256-new-key` each with a proof by a key never seen;
//! `p256` checks each ES256 proof's signature alone with AWS-LC, key parsed
//! once (the floor). `setup` does nothing more. (mode − setup) ÷ N is the
//! cost of one. Each mode also prints the minimum, 10th percentile and
//! median of its calls' wall times: on a busy machine the low percentiles
//! are the fairer estimate of a call's time.

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use shared_claims::dpop::{ProofVerifier, PublicUrl, ReplayCache};
use shared_claims::{
    install_crypto_provider, Authority, Credentials, KeySet, KeyStore, PreparedSigningKey, Verifier,
};

#[path = "../tests/common/proofs.rs"]
#[allow(dead_code)]
mod proofs;
use proofs::ProofKey;

const KID: &str = "cost-key";

mod common;
use common::{ready, token, AUDIENCE, ISSUER};
const PUBLIC_URL: &str = "http://127.0.0.1:8081";
const PATH: &str = "/api/me";

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(200);
    assert!(install_crypto_provider());

    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let der = key.to_pkcs8_der().expect("PKCS#8");
    let signer = PreparedSigningKey::from_pkcs8_der(der.as_bytes()).expect("a key");
    let mut keys = KeySet::new();
    keys.insert_ed25519(KID, &key.verifying_key().to_bytes());
    let verifier = Verifier::new(ISSUER, AUDIENCE, Duration::from_secs(30));
    let proofs = ProofVerifier::new(
        PublicUrl::parse(PUBLIC_URL).expect("a URL"),
        ReplayCache::new(4 * n + 8),
    );
    let authority = Authority::new("cost", verifier, KeyStore::new(keys)).with_dpop(proofs);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    let htu = format!("{PUBLIC_URL}{PATH}");

    let es256 = ProofKey::es256();
    let eddsa = ProofKey::eddsa();
    let bearer: Vec<String> = (0..n)
        .map(|i| format!("Bearer {}", token(&signer, KID, now, i as u64, None)))
        .collect();
    let bound = |key: &ProofKey, from: usize, count: usize| -> Vec<(String, String)> {
        (from..from + count)
            .map(|i| {
                let token = token(&signer, KID, now, i as u64, Some(key.jkt()));
                let proof = key.proof("GET", &htu, now, Some(&token));
                (format!("DPoP {token}"), proof)
            })
            .collect()
    };
    let by_es256 = bound(&es256, n, n);
    let by_eddsa = bound(&eddsa, 2 * n, n);
    let by_new_keys: Vec<(String, String)> = (0..n)
        .flat_map(|i| bound(&ProofKey::es256(), 3 * n + i, 1))
        .collect();
    // What the `p256` floor checks: each ES256 proof's signing input and signature.
    let point = match &es256 {
        ProofKey::Es256(key) => key.verifying_key().to_encoded_point(false),
        ProofKey::EdDsa(_) => unreachable!("an ES256 key"),
    };
    let parsed = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        point.as_bytes(),
    )
    .expect("a point");
    let cut: Vec<(&str, Vec<u8>)> = by_es256
        .iter()
        .map(|(_, proof)| {
            let (input, signature) = proof.rsplit_once('.').expect("a JWS");
            (input, URL_SAFE_NO_PAD.decode(signature).expect("base64url"))
        })
        .collect();

    let send = |requests: &[(String, String)]| {
        for (authorization, proof) in requests {
            let request = Credentials {
                authorization: Some(authorization),
                dpop: Some(proof),
                method: "GET",
                path: PATH,
            };
            timed(|| ready(authority.authenticate_request(black_box(&request)))).expect("accepted");
        }
    };
    // The first request of each client's key, as in every mode's setup.
    for key in [&es256, &eddsa] {
        send(&bound(key, 4 * n, 1));
    }

    match mode.as_str() {
        "setup" => {}
        "bearer" => {
            for authorization in &bearer {
                let request = Credentials {
                    authorization: Some(authorization),
                    dpop: None,
                    method: "GET",
                    path: PATH,
                };
                timed(|| ready(authority.authenticate_request(black_box(&request))))
                    .expect("accepted");
            }
        }
        "es256" => send(&by_es256),
        "eddsa" => send(&by_eddsa),
        "es256-new-key" => send(&by_new_keys),
        "p256" => {
            for (input, signature) in &cut {
                timed(|| parsed.verify_sig(black_box(input.as_bytes()), signature))
                    .expect("valid signature");
            }
        }
        other => panic!("mode {other:?}: setup, bearer, es256, es256-new-key, eddsa or p256"),
    }
    TIMES.with_borrow_mut(|times| {
        if !times.is_empty() {
            times.sort_unstable();
            let at = |q: usize| times[(times.len() - 1) * q / 100].as_secs_f64() * 1e6;
            println!(
                "{mode}: n {} min {:.1} µs p10 {:.1} µs median {:.1} µs",
                times.len(),
                at(0),
                at(10),
                at(50)
            );
        }
    });
}

thread_local! {
    static TIMES: std::cell::RefCell<Vec<Duration>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f`, recording how long it took: the low percentiles of these are
/// a fair estimate of a call's cost even on a busy machine, where a mean is not.
fn timed<R>(f: impl FnOnce() -> R) -> R {
    let start = std::time::Instant::now();
    let out = f();
    let took = start.elapsed();
    TIMES.with_borrow_mut(|times| times.push(took));
    out
}
