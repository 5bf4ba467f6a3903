/// Why a DPoP proof was refused (RFC 9449 §4.3). Every variant becomes the
/// error code `invalid_dpop_proof`; the variants exist so that logs and
/// tests can tell the cases apart.
///
/// ```
/// use shared_claims::dpop::DpopError;
///
/// assert_eq!(DpopError::Replayed.code(), "invalid_dpop_proof");
/// assert_eq!(DpopError::WrongMethod.description(), "the DPoP proof is for another HTTP method");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// The request needs a proof and carries no `DPoP` header.
    #[error("no DPoP proof")]
    Missing,
    /// More than one `DPoP` header (RFC 9449 §4.3, check 1).
    #[error("several DPoP proofs")]
    Several,
    /// The header value is longer than [`MAX_PROOF_LEN`](super::MAX_PROOF_LEN);
    /// refused before any parsing.
    #[error("DPoP proof too long")]
    TooLong,
    /// Not a compact JWS, or its header or claims do not parse, or a
    /// required claim (`jti`, `htm`, `htu`, `iat`) is missing.
    #[error("malformed DPoP proof")]
    Malformed,
    /// The header's `typ` is not `dpop+jwt`.
    #[error("not a DPoP proof")]
    WrongType,
    /// `alg` is neither `ES256` nor `EdDSA` (`none`, HMAC and RSA included).
    #[error("DPoP algorithm not allowed")]
    UnsupportedAlgorithm,
    /// No `jwk`, or one that does not fit `alg` (`ES256` needs an `EC`
    /// `P-256` key, `EdDSA` an `OKP` `Ed25519` one), or whose coordinates
    /// are not a point of the curve.
    #[error("invalid DPoP key")]
    InvalidKey,
    /// The `jwk` holds private key material (`d` and the like).
    #[error("private DPoP key")]
    PrivateKey,
    /// The signature does not verify with the header's `jwk`.
    #[error("bad DPoP signature")]
    BadSignature,
    /// `jti` is empty or longer than [`MAX_JTI_LEN`](super::MAX_JTI_LEN).
    #[error("invalid DPoP jti")]
    InvalidJti,
    /// `htm` is not the request's method.
    #[error("DPoP htm mismatch")]
    WrongMethod,
    /// `htu` is not the request's URL.
    #[error("DPoP htu mismatch")]
    WrongUrl,
    /// `iat` is more than [`IAT_WINDOW`](super::IAT_WINDOW) in the past.
    #[error("DPoP proof too old")]
    TooOld,
    /// `iat` is more than [`IAT_WINDOW`](super::IAT_WINDOW) in the future.
    #[error("DPoP proof from the future")]
    TooNew,
    /// An access token came with the proof and the proof has no `ath`.
    #[error("DPoP ath missing")]
    MissingAth,
    /// `ath` is not the hash of the access token that came with it.
    #[error("DPoP ath mismatch")]
    WrongAth,
    /// The proof is signed by another key than the one the token (or the
    /// session) is bound to.
    #[error("DPoP key mismatch")]
    KeyMismatch,
    /// This `jti` was already accepted within the window.
    #[error("DPoP proof replayed")]
    Replayed,
    /// The replay cache is full of proofs that have not expired yet: new
    /// proofs are refused until some expire (see [`ReplayCache`](super::ReplayCache)).
    #[error("DPoP replay cache full")]
    ReplayCacheFull,
}

impl DpopError {
    /// The `error` code of the response body and of the challenge.
    ///
    /// ```
    /// assert_eq!(shared_claims::dpop::DpopError::Missing.code(), "invalid_dpop_proof");
    /// ```
    pub fn code(&self) -> &'static str {
        "invalid_dpop_proof"
    }

    /// Text for `error_description`; it stays within the characters
    /// RFC 6750 §3 allows in that parameter.
    ///
    /// ```
    /// use shared_claims::dpop::DpopError;
    /// assert!(!DpopError::Malformed.description().contains('"'));
    /// ```
    pub fn description(&self) -> &'static str {
        match self {
            DpopError::Missing => "a DPoP proof is required",
            DpopError::Several => "send exactly one DPoP proof",
            DpopError::TooLong => "the DPoP proof is too long",
            DpopError::Malformed => "the DPoP proof is malformed",
            DpopError::WrongType => "the DPoP proof must have typ dpop+jwt",
            DpopError::UnsupportedAlgorithm => "the DPoP proof must be signed with ES256 or EdDSA",
            DpopError::InvalidKey => "the DPoP proof key is invalid or does not fit its algorithm",
            DpopError::PrivateKey => "the DPoP proof carries a private key",
            DpopError::BadSignature => "the DPoP proof signature is invalid",
            DpopError::InvalidJti => "the DPoP proof jti is empty or too long",
            DpopError::WrongMethod => "the DPoP proof is for another HTTP method",
            DpopError::WrongUrl => "the DPoP proof is for another URL",
            DpopError::TooOld => "the DPoP proof is too old",
            DpopError::TooNew => "the DPoP proof is issued in the future",
            DpopError::MissingAth => "the DPoP proof has no ath for the access token",
            DpopError::WrongAth => "the DPoP proof ath does not match the access token",
            DpopError::KeyMismatch => "the DPoP proof is signed by another key than the bound one",
            DpopError::Replayed => "the DPoP proof was already used",
            DpopError::ReplayCacheFull => "too many DPoP proofs right now, retry shortly",
        }
    }
}
