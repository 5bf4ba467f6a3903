//! Parsing and checking one proof: the JOSE header and its `jwk` (once per
//! header, see `keys.rs`), the signature (through jsonwebtoken), the claims.

use std::borrow::Cow;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::de::IgnoredAny;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::keys::{KeyCache, PreparedKey};
use super::{DpopError, MAX_JTI_LEN, PROOF_TYPE};

/// The JOSE header of a proof. Unknown members are ignored; a member named
/// twice makes the header malformed.
#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow)]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    jwk: Option<RawJwk<'a>>,
    crit: Option<IgnoredAny>,
}

/// The members of a JWK this module looks at: the public ones it needs,
/// and every private one (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2), whose
/// presence alone refuses the proof.
#[derive(Deserialize)]
struct RawJwk<'a> {
    #[serde(borrow)]
    kty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    crv: Option<Cow<'a, str>>,
    #[serde(borrow)]
    x: Option<Cow<'a, str>>,
    #[serde(borrow)]
    y: Option<Cow<'a, str>>,
    d: Option<IgnoredAny>,
    p: Option<IgnoredAny>,
    q: Option<IgnoredAny>,
    dp: Option<IgnoredAny>,
    dq: Option<IgnoredAny>,
    qi: Option<IgnoredAny>,
    oth: Option<IgnoredAny>,
    k: Option<IgnoredAny>,
}

impl RawJwk<'_> {
    fn has_private_members(&self) -> bool {
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

#[derive(Deserialize)]
struct RawClaims<'a> {
    #[serde(borrow)]
    jti: Cow<'a, str>,
    #[serde(borrow)]
    htm: Cow<'a, str>,
    #[serde(borrow)]
    htu: Cow<'a, str>,
    iat: serde_json::Number,
    #[serde(borrow)]
    ath: Option<Cow<'a, str>>,
}

/// A proof's public key, checked against its algorithm, ready for jsonwebtoken.
pub(super) struct ProofKey {
    pub(super) algorithm: Algorithm,
    pub(super) decoding: DecodingKey,
    /// RFC 7638 thumbprint, base64url of SHA-256.
    pub(super) thumbprint: String,
}

/// The claims of a proof whose signature verified.
pub(super) struct ProofClaims<'a> {
    pub(super) jti: Cow<'a, str>,
    pub(super) htm: Cow<'a, str>,
    pub(super) htu: Cow<'a, str>,
    pub(super) iat: i64,
    pub(super) ath: Option<Cow<'a, str>>,
}

/// Checks the header (or finds its key in `keys`) and the signature of
/// `proof`, then parses its claims into `claims_buffer` (so they may borrow
/// from it).
pub(super) fn verify_signed<'b>(
    proof: &str,
    keys: &KeyCache,
    claims_buffer: &'b mut Vec<u8>,
) -> Result<(Arc<PreparedKey>, ProofClaims<'b>), DpopError> {
    let mut parts = proof.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DpopError::Malformed);
    };
    let key = keys.get_or_prepare(header, || {
        let header_json = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| DpopError::Malformed)?;
        let header_fields: RawHeader<'_> =
            serde_json::from_slice(&header_json).map_err(|_| DpopError::Malformed)?;
        PreparedKey::prepare(check_header(header_fields)?)
    })?;

    // The signing input is the two first segments as they arrived.
    let signed = &proof[..header.len() + 1 + claims.len()];
    match key.verify(signature, signed.as_bytes()) {
        Ok(true) => {}
        Ok(false) => return Err(DpopError::BadSignature),
        Err(e) => {
            return Err(match e.kind() {
                // The coordinates decoded but are not a point of the curve.
                ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidEddsaKey => DpopError::InvalidKey,
                _ => DpopError::BadSignature,
            });
        }
    }

    URL_SAFE_NO_PAD
        .decode_vec(claims, claims_buffer)
        .map_err(|_| DpopError::Malformed)?;
    let raw: RawClaims<'b> =
        serde_json::from_slice(claims_buffer).map_err(|_| DpopError::Malformed)?;
    if raw.jti.is_empty() || raw.jti.len() > MAX_JTI_LEN {
        return Err(DpopError::InvalidJti);
    }
    let iat = numeric_date(&raw.iat).ok_or(DpopError::Malformed)?;
    Ok((
        key,
        ProofClaims {
            jti: raw.jti,
            htm: raw.htm,
            htu: raw.htu,
            iat,
            ath: raw.ath,
        },
    ))
}

/// `typ`, `alg`, `crit` and the `jwk`, and the key it holds.
fn check_header(header: RawHeader<'_>) -> Result<ProofKey, DpopError> {
    // RFC 9449 §4.2 names the type exactly; no media-type leeway here.
    if header.typ.as_deref() != Some(PROOF_TYPE) {
        return Err(DpopError::WrongType);
    }
    let algorithm = match header.alg.as_deref() {
        Some("ES256") => Algorithm::ES256,
        Some("EdDSA") => Algorithm::EdDSA,
        _ => return Err(DpopError::UnsupportedAlgorithm),
    };
    // RFC 7515 §4.1.11: no extension is understood here.
    if header.crit.is_some() {
        return Err(DpopError::Malformed);
    }
    let jwk = header.jwk.ok_or(DpopError::InvalidKey)?;
    if jwk.has_private_members() {
        return Err(DpopError::PrivateKey);
    }
    // The coordinates are decoded once, into the forms jsonwebtoken's
    // `DecodingKey::from_jwk` would build (an SEC 1 point, a raw Ed25519
    // key), without parsing the JWK a second time.
    match (
        algorithm,
        jwk.kty.as_deref(),
        jwk.crv.as_deref(),
        jwk.x.as_deref(),
        jwk.y.as_deref(),
    ) {
        (Algorithm::ES256, Some("EC"), Some("P-256"), Some(x), Some(y)) => {
            let mut point = [0u8; 65];
            point[0] = 0x04; // SEC 1 uncompressed point: 0x04 || x || y
            decode_exact(x, &mut point[1..33])?;
            decode_exact(y, &mut point[33..])?;
            Ok(ProofKey {
                algorithm,
                decoding: DecodingKey::from_ec_der(&point),
                thumbprint: members_thumbprint(&[
                    ("crv", "P-256"),
                    ("kty", "EC"),
                    ("x", x),
                    ("y", y),
                ]),
            })
        }
        (Algorithm::EdDSA, Some("OKP"), Some("Ed25519"), Some(x), None) => {
            let mut public = [0u8; 32];
            decode_exact(x, &mut public)?;
            Ok(ProofKey {
                algorithm,
                decoding: DecodingKey::from_ed_der(&public),
                thumbprint: members_thumbprint(&[("crv", "Ed25519"), ("kty", "OKP"), ("x", x)]),
            })
        }
        _ => Err(DpopError::InvalidKey),
    }
}

/// Decodes base64url (no padding, canonical) of exactly `out.len()` bytes.
/// Canonical matters: the thumbprint hashes the text, so two spellings of
/// one key must not give two thumbprints.
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

/// An RFC 7638 thumbprint: SHA-256 of the required members, in
/// lexicographic order, without whitespace, then base64url. The values are
/// base64url or fixed names here, so none needs JSON escaping.
pub(super) fn members_thumbprint(members: &[(&str, &str)]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"{");
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            hasher.update(b",");
        }
        hasher.update(b"\"");
        hasher.update(name.as_bytes());
        hasher.update(b"\":\"");
        hasher.update(value.as_bytes());
        hasher.update(b"\"");
    }
    hasher.update(b"}");
    URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// The public key of a JWK (`EC` `P-256` or `OKP` `Ed25519`) and its thumbprint.
pub(super) fn public_jwk(json: &str) -> Result<ProofKey, DpopError> {
    let jwk: RawJwk<'_> = serde_json::from_str(json).map_err(|_| DpopError::InvalidKey)?;
    let algorithm = match jwk.kty.as_deref() {
        Some("EC") => "ES256",
        _ => "EdDSA",
    };
    check_header(RawHeader {
        typ: Some(Cow::Borrowed(PROOF_TYPE)),
        alg: Some(Cow::Borrowed(algorithm)),
        jwk: Some(jwk),
        crit: None,
    })
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

    /// RFC 7638 §3.1: the example RSA key and its thumbprint.
    #[test]
    fn thumbprint_of_the_rfc_7638_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let thumbprint = members_thumbprint(&[("e", "AQAB"), ("kty", "RSA"), ("n", n)]);
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
