//! Access-token claims and their verification, shared by the auth-service that
//! mints the tokens and by every resource server that accepts them.
//!
//! The core is framework-free: [`AccessClaims`] and [`Role`] describe a token,
//! [`KeySet`] holds the issuer's public keys (built from its JWKS), [`Verifier`]
//! checks a token against them (EdDSA only, `typ: at+jwt`, `iss`, `aud`, `exp`,
//! `nbf`), and [`AuthError`] maps every failure to the RFC 6750 response.
//! [`Authority`] ties these together for a server and can refetch keys when a
//! token names one it does not know.
//!
//! With the `actix` feature, [`actix::Authenticated`] is an actix-web extractor:
//!
//! ```ignore
//! async fn me(user: Authenticated) -> HttpResponse {
//!     HttpResponse::Ok().json(user.claims())
//! }
//! ```
//!
//! With the `openapi` feature, [`ErrorBody`] and [`Role`] have OpenAPI schemas
//! (utoipa).
#![forbid(unsafe_code)]

mod authority;
mod cache;
mod claims;
mod error;
mod keys;
mod verify;

#[cfg(feature = "actix")]
pub mod actix;

pub use authority::{Authority, KeyRefresher, RefreshFuture, DEFAULT_CACHE_CAPACITY};
pub use claims::{AccessClaims, ParseRoleError, Role, ACCESS_TOKEN_TYPE};
pub use error::{AuthError, ErrorBody};
pub use keys::{KeySet, KeyStore};
pub use verify::{Verifier, VerifyError, MAX_LEEWAY};
