//! Checking one proof through jsonwebtoken: the JOSE header and its `jwk`
//! (once per header, see `keys.rs`), then the signature and the claims.
//!
//! jsonwebtoken splits, decodes and verifies the proof. One check it cannot
//! make: its `Jwk` type drops the members of a private key, and RFC 9449
//! §4.3 (check 7) refuses a proof whose `jwk` holds one. So the header
//! segment is read a second time here, only for the names of private
//! members (and, when jsonwebtoken's `Header` refuses the header, for what
//! to call the refusal).

use std::sync::LazyLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::de::IgnoredAny;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{DpopError, MAX_JTI_LEN, PROOF_TYPE};

/// What jsonwebtoken's `Header` and `Jwk` do not keep: the private members
/// of the `jwk` (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2), whose presence
/// alone refuses the proof, and `typ` and `alg` as written, to name the
/// refusal of a header jsonwebtoken cannot read (`alg: none`, say).
#[derive(Deserialize)]
struct Unkept {
    typ: Option<serde_json::Value>,
    alg: Option<serde_json::Value>,
    jwk: Option<PrivateMembers>,
}

#[derive(Deserialize)]
struct PrivateMembers {
    d: Option<IgnoredAny>,
    p: Option<IgnoredAny>,
    q: Option<IgnoredAny>,
    dp: Option<IgnoredAny>,
    dq: Option<IgnoredAny>,
    qi: Option<IgnoredAny>,
    oth: Option<IgnoredAny>,
    k: Option<IgnoredAny>,
}

impl PrivateMembers {
    fn any(&self) -> bool {
        self.d.is_some()
            || self.p.is_some()
            || self.q.is_some()
            || self.dp.is_some()
            || self.dq.is_some()
            || self.qi.is_some()
            || self.oth.is_some()
            || self.k.is_some()
    }
}

impl Unkept {
    fn read(header_segment: &str) -> Result<Self, DpopError> {
        let json = URL_SAFE_NO_PAD
            .decode(header_segment)
            .map_err(|_| DpopError::Malformed)?;
        serde_json::from_slice(&json).map_err(|_| DpopError::Malformed)
    }

    fn has_private_members(&self) -> bool {
        self.jwk.as_ref().is_some_and(PrivateMembers::any)
    }

    /// Why a header that parses as JSON is not a `Header` to jsonwebtoken.
    fn refusal(&self) -> DpopError {
        if self.typ.as_ref().and_then(|t| t.as_str()) != Some(PROOF_TYPE) {
            DpopError::WrongType
        } else if !matches!(
            self.alg.as_ref().and_then(|a| a.as_str()),
            Some("ES256" | "EdDSA")
        ) {
            DpopError::UnsupportedAlgorithm
        } else {
            DpopError::Malformed
        }
    }
}

/// The claims of a proof. Unknown ones are ignored; a claim named twice
/// makes the proof malformed.
#[derive(Deserialize)]
pub(super) struct ProofClaims {
    pub(super) jti: String,
    pub(super) htm: String,
    pub(super) htu: String,
    #[serde(rename = "iat")]
    iat_number: serde_json::Number,
    #[serde(skip)]
    pub(super) iat: i64,
    pub(super) ath: Option<String>,
}

/// A proof's public key, checked against its algorithm, ready for jsonwebtoken.
pub(super) struct ProofKey {
    pub(super) algorithm: Algorithm,
    pub(super) decoding: DecodingKey,
    /// RFC 7638 thumbprint, base64url of SHA-256.
    pub(super) thumbprint: String,
}

/// The header segment of `proof`: what the key cache is keyed by.
pub(super) fn header_segment(proof: &str) -> Result<&str, DpopError> {
    proof
        .split_once('.')
        .map(|(header, _)| header)
        .ok_or(DpopError::Malformed)
}

/// The key of `proof`'s header, with every check of the header made:
/// `typ`, `alg`, `crit`, a public `jwk` that fits `alg`.
pub(super) fn header_key(proof: &str) -> Result<ProofKey, DpopError> {
    let unkept = Unkept::read(header_segment(proof)?)?;
    let header = jsonwebtoken::decode_header(proof).map_err(|_| unkept.refusal())?;
    check_header(&header, unkept.has_private_members())
}

/// Decodes the claims of `proof` with jsonwebtoken, once its signature
/// verified with `key` (which must be the key of its header).
pub(super) fn decode_claims(proof: &str, key: &ProofKey) -> Result<ProofClaims, DpopError> {
    let mut claims =
        jsonwebtoken::decode::<ProofClaims>(proof, &key.decoding, validation(key.algorithm))
            .map_err(|e| refusal(&e))?
            .claims;
    if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN {
        return Err(DpopError::InvalidJti);
    }
    claims.iat = numeric_date(&claims.iat_number).ok_or(DpopError::Malformed)?;
    Ok(claims)
}

/// What jsonwebtoken checks of a proof beside its signature: the algorithm
/// only. A proof has no `exp`; its `iat` is checked by the caller.
fn validation(algorithm: Algorithm) -> &'static Validation {
    fn only(algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation
    }
    static ES256: LazyLock<Validation> = LazyLock::new(|| only(Algorithm::ES256));
    static EDDSA: LazyLock<Validation> = LazyLock::new(|| only(Algorithm::EdDSA));
    match algorithm {
        Algorithm::ES256 => &ES256,
        _ => &EDDSA,
    }
}

/// The refusal for one of jsonwebtoken's errors.
fn refusal(error: &Error) -> DpopError {
    match error.kind() {
        // The coordinates decoded but are not a point of the curve.
        ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidEddsaKey => DpopError::InvalidKey,
        ErrorKind::InvalidSignature | ErrorKind::Signing(_) | ErrorKind::Provider(_) => {
            DpopError::BadSignature
        }
        ErrorKind::InvalidAlgorithm => DpopError::UnsupportedAlgorithm,
        _ => DpopError::Malformed,
    }
}

/// `typ`, `alg`, `crit` and the `jwk`, and the key it holds.
fn check_header(header: &Header, private_members: bool) -> Result<ProofKey, DpopError> {
    // RFC 9449 §4.2 names the type exactly; no media-type leeway here.
    if header.typ.as_deref() != Some(PROOF_TYPE) {
        return Err(DpopError::WrongType);
    }
    if !matches!(header.alg, Algorithm::ES256 | Algorithm::EdDSA) {
        return Err(DpopError::UnsupportedAlgorithm);
    }
    // RFC 7515 §4.1.11: no extension is understood here.
    if header.crit.is_some() {
        return Err(DpopError::Malformed);
    }
    let jwk = header.jwk.as_ref().ok_or(DpopError::InvalidKey)?;
    if private_members {
        return Err(DpopError::PrivateKey);
    }
    public_key(header.alg, jwk)
}

/// The key of a public `jwk` for `algorithm` (`EC` `P-256` for ES256,
/// `OKP` `Ed25519` for EdDSA) and its thumbprint.
fn public_key(algorithm: Algorithm, jwk: &Jwk) -> Result<ProofKey, DpopError> {
    // The coordinates are decoded once, into the forms `DecodingKey::from_jwk`
    // would build (an SEC 1 point, a raw Ed25519 key), and must be canonical
    // base64url: the thumbprint hashes the text, so two spellings of one key
    // must not give two thumbprints.
    let decoding = match (algorithm, &jwk.algorithm) {
        (Algorithm::ES256, AlgorithmParameters::EllipticCurve(ec))
            if ec.curve == EllipticCurve::P256 =>
        {
            let mut point = [0u8; 65];
            point[0] = 0x04; // SEC 1 uncompressed point: 0x04 || x || y
            decode_exact(&ec.x, &mut point[1..33])?;
            decode_exact(&ec.y, &mut point[33..])?;
            DecodingKey::from_ec_der(&point)
        }
        (Algorithm::EdDSA, AlgorithmParameters::OctetKeyPair(okp))
            if okp.curve == EllipticCurve::Ed25519 =>
        {
            let mut public = [0u8; 32];
            decode_exact(&okp.x, &mut public)?;
            DecodingKey::from_ed_der(&public)
        }
        _ => return Err(DpopError::InvalidKey),
    };
    let thumbprint = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| DpopError::InvalidKey)?;
    Ok(ProofKey {
        algorithm,
        decoding,
        thumbprint,
    })
}

/// Decodes base64url (no padding, canonical) of exactly `out.len()` bytes.
fn decode_exact(text: &str, out: &mut [u8]) -> Result<(), DpopError> {
    if text.len() != (out.len() * 4).div_ceil(3) || out.len() > 33 {
        return Err(DpopError::InvalidKey);
    }
    let mut buffer = [0u8; 48];
    let written = URL_SAFE_NO_PAD
        .decode_slice(text, &mut buffer)
        .map_err(|_| DpopError::InvalidKey)?;
    if written != out.len() {
        return Err(DpopError::InvalidKey);
    }
    out.copy_from_slice(&buffer[..written]);
    Ok(())
}

/// The public key of a JWK (`EC` `P-256` or `OKP` `Ed25519`) and its thumbprint.
pub(super) fn public_jwk(json: &str) -> Result<ProofKey, DpopError> {
    let private: PrivateMembers = serde_json::from_str(json).map_err(|_| DpopError::InvalidKey)?;
    if private.any() {
        return Err(DpopError::PrivateKey);
    }
    let jwk: Jwk = serde_json::from_str(json).map_err(|_| DpopError::InvalidKey)?;
    let algorithm = match jwk.algorithm {
        AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
        _ => Algorithm::EdDSA,
    };
    public_key(algorithm, &jwk)
}

/// `ath`: base64url of the SHA-256 of the access token (RFC 9449 §4.2).
pub(super) fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// A NumericDate (RFC 7519 §2): whole seconds, or a fraction cut to them.
fn numeric_date(value: &serde_json::Number) -> Option<i64> {
    value.as_i64().or_else(|| {
        let float = value.as_f64()?;
        // In range and finite; `as` then truncates exactly.
        (float.is_finite() && float.abs() < 1e15).then(|| float.floor() as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1: the example RSA key and its thumbprint, as jsonwebtoken
    /// computes the thumbprints this module hands out.
    #[test]
    fn thumbprint_of_the_rfc_7638_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let jwk: Jwk = serde_json::from_value(serde_json::json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}))
            .expect("a JWK");
        let thumbprint = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .expect("a thumbprint");
        assert_eq!(thumbprint, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn base64_must_be_canonical_and_of_the_right_length() {
        let mut out = [0u8; 32];
        let canonical = URL_SAFE_NO_PAD.encode([1u8; 32]);
        assert_eq!(decode_exact(&canonical, &mut out), Ok(()));
        assert_eq!(out, [1u8; 32]);
        // The same bytes with padding, with a changed last (unused) bit, too short.
        assert!(decode_exact(&format!("{canonical}="), &mut out).is_err());
        let mut bent = canonical.clone().into_bytes();
        *bent.last_mut().expect("not empty") += 1;
        assert!(decode_exact(&String::from_utf8(bent).expect("ascii"), &mut out).is_err());
        assert!(decode_exact(&URL_SAFE_NO_PAD.encode([1u8; 31]), &mut out).is_err());
        assert!(decode_exact(&"A".repeat(400), &mut out).is_err());
    }

    #[test]
    fn numeric_dates_may_carry_fractions() {
        let n = |json: &str| serde_json::from_str::<serde_json::Number>(json).expect("number");
        assert_eq!(numeric_date(&n("1700000000")), Some(1_700_000_000));
        assert_eq!(numeric_date(&n("1700000000.9")), Some(1_700_000_000));
        assert_eq!(numeric_date(&n("1e300")), None);
    }
}
