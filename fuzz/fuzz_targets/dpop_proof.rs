//! The DPoP proof parser and verifier (`shared_claims::dpop::ProofVerifier`)
//! under libFuzzer: whatever bytes arrive in a `DPoP` header, verification
//! returns without panicking, and accepts only proofs that really are valid:
//! signed by the `jwk` they carry, of type `dpop+jwt`, for this request.
//!
//! The first input byte picks how the rest is used, so the fuzzer reaches
//! past the base64 layer and the signature: 0: the bytes are the proof;
//! 1: they are edits (flip, insert, delete) of the one valid proof; 2: they
//! are the header JSON, 3: the claims JSON, of a proof this target signs
//! with its own Ed25519 key, so the checks after the signature see them.
#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shared_claims::dpop::{ProofRequest, ProofVerifier, PublicUrl, ReplayCache};

const BASE: &str = "https://api.example";
const HTU: &str = "https://api.example/api/me";
const TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZGEifQ.c2ln";
const NOW: i64 = 1_700_000_000;

struct Fixture {
    signing: SigningKey,
    header: String,
    claims: String,
    proof: String,
    jkt: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        assert!(shared_claims::install_crypto_provider());
        // A fixed key, so the valid proof (and every finding built on it)
        // is the same from run to run.
        let signing = SigningKey::from_bytes(&[9; 32]);
        let jwk = json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes()),
        });
        let jkt = shared_claims::dpop::thumbprint(&jwk.to_string()).expect("a public JWK");
        let header = json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": jwk}).to_string();
        let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(TOKEN.as_bytes()));
        let claims =
            json!({"jti": "j1", "htm": "GET", "htu": HTU, "iat": NOW, "ath": ath}).to_string();
        let mut fixture = Fixture {
            signing,
            header,
            claims,
            proof: String::new(),
            jkt,
        };
        fixture.proof = sign(&fixture, fixture.header.as_bytes(), fixture.claims.as_bytes());
        fixture
    })
}

fn sign(fixture: &Fixture, header: &[u8], claims: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = fixture.signing.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// Applies edits read from `ops` to `proof`: each edit is an op byte, two
/// position bytes and a value byte.
fn edit(proof: &str, ops: &[u8]) -> Vec<u8> {
    let mut bytes = proof.as_bytes().to_vec();
    for op in ops.chunks(4) {
        let [kind, high, low, value] = [0, 1, 2, 3].map(|i| op.get(i).copied().unwrap_or(0));
        let at = usize::from(u16::from_be_bytes([high, low]));
        match kind % 3 {
            0 if !bytes.is_empty() => {
                let at = at % bytes.len();
                bytes[at] ^= 1 << (value % 8);
            }
            1 => bytes.insert(at % (bytes.len() + 1), value),
            2 if !bytes.is_empty() => {
                bytes.remove(at % bytes.len());
            }
            _ => {}
        }
    }
    bytes
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let candidate = match mode % 4 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => String::from_utf8_lossy(&edit(&fixture.proof, rest)).into_owned(),
        2 => sign(fixture, rest, fixture.claims.as_bytes()),
        _ => sign(fixture, fixture.header.as_bytes(), rest),
    };
    // A fresh verifier each time: the valid proof's jti is not yet used.
    let verifier = ProofVerifier::new(
        PublicUrl::parse(BASE).expect("the base URL"),
        ReplayCache::new(4),
    );
    let request = ProofRequest {
        method: "GET",
        path: "/api/me",
        access_token: Some(TOKEN),
        jkt: None,
        now: NOW,
    };
    let outcome = verifier.verify(&candidate, &request);
    if candidate == fixture.proof {
        assert!(outcome.is_ok(), "the valid proof was refused: {outcome:?}");
    }
    let Ok(verified) = outcome else {
        return;
    };
    // Only this target's key can have signed an accepted proof.
    assert_eq!(verified.jkt(), fixture.jkt, "accepted {candidate:?}");
    match mode % 4 {
        0 | 1 => assert_eq!(candidate, fixture.proof, "a changed proof verified"),
        2 => {
            let header: Value = serde_json::from_slice(rest).expect("an accepted header parses");
            assert_eq!(header["typ"], "dpop+jwt", "accepted header {header}");
            assert_eq!(header["alg"], "EdDSA", "accepted header {header}");
            assert!(header["jwk"].get("d").is_none(), "accepted a private jwk");
        }
        _ => {
            let claims: Value = serde_json::from_slice(rest).expect("accepted claims parse");
            assert_eq!(claims["htm"], "GET", "accepted claims {claims}");
            assert!(claims["jti"].is_string(), "accepted claims {claims}");
            let iat = claims["iat"].as_f64().expect("a numeric iat");
            assert!((iat - NOW as f64).abs() <= 61.0, "accepted claims {claims}");
        }
    }
});
