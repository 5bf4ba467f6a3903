//! The verified-token cache of `Authority`: keyed on the exact token bytes,
//! `exp`/`nbf` checked on every request, bounded in size.

mod common;

use std::time::Duration;

use common::*;
use shared_claims::{Authority, KeyStore, Role, Verifier, VerifyError};

fn authority(keys: &KeyStore, capacity: usize) -> Authority {
    Authority::new(
        "api",
        Verifier::new(ISSUER, AUDIENCE, Duration::ZERO),
        keys.clone(),
    )
    .with_cache_capacity(capacity)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

#[test]
fn a_verified_token_is_remembered_and_verifies_again() {
    let key = TestKey::generate("k1");
    let keys = KeyStore::new(key_set(&[&key]));
    let authority = authority(&keys, 16);
    let token = key.sign(&claims(Role::User));
    let rt = runtime();
    let first = rt.block_on(authority.verify(&token)).expect("valid");
    assert_eq!(authority.cached_tokens(), 1);
    let second = rt.block_on(authority.verify(&token)).expect("still valid");
    assert_eq!(first, second);
}

#[test]
fn the_cache_keys_on_the_exact_token_bytes() {
    let key = TestKey::generate("k1");
    let keys = KeyStore::new(key_set(&[&key]));
    let authority = authority(&keys, 16);
    let token = key.sign(&claims(Role::User));
    let rt = runtime();
    rt.block_on(authority.verify(&token)).expect("valid");

    // Same signature, payload changed to admin: must be checked, not looked up.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&unb64(&parts[1])).expect("payload");
    payload["role"] = serde_json::json!("admin");
    parts[1] = b64(payload.to_string());
    let tampered = parts.join(".");
    assert_eq!(
        rt.block_on(authority.verify(&tampered)),
        Err(VerifyError::BadSignature)
    );
    // A token that merely starts with the cached one is another token.
    assert!(rt.block_on(authority.verify(&format!("{token}x"))).is_err());
    assert_eq!(
        authority.cached_tokens(),
        1,
        "refused tokens are not remembered"
    );
}

#[test]
fn a_cached_token_is_refused_once_it_expires() {
    let key = TestKey::generate("k1");
    let keys = KeyStore::new(key_set(&[&key]));
    let authority = authority(&keys, 16);
    let mut short = claims(Role::User);
    short.exp = now() + 1;
    let token = key.sign(&short);
    let rt = runtime();
    rt.block_on(authority.verify(&token)).expect("valid now");
    assert_eq!(authority.cached_tokens(), 1);
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        rt.block_on(authority.verify(&token)),
        Err(VerifyError::Expired)
    );
}

#[test]
fn the_cache_never_holds_more_than_its_capacity() {
    let key = TestKey::generate("k1");
    let keys = KeyStore::new(key_set(&[&key]));
    let authority = authority(&keys, 3);
    let rt = runtime();
    for n in 0..20 {
        let mut c = claims(Role::User);
        c.jti = format!("token-{n}");
        let token = key.sign(&c);
        rt.block_on(authority.verify(&token)).expect("valid");
        assert!(authority.cached_tokens() <= 3);
    }
    assert_eq!(authority.cached_tokens(), 3);
}

#[test]
fn a_capacity_of_zero_turns_the_cache_off() {
    let key = TestKey::generate("k1");
    let keys = KeyStore::new(key_set(&[&key]));
    let authority = authority(&keys, 0);
    let token = key.sign(&claims(Role::User));
    runtime().block_on(authority.verify(&token)).expect("valid");
    assert_eq!(authority.cached_tokens(), 0);
}

#[test]
fn dropping_a_key_from_the_store_drops_its_cached_tokens() {
    let old = TestKey::generate("old");
    let new = TestKey::generate("new");
    let keys = KeyStore::new(key_set(&[&old]));
    let authority = authority(&keys, 16);
    let token = old.sign(&claims(Role::User));
    let rt = runtime();
    rt.block_on(authority.verify(&token)).expect("valid");
    keys.replace(key_set(&[&new]));
    assert_eq!(
        rt.block_on(authority.verify(&token)),
        Err(VerifyError::UnknownKey(Some("old".into())))
    );
    assert_eq!(authority.cached_tokens(), 0);
}
