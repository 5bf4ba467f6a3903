//! actix-web glue: the [`Authenticated`] extractor and [`Rejection`], the
//! RFC 6750 response to a refused request (401 with `WWW-Authenticate`, or
//! 403), with the `{error, error_description}` body of [`ErrorBody`](crate::ErrorBody).
//!
//! ```
//! use actix_web::{web, App, HttpResponse};
//! use shared_claims::actix::{Authenticated, Rejection};
//! use shared_claims::{Authority, KeyStore, Role, Verifier};
//!
//! async fn me(user: Authenticated) -> HttpResponse {
//!     HttpResponse::Ok().json(user.claims())
//! }
//!
//! async fn admin_only(user: Authenticated) -> Result<HttpResponse, Rejection> {
//!     user.require(Role::Admin)?;
//!     Ok(HttpResponse::NoContent().finish())
//! }
//!
//! let authority = Authority::new(
//!     "resource-service",
//!     Verifier::new("http://127.0.0.1:8080", "resource-service", std::time::Duration::from_secs(30)),
//!     KeyStore::default(),
//! );
//! let app = App::new()
//!     .app_data(web::Data::new(authority))
//!     .route("/api/me", web::get().to(me))
//!     .route("/admin", web::post().to(admin_only));
//! # let _ = app;
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};

use crate::{AccessClaims, AuthError, Authority, Role};

#[cfg(feature = "introspection")]
mod session_checked;
#[cfg(feature = "introspection")]
pub use session_checked::SessionChecked;

/// A request whose bearer token was verified. Extracting it needs a
/// `web::Data<Authority>` in the app.
///
/// ```
/// use actix_web::HttpResponse;
/// use shared_claims::actix::Authenticated;
///
/// async fn whoami(user: Authenticated) -> HttpResponse {
///     HttpResponse::Ok().body(user.claims().sub.clone())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated {
    claims: AccessClaims,
}

impl Authenticated {
    /// The verified claims.
    ///
    /// ```
    /// use actix_web::HttpResponse;
    /// use shared_claims::actix::Authenticated;
    ///
    /// async fn me(user: Authenticated) -> HttpResponse {
    ///     HttpResponse::Ok().json(user.claims())
    /// }
    /// ```
    pub fn claims(&self) -> &AccessClaims {
        &self.claims
    }

    /// Takes the verified claims.
    ///
    /// ```
    /// use shared_claims::{actix::Authenticated, AccessClaims};
    ///
    /// async fn subject(user: Authenticated) -> String {
    ///     let claims: AccessClaims = user.into_claims();
    ///     claims.sub
    /// }
    /// ```
    pub fn into_claims(self) -> AccessClaims {
        self.claims
    }

    /// Refuses with `403 insufficient_role` unless the token's role satisfies `required`.
    ///
    /// ```
    /// use actix_web::HttpResponse;
    /// use shared_claims::actix::{Authenticated, Rejection};
    /// use shared_claims::Role;
    ///
    /// async fn delete(user: Authenticated) -> Result<HttpResponse, Rejection> {
    ///     user.require(Role::Admin)?;
    ///     Ok(HttpResponse::NoContent().finish())
    /// }
    /// ```
    pub fn require(&self, required: Role) -> Result<&AccessClaims, Rejection> {
        // A service token satisfies no user role: admin routes refuse it.
        let allowed = self
            .claims
            .subject
            .user_role()
            .is_some_and(|role| role.satisfies(required));
        if allowed {
            Ok(&self.claims)
        } else {
            Err(Rejection {
                realm: String::new(),
                error: AuthError::InsufficientRole { required },
            })
        }
    }
}

impl FromRequest for Authenticated {
    type Error = Rejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let authority = req.app_data::<web::Data<Authority>>().cloned();
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        Box::pin(async move {
            let Some(authority) = authority else {
                // A wiring mistake, not the client's: fail closed.
                log::error!("Authenticated used without web::Data<Authority> in the app");
                return Err(Rejection {
                    realm: String::new(),
                    error: AuthError::MissingToken,
                });
            };
            let outcome = match authorization {
                // A header that is not visible ASCII cannot hold a valid token.
                Some(Err(_)) => authority.authenticate(Some("Bearer \u{0}")).await,
                Some(Ok(value)) => authority.authenticate(Some(&value)).await,
                None => authority.authenticate(None).await,
            };
            outcome
                .map(|claims| Authenticated { claims })
                .map_err(|error| {
                    if let AuthError::InvalidToken(cause) = &error {
                        log::debug!("access token refused: {cause}");
                    }
                    Rejection {
                        realm: authority.realm().to_owned(),
                        error,
                    }
                })
        })
    }
}

/// The response to a refused request: 401 with `WWW-Authenticate`, or 403.
#[derive(Debug)]
pub struct Rejection {
    realm: String,
    error: AuthError,
}

impl Rejection {
    /// A rejection for `realm`.
    ///
    /// ```
    /// use actix_web::ResponseError;
    /// use shared_claims::{actix::Rejection, AuthError};
    /// let r = Rejection::new("api", AuthError::MissingToken);
    /// assert_eq!(r.status_code().as_u16(), 401);
    /// ```
    pub fn new(realm: &str, error: AuthError) -> Self {
        Self {
            realm: realm.to_owned(),
            error,
        }
    }

    /// Why the request was refused.
    ///
    /// ```
    /// use shared_claims::{actix::Rejection, AuthError};
    /// let r = Rejection::new("api", AuthError::MissingToken);
    /// assert_eq!(r.error(), &AuthError::MissingToken);
    /// ```
    pub fn error(&self) -> &AuthError {
        &self.error
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Rejection {}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::UNAUTHORIZED)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(challenge) = self.error.www_authenticate(&self.realm) {
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        response.json(self.error.body())
    }
}
