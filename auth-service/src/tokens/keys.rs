use std::sync::{Arc, RwLock};

use actix_web::web::Bytes;

use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Header};
use shared_claims::ACCESS_TOKEN_TYPE;
use shared_claims::{KeySet, KeyStore, PreparedSigningKey};

const ALGORITHM: &str = "EdDSA";

/// A key pair as kept between runs: what [`SigningKey::generate`] makes and
/// [`SigningKey::from_row`] loads. Storage is the caller's business.
#[derive(Clone)]
pub struct StoredKey {
    /// The RFC 7638 thumbprint of the public key.
    pub kid: String,
    /// Always `EdDSA` for keys made here.
    pub algorithm: String,
    /// PKCS#8 DER of the private key.
    pub private_key: Vec<u8>,
    /// The raw 32-byte public key.
    pub public_key: Vec<u8>,
    /// When the key was made; the newest signs.
    pub created_at: chrono::NaiveDateTime,
    /// The last moment a token it signed may be alive, as the signing
    /// instances recorded it; `None` until one has.
    pub retire_after: Option<chrono::NaiveDateTime>,
}

/// Wipes the private key only: the rest is public. Lets the keys opened
/// from their sealed form be held in a `Zeroizing` until they are parsed.
impl zeroize::Zeroize for StoredKey {
    fn zeroize(&mut self) {
        self.private_key.zeroize();
    }
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// One Ed25519 key pair. The private half never leaves the process and the
/// database; the JWKS carries only the public half.
pub struct SigningKey {
    kid: String,
    /// Parsed once: decoding the PKCS#8 document and deriving the public
    /// half on every token was half the cost of signing one.
    prepared: PreparedSigningKey,
    /// The JOSE header of every access token this key signs.
    header: Header,
    public: [u8; 32],
    jwk: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key, to store. Its `kid` is the RFC 7638
    /// thumbprint of its public key, so the same key always has the same id.
    pub fn generate(now: chrono::NaiveDateTime) -> Result<StoredKey, String> {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let private_key = key
            .to_pkcs8_der()
            .map_err(|e| format!("cannot encode the new key: {e}"))?
            .as_bytes()
            .to_vec();
        let public: [u8; 32] = key.verifying_key().to_bytes();
        Ok(StoredKey {
            kid: public_jwk(&public)?.1,
            algorithm: ALGORITHM.to_owned(),
            private_key,
            public_key: public.to_vec(),
            created_at: now,
            retire_after: None,
        })
    }

    /// Loads a stored key.
    pub fn from_row(row: &StoredKey) -> Result<Self, String> {
        if row.algorithm != ALGORITHM {
            return Err(format!(
                "key {} has unsupported algorithm {}",
                row.kid, row.algorithm
            ));
        }
        let public: [u8; 32] = row
            .public_key
            .as_slice()
            .try_into()
            .map_err(|_| format!("key {} has a malformed public key", row.kid))?;
        let prepared = PreparedSigningKey::from_pkcs8_der(&row.private_key)
            .map_err(|e| format!("key {} has a malformed private key: {e}", row.kid))?;
        if prepared.public_key() != public {
            return Err(format!(
                "key {}: the private key does not match the public key",
                row.kid
            ));
        }
        let (mut jwk, _) = public_jwk(&public)?;
        jwk.common.key_id = Some(row.kid.clone());
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(row.kid.clone());
        Ok(SigningKey {
            kid: row.kid.clone(),
            prepared,
            header,
            public,
            jwk,
        })
    }

    /// The key's id, as in the token header and the JWKS.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key, as jsonwebtoken signs with it.
    pub(crate) fn prepared(&self) -> &PreparedSigningKey {
        &self.prepared
    }

    /// The JOSE header of an access token signed by this key:
    /// `alg: EdDSA`, `typ: at+jwt`, `kid`.
    pub(crate) fn header(&self) -> &Header {
        &self.header
    }
}

/// The public JWK of a raw Ed25519 key, and its RFC 7638 thumbprint.
fn public_jwk(public: &[u8; 32]) -> Result<(Jwk, String), String> {
    // Built from the public key: Jwk::from_encoding_key only accepts one of
    // the two PKCS#8 forms of an Ed25519 private key.
    let mut jwk = Jwk::from_decoding_key(&DecodingKey::from_ed_der(public), Some(Algorithm::EdDSA))
        .map_err(|e| format!("cannot build the JWK: {e}"))?;
    let thumbprint = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| format!("cannot compute the key id: {e}"))?;
    jwk.common.key_id = Some(thumbprint.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Ok((jwk, thumbprint))
}

/// What one reload made: the keys, newest first, and the JWKS document
/// serialised once, so the public endpoint costs neither a parse nor a
/// serialisation per request.
#[derive(Debug)]
struct Loaded {
    keys: Vec<Arc<SigningKey>>,
    jwks_body: Bytes,
}

/// The keys this instance knows: the newest signs, all verify and are
/// published. Held behind locks so that a reload (after `keys rotate`) swaps
/// them while requests run.
#[derive(Debug)]
pub struct KeyRing {
    loaded: RwLock<Arc<Loaded>>,
    store: KeyStore,
}

impl KeyRing {
    /// A ring from stored rows, newest first. Fails on an empty list.
    pub fn from_rows(rows: &[StoredKey]) -> Result<Self, String> {
        let ring = KeyRing {
            loaded: RwLock::new(Arc::new(Loaded {
                keys: Vec::new(),
                jwks_body: Bytes::new(),
            })),
            store: KeyStore::default(),
        };
        ring.reload(rows)?;
        Ok(ring)
    }

    /// Replaces the keys with `rows`, newest first. The same kids in the
    /// same order are the same keys (a kid is the thumbprint of the public
    /// key), so then nothing is parsed or rebuilt and the answer is `false`.
    pub fn reload(&self, rows: &[StoredKey]) -> Result<bool, String> {
        if rows.is_empty() {
            return Err("no signing key is stored".into());
        }
        let current = self.snapshot();
        if current.keys.len() == rows.len()
            && current
                .keys
                .iter()
                .zip(rows)
                .all(|(k, row)| k.kid == row.kid)
        {
            return Ok(false);
        }
        let keys = rows
            .iter()
            .map(|row| SigningKey::from_row(row).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let mut set = KeySet::new();
        for key in &keys {
            set.insert_ed25519(key.kid.clone(), &key.public);
        }
        let jwks = JwkSet {
            keys: keys.iter().map(|k| k.jwk.clone()).collect(),
        };
        let jwks_body = serde_json::to_vec(&jwks)
            .map_err(|e| format!("cannot serialise the JWKS: {e}"))?
            .into();
        self.store.replace(set);
        let loaded = Arc::new(Loaded { keys, jwks_body });
        match self.loaded.write() {
            Ok(mut guard) => *guard = loaded,
            Err(poisoned) => *poisoned.into_inner() = loaded,
        }
        Ok(true)
    }

    fn snapshot(&self) -> Arc<Loaded> {
        match self.loaded.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The key that signs new tokens: the newest.
    pub fn signer(&self) -> Option<Arc<SigningKey>> {
        self.snapshot().keys.first().cloned()
    }

    /// The ids of the keys held, newest first.
    pub fn kids(&self) -> Vec<String> {
        self.snapshot().keys.iter().map(|k| k.kid.clone()).collect()
    }

    /// The public keys, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.snapshot().keys.iter().map(|k| k.jwk.clone()).collect(),
        }
    }

    /// [`Self::jwks`] serialised, made once per change of the keys.
    pub fn jwks_body(&self) -> Bytes {
        self.snapshot().jwks_body.clone()
    }

    /// The verifying keys, for this service's own bearer-protected routes.
    pub fn store(&self) -> KeyStore {
        self.store.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jwks_holds_only_public_parts() {
        let row = SigningKey::generate(chrono::Utc::now().naive_utc()).expect("key");
        let ring = KeyRing::from_rows(std::slice::from_ref(&row)).expect("ring");
        let json = serde_json::to_value(ring.jwks()).expect("json");
        let key = &json["keys"][0];
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kid"], row.kid.as_str());
        assert!(key.get("d").is_none(), "private part must never be served");
    }

    #[test]
    fn the_newest_key_signs() {
        let old = SigningKey::generate(chrono::Utc::now().naive_utc()).expect("key");
        let new = SigningKey::generate(chrono::Utc::now().naive_utc()).expect("key");
        let ring = KeyRing::from_rows(&[new.clone(), old]).expect("ring");
        assert_eq!(ring.signer().expect("signer").kid(), new.kid);
        assert_eq!(ring.jwks().keys.len(), 2);
    }

    #[test]
    fn the_served_body_is_the_jwks_and_is_rebuilt_only_when_the_kids_change() {
        let old = SigningKey::generate(chrono::Utc::now().naive_utc()).expect("key");
        let new = SigningKey::generate(chrono::Utc::now().naive_utc()).expect("key");
        let ring = KeyRing::from_rows(std::slice::from_ref(&old)).expect("ring");
        let body = ring.jwks_body();
        let served: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(served, serde_json::to_value(ring.jwks()).expect("json"));

        assert!(!ring.reload(std::slice::from_ref(&old)).expect("same keys"));
        assert_eq!(ring.jwks_body().as_ptr(), body.as_ptr(), "not rebuilt");

        assert!(ring.reload(&[new.clone(), old.clone()]).expect("new key"));
        assert_eq!(ring.kids(), [new.kid, old.kid]);
        let served: serde_json::Value = serde_json::from_slice(&ring.jwks_body()).expect("json");
        assert_eq!(served["keys"].as_array().expect("keys").len(), 2);
    }
}
