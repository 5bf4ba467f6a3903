//! Prometheus metrics in the text format, at `GET /metrics`.
//!
//! Each server owns its [`Registry`] instead of using the process-global
//! one: a test process runs many servers at once, and each must count only
//! its own events (and registering a name twice in one registry fails). A
//! service registers its domain series in it; the kit adds the HTTP series.
//!
//! `/metrics` needs no token, like `/healthz`: operators should let only
//! their scraper reach it (keep it off the public listener or block it at
//! the proxy), since it tells how many logins fail and which routes are busy.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use actix_web_prom::{
    ActixMetricsConfiguration, LabelsConfiguration, PrometheusMetrics, PrometheusMetricsBuilder,
};
use prometheus::{Encoder, Registry, TextEncoder};

/// The `route` label of every request that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The `method` label of every request whose method is not one of HTTP's
/// standard ones.
pub const OTHER_METHOD: &str = "OTHER";

/// The middleware that counts and times every request in `registry`,
/// labelled by route pattern (`/api/projects/{id}`, never the raw path),
/// method and status. Paths no route matches share one label, so probing
/// random URLs cannot create series; methods share one too once
/// [`bound_method_label`] runs inside this middleware.
///
/// ```
/// let registry = prometheus::Registry::new();
/// let app = actix_web::App::new()
///     .wrap(service_kit::metrics::http_middleware(&registry).unwrap());
/// # let _ = app;
/// ```
pub fn http_middleware(registry: &Registry) -> Result<PrometheusMetrics, String> {
    PrometheusMetricsBuilder::new("")
        .registry(registry.clone())
        .mask_unmatched_patterns(UNMATCHED_ROUTE)
        .metrics_configuration(
            ActixMetricsConfiguration::default()
                .labels(LabelsConfiguration::default().endpoint("route")),
        )
        .build()
        .map_err(|e| format!("cannot set up the HTTP metrics: {e}"))
}

/// Renames a request whose method is not one of HTTP's standard ones to
/// [`OTHER_METHOD`], so that the metrics middleware, which labels by the
/// method it reads back after the request, counts every invented method
/// under one label: any token is a valid method, and `curl -X AAAA0001`,
/// `AAAA0002`, ... would otherwise each add series that are never freed
/// (API.md §1). actix-web-prom has no option to map methods.
///
/// Runs inside the metrics middleware and outside the routes. No route takes
/// a non-standard method, so the answer is the same 404 or 405 either way;
/// the access log, further out, has already read the method as sent.
///
/// ```
/// use actix_web::middleware::from_fn;
///
/// let registry = prometheus::Registry::new();
/// let app = actix_web::App::new()
///     .wrap(from_fn(service_kit::metrics::bound_method_label))
///     .wrap(service_kit::metrics::http_middleware(&registry).unwrap());
/// # let _ = app;
/// ```
pub async fn bound_method_label(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !is_standard(req.method()) {
        if let Ok(other) = Method::from_bytes(OTHER_METHOD.as_bytes()) {
            req.head_mut().method = other;
        }
    }
    next.call(req).await
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

/// Every series of `registry`, in the Prometheus text format.
///
/// ```
/// let registry = prometheus::Registry::new();
/// let up = prometheus::IntGauge::new("up", "Serving.").unwrap();
/// registry.register(Box::new(up.clone())).unwrap();
/// up.set(1);
/// assert!(service_kit::metrics::render(&registry).unwrap().contains("up 1"));
/// ```
pub fn render(registry: &Registry) -> Result<String, prometheus::Error> {
    let mut buffer = Vec::new();
    TextEncoder::new().encode(&registry.gather(), &mut buffer)?;
    String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
}

/// `GET /metrics`: the registry the app holds as `web::Data<Registry>`.
pub async fn metrics(registry: web::Data<Registry>) -> HttpResponse {
    match render(&registry) {
        Ok(text) => HttpResponse::Ok()
            .content_type(TextEncoder::new().format_type())
            .body(text),
        Err(e) => {
            log::error!("cannot encode the metrics: {e}");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// Registers `GET /metrics`, answering from `registry`.
pub fn configure(cfg: &mut web::ServiceConfig, registry: web::Data<Registry>) {
    cfg.service(
        web::resource("/metrics")
            .app_data(registry)
            .route(web::get().to(metrics)),
    );
}
