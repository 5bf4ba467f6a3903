use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// An opaque refresh token as the client holds it: 256 random bits, base64url.
/// Its `Debug` is redacted; only its [`TokenHash`] reaches the database.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// A fresh token from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        RefreshToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token presented by a client. Anything is accepted: an unknown token
    /// simply hashes to nothing stored.
    pub fn presented(token: String) -> Self {
        RefreshToken(token)
    }

    /// The token itself, for the response body and cookie only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash under which the token is stored.
    pub fn hash(&self) -> TokenHash {
        // A plain, unsalted SHA-256 is right here (unlike for passwords): the
        // input has 256 bits of entropy, so there is nothing to brute-force,
        // and the hash must be deterministic to be looked up.
        TokenHash(sha256_hex(self.0.as_bytes()))
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(***)")
    }
}

/// The SHA-256 of a refresh token, hex-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The SHA-256 of `input`, hex-encoded.
pub fn sha256_hex(input: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(input)
        .iter()
        .fold(String::with_capacity(64), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_bits_in_base64url() {
        let token = RefreshToken::generate();
        let decoded = URL_SAFE_NO_PAD.decode(token.expose()).expect("base64url");
        assert_eq!(decoded.len(), 32);
        assert_ne!(token, RefreshToken::generate());
    }

    #[test]
    fn the_hash_is_the_sha256_of_the_token() {
        let token = RefreshToken::presented("abc".into());
        assert_eq!(
            token.hash().as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn tokens_that_share_a_long_prefix_hash_differently() {
        // The failure of bcrypt-hashed refresh tokens: bcrypt reads 72 bytes,
        // so long tokens sharing a prefix all matched one hash.
        let prefix = "x".repeat(80);
        let a = RefreshToken::presented(format!("{prefix}a"));
        let b = RefreshToken::presented(format!("{prefix}b"));
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn debug_output_hides_the_token() {
        let token = RefreshToken::generate();
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
