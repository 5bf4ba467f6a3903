//! The verifier (jsonwebtoken's `decode` and shared-claims' own checks around
//! it) under libFuzzer: whatever bytes arrive as an access token,
//! `Verifier::verify` and `Authority::verify` return without panicking, agree
//! with each other, and accept nothing but the one valid token this target
//! signs itself.
//!
//! The first input byte picks how the rest is used, so the fuzzer reaches
//! deep into the checks instead of stopping at the base64 layer:
//! 0: the bytes are the token; 1: they are edits (flip, insert, delete,
//! swap segments) of the valid token; 2: they are the header JSON, 3: the
//! claims JSON, of an otherwise valid token.
#![no_main]

use std::future::Future;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use shared_claims::{Authority, KeySet, KeyStore, Verifier};

const ISSUER: &str = "http://127.0.0.1:8080";
const AUDIENCE: &str = "resource-service";

struct Fixture {
    verifier: Verifier,
    keys: KeySet,
    authority: Authority,
    token: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // Before the first signature: the provider servers run with, which
        // checks Ed25519 signatures against the key set's decompressed keys.
        assert!(shared_claims::install_crypto_provider());
        // A fixed key, so the valid token (and every finding built on it)
        // is the same from run to run.
        let signing = SigningKey::from_bytes(&[7; 32]);
        let der = signing
            .to_pkcs8_der()
            .expect("an Ed25519 key encodes as PKCS#8");
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("at+jwt".into());
        header.kid = Some("k1".into());
        let claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "5f0c9d1e-6f43-4c5e-9d7a-1b2c3d4e5f60",
            "exp": 4_102_444_800_i64, "iat": 1_700_000_000, "jti": "0b4e7f2a",
            "sid": "7d1e8c55", "role": "user", "email": "ada@example.com",
        });
        let token =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(der.as_bytes()))
                .expect("signing succeeds");
        let mut keys = KeySet::new();
        keys.insert_ed25519("k1", &signing.verifying_key().to_bytes());
        let verifier = Verifier::new(ISSUER, AUDIENCE, Duration::from_secs(30));
        let authority = Authority::new("fuzz", verifier.clone(), KeyStore::new(keys.clone()));
        Fixture {
            verifier,
            keys,
            authority,
            token,
        }
    })
}

/// Drives a future that never waits (an authority without a key refresher
/// has nothing to wait for) to its end.
fn complete<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
    panic!("Authority::verify waited although it has no refresher");
}

/// Applies edits read from `ops` to `token`: each edit is an op byte and
/// two position bytes, and a value byte where the op needs one.
fn edit(token: &str, ops: &[u8]) -> Vec<u8> {
    let mut bytes = token.as_bytes().to_vec();
    for op in ops.chunks(4) {
        let [kind, high, low, value] = [0, 1, 2, 3].map(|i| op.get(i).copied().unwrap_or(0));
        let at = usize::from(u16::from_be_bytes([high, low]));
        match kind % 4 {
            0 if !bytes.is_empty() => {
                let at = at % bytes.len();
                bytes[at] ^= 1 << (value % 8);
            }
            1 => bytes.insert(at % (bytes.len() + 1), value),
            2 if !bytes.is_empty() => {
                bytes.remove(at % bytes.len());
            }
            3 => {
                let mut parts: Vec<&[u8]> = bytes.split(|b| *b == b'.').collect();
                let (a, b) = (usize::from(high), usize::from(low));
                if a < parts.len() && b < parts.len() {
                    parts.swap(a, b);
                }
                bytes = parts.join(&b'.');
            }
            _ => {}
        }
    }
    bytes
}

/// The valid token with segment `index` replaced by `raw`, base64url-encoded.
fn replace_segment(token: &str, index: usize, raw: &[u8]) -> Vec<u8> {
    let encoded = URL_SAFE_NO_PAD.encode(raw);
    let parts: Vec<&str> = token
        .split('.')
        .enumerate()
        .map(|(i, part)| if i == index { encoded.as_str() } else { part })
        .collect();
    parts.join(".").into_bytes()
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let candidate = match mode % 4 {
        0 => rest.to_vec(),
        1 => edit(&fixture.token, rest),
        2 => replace_segment(&fixture.token, 0, rest),
        _ => replace_segment(&fixture.token, 1, rest),
    };
    let token = String::from_utf8_lossy(&candidate);
    let direct = fixture.verifier.verify(&token, &fixture.keys);
    let through_authority = complete(fixture.authority.verify(&token));
    assert_eq!(
        direct.is_ok(),
        through_authority.is_ok(),
        "the verifier and the authority disagree on {token:?}"
    );
    if token == fixture.token {
        assert!(direct.is_ok(), "the valid token was refused: {direct:?}");
    } else {
        assert!(direct.is_err(), "a changed token verified: {token:?}");
    }
});
