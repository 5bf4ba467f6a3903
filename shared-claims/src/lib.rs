// The README is the crate's documentation. Its example needs the `actix`
// and `jwks` features, so its doc test runs only when both are on
// (`cargo test -p shared-claims --all-features`, or `cargo test --workspace`,
// where the resource-service turns them on).
#![cfg_attr(
    any(not(doctest), all(feature = "actix", feature = "jwks")),
    doc = include_str!("../README.md")
)]
#![forbid(unsafe_code)]

mod authority;
mod cache;
mod claims;
mod crypto;
pub mod dpop;
mod error;
mod keys;
mod scheme;
mod verify;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "introspection")]
pub mod introspection;
#[cfg(feature = "jwks")]
pub mod jwks;

pub use authority::{Authority, Credentials, KeyRefresher, RefreshFuture, DEFAULT_CACHE_CAPACITY};
pub use claims::{
    AccessClaims, Confirmation, ParseRoleError, Role, Subject, TokenRole, ACCESS_TOKEN_TYPE,
    FIRST_PARTY_CLIENT,
};
pub use crypto::{install_crypto_provider, PreparedSigningKey};
pub use error::{AuthError, ErrorBody, SchemeError};
pub use keys::{KeySet, KeyStore};
pub use verify::{Verifier, VerifyError, MAX_LEEWAY};
