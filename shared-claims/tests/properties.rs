//! Property tests: whatever bytes arrive as a token (random ones, or a valid
//! token flipped, cut, spliced or re-encoded), the verifier and the authority
//! refuse them without panicking; only the untouched token verifies. Role
//! names parse exactly as the contract spells them.
//!
//! Case counts are modest so `cargo test` stays quick; `PROPTEST_CASES`
//! raises them for a longer run.

mod common;

use std::sync::OnceLock;

use common::{access_header, b64, claims, key_set, unb64, verifier, TestKey};
use jsonwebtoken::Algorithm;
use proptest::prelude::*;
use serde_json::{json, Value};
use shared_claims::{Authority, KeySet, KeyStore, Role, Verifier};

/// One signing key and one valid token for every case: key generation and
/// signing are not what is under test.
struct Fixture {
    key: TestKey,
    keys: KeySet,
    token: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = TestKey::generate("k1");
        let keys = key_set(&[&key]);
        let token = key.sign(&claims(Role::User));
        Fixture { key, keys, token }
    })
}

/// Runs `Authority::verify` (the path a server takes, with its cache) to
/// completion.
fn authority_accepts(authority: &Authority, token: &str) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(authority.verify(token)).is_ok()
}

fn authority() -> Authority {
    Authority::new("api", verifier(), KeyStore::new(fixture().keys.clone()))
}

/// Cases per property: `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig::with_cases(cases)
}

/// A change to a token's text.
#[derive(Debug, Clone)]
enum Edit {
    /// Flip one bit of the byte at this position (modulo the length).
    Flip(usize, u8),
    /// Insert a byte at this position.
    Insert(usize, u8),
    /// Delete the byte at this position.
    Delete(usize),
    /// Exchange two of the dot-separated segments.
    Swap(usize, usize),
    /// Replace the header with one re-encoded from these fields.
    Header {
        alg: Option<&'static str>,
        typ: Option<&'static str>,
        kid: Option<&'static str>,
    },
    /// Replace the payload with the claims re-encoded, one claim changed.
    Claim(&'static str, Value),
}

fn edit() -> impl Strategy<Value = Edit> {
    let alg = proptest::option::of(proptest::sample::select(
        &[
            "EdDSA", "eddsa", "none", "None", "HS256", "RS256", "ES256", "PS256", "",
        ][..],
    ));
    let typ = proptest::option::of(proptest::sample::select(
        &["at+jwt", "AT+JWT", "application/at+jwt", "JWT", "jwt", ""][..],
    ));
    let kid = proptest::option::of(proptest::sample::select(&["k1", "k2", "", "../k1"][..]));
    let claim = prop_oneof![
        Just(("role", json!("admin"))),
        Just(("role", json!("root"))),
        Just(("exp", json!(i64::MAX))),
        Just(("exp", json!(-1))),
        Just(("exp", json!("tomorrow"))),
        Just(("nbf", json!(0))),
        Just(("iss", json!("http://evil.example"))),
        Just(("aud", json!(["resource-service", "other"]))),
        Just(("sub", json!(null))),
        Just(("email", json!("admin@example.com"))),
    ];
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Edit::Flip(at, bit)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Edit::Insert(at, byte)),
        any::<usize>().prop_map(Edit::Delete),
        (0usize..3, 0usize..3).prop_map(|(a, b)| Edit::Swap(a, b)),
        (alg, typ, kid).prop_map(|(alg, typ, kid)| Edit::Header { alg, typ, kid }),
        claim.prop_map(|(name, value)| Edit::Claim(name, value)),
    ]
}

fn apply(token: &[u8], edit: &Edit) -> Vec<u8> {
    let mut bytes = token.to_vec();
    match edit {
        Edit::Flip(at, bit) if !bytes.is_empty() => {
            let at = at % bytes.len();
            bytes[at] ^= 1 << bit;
        }
        Edit::Insert(at, byte) => bytes.insert(at % (bytes.len() + 1), *byte),
        Edit::Delete(at) if !bytes.is_empty() => {
            let at = at % bytes.len();
            bytes.remove(at);
        }
        Edit::Swap(a, b) => {
            let mut parts: Vec<Vec<u8>> = bytes.split(|b| *b == b'.').map(<[u8]>::to_vec).collect();
            if *a < parts.len() && *b < parts.len() {
                parts.swap(*a, *b);
            }
            bytes = parts.join(&b'.');
        }
        Edit::Header { alg, typ, kid } => {
            let mut header = serde_json::Map::new();
            for (name, value) in [("alg", alg), ("typ", typ), ("kid", kid)] {
                if let Some(value) = value {
                    header.insert(name.to_owned(), json!(value));
                }
            }
            bytes = replace_segment(&bytes, 0, b64(Value::Object(header).to_string()));
        }
        Edit::Claim(name, value) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if let Some(payload) = text.split('.').nth(1) {
                let decoded = base64_decode(payload);
                if let Ok(Value::Object(mut claims)) = serde_json::from_slice::<Value>(&decoded) {
                    claims.insert((*name).to_owned(), value.clone());
                    bytes = replace_segment(&bytes, 1, b64(Value::Object(claims).to_string()));
                }
            }
        }
        Edit::Flip(..) | Edit::Delete(_) => {}
    }
    bytes
}

/// The bytes of a base64url segment, or nothing if an earlier edit broke it.
fn base64_decode(segment: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap_or_default()
}

fn replace_segment(token: &[u8], index: usize, segment: String) -> Vec<u8> {
    let mut parts: Vec<Vec<u8>> = token.split(|b| *b == b'.').map(<[u8]>::to_vec).collect();
    if let Some(part) = parts.get_mut(index) {
        *part = segment.into_bytes();
    }
    parts.join(&b'.')
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn random_bytes_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let token = String::from_utf8_lossy(&bytes);
        let fixture = fixture();
        prop_assert!(verifier().verify(&token, &fixture.keys).is_err());
        prop_assert!(!authority_accepts(&authority(), &token));
    }

    #[test]
    fn random_dotted_base64_never_verifies(
        token in "[A-Za-z0-9_-]{0,120}\\.[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,100}",
    ) {
        prop_assert!(verifier().verify(&token, &fixture().keys).is_err());
    }

    #[test]
    fn a_valid_token_changed_in_any_way_never_verifies(edits in proptest::collection::vec(edit(), 1..4)) {
        let fixture = fixture();
        let original = fixture.token.as_bytes();
        let mutated = edits.iter().fold(original.to_vec(), |token, edit| apply(&token, edit));
        // Edits that cancel out (a bit flipped twice) give the valid token back.
        prop_assume!(mutated != original);
        let token = String::from_utf8_lossy(&mutated);
        prop_assert!(verifier().verify(&token, &fixture.keys).is_err(), "{} verified", token);
        // The authority first meets the original, so its cache holds a
        // verified token next to the mutated one.
        let authority = authority();
        prop_assert!(authority_accepts(&authority, &fixture.token));
        prop_assert!(!authority_accepts(&authority, &token), "{} verified", token);
    }

    #[test]
    fn claims_signed_by_an_untrusted_key_under_a_trusted_kid_never_verify(
        role in prop_oneof![Just(Role::User), Just(Role::Admin)],
        alg in proptest::sample::select(&[Algorithm::EdDSA, Algorithm::HS256][..]),
    ) {
        let fixture = fixture();
        let forger = TestKey::generate("k1");
        let mut header = access_header(Some("k1"));
        header.alg = alg;
        let token = match alg {
            Algorithm::EdDSA => forger.sign_with(&header, &claims(role)),
            // HMAC keyed with the trusted public key: the classic confusion.
            _ => jsonwebtoken::encode(
                &header,
                &claims(role),
                &jsonwebtoken::EncodingKey::from_secret(&fixture.key.public_bytes()),
            )
            .expect("HS256 signs"),
        };
        prop_assert!(verifier().verify(&token, &fixture.keys).is_err());
    }

    #[test]
    fn only_the_contracts_role_names_parse(name in "[a-zA-Z]{0,6}|\\PC{0,8}|user|admin|User|ADMIN|user ") {
        let parsed = name.parse::<Role>();
        let from_json = serde_json::from_value::<Role>(json!(name));
        prop_assert_eq!(parsed.is_ok(), name == "user" || name == "admin", "{:?}", name);
        prop_assert_eq!(from_json.ok(), parsed.clone().ok());
        if let Ok(role) = parsed {
            prop_assert_eq!(role.to_string(), name);
        }
    }
}

#[test]
fn the_fixture_token_is_valid_so_the_properties_can_fail() {
    let fixture = fixture();
    let verified = Verifier::verify(&verifier(), &fixture.token, &fixture.keys);
    assert!(verified.is_ok(), "{verified:?}");
    // And the unchanged payload decodes, so claim edits really re-encode it.
    let payload = fixture.token.split('.').nth(1).expect("a payload");
    assert!(serde_json::from_slice::<Value>(&unb64(payload)).is_ok());
}

proptest! {
    #![proptest_config(cases(64))]

    /// A leeway past the Unix time once overflowed `now - leeway`: a panic
    /// in a debug build, every token expired in a release build.
    #[test]
    fn any_leeway_verifies_a_fresh_token_without_overflowing(seconds in any::<u64>()) {
        let fixture = fixture();
        let verifier = Verifier::new(common::ISSUER, common::AUDIENCE, std::time::Duration::from_secs(seconds));
        let verified = verifier.verify(&fixture.token, &fixture.keys);
        prop_assert!(verified.is_ok(), "{:?}", verified);
    }
}
