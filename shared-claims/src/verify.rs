use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Verifier as _};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::{AccessClaims, KeySet, ACCESS_TOKEN_TYPE};

/// The only signing algorithm accepted (RFC 8037).
const ALGORITHM: &str = "EdDSA";

/// Why a token was refused. Every variant becomes `401 invalid_token`; the
/// variants exist so that logs and tests can tell the cases apart.
///
/// ```
/// use shared_claims::VerifyError;
/// assert_eq!(VerifyError::Expired.description(), "the access token expired");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a JWS at all, or its header or claims do not parse.
    #[error("malformed token")]
    Malformed,
    /// Signed with an algorithm other than the one configured (`none`, HS256 …).
    #[error("algorithm not allowed")]
    WrongAlgorithm,
    /// The header's `typ` is not `at+jwt`.
    #[error("not an access token")]
    WrongType,
    /// No `kid` in the header, or a `kid` the key set does not hold.
    #[error("unknown signing key {0:?}")]
    UnknownKey(Option<String>),
    /// The signature does not match the key named by `kid`.
    #[error("bad signature")]
    BadSignature,
    /// `exp` is past, even with the leeway.
    #[error("expired")]
    Expired,
    /// `nbf` is in the future, even with the leeway.
    #[error("not yet valid")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` is not the configured audience.
    #[error("wrong audience")]
    WrongAudience,
}

impl VerifyError {
    /// Text for the `error_description` of the RFC 6750 challenge. It stays
    /// within the characters RFC 6750 §3 allows in that parameter.
    ///
    /// ```
    /// use shared_claims::VerifyError;
    /// assert!(!VerifyError::Malformed.description().contains('"'));
    /// ```
    pub fn description(&self) -> &'static str {
        match self {
            VerifyError::Malformed => "the access token is malformed",
            VerifyError::WrongAlgorithm => "the access token uses an algorithm that is not allowed",
            VerifyError::WrongType => "the token is not an access token",
            VerifyError::UnknownKey(_) => "the access token is signed by an unknown key",
            VerifyError::BadSignature => "the access token signature is invalid",
            VerifyError::Expired => "the access token expired",
            VerifyError::NotYetValid => "the access token is not valid yet",
            VerifyError::WrongIssuer => "the access token is from another issuer",
            VerifyError::WrongAudience => "the access token is for another audience",
        }
    }
}

/// The longest clock leeway a [`Verifier`] applies; longer ones are cut to it.
///
/// A day of skew is already a broken clock; a leeway past the current Unix
/// time once made every token count as expired.
///
/// ```
/// assert_eq!(shared_claims::MAX_LEEWAY.as_secs(), 86_400);
/// ```
pub const MAX_LEEWAY: Duration = Duration::from_secs(86_400);

/// Checks access tokens: EdDSA signature by a trusted key, `typ: at+jwt`,
/// `iss`, `aud`, `exp` and `nbf` (if present) with leeway.
///
/// ```
/// use std::time::Duration;
/// use shared_claims::{KeySet, Verifier, VerifyError};
///
/// let verifier = Verifier::new("http://127.0.0.1:8080", "resource-service", Duration::from_secs(30));
/// assert_eq!(verifier.verify("not-a-jwt", &KeySet::new()), Err(VerifyError::Malformed));
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    issuer: String,
    audience: String,
    leeway: i64,
}

/// The JOSE header fields the verifier looks at (RFC 7515 §4.1).
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    /// Extensions the producer says must be understood; this verifier
    /// understands none, so their presence refuses the token (§4.1.11).
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// One base64url (no padding) segment of a JWS, as JSON.
fn decode_segment<T: DeserializeOwned>(segment: &str) -> Result<T, VerifyError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| VerifyError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| VerifyError::Malformed)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Verifier {
    /// A verifier for tokens from `issuer` meant for `audience`, allowing
    /// `leeway` of clock skew (at most [`MAX_LEEWAY`]).
    ///
    /// ```
    /// let v = shared_claims::Verifier::new("https://auth.example", "api", std::time::Duration::ZERO);
    /// # let _ = v;
    /// ```
    pub fn new(issuer: &str, audience: &str, leeway: Duration) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            // At most a day, so every value is far from overflowing an i64.
            leeway: i64::try_from(leeway.min(MAX_LEEWAY).as_secs()).unwrap_or(i64::MAX),
        }
    }

    /// Verifies `token` against `keys` and returns its claims.
    ///
    /// ```
    /// use shared_claims::{KeySet, Verifier, VerifyError};
    ///
    /// let verifier = Verifier::new("iss", "aud", std::time::Duration::ZERO);
    /// // An HS256 token: refused before any key is looked at.
    /// let hs256 = "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln";
    /// assert_eq!(verifier.verify(hs256, &KeySet::new()), Err(VerifyError::WrongAlgorithm));
    /// ```
    pub fn verify(&self, token: &str, keys: &KeySet) -> Result<AccessClaims, VerifyError> {
        self.verify_with_kid(token, keys).map(|(claims, _)| claims)
    }

    /// [`Self::verify`], also returning the id of the key that verified it.
    pub(crate) fn verify_with_kid(
        &self,
        token: &str,
        keys: &KeySet,
    ) -> Result<(AccessClaims, String), VerifyError> {
        // A JWS in compact serialisation: exactly three segments.
        let mut segments = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(VerifyError::Malformed);
        };
        let signed = &token[..header.len() + 1 + payload.len()];
        let header: Header = decode_segment(header)?;
        // Only EdDSA: with a single allowed algorithm an attacker cannot pick
        // `none` or HMAC-with-the-public-key (RFC 8725 §2.1, §3.1).
        if header.alg != ALGORITHM {
            return Err(VerifyError::WrongAlgorithm);
        }
        if header.crit.is_some() {
            return Err(VerifyError::Malformed);
        }
        // RFC 9068 §4 and RFC 7515 §4.1.9: the type is a media type, compared
        // case-insensitively, with or without the "application/" prefix.
        const MEDIA_PREFIX: &str = "application/";
        let typ = header.typ.as_deref().unwrap_or_default();
        let typ = match typ.split_at_checked(MEDIA_PREFIX.len()) {
            Some((prefix, rest)) if prefix.eq_ignore_ascii_case(MEDIA_PREFIX) => rest,
            _ => typ,
        };
        if !typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE) {
            return Err(VerifyError::WrongType);
        }
        let kid = header.kid.ok_or(VerifyError::UnknownKey(None))?;
        let Some(key) = keys.get(&kid) else {
            return Err(VerifyError::UnknownKey(Some(kid)));
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| VerifyError::Malformed)?;
        let signature = Signature::from_slice(&signature).map_err(|_| VerifyError::BadSignature)?;
        key.ok_or(VerifyError::BadSignature)?
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| VerifyError::BadSignature)?;
        // Only signed bytes are parsed beyond the header. Every claim the
        // checks need (exp, iss, aud, sub …) is a required field of
        // AccessClaims, so a token without one is malformed.
        let claims: AccessClaims = decode_segment(payload)?;
        self.check_times(&claims, now())?;
        if claims.iss != self.issuer {
            return Err(VerifyError::WrongIssuer);
        }
        if claims.aud != self.audience {
            return Err(VerifyError::WrongAudience);
        }
        Ok((claims, kid))
    }

    /// The time checks alone, with the same rules and leeway as
    /// [`Self::verify`], for claims verified earlier.
    pub(crate) fn check_times(&self, claims: &AccessClaims, now: i64) -> Result<(), VerifyError> {
        let leeway = self.leeway;
        if claims.exp < now.saturating_sub(leeway) {
            return Err(VerifyError::Expired);
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(leeway))
        {
            return Err(VerifyError::NotYetValid);
        }
        Ok(())
    }
}
