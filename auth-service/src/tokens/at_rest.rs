//! Private signing keys encrypted at rest (API.md §6 "Signing keys at rest").
//!
//! With `KEY_ENCRYPTION_KEY` set, the `private_key` column holds
//! `MAGIC || nonce || ChaCha20-Poly1305(PKCS#8 DER)` with the key id as
//! associated data, so a sealed key cannot be moved to another row. PKCS#8
//! DER always starts with a SEQUENCE tag (0x30), never with `MAGIC`, so both
//! forms can be told apart and plaintext keys found at start are sealed in
//! place.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore as _;

const MAGIC: &[u8; 4] = b"KEK1";
const NONCE_LEN: usize = 12;
/// The variable every refusal names.
pub const VARIABLE: &str = "KEY_ENCRYPTION_KEY";

/// The 32-byte key that seals private signing keys. Its `Debug` shows nothing.
#[derive(Clone)]
pub struct KeyEncryptionKey([u8; 32]);

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey(..)")
    }
}

impl KeyEncryptionKey {
    /// Standard base64 of exactly 32 bytes (`openssl rand -base64 32`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bytes = STANDARD.decode(raw.trim()).map_err(|_| {
            "expected base64 of 32 random bytes (openssl rand -base64 32)".to_owned()
        })?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("expected 32 bytes once decoded, got {}", b.len()))?;
        Ok(Self(key))
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&Key::from(self.0))
    }
}

/// Whether a stored private key is sealed.
pub fn is_sealed(stored: &[u8]) -> bool {
    stored.starts_with(MAGIC)
}

/// Seals a PKCS#8 document for the key `kid`.
pub fn seal(kek: &KeyEncryptionKey, kid: &str, der: &[u8]) -> Result<Vec<u8>, String> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let sealed = kek
        .cipher()
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: der,
                aad: kid.as_bytes(),
            },
        )
        .map_err(|_| format!("cannot encrypt signing key {kid}"))?;
    Ok([MAGIC.as_slice(), &nonce, &sealed].concat())
}

/// The PKCS#8 document of a stored private key, opening it if sealed. A
/// sealed key without `kek`, or one `kek` does not open, is refused naming
/// `KEY_ENCRYPTION_KEY`.
pub fn open(kek: Option<&KeyEncryptionKey>, kid: &str, stored: &[u8]) -> Result<Vec<u8>, String> {
    let Some(rest) = stored.strip_prefix(MAGIC.as_slice()) else {
        return Ok(stored.to_vec());
    };
    let Some(kek) = kek else {
        return Err(format!(
            "{VARIABLE}: the signing keys are encrypted and {VARIABLE} is not set"
        ));
    };
    if rest.len() < NONCE_LEN {
        return Err(format!(
            "signing key {kid} is stored encrypted but truncated"
        ));
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce
        .try_into()
        .map_err(|_| format!("signing key {kid}: bad nonce"))?;
    kek.cipher()
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: sealed,
                aad: kid.as_bytes(),
            },
        )
        .map_err(|_| format!("{VARIABLE}: it does not decrypt signing key {kid} (wrong key?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek(byte: u8) -> KeyEncryptionKey {
        KeyEncryptionKey::parse(&STANDARD.encode([byte; 32])).expect("kek")
    }

    #[test]
    fn a_sealed_key_opens_only_with_its_kek_and_kid() {
        let sealed = seal(&kek(1), "k1", b"0\x2e secret der").expect("seal");
        assert!(is_sealed(&sealed));
        assert_eq!(
            open(Some(&kek(1)), "k1", &sealed).expect("open"),
            b"0\x2e secret der"
        );
        for (key, kid) in [(Some(kek(2)), "k1"), (Some(kek(1)), "k2"), (None, "k1")] {
            let err = open(key.as_ref(), kid, &sealed).expect_err("refused");
            assert!(err.starts_with(VARIABLE), "{err}");
        }
    }

    #[test]
    fn plaintext_keys_pass_through() {
        assert_eq!(open(None, "k", b"0\x2eder").expect("plain"), b"0\x2eder");
        assert!(!is_sealed(b"0\x2eder"));
    }

    #[test]
    fn only_base64_of_32_bytes_is_a_kek() {
        assert!(KeyEncryptionKey::parse(&STANDARD.encode([7u8; 32])).is_ok());
        for bad in ["", "not base64!", &STANDARD.encode([7u8; 16])] {
            assert!(KeyEncryptionKey::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(format!("{:?}", kek(9)), "KeyEncryptionKey(..)");
    }
}
