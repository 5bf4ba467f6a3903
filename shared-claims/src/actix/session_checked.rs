//! [`SessionChecked`]: the stateless check, then the issuer's word that the
//! token's session is still live.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use super::{Authenticated, Rejection};
use crate::introspection::IntrospectionClient;
use crate::scheme::access_token;
use crate::{AccessClaims, AuthError, Authority, Role};

/// A request whose bearer token was verified like [`Authenticated`]'s *and*
/// that the issuer's introspection endpoint still calls active, so a token
/// whose session ended (logout, revocation) is refused before it expires.
/// For destructive or sensitive routes; the others stay stateless.
///
/// Needs `web::Data<Authority>` and `web::Data<IntrospectionClient>` in the
/// app. Refusals: what [`Authenticated`] refuses, then an inactive token as
/// `401 invalid_token` (the same challenge as any refused token), and
/// `503 not_ready` when the issuer cannot be asked within the client's
/// timeout. Only a validly signed token leads to a call, so forged tokens
/// cannot make the server hammer the issuer.
///
/// ```
/// use actix_web::{web, App, HttpResponse};
/// use shared_claims::actix::{Rejection, SessionChecked};
/// use shared_claims::introspection::{IntrospectionClient, IntrospectionOptions};
/// use shared_claims::{Authority, KeyStore, Role, Verifier};
///
/// async fn delete(user: SessionChecked) -> Result<HttpResponse, Rejection> {
///     user.require(Role::Admin)?;
///     Ok(HttpResponse::NoContent().finish())
/// }
///
/// let authority = Authority::new(
///     "resource-service",
///     Verifier::new("http://127.0.0.1:8080", "resource-service", std::time::Duration::from_secs(30)),
///     KeyStore::default(),
/// );
/// let introspection = IntrospectionClient::new(
///     "http://127.0.0.1:8080/oauth/introspect",
///     "resource-service",
///     "its-secret",
///     IntrospectionOptions::default(),
/// )
/// .unwrap();
/// let app = App::new()
///     .app_data(web::Data::new(authority))
///     .app_data(web::Data::new(introspection))
///     .route("/api/things/{id}", web::delete().to(delete));
/// # let _ = app;
/// ```
#[derive(Debug, Clone)]
pub struct SessionChecked {
    user: Authenticated,
}

impl SessionChecked {
    /// The verified claims.
    ///
    /// ```
    /// use actix_web::HttpResponse;
    /// use shared_claims::actix::SessionChecked;
    ///
    /// async fn me(user: SessionChecked) -> HttpResponse {
    ///     HttpResponse::Ok().json(user.claims())
    /// }
    /// ```
    pub fn claims(&self) -> &AccessClaims {
        self.user.claims()
    }

    /// Takes the verified claims.
    ///
    /// ```
    /// use shared_claims::actix::SessionChecked;
    ///
    /// async fn subject(user: SessionChecked) -> String {
    ///     user.into_claims().sub
    /// }
    /// ```
    pub fn into_claims(self) -> AccessClaims {
        self.user.into_claims()
    }

    /// Refuses with `403 insufficient_role` unless the token's role satisfies
    /// `required`, as [`Authenticated::require`] does.
    ///
    /// ```
    /// use actix_web::HttpResponse;
    /// use shared_claims::actix::{Rejection, SessionChecked};
    /// use shared_claims::Role;
    ///
    /// async fn delete(user: SessionChecked) -> Result<HttpResponse, Rejection> {
    ///     user.require(Role::Admin)?;
    ///     Ok(HttpResponse::NoContent().finish())
    /// }
    /// ```
    pub fn require(&self, required: Role) -> Result<&AccessClaims, Rejection> {
        self.user.require(required)
    }
}

impl FromRequest for SessionChecked {
    type Error = Rejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let stateless = Authenticated::from_request(req, payload);
        let realm = req
            .app_data::<web::Data<Authority>>()
            .map(|authority| authority.realm().to_owned())
            .unwrap_or_default();
        let introspection = req.app_data::<web::Data<IntrospectionClient>>().cloned();
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| access_token(Some(v)))
            .map(str::to_owned);
        Box::pin(async move {
            let user = stateless.await?;
            let refuse = |error| Err(Rejection::new(&realm, error));
            let Some(introspection) = introspection else {
                // A wiring mistake, not the client's: fail closed.
                log::error!(
                    "SessionChecked used without web::Data<IntrospectionClient> in the app"
                );
                return refuse(AuthError::CheckUnavailable);
            };
            let Some(token) = token else {
                // The stateless check passed, so the header held a token.
                return refuse(AuthError::MissingToken);
            };
            match introspection.introspect(&token).await {
                Ok(answer) if answer.active => Ok(SessionChecked { user }),
                Ok(_) => {
                    log::debug!("access token refused: its session is no longer active");
                    refuse(AuthError::Inactive)
                }
                Err(_) => refuse(AuthError::CheckUnavailable),
            }
        })
    }
}
