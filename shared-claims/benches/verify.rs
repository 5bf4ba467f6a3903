//! Access-token signing and verification, one core, no HTTP.
//!
//! - `sign`: an RFC 9068 access token signed with EdDSA (jsonwebtoken's
//!   `encode` given the PKCS#8 document: it parses it for every token).
//! - `sign_prepared`: the same through [`PreparedSigningKey`], as the
//!   auth-service signs: the key parsed once.
//! - `verify_cold`: [`Authority::verify`] of a token it has never seen (each
//!   iteration gets a new one, signed outside the timed part).
//! - `verify_repeated`: [`Authority::verify`] of the same token again and again.
//! - `verifier_verify`: the bare [`Verifier::verify`] (no cache, whatever
//!   `Authority` adds): jsonwebtoken's `decode` with the key decompressed
//!   once by the [`KeySet`].
//! - `jsonwebtoken_decode`: jsonwebtoken's `decode` as it comes, the same
//!   validation, given the raw key: it decompresses the point for every
//!   token. What the lent decompressed key saves.
//! - `ed25519_verify`: the signature check alone (ed25519-dalek, key parsed
//!   once), over a real token's signing input: the floor of any cold
//!   verification, and the reference of `bench/run`'s cold-verification target.
//!
//! - `bearer_request_cold`: [`Authority::authenticate_request`] of a request
//!   with a token it has never seen under `Authorization: Bearer`: what a
//!   resource server does per request for an unbound token.
//! - `dpop_eddsa_request_cold`, `dpop_es256_request_cold`: the same for a
//!   DPoP-bound token under `Authorization: DPoP` with a new proof (EdDSA or
//!   ES256) by its key: every iteration a token never seen and a proof never
//!   seen (new `jti`, new signature) by a client key the verifier has seen
//!   before, as from a client that sends its first request and then keeps
//!   its key: the token, then the proof's header (its key found by the exact
//!   header segment), signature, claims, `ath` and `cnf.jkt`, and its `jti`
//!   recorded. Compared with `bearer_request_cold` for the DPoP target (at
//!   most 2.5 times).
//! - `dpop_eddsa_request_new_key`, `dpop_es256_request_new_key`: the same,
//!   but each iteration by a key never seen (generated outside the timed
//!   part): the header's JSON, the `jwk`, the thumbprint and the curve point
//!   worked out too. A client's first request; reported, not a target.
//!
//! `bench/run` reads the medians from `$CRITERION_HOME/<name>/new/estimates.json`.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::Verifier as _;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use shared_claims::dpop::{ProofVerifier, PublicUrl, ReplayCache};
use shared_claims::{
    install_crypto_provider, AccessClaims, Authority, Confirmation, Credentials, KeySet, KeyStore,
    PreparedSigningKey, Role, Verifier, ACCESS_TOKEN_TYPE,
};

#[path = "../tests/common/proofs.rs"]
#[allow(dead_code)]
mod proofs;
use proofs::ProofKey;

const ISSUER: &str = "http://127.0.0.1:8080";
const AUDIENCE: &str = "resource-service";
const KID: &str = "bench-key";

struct Signer {
    key: ed25519_dalek::SigningKey,
    encoding: EncodingKey,
    prepared: PreparedSigningKey,
    next: u64,
}

impl Signer {
    fn new() -> Self {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let der = key.to_pkcs8_der().expect("PKCS#8 encoding");
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        let prepared = PreparedSigningKey::from_pkcs8_der(der.as_bytes()).expect("a key");
        Signer {
            key,
            encoding,
            prepared,
            next: 0,
        }
    }

    fn key_set(&self) -> KeySet {
        let mut keys = KeySet::new();
        keys.insert_ed25519(KID, &self.key.verifying_key().to_bytes());
        keys
    }

    /// A new valid token (distinct `jti`, `sid`, `sub`), as the auth-service makes them.
    fn token(&mut self) -> String {
        let (header, claims) = self.next_token();
        self.prepared.encode(&header, &claims).expect("signing")
    }

    /// A new valid token bound to the DPoP key of thumbprint `jkt`.
    fn bound_token(&mut self, jkt: &str) -> String {
        let (header, mut claims) = self.next_token();
        claims.cnf = Some(Confirmation {
            jkt: jkt.to_owned(),
        });
        self.prepared.encode(&header, &claims).expect("signing")
    }

    /// The same, jsonwebtoken given the PKCS#8 document.
    fn token_from_der(&mut self) -> String {
        let (header, claims) = self.next_token();
        encode(&header, &claims, &self.encoding).expect("signing")
    }

    fn next_token(&mut self) -> (Header, AccessClaims) {
        self.next += 1;
        let n = self.next;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs() as i64;
        let claims = AccessClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: format!("5f0c9d1e-6f43-4c5e-9d7a-{n:012}"),
            exp: now + 900,
            iat: now,
            nbf: None,
            jti: format!("0b4e7f2a-9a51-4a8e-b0a4-{n:012}"),
            client_id: shared_claims::FIRST_PARTY_CLIENT.into(),
            subject: shared_claims::Subject::User {
                sid: format!("7d1e8c55-2b5e-4a39-8f02-{n:012}"),
                role: Role::User,
                email: "ada@example.com".into(),
            },
            cnf: None,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(KID.to_owned());
        (header, claims)
    }
}

/// Drives a future that never waits (no key refresher is configured).
fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

fn benches(c: &mut Criterion) {
    assert!(
        install_crypto_provider(),
        "shared-claims' crypto provider must be the one measured"
    );
    let mut signer = Signer::new();
    let verifier = Verifier::new(ISSUER, AUDIENCE, Duration::from_secs(30));
    let keys = signer.key_set();
    let authority = Authority::new("bench", verifier.clone(), KeyStore::new(keys.clone()));

    c.bench_function("sign", |b| b.iter(|| black_box(signer.token_from_der())));
    c.bench_function("sign_prepared", |b| b.iter(|| black_box(signer.token())));

    c.bench_function("verify_cold", |b| {
        b.iter_batched(
            || signer.token(),
            |token| ready(authority.verify(black_box(&token))).expect("valid token"),
            BatchSize::SmallInput,
        )
    });

    let token = signer.token();
    c.bench_function("verify_repeated", |b| {
        b.iter(|| ready(authority.verify(black_box(&token))).expect("valid token"))
    });

    c.bench_function("verifier_verify", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(&token), &keys)
                .expect("valid token")
        })
    });

    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    let raw_key = DecodingKey::from_ed_der(signer.key.verifying_key().as_bytes());
    c.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| {
            decode::<AccessClaims>(black_box(&token), &raw_key, &validation).expect("valid token")
        })
    });

    // The reference's input, cut out of a real token by hand: the signed
    // bytes and the signature.
    let (signing_input, signature) = token.rsplit_once('.').expect("a JWS");
    let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    let signature = ed25519_dalek::Signature::from_slice(&signature).expect("64 bytes");
    let public = signer.key.verifying_key();
    c.bench_function("ed25519_verify", |b| {
        b.iter(|| {
            public
                .verify(black_box(signing_input.as_bytes()), &signature)
                .expect("valid signature")
        })
    });
}

/// What a resource server checks per request, cold: a new token (and a new
/// proof) each iteration, made outside the timed part.
fn dpop_benches(c: &mut Criterion) {
    install_crypto_provider();
    const PUBLIC_URL: &str = "http://127.0.0.1:8081";
    const PATH: &str = "/api/me";
    let mut signer = Signer::new();
    let verifier = Verifier::new(ISSUER, AUDIENCE, Duration::from_secs(30));
    // Room for every proof of the run: each jti is kept for the iat window.
    let replay = ReplayCache::new(5_000_000);
    let proofs = ProofVerifier::new(PublicUrl::parse(PUBLIC_URL).expect("a URL"), replay);
    let authority =
        Authority::new("bench", verifier, KeyStore::new(signer.key_set())).with_dpop(proofs);

    c.bench_function("bearer_request_cold", |b| {
        b.iter_batched(
            || format!("Bearer {}", signer.token()),
            |authorization| {
                let request = Credentials {
                    authorization: Some(&authorization),
                    dpop: None,
                    method: "GET",
                    path: PATH,
                };
                ready(authority.authenticate_request(black_box(&request))).expect("accepted")
            },
            BatchSize::SmallInput,
        )
    });

    let htu = format!("{PUBLIC_URL}{PATH}");
    let mut bound_request = |key: &ProofKey| {
        let token = signer.bound_token(&key.jkt());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs() as i64;
        let proof = key.proof("GET", &htu, now, Some(&token));
        (format!("DPoP {token}"), proof)
    };
    type Generate = fn() -> ProofKey;
    let algorithms: [(&str, Generate); 2] = [
        ("dpop_eddsa_request", ProofKey::eddsa),
        ("dpop_es256_request", ProofKey::es256),
    ];
    for (name, generate) in algorithms {
        // One key for every iteration, seen once before the measurement.
        let key = generate();
        let (authorization, proof) = bound_request(&key);
        let first = Credentials {
            authorization: Some(&authorization),
            dpop: Some(&proof),
            method: "GET",
            path: PATH,
        };
        ready(authority.authenticate_request(&first)).expect("accepted");
        for (name, new_key) in [
            (format!("{name}_cold"), false),
            (format!("{name}_new_key"), true),
        ] {
            c.bench_function(&name, |b| {
                b.iter_batched(
                    || {
                        if new_key {
                            bound_request(&generate())
                        } else {
                            bound_request(&key)
                        }
                    },
                    |(authorization, proof)| {
                        let request = Credentials {
                            authorization: Some(&authorization),
                            dpop: Some(&proof),
                            method: "GET",
                            path: PATH,
                        };
                        ready(authority.authenticate_request(black_box(&request)))
                            .expect("accepted")
                    },
                    BatchSize::SmallInput,
                )
            });
        }
    }
}

fn config() -> Criterion {
    // Quick: bench/run runs these in every benchmark run.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = verify;
    config = config();
    targets = benches, dpop_benches
}
criterion_main!(verify);
