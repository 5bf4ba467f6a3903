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
use actix_web_prom::{
    ActixMetricsConfiguration, LabelsConfiguration, PrometheusMetrics, PrometheusMetricsBuilder,
};
use prometheus::{Encoder, Registry, TextEncoder};

/// The `route` label of every request that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The middleware that counts and times every request in `registry`,
/// labelled by route pattern (`/api/projects/{id}`, never the raw path) and
/// status. Paths no route matches share one label, so probing random URLs
/// cannot create series.
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
