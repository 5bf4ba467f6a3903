//! What the cost examples share: access tokens as the auth-service makes
//! them, and a way to drive a future that never waits.

use jsonwebtoken::{Algorithm, Header};
use shared_claims::{AccessClaims, Confirmation, PreparedSigningKey, Role, ACCESS_TOKEN_TYPE};

pub const ISSUER: &str = "http://127.0.0.1:8080";
pub const AUDIENCE: &str = "resource-service";

/// Token `i` signed by `key` under `kid`, bound to `jkt` if given.
pub fn token(key: &PreparedSigningKey, kid: &str, now: i64, i: u64, jkt: Option<String>) -> String {
    let claims = AccessClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: format!("5f0c9d1e-6f43-4c5e-9d7a-{i:012}"),
        exp: now + 900,
        iat: now,
        nbf: None,
        cnf: jkt.map(|jkt| Confirmation { jkt }),
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
    header.kid = Some(kid.to_owned());
    key.encode(&header, &claims).expect("signing")
}

/// Drives a future that never waits (no key refresher is configured).
pub fn ready<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}
