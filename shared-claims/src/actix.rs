//! actix-web glue: the [`Authenticated`] extractor and [`Rejection`], the
//! RFC 6750 (or RFC 9449 §7.1, for DPoP) response to a refused request (401
//! with `WWW-Authenticate`, or 403), with the `{error, error_description}`
//! body of [`ErrorBody`](crate::ErrorBody).
//!
//! ```
//! use actix_web::{web, App, HttpResponse};
//! use shared_claims::actix::{Authenticated, Rejection};
//! use shared_claims::dpop::{ProofVerifier, PublicUrl, ReplayCache};
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
//! )
//! // Optional: DPoP-bound tokens too, with proofs addressed to this URL.
//! .with_dpop(ProofVerifier::new(
//!     PublicUrl::parse("http://127.0.0.1:8081").unwrap(),
//!     ReplayCache::default(),
//! ));
//! let app = App::new()
//!     .app_data(web::Data::new(authority))
//!     .route("/api/me", web::get().to(me))
//!     .route("/admin", web::post().to(admin_only));
//! # let _ = app;
//! ```

use std::fmt;
use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::{Either, FutureExt as _, LocalBoxFuture};

use crate::dpop::DpopError;
use crate::{AccessClaims, AuthError, Authority, Credentials, Role};

#[cfg(feature = "introspection")]
mod session_checked;
#[cfg(feature = "introspection")]
pub use session_checked::SessionChecked;

/// The request header that carries a DPoP proof (RFC 9449 §4.1).
/// A static rather than a `&str`: looking a header up by a `&str` parses
/// the name again on every request.
static DPOP: header::HeaderName = header::HeaderName::from_static("dpop");

/// A request whose access token was verified: an unbound token under
/// `Bearer`, or a DPoP-bound one under `DPoP` with a valid proof by its key
/// (when the [`Authority`] was given a proof verifier with
/// [`Authority::with_dpop`]). Extracting it needs a `web::Data<Authority>`
/// in the app.
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
    // Shared with the verified-token cache: a reused token's claims are
    // not copied per request.
    claims: Arc<AccessClaims>,
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
        Arc::unwrap_or_clone(self.claims)
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
    /// Ready at once unless a key must be fetched first: a request then
    /// costs no boxed future and no copy of its headers.
    type Future = Either<
        Ready<Result<Self, Self::Error>>,
        LocalBoxFuture<'static, Result<Self, Self::Error>>,
    >;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(authority) = req.app_data::<web::Data<Authority>>() else {
            // A wiring mistake, not the client's: fail closed.
            log::error!("Authenticated used without web::Data<Authority> in the app");
            return Either::Left(ready(Err(Rejection {
                realm: String::new(),
                error: AuthError::MissingToken,
            })));
        };
        let headers = req.headers();
        let authorization = headers
            .get(header::AUTHORIZATION)
            .map(|value| visible(value, "Bearer \u{0}"));
        let mut proofs = headers.get_all(&DPOP);
        let dpop = match (proofs.next(), proofs.next()) {
            (Some(proof), None) => Some(visible(proof, "\u{0}")),
            (Some(_), Some(_)) => {
                // Only a DPoP-scheme request looks at proofs; for it,
                // several of them are refused (RFC 9449 §4.3).
                let is_dpop = authorization
                    .and_then(|a| a.trim().split_once(' '))
                    .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("dpop"));
                if is_dpop {
                    let error = AuthError::InvalidDpopProof(DpopError::Several);
                    return Either::Left(ready(Err(rejection(authority, error))));
                }
                None
            }
            (None, _) => None,
        };
        let credentials = Credentials {
            authorization,
            dpop,
            method: req.method().as_str(),
            path: req.path(),
        };
        if let Some(outcome) = authority.authenticate_now(&credentials) {
            let outcome = outcome
                .map(|claims| Authenticated { claims })
                .map_err(|error| rejection(authority, error));
            return Either::Left(ready(outcome));
        }
        // The token names a key not held yet: wait for the refresher, with
        // owned copies of what the request said.
        let authority = authority.clone();
        let authorization = authorization.map(str::to_owned);
        let dpop = dpop.map(str::to_owned);
        let method = req.method().clone();
        let path = req.path().to_owned();
        let waiting = async move {
            let credentials = Credentials {
                authorization: authorization.as_deref(),
                dpop: dpop.as_deref(),
                method: method.as_str(),
                path: &path,
            };
            authority
                .authenticate_shared(&credentials)
                .await
                .map(|claims| Authenticated { claims })
                .map_err(|error| rejection(&authority, error))
        };
        Either::Right(waiting.boxed_local())
    }
}

/// A header value as text, if it is visible ASCII as
/// `HeaderValue::to_str` requires. One that is not cannot hold a valid
/// token or proof: it stands as `or`, a value that fails to parse.
fn visible<'a>(value: &'a header::HeaderValue, or: &'static str) -> &'a str {
    let bytes = value.as_bytes();
    // Every byte is looked at, with no early exit, so the loop runs over
    // whole vector registers: `to_str` goes byte by byte, and over a token's
    // 700 bytes that cost more than the cache lookup the token is for.
    let all_visible = bytes.iter().fold(true, |ok, &b| {
        ok & ((b == b'\t') | ((b' '..=b'~').contains(&b)))
    });
    if all_visible {
        std::str::from_utf8(bytes).unwrap_or(or)
    } else {
        or
    }
}

/// The refusal of `error` in `authority`'s realm, with its cause logged at
/// debug level.
fn rejection(authority: &Authority, error: AuthError) -> Rejection {
    match &error {
        AuthError::InvalidToken(cause) => log::debug!("access token refused: {cause}"),
        AuthError::WrongScheme(cause) => log::debug!("access token refused: {cause}"),
        AuthError::InvalidDpopProof(cause) => log::debug!("DPoP proof refused: {cause}"),
        _ => {}
    }
    Rejection {
        realm: authority.realm().to_owned(),
        error,
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

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::visible;

    #[test]
    fn a_header_is_text_exactly_when_to_str_says_so() {
        for byte in 0..=u8::MAX {
            let bytes = [b'a', byte, b'z'];
            let Ok(value) = HeaderValue::from_bytes(&bytes) else {
                continue;
            };
            let expected = value.to_str().unwrap_or("fallback");
            assert_eq!(visible(&value, "fallback"), expected, "byte {byte:#04x}");
        }
    }
}
