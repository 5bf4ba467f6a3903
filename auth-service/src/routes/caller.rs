//! [`Caller`]: who a request to one of the auth-service's own Bearer routes
//! is from, as the database has it now.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use shared_claims::actix::{Authenticated, Rejection};
use shared_claims::{AuthError, Role};

use crate::domain::{SessionId, User, UserId};
use crate::error::Error;
use crate::service;
use crate::state::AppState;

/// A verified access token whose session is still active, with its user
/// read from the database. Unlike a resource server, the issuer holds the
/// state, so it does not trust a token past a logout, a revocation or a
/// demotion (API.md §3): extracting this costs one database round trip, on
/// the blocking pool.
#[derive(Debug)]
pub struct Caller {
    /// The user, with the role the database holds now.
    pub user: User,
    /// The token's session.
    pub session_id: SessionId,
}

impl Caller {
    /// Refuses with `403 insufficient_role` unless the user's current role
    /// satisfies `required`, whatever the token says.
    pub fn require(&self, required: Role) -> Result<(), Error> {
        if self.user.role.satisfies(required) {
            Ok(())
        } else {
            Err(Rejection::new(crate::REALM, AuthError::InsufficientRole { required }).into())
        }
    }
}

impl FromRequest for Caller {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let verified = Authenticated::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let (user_id, session_id) = ids(verified.await?)?;
            let state =
                state.ok_or_else(|| Error::Internal("Caller used without AppState".into()))?;
            let user = service::live_caller(&state, user_id, session_id.clone()).await?;
            Ok(Caller { user, session_id })
        })
    }
}

/// The user and session a verified access token names. This service signs
/// only UUIDs, so anything else names no account.
fn ids(user: Authenticated) -> Result<(UserId, SessionId), Error> {
    let claims = user.into_claims();
    let user = UserId::parse(&claims.sub).map_err(|_| Error::UnknownUser)?;
    // A service token has no session: it is no caller of the user routes.
    let sid = claims.subject.sid().ok_or(Error::UnknownUser)?;
    let session = SessionId::parse(sid).map_err(|_| Error::UnknownUser)?;
    Ok((user, session))
}
