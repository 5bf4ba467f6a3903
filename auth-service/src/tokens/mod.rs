//! Signing keys, access-token minting, refresh-token generation and hashing.

mod access;
mod at_rest;
mod keys;
mod refresh;
mod retirement;

pub use access::mint_access_token;
pub use at_rest::{
    is_sealed, open as open_private_key, seal as seal_private_key, KeyEncryptionKey,
};
pub use keys::{KeyRing, SigningKey, StoredKey};
pub use refresh::{sha256_hex, RefreshToken, TokenHash};
pub use retirement::{published, retirements, Lifetimes};
