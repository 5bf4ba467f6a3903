//! The HTTP series: every request counted and timed, labelled by route
//! pattern, method and status.
//!
//! The names, help texts, labels, label values and buckets are those the
//! services published through actix-web-prom (configured with an empty
//! namespace, the `route` label and [`UNMATCHED_ROUTE`]), and a request is
//! recorded at the same moment, when its response body is dropped. That
//! crate looked the route pattern up twice per request and rebuilt it
//! through a string template, then resolved both label sets by hashing
//! their values; here the pattern is looked up once, and each worker keeps
//! the series it has used by route, method and status.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::{Method, StatusCode};
use actix_web::web::Bytes;
use actix_web::HttpRequest;
use pin_project_lite::pin_project;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
};

use super::{OTHER_METHOD, UNMATCHED_ROUTE};

/// The label names, in the order the values are given.
const LABELS: [&str; 3] = ["route", "method", "status"];

/// The middleware that counts and times every request; see
/// [`http_middleware`](super::http_middleware). Clones count in the same
/// series.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: IntCounterVec,
    durations: HistogramVec,
    other: Method,
}

impl HttpMetrics {
    /// Registers `http_requests_total` and `http_requests_duration_seconds`
    /// in `registry`.
    pub(super) fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "Total number of HTTP requests"),
            &LABELS,
        )?;
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "http_requests_duration_seconds",
                "HTTP request duration in seconds for all requests",
            )
            .buckets(prometheus::DEFAULT_BUCKETS.to_vec()),
            &LABELS,
        )?;
        let other = Method::from_bytes(OTHER_METHOD.as_bytes())
            .map_err(|e| prometheus::Error::Msg(e.to_string()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        Ok(Self {
            requests,
            durations,
            other,
        })
    }
}

impl<S, B> Transform<S, ServiceRequest> for HttpMetrics
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<Timed<B>>;
    type Error = actix_web::Error;
    type Transform = HttpMetricsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(HttpMetricsService {
            service,
            other: self.other.clone(),
            series: Rc::new(WorkerSeries {
                metrics: self.clone(),
                routes: RefCell::default(),
            }),
        }))
    }
}

/// [`HttpMetrics`] wrapped around a service, in one worker.
#[derive(Debug)]
pub struct HttpMetricsService<S> {
    service: S,
    other: Method,
    series: Rc<WorkerSeries>,
}

impl<S, B> Service<ServiceRequest> for HttpMetricsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<Timed<B>>;
    type Error = actix_web::Error;
    type Future = MeteredResponse<S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        // Any token is a valid method, and `curl -X AAAA0001`, `AAAA0002`, …
        // would each add series that are never freed (API.md §1). No route
        // takes such a method, so renaming it changes no answer; the access
        // log, further out, has already read the method as sent.
        if !is_standard(req.method()) {
            req.head_mut().method = self.other.clone();
        }
        MeteredResponse {
            response: self.service.call(req),
            started: Instant::now(),
            series: Rc::clone(&self.series),
        }
    }
}

pin_project! {
    /// The response of a metered request, on its way.
    pub struct MeteredResponse<F> {
        #[pin]
        response: F,
        started: Instant,
        series: Rc<WorkerSeries>,
    }
}

impl<F, B> Future for MeteredResponse<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = Result<ServiceResponse<Timed<B>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // An error that is not yet a response is not counted, as before.
        let response = match std::task::ready!(this.response.poll(cx)) {
            Ok(response) => response,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let series = this.series.of(response.request(), response.status());
        let started = *this.started;
        Poll::Ready(Ok(response.map_body(move |_, body| Timed {
            body,
            series,
            started,
        })))
    }
}

pin_project! {
    /// A response body that records its request when it is dropped, once
    /// sent (or abandoned), so the duration covers sending it too.
    pub struct Timed<B> {
        #[pin]
        body: B,
        series: Rc<Series>,
        started: Instant,
    }

    impl<B> PinnedDrop for Timed<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let elapsed = this.started.elapsed();
            #[expect(
                clippy::cast_precision_loss,
                reason = "seconds as f64, as the series has always been computed"
            )]
            let seconds =
                elapsed.as_secs() as f64 + f64::from(elapsed.subsec_nanos()) / 1_000_000_000_f64;
            this.series.duration.observe(seconds);
            this.series.requests.inc();
        }
    }
}

impl<B: MessageBody> MessageBody for Timed<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.project().body.poll_next(cx)
    }
}

/// The handles of one label set.
#[derive(Debug)]
struct Series {
    duration: Histogram,
    requests: IntCounter,
}

/// The series one worker has used, by route label, then method and status:
/// as bounded as the registry's, since they are the same label sets. A
/// service has a few dozen routes at most, fewer than it takes to hash a
/// label.
#[derive(Debug)]
struct WorkerSeries {
    metrics: HttpMetrics,
    routes: RefCell<Vec<Route>>,
}

#[derive(Debug, Default)]
struct Route {
    label: String,
    by_method_and_status: Vec<(Method, StatusCode, Rc<Series>)>,
    /// What actix-web-prom's template step needed, to log what it logged
    /// when it failed; see [`warn_as_before`].
    params: Vec<String>,
    has_regex: bool,
}

impl WorkerSeries {
    /// The series of a request that was answered with `status`.
    fn of(&self, req: &HttpRequest, status: StatusCode) -> Rc<Series> {
        // Routing has run: a request it matched carries its resource's
        // path, and one answered before routing (a CORS preflight) is
        // matched against the routes here.
        let pattern = req.match_pattern();
        let label = pattern.as_deref().unwrap_or(UNMATCHED_ROUTE);
        let mut routes = self.routes.borrow_mut();
        let index = match routes.iter().position(|route| route.label == label) {
            Some(index) => index,
            None => {
                routes.push(Route::new(label, pattern.is_some()));
                routes.len() - 1
            }
        };
        let route = &mut routes[index];
        if let Some(pattern) = &pattern {
            warn_as_before(route, pattern, req);
        }
        let method = req.method();
        let known = route
            .by_method_and_status
            .iter()
            .find(|(m, s, _)| *s == status && m == method);
        if let Some((_, _, series)) = known {
            return Rc::clone(series);
        }
        let values = [label, method.as_str(), status.as_str()];
        let series = Rc::new(Series {
            duration: self.metrics.durations.with_label_values(&values),
            requests: self.metrics.requests.with_label_values(&values),
        });
        route
            .by_method_and_status
            .push((method.clone(), status, Rc::clone(&series)));
        series
    }
}

impl Route {
    /// The route labelled `label`, which is a route's pattern if `matched`.
    fn new(label: &str, matched: bool) -> Self {
        let mut route = Route {
            label: label.to_owned(),
            ..Route::default()
        };
        if !matched {
            return route;
        }
        for segment in label.split('{').skip(1) {
            let Some((inside, _)) = segment.split_once('}') else {
                continue;
            };
            match inside.split_once(':') {
                Some((name, _)) => {
                    route.has_regex = true;
                    route.params.push(name.to_owned());
                }
                None => route.params.push(inside.to_owned()),
            }
        }
        route
    }
}

/// actix-web-prom filled each `{name}` of the pattern with itself through
/// `strfmt`; the result was the pattern (the label it used either way), but
/// the template failed, with one warning per request, for a `{name:regex}`
/// segment (`/docs/{file:.*}`) and for a request answered before routing
/// captured its parameters (a preflight to `/api/projects/{id}`). The
/// warning is kept, word for word and under its target, so that replacing
/// that crate changed no log line; whether operators need it is a question
/// of its own.
fn warn_as_before(route: &Route, pattern: &str, req: &HttpRequest) {
    if route.params.is_empty() {
        return;
    }
    let captured = req.match_info();
    let fails = route.has_regex || route.params.iter().any(|p| captured.get(p).is_none());
    if fails && log::log_enabled!(target: "actix_web_prom", log::Level::Warn) {
        let params: HashMap<String, String> = captured
            .iter()
            .map(|(key, _)| (key.to_owned(), format!("{{{key}}}")))
            .collect();
        log::warn!(
            target: "actix_web_prom",
            "Cannot build mixed cardinality pattern {pattern}, with params {params:?}"
        );
    }
}

fn is_standard(method: &Method) -> bool {
    [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::CONNECT,
        Method::OPTIONS,
        Method::TRACE,
        Method::PATCH,
    ]
    .contains(method)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_names_its_parameters_and_whether_one_is_a_regex() {
        let route = Route::new("/admin/users/{id}/sessions", true);
        assert_eq!(route.params, ["id"]);
        assert!(!route.has_regex);

        let route = Route::new("/docs/{file:.*}", true);
        assert_eq!(route.params, ["file"]);
        assert!(route.has_regex);

        assert!(Route::new("/api/me", true).params.is_empty());
        assert!(Route::new(UNMATCHED_ROUTE, false).params.is_empty());
    }
}
