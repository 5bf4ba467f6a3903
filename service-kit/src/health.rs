//! The probes: `GET /healthz` answers 200 while the process serves requests;
//! `GET /readyz` answers 200 when the service's own [`Readiness`] check
//! passes, else the check's error (503 `not_ready`). [`Probes`] documents
//! both in the service's OpenAPI document, in the service's words.

use std::future::Future;

use actix_web::{web, HttpResponse, ResponseError};
use serde::Serialize;
use shared_claims::ErrorBody;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, OpenApi, Ref, ResponseBuilder, Type};
use utoipa::{Modify, PartialSchema, ToSchema};

/// The body of a probe's 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok` (liveness), or the service's word for ready.
    #[schema(example = "ok")]
    status: &'static str,
}

/// What makes a service ready to serve: the database answers, the issuer's
/// keys are held. The kit answers `GET /readyz` with it.
///
/// ```
/// use service_kit::Readiness;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("not ready")]
/// struct NotReady;
/// impl actix_web::ResponseError for NotReady {}
///
/// struct Always;
/// impl Readiness for Always {
///     type Error = NotReady;
///     async fn check(&self) -> Result<(), NotReady> {
///         Ok(())
///     }
/// }
/// ```
pub trait Readiness: 'static {
    /// The answer when not ready: the service's own error, so the 503 has
    /// its code, text and headers.
    type Error: ResponseError + 'static;

    /// The `status` of the 200 body.
    const READY: &'static str = "ready";

    /// Passes when the service can serve.
    fn check(&self) -> impl Future<Output = Result<(), Self::Error>>;
}

/// `GET /healthz`: 200 `{"status": "ok"}` while the process serves requests.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// `GET /readyz`: 200 when `readiness` passes, else its error.
pub async fn readyz<R: Readiness>(readiness: web::Data<R>) -> Result<HttpResponse, R::Error> {
    readiness.check().await?;
    Ok(HttpResponse::Ok().json(Status { status: R::READY }))
}

/// Registers `/healthz` and `/readyz`, each a resource of its own so a
/// wrong method answers 405.
pub fn configure<R: Readiness>(cfg: &mut web::ServiceConfig, readiness: web::Data<R>) {
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(
            web::resource("/readyz")
                .app_data(readiness)
                .route(web::get().to(readyz::<R>)),
        );
}

/// A [`Modify`] that documents the probes, with the service's words for
/// what ready means, in the `health` tag.
///
/// ```
/// use service_kit::health::Probes;
/// use utoipa::{Modify, OpenApi};
///
/// #[derive(OpenApi)]
/// struct Empty;
///
/// let mut doc = Empty::openapi();
/// Probes { ready: "The database answers.", not_ready: "`not_ready`: no database.", retry_after: true }
///     .modify(&mut doc);
/// assert!(doc.paths.paths.contains_key("/readyz"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Probes {
    /// What a 200 from `/readyz` means.
    pub ready: &'static str,
    /// What a 503 from `/readyz` means.
    pub not_ready: &'static str,
    /// Whether the 503 carries `Retry-After`.
    pub retry_after: bool,
}

impl Modify for Probes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .schemas
            .entry(Status::name().into_owned())
            .or_insert_with(Status::schema);
        components
            .schemas
            .entry(ErrorBody::name().into_owned())
            .or_insert_with(ErrorBody::schema);
        let status = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content("application/json", json_of(&Status::name()))
                .build()
        };
        openapi.paths.add_path_operation(
            "/healthz",
            vec![HttpMethod::Get],
            OperationBuilder::new()
                .operation_id(Some("healthz"))
                .tag("health")
                .summary(Some("Liveness."))
                .response("200", status("The process serves requests.")),
        );
        let mut not_ready = ResponseBuilder::new()
            .description(self.not_ready)
            .content("application/json", json_of(&ErrorBody::name()));
        if self.retry_after {
            not_ready = not_ready.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                                utoipa::openapi::KnownFormat::Int64,
                            )))
                            .minimum(Some(0)),
                    ))
                    .description(Some("Whole seconds to wait before trying again."))
                    .build(),
            );
        }
        openapi.paths.add_path_operation(
            "/readyz",
            vec![HttpMethod::Get],
            OperationBuilder::new()
                .operation_id(Some("readyz"))
                .tag("health")
                .summary(Some("Readiness."))
                .response("200", status(self.ready))
                .response("503", not_ready.build()),
        );
    }
}

/// JSON content whose schema is the named component.
fn json_of(schema: &str) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(schema)))
        .build()
}
