//! The `DPoP` proof of a token request (API.md §7, RFC 9449 §5): checked
//! before the flow starts, so an invalid proof costs no password check, no
//! lockout reservation and no refresh token.

use actix_web::HttpRequest;
use shared_claims::dpop::{DpopError, ProofRequest};

use crate::error::Error;
use crate::state::AppState;

/// The request's `DPoP` header.
const DPOP: &str = "dpop";

/// The thumbprint of the key whose proof the token request carries, or
/// `None` without a `DPoP` header. A proof that is present but not valid
/// for this request (signature, `htm`, `htu` = `AUTH_ISSUER` + path, `iat`,
/// a `jti` seen before) is `400 invalid_dpop_proof`. No access token comes
/// with a token request, so no `ath` is asked for.
pub(super) fn token_request_key(
    req: &HttpRequest,
    state: &AppState,
) -> Result<Option<String>, Error> {
    let mut headers = req.headers().get_all(DPOP);
    let Some(value) = headers.next() else {
        return Ok(None);
    };
    // RFC 9449 §4.3, check 1: exactly one proof.
    if headers.next().is_some() {
        return Err(refused(DpopError::Several));
    }
    let proof = value.to_str().map_err(|_| refused(DpopError::Malformed))?;
    let request = ProofRequest {
        method: req.method().as_str(),
        path: req.path(),
        access_token: None,
        jkt: None,
        now: chrono::Utc::now().timestamp(),
    };
    state
        .dpop
        .verify(proof, &request)
        .map(|proof| Some(proof.into_jkt()))
        .map_err(refused)
}

fn refused(error: DpopError) -> Error {
    log::debug!("token request refused: {error}");
    Error::InvalidDpopProof(error.description().to_owned())
}
