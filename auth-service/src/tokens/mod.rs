//! Signing keys, access-token minting, refresh-token generation and hashing.

mod access;
mod keys;
mod refresh;

pub use access::mint_access_token;
pub use keys::{published, KeyRing, SigningKey, StoredKey};
pub use refresh::{sha256_hex, RefreshToken, TokenHash};
