//! Tokens of a revoked signing key are refused at once at this service's
//! own Bearer routes.
//!
//! The key ring of a running instance learns of a revocation by another
//! process (`keys revoke`) only at its next reload, and the contract says
//! the auth-service refuses the key's tokens at once. So, once a token has
//! been verified (cheaply: the verified-token cache), the key that signed it
//! is looked up in the database: one primary-key read, on routes that read
//! the database anyway. Only tokens with a valid signature get this far, so
//! forged tokens cost no database work. A withdrawn key also makes this
//! instance reload its ring at once, so it stops signing with it.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web;
use shared_claims::actix::Rejection;
use shared_claims::{AuthError, Authority, VerifyError};

use crate::service;
use crate::state::AppState;

/// Middleware for the Bearer routes: a verified token whose key is no
/// longer stored answers `401 invalid_token`. Anything else goes on to the
/// handler, whose extractor answers for missing or invalid tokens.
///
/// A refusal is made a response here rather than returned as an error: an
/// error would pass every outer layer untouched (no request id, no access
/// log line, not counted, CORS headers unfiltered) and become a response
/// only at the very top.
pub async fn refuse_revoked_keys(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    match refusal(&req).await {
        Some(error) => Ok(req.error_response(error).map_into_right_body()),
        None => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
    }
}

/// Why the request's token must be refused here, if it must.
async fn refusal(req: &ServiceRequest) -> Option<actix_web::Error> {
    let (Some(kid), Some(state)) = (
        verified_kid(req).await,
        req.app_data::<web::Data<AppState>>().cloned(),
    ) else {
        return None;
    };
    match service::signing_key_is_live(&state, &kid).await {
        Ok(true) => None,
        Err(e) => Some(e.into()),
        Ok(false) => {
            if state.keys.kids().contains(&kid) {
                if let Err(e) = service::reload_keys(&state).await {
                    log::warn!("could not reload the signing keys after a revocation: {e}");
                }
            }
            log::debug!("access token refused: its signing key {kid} was revoked");
            let error = AuthError::InvalidToken(VerifyError::UnknownKey(Some(kid)));
            Some(Rejection::new(crate::REALM, error).into())
        }
    }
}

/// The `kid` of the request's access token, if the token verifies. Under
/// either scheme (API.md §4): a DPoP-bound token of a revoked key is as dead
/// as a Bearer one, whatever its proof, which the extractor checks after.
async fn verified_kid(req: &ServiceRequest) -> Option<String> {
    let authority = req.app_data::<web::Data<Authority>>()?;
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !(scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop")) {
        return None;
    }
    let token = token.trim();
    authority.verify(token).await.ok()?;
    jsonwebtoken::decode_header(token).ok()?.kid
}
