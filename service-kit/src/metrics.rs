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

use actix_web::{web, HttpResponse};
use prometheus::{Encoder, Registry, TextEncoder};

mod http;
pub use http::{HttpMetrics, HttpMetricsService, MeteredResponse, Timed};

/// The `route` label of every request that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The `method` label of every request whose method is not one of HTTP's
/// standard ones.
pub const OTHER_METHOD: &str = "OTHER";

/// The middleware that counts and times every request in `registry`
/// (`http_requests_total`, `http_requests_duration_seconds`), labelled by
/// route pattern (`/api/projects/{id}`, never the raw path), method and
/// status. Paths no route matches share the label [`UNMATCHED_ROUTE`] and
/// methods that are not HTTP's standard ones the label [`OTHER_METHOD`], so
/// probing random URLs or inventing methods cannot create series (API.md
/// §1).
///
/// ```
/// let registry = prometheus::Registry::new();
/// let app = actix_web::App::new()
///     .wrap(service_kit::metrics::http_middleware(&registry).unwrap());
/// # let _ = app;
/// ```
pub fn http_middleware(registry: &Registry) -> Result<HttpMetrics, String> {
    HttpMetrics::register(registry).map_err(|e| format!("cannot set up the HTTP metrics: {e}"))
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
