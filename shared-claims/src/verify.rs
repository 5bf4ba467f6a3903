use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, Header, Validation};

use crate::crypto::{install_crypto_provider, with_lent_key};
use crate::keys::TrustedKey;
use crate::{AccessClaims, KeySet, ACCESS_TOKEN_TYPE};

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
    validation: Validation,
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
        install_crypto_provider();
        // Only EdDSA: with a single allowed algorithm an attacker cannot pick
        // `none` or HMAC-with-the-public-key (RFC 8725 §2.1, §3.1).
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // At most a day, so `now - leeway` never underflows.
        validation.leeway = leeway.min(MAX_LEEWAY).as_secs();
        Self { validation }
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
    ///
    /// With a single trusted key (the common case between rotations) the
    /// token goes straight to `jsonwebtoken::decode` with that key, and the
    /// header checks run on the header decode returns: decoding the header
    /// first only to choose the key cost a third parse of it (decode parses
    /// it twice itself), about 1% of a cold verification. A token decode
    /// refuses is then refused for the same reason as on the general path:
    /// the header checks come first there, so they are made before the
    /// decode error is reported. No token is ever checked against a second
    /// key, so a forged one costs one signature check, as before.
    pub(crate) fn verify_with_kid(
        &self,
        token: &str,
        keys: &KeySet,
    ) -> Result<(AccessClaims, String), VerifyError> {
        let Some((only_kid, key)) = keys.only() else {
            let header = decode_header(token).map_err(|e| refusal(e.kind()))?;
            let kid = self.check_header(header)?;
            let Some(key) = keys.get(&kid) else {
                return Err(VerifyError::UnknownKey(Some(kid)));
            };
            let claims = self.decode(token, key)?;
            return Ok((claims, kid));
        };
        let decoded = with_lent_key(key.decompressed, || {
            decode::<AccessClaims>(token, &key.decoding, &self.validation)
        });
        match decoded {
            Ok(data) => {
                let kid = self.check_header(data.header)?;
                if kid != only_kid {
                    return Err(VerifyError::UnknownKey(Some(kid)));
                }
                Ok((data.claims, kid))
            }
            Err(e) => {
                let header = decode_header(token).map_err(|e| refusal(e.kind()))?;
                let kid = self.check_header(header)?;
                if kid != only_kid {
                    return Err(VerifyError::UnknownKey(Some(kid)));
                }
                Err(refusal(e.kind()))
            }
        }
    }

    /// The header's checks, in order (algorithm, `crit`, `typ`, a `kid`);
    /// the `kid`.
    fn check_header(&self, header: Header) -> Result<String, VerifyError> {
        if !self.validation.algorithms.contains(&header.alg) {
            return Err(VerifyError::WrongAlgorithm);
        }
        // RFC 7515 §4.1.11: extensions listed in `crit` must be understood,
        // and this verifier understands none.
        if header.crit.is_some() {
            return Err(VerifyError::Malformed);
        }
        // jsonwebtoken does not look at `typ`. RFC 9068 §4 and RFC 7515
        // §4.1.9: it is a media type, compared case-insensitively, with or
        // without the "application/" prefix.
        const MEDIA_PREFIX: &str = "application/";
        let typ = header.typ.as_deref().unwrap_or_default();
        let typ = match typ.split_at_checked(MEDIA_PREFIX.len()) {
            Some((prefix, rest)) if prefix.eq_ignore_ascii_case(MEDIA_PREFIX) => rest,
            _ => typ,
        };
        if !typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE) {
            return Err(VerifyError::WrongType);
        }
        header.kid.ok_or(VerifyError::UnknownKey(None))
    }

    /// `jsonwebtoken::decode` with `key` lent decompressed.
    fn decode(&self, token: &str, key: &TrustedKey) -> Result<AccessClaims, VerifyError> {
        // Every claim the checks need (exp, iss, aud, sub …) is a required
        // field of AccessClaims, so a token without one is malformed.
        with_lent_key(key.decompressed, || {
            decode::<AccessClaims>(token, &key.decoding, &self.validation)
        })
        .map(|data| data.claims)
        .map_err(|e| refusal(e.kind()))
    }

    /// The time checks alone, with the same rules and leeway as
    /// [`Self::verify`], for claims verified earlier.
    pub(crate) fn check_times(&self, claims: &AccessClaims, now: i64) -> Result<(), VerifyError> {
        let leeway = i64::try_from(self.validation.leeway).unwrap_or(i64::MAX);
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

/// The refusal for one of jsonwebtoken's errors.
fn refusal(kind: &ErrorKind) -> VerifyError {
    match kind {
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            VerifyError::WrongAlgorithm
        }
        ErrorKind::InvalidSignature => VerifyError::BadSignature,
        // A key of the wrong kind, or 32 bytes that are not a curve point,
        // can only come from a key set we built: a token that reaches one is
        // as good as badly signed.
        ErrorKind::InvalidEddsaKey | ErrorKind::InvalidKeyFormat => VerifyError::BadSignature,
        ErrorKind::ExpiredSignature => VerifyError::Expired,
        // The claims already parsed as AccessClaims (an i64 `exp`), so an
        // `exp` jsonwebtoken calls missing or misformatted (it wants a u64)
        // can only be a negative integer: a time before 1970, long expired.
        ErrorKind::MissingRequiredClaim(claim) | ErrorKind::InvalidClaimFormat(claim)
            if claim == "exp" =>
        {
            VerifyError::Expired
        }
        ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
        ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
        ErrorKind::InvalidAudience => VerifyError::WrongAudience,
        _ => VerifyError::Malformed,
    }
}
