//! CORS for the browser clients a service lists: only those origins, one
//! by one, with credentials (the refresh cookie), and nothing at all for the
//! others.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::Method;
use pin_project_lite::pin_project;

use crate::request_id::REQUEST_ID_HEADER;

mod origin;
pub use origin::{normalize_origin, InvalidOrigin};

/// The headers a page may read from an answer.
static EXPOSED: [HeaderName; 3] = [
    header::WWW_AUTHENTICATE,
    header::RETRY_AFTER,
    HeaderName::from_static(REQUEST_ID_HEADER),
];

/// [`EXPOSED`] as one header value. actix-cors joins the same names in the
/// order of its hash set, which differs from process to process.
const EXPOSED_VALUE: &str = "www-authenticate, retry-after, x-request-id";

/// What actix-cors puts in (or appends to) `Vary`: the answer depends on
/// the request's CORS headers, so a cache must not serve one origin's
/// answer to another.
const VARY_CORS: &str = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/// The CORS headers a response keeps only when it grants an origin.
static GRANTING_ONLY: [HeaderName; 5] = [
    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    header::ACCESS_CONTROL_EXPOSE_HEADERS,
    header::ACCESS_CONTROL_ALLOW_METHODS,
    header::ACCESS_CONTROL_ALLOW_HEADERS,
    header::ACCESS_CONTROL_MAX_AGE,
];

/// The CORS policy of a service whose browser clients live at `origins`
/// (already normalised with [`normalize_origin`]). Credentials are
/// allowed, so a page can send the `HttpOnly` refresh cookie; that is why the
/// origins must be listed one by one, never `*`. Requests from other origins
/// are served without CORS headers (only `Vary`), so browsers refuse them,
/// while clients that are not browsers are unaffected.
///
/// ```
/// let app = actix_web::App::new()
///     .wrap(service_kit::cors::cors(&["https://app.example.com".to_owned()]));
/// # let _ = app;
/// ```
pub fn cors(origins: &[String]) -> Cors {
    let policy = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            // RFC 9449: the proof that goes with a DPoP-bound token.
            HeaderName::from_static("dpop"),
            HeaderName::from_static(REQUEST_ID_HEADER),
        ])
        .expose_headers(EXPOSED.clone())
        .supports_credentials()
        .block_on_origin_mismatch(false)
        .max_age(3600);
    let policy = origins
        .iter()
        .fold(policy, |policy, origin| policy.allowed_origin(origin));
    Cors { policy }
}

/// The CORS middleware; see [`cors`].
///
/// Requests with an `Origin` header, and every `OPTIONS` request (a
/// preflight, or what could be one), go through actix-cors; what it sends
/// when it did not grant an origin (it still adds
/// `Access-Control-Allow-Credentials` and the exposed headers) is then
/// taken out again. A request without an `Origin` cannot be granted
/// anything, so it skips actix-cors and gets what actix-cors would have
/// left: `Vary`. Most requests (every client that is not a browser, and a
/// browser's same-origin `GET`s) carry no `Origin`.
pub struct Cors {
    policy: actix_cors::Cors,
}

impl std::fmt::Debug for Cors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cors").finish_non_exhaustive()
    }
}

impl<S, B> Transform<S, ServiceRequest> for Cors
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = CorsService<S>;
    type InitError = ();
    type Future = Pin<Box<dyn Future<Output = Result<Self::Transform, Self::InitError>>>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let service = Rc::new(service);
        let checked = self.policy.new_transform(Rc::clone(&service));
        Box::pin(async move {
            Ok(CorsService {
                service,
                checked: checked.await?,
            })
        })
    }
}

/// [`Cors`] wrapped around a service.
pub struct CorsService<S> {
    service: Rc<S>,
    checked: actix_cors::CorsMiddleware<Rc<S>>,
}

impl<S> std::fmt::Debug for CorsService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorsService").finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for CorsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = CorsResponse<
        S::Future,
        <actix_cors::CorsMiddleware<Rc<S>> as Service<ServiceRequest>>::Future,
    >;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if req.method() != Method::OPTIONS && !req.headers().contains_key(header::ORIGIN) {
            CorsResponse::NoOrigin {
                response: self.service.call(req),
            }
        } else {
            CorsResponse::Checked {
                response: self.checked.call(req),
            }
        }
    }
}

pin_project! {
    /// The response of a request through [`Cors`], on its way.
    #[project = CorsResponseProj]
    pub enum CorsResponse<F, G> {
        /// A request without an `Origin`, served directly.
        NoOrigin { #[pin] response: F },
        /// A request through actix-cors.
        Checked { #[pin] response: G },
    }
}

impl<F, G, B> Future for CorsResponse<F, G>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
    G: Future<Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>>,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let outcome = match self.project() {
            CorsResponseProj::NoOrigin { response } => {
                match std::task::ready!(response.poll(cx)) {
                    Ok(mut response) => {
                        answer_without_origin(response.headers_mut());
                        Ok(response.map_into_left_body())
                    }
                    Err(mut error) => {
                        // As actix-cors does: an error becomes a response
                        // later, and gets the headers then.
                        error.add_response_mapper(|mut response| {
                            add_cors_headers(response.headers_mut());
                            response
                        });
                        Err(error)
                    }
                }
            }
            CorsResponseProj::Checked { response } => {
                std::task::ready!(response.poll(cx)).map(|mut response| {
                    drop_ungranted(response.headers_mut());
                    response
                })
            }
        };
        Poll::Ready(outcome)
    }
}

/// What actix-cors adds to an answer besides `Access-Control-Allow-Origin`
/// (so also to one that grants nothing), before [`drop_ungranted`] takes
/// most of it out again.
fn add_cors_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_VALUE),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    add_vary(headers);
}

/// An answer that grants no origin carries no CORS header but `Vary`, even
/// one its handler set, so that nothing suggests to a browser that it
/// might read it.
fn drop_ungranted(headers: &mut HeaderMap) {
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        for name in &GRANTING_ONLY {
            headers.remove(name);
        }
    }
}

/// [`add_cors_headers`] then [`drop_ungranted`], as an answer to a request
/// without an `Origin` went through actix-cors and then the filter, in
/// fewer steps: only a handler that granted an origin itself keeps more
/// than `Vary`. One look at the few headers the answer has tells whether
/// there is anything to add or remove besides `Vary`.
fn answer_without_origin(headers: &mut HeaderMap) {
    let mut has_vary = false;
    let mut has_cors = false;
    for name in headers.keys() {
        if *name == header::VARY {
            has_vary = true;
        } else if *name == header::ACCESS_CONTROL_ALLOW_ORIGIN || GRANTING_ONLY.contains(name) {
            has_cors = true;
        }
    }
    if has_cors && headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        add_cors_headers(headers);
        return;
    }
    if has_cors {
        drop_ungranted(headers);
    }
    if has_vary {
        add_vary(headers);
    } else {
        headers.insert(header::VARY, HeaderValue::from_static(VARY_CORS));
    }
}

/// Appends [`VARY_CORS`] to the answer's `Vary`, as actix-cors does.
fn add_vary(headers: &mut HeaderMap) {
    let value = match headers.get(header::VARY) {
        Some(vary) => {
            let mut value = Vec::with_capacity(vary.len() + 2 + VARY_CORS.len());
            value.extend_from_slice(vary.as_bytes());
            value.extend_from_slice(b", ");
            value.extend_from_slice(VARY_CORS.as_bytes());
            match HeaderValue::from_bytes(&value) {
                Ok(value) => value,
                Err(_) => return,
            }
        }
        None => HeaderValue::from_static(VARY_CORS),
    };
    headers.insert(header::VARY, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposed_list_names_the_exposed_headers() {
        let named: Vec<&str> = EXPOSED.iter().map(HeaderName::as_str).collect();
        assert_eq!(EXPOSED_VALUE, named.join(", "));
    }
}
