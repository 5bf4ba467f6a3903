//! The auth-service's per-grant token work, one core, no HTTP, no database.
//!
//! - `mint_access_token`: signing an access token with the service's key type.
//! - `refresh_token_generate`: 256 random bits from the OS, base64url.
//! - `refresh_token_hash`: the SHA-256 (hex) stored in place of the token.
//!
//! bcrypt at the configured cost is timed by `bench/run` itself (a quarter
//! of a second per hash is no micro-benchmark).

use std::hint::black_box;
use std::time::Duration;

use auth_service::tokens::{mint_access_token, RefreshToken, SigningKey};
use criterion::{criterion_group, criterion_main, Criterion};
use shared_claims::{AccessClaims, Role};

fn benches(c: &mut Criterion) {
    let now = auth_service::db::now();
    let row = SigningKey::generate(now).expect("a new key");
    let key = SigningKey::from_row(&row).expect("the key loads");
    let iat = now.and_utc().timestamp();
    let claims = AccessClaims {
        iss: "http://127.0.0.1:8080".into(),
        aud: "resource-service".into(),
        sub: "5f0c9d1e-6f43-4c5e-9d7a-1b2c3d4e5f60".into(),
        exp: iat + 900,
        iat,
        nbf: None,
        jti: "0b4e7f2a-9a51-4a8e-b0a4-8f1de2c3a4b5".into(),
        client_id: shared_claims::FIRST_PARTY_CLIENT.into(),
        subject: shared_claims::Subject::User {
            sid: "7d1e8c55-2b5e-4a39-8f02-6c3b1a2d4e5f".into(),
            role: Role::User,
            email: "ada@example.com".into(),
        },
        cnf: None,
    };

    c.bench_function("mint_access_token", |b| {
        b.iter(|| mint_access_token(&key, black_box(&claims)).expect("signing"))
    });

    c.bench_function("refresh_token_generate", |b| {
        b.iter(|| black_box(RefreshToken::generate()))
    });

    let token = RefreshToken::generate();
    c.bench_function("refresh_token_hash", |b| {
        b.iter(|| black_box(&token).hash())
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = tokens;
    config = config();
    targets = benches
}
criterion_main!(tokens);
