//! The resource-service's own Prometheus series: JWKS fetches, keys held,
//! refused tokens and introspection calls. Each [`Metrics`] owns its registry, which the kit
//! also counts HTTP requests in and serves at `GET /metrics` (see
//! `service_kit::metrics`).

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use pin_project_lite::pin_project;
use prometheus::{IntCounterVec, IntGauge, Opts, Registry};
use shared_claims::actix::Rejection;
use shared_claims::introspection::{IntrospectionError, IntrospectionObserver};
use shared_claims::jwks::FetchKind;
use shared_claims::{AuthError, VerifyError};

use crate::error::Error;

/// Every reason a token can be refused for: [`VerifyError`]'s variants, and
/// `inactive` for a token whose session ended (a session-checked route).
const REFUSAL_REASONS: [&str; 10] = [
    "malformed",
    "wrong_algorithm",
    "wrong_type",
    "unknown_key",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "wrong_issuer",
    "wrong_audience",
    "inactive",
];

/// The outcomes of an introspection call.
const INTROSPECTION_OUTCOMES: [&str; 3] = ["active", "inactive", "failed"];

/// The label of a refused token's reason: its [`VerifyError`] variant, so the
/// set stays small and fixed whatever the token held.
fn refusal_reason(error: &VerifyError) -> &'static str {
    match error {
        VerifyError::Malformed => "malformed",
        VerifyError::WrongAlgorithm => "wrong_algorithm",
        VerifyError::WrongType => "wrong_type",
        VerifyError::UnknownKey(_) => "unknown_key",
        VerifyError::BadSignature => "bad_signature",
        VerifyError::Expired => "expired",
        VerifyError::NotYetValid => "not_yet_valid",
        VerifyError::WrongIssuer => "wrong_issuer",
        VerifyError::WrongAudience => "wrong_audience",
    }
}

/// The registry of one resource-service and the handles of its domain
/// series. Clones share the same series.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    jwks_fetches: IntCounterVec,
    tokens_refused: IntCounterVec,
    keys_held: IntGauge,
    introspections: IntCounterVec,
}

impl Metrics {
    /// A fresh registry with every domain series at zero, so dashboards and
    /// alerts see them before the first event.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let jwks_fetches = IntCounterVec::new(
            Opts::new(
                "resource_jwks_fetches_total",
                "Fetches of the auth-service's JWKS, by kind (initial, refetch or periodic) and outcome (ok or failed).",
            ),
            &["kind", "outcome"],
        )?;
        let tokens_refused = IntCounterVec::new(
            Opts::new(
                "resource_tokens_refused_total",
                "Access tokens refused with 401 invalid_token, by reason.",
            ),
            &["reason"],
        )?;
        let keys_held = IntGauge::new(
            "resource_jwks_keys",
            "Verification keys held from the auth-service's JWKS.",
        )?;
        let introspections = IntCounterVec::new(
            Opts::new(
                "resource_introspection_requests_total",
                "Calls to the auth-service's introspection endpoint (answers from the cache are \
                 not calls), by outcome (active, inactive or failed).",
            ),
            &["outcome"],
        )?;
        for outcome in INTROSPECTION_OUTCOMES {
            introspections.with_label_values(&[outcome]);
        }
        for kind in FetchKind::ALL {
            for outcome in ["ok", "failed"] {
                jwks_fetches.with_label_values(&[kind.as_str(), outcome]);
            }
        }
        for reason in REFUSAL_REASONS {
            tokens_refused.with_label_values(&[reason]);
        }
        registry.register(Box::new(jwks_fetches.clone()))?;
        registry.register(Box::new(tokens_refused.clone()))?;
        registry.register(Box::new(keys_held.clone()))?;
        registry.register(Box::new(introspections.clone()))?;
        Ok(Self {
            registry,
            jwks_fetches,
            tokens_refused,
            keys_held,
            introspections,
        })
    }

    /// A JWKS fetch ended; on success, `keys` is how many keys are now held.
    pub fn jwks_fetched(&self, kind: FetchKind, keys: Option<usize>) {
        let outcome = if keys.is_some() { "ok" } else { "failed" };
        self.jwks_fetches
            .with_label_values(&[kind.as_str(), outcome])
            .inc();
        if let Some(count) = keys {
            self.keys_held.set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }

    /// A token was refused.
    pub fn token_refused(&self, error: &VerifyError) {
        self.tokens_refused
            .with_label_values(&[refusal_reason(error)])
            .inc();
    }

    /// A verified token was refused because its session ended.
    pub fn inactive_token_refused(&self) {
        self.tokens_refused.with_label_values(&["inactive"]).inc();
    }

    /// The registry, for the kit's HTTP series and `GET /metrics`.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every series, in the Prometheus text format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        service_kit::metrics::render(&self.registry)
    }
}

/// The middleware that counts the tokens the
/// [`shared_claims::actix::Authenticated`] extractor refused, by reason. The
/// extractor decides; its error travels with the response, so this reads it
/// there instead of re-verifying anything.
#[derive(Debug, Clone)]
pub struct CountRefusedTokens {
    metrics: Metrics,
}

impl CountRefusedTokens {
    /// Counts in `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl<S, B> Transform<S, ServiceRequest> for CountRefusedTokens
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = CountRefusedTokensService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CountRefusedTokensService {
            service,
            metrics: Rc::new(self.metrics.clone()),
        }))
    }
}

/// [`CountRefusedTokens`] wrapped around a service.
#[derive(Debug)]
pub struct CountRefusedTokensService<S> {
    service: S,
    metrics: Rc<Metrics>,
}

impl<S, B> Service<ServiceRequest> for CountRefusedTokensService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Counted<S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        Counted {
            response: self.service.call(req),
            metrics: Rc::clone(&self.metrics),
        }
    }
}

pin_project! {
    /// The response of a request through [`CountRefusedTokens`], on its way.
    pub struct Counted<F> {
        #[pin]
        response: F,
        metrics: Rc<Metrics>,
    }
}

impl<F, B> Future for Counted<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outcome = std::task::ready!(this.response.poll(cx));
        if let Ok(response) = &outcome {
            let rejection = response.response().error().and_then(|error| {
                error
                    .as_error::<Rejection>()
                    .or_else(|| match error.as_error::<Error>() {
                        Some(Error::Auth(rejection)) => Some(rejection),
                        _ => None,
                    })
            });
            match rejection.map(Rejection::error) {
                Some(AuthError::InvalidToken(cause)) => this.metrics.token_refused(cause),
                Some(AuthError::Inactive) => this.metrics.inactive_token_refused(),
                _ => {}
            }
        }
        Poll::Ready(outcome)
    }
}

impl IntrospectionObserver for Metrics {
    fn introspected(&self, outcome: Result<bool, &IntrospectionError>) {
        let label = match outcome {
            Ok(true) => "active",
            Ok(false) => "inactive",
            Err(_) => "failed",
        };
        self.introspections.with_label_values(&[label]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_label_is_pre_registered() {
        let errors = [
            VerifyError::Malformed,
            VerifyError::WrongAlgorithm,
            VerifyError::WrongType,
            VerifyError::UnknownKey(None),
            VerifyError::BadSignature,
            VerifyError::Expired,
            VerifyError::NotYetValid,
            VerifyError::WrongIssuer,
            VerifyError::WrongAudience,
        ];
        for error in &errors {
            assert!(
                REFUSAL_REASONS.contains(&refusal_reason(error)),
                "{error:?}"
            );
        }
        assert_eq!(errors.len() + 1, REFUSAL_REASONS.len(), "and inactive");
    }

    #[test]
    fn series_exist_at_zero_and_instances_count_apart() {
        let a = Metrics::new().expect("a");
        let b = Metrics::new().expect("b");
        let _ = service_kit::metrics::http_middleware(a.registry()).expect("a http");
        let _ = service_kit::metrics::http_middleware(b.registry()).expect("b http");
        a.token_refused(&VerifyError::Expired);
        a.jwks_fetched(FetchKind::Refetch, Some(2));
        let text = b.render().expect("render");
        for line in [
            "resource_tokens_refused_total{reason=\"expired\"} 0",
            "resource_jwks_fetches_total{kind=\"refetch\",outcome=\"ok\"} 0",
            "resource_jwks_fetches_total{kind=\"initial\",outcome=\"failed\"} 0",
            "resource_jwks_keys 0",
            "resource_introspection_requests_total{outcome=\"failed\"} 0",
            "resource_tokens_refused_total{reason=\"inactive\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        let text = a.render().expect("render");
        assert!(text.contains("resource_tokens_refused_total{reason=\"expired\"} 1"));
        assert!(text.contains("resource_jwks_keys 2"));
    }
}
