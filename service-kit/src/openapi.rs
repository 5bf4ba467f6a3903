//! What the OpenAPI document of every service shares (API.md §1): the
//! `bearer` security scheme that protected operations name, the one error
//! schema [`ErrorBody`], and the reusable answers to a path no route matches
//! (404) and to a method a path does not take (405), which belong to no
//! operation of the document. [`configure`] serves the document and the
//! Swagger UI that shows it.
//!
//! ```
//! use service_kit::openapi::Conventions;
//! use utoipa::OpenApi;
//!
//! #[derive(OpenApi)]
//! #[openapi(modifiers(&Conventions))]
//! struct ApiDoc;
//!
//! let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
//! assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
//! assert!(doc["components"]["responses"]["MethodNotAllowed"]["headers"]["Allow"].is_object());
//! ```

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse, HttpResponseBuilder};
use shared_claims::ErrorBody;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder, Type};
use utoipa::openapi::{ObjectBuilder, Response};
use utoipa::{Modify, PartialSchema, ToSchema};
use utoipa_swagger_ui::Config;

/// The name of the bearer security scheme, for `security((...))` in
/// `#[utoipa::path]`: `security(("bearer" = []))`.
///
/// ```
/// assert_eq!(service_kit::openapi::BEARER, "bearer");
/// ```
pub const BEARER: &str = "bearer";

/// The name of the reusable 404 response in `components.responses`.
///
/// ```
/// assert_eq!(service_kit::openapi::NOT_FOUND, "NotFound");
/// ```
pub const NOT_FOUND: &str = "NotFound";

/// The name of the reusable 405 response in `components.responses`.
///
/// ```
/// assert_eq!(service_kit::openapi::METHOD_NOT_ALLOWED, "MethodNotAllowed");
/// ```
pub const METHOD_NOT_ALLOWED: &str = "MethodNotAllowed";

/// A [`Modify`] that adds the conventions of API.md §1 to a document: the
/// bearer scheme (an EdDSA-signed JWT access token), the [`ErrorBody`]
/// schema, and the [`NOT_FOUND`] and [`METHOD_NOT_ALLOWED`] responses.
///
/// ```
/// use utoipa::{Modify, OpenApi};
///
/// #[derive(OpenApi)]
/// struct Empty;
///
/// let mut doc = Empty::openapi();
/// service_kit::openapi::Conventions.modify(&mut doc);
/// let components = doc.components.unwrap();
/// assert!(components.schemas.contains_key("ErrorBody"));
/// assert!(components.responses.contains_key("NotFound"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from the auth-service (`POST /auth/login`, \
                         `POST /auth/refresh` or `POST /oauth/token`): a JWT signed \
                         with EdDSA, `typ: at+jwt`.",
                    ))
                    .build(),
            ),
        );
        components
            .schemas
            .entry(ErrorBody::name().into_owned())
            .or_insert_with(ErrorBody::schema);
        components.responses.insert(
            NOT_FOUND.to_owned(),
            error_response(
                "No route matches the path: `not_found`. Applies to every path this \
                 document does not list.",
            )
            .into(),
        );
        let mut method_not_allowed = error_response(
            "The path exists but does not take this method: `method_not_allowed`. \
             Applies to every method a path of this document does not list.",
        );
        method_not_allowed.headers.insert(
            "Allow".to_owned(),
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some("The methods the path takes (RFC 9110 §15.5.6)."))
                .build()
                .into(),
        );
        components
            .responses
            .insert(METHOD_NOT_ALLOWED.to_owned(), method_not_allowed.into());
    }
}

/// A response whose body is an [`ErrorBody`].
fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                .build(),
        )
        .build()
}

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The Content-Security-Policy of every Swagger UI file, as strict as the
/// web client's: the page shares its service's origin, where token
/// responses (refresh tokens included) come back in bodies a script could
/// read, so it may run scripts only from this origin and never inline, and
/// talk only to this origin. The vendored page's one inline style is the
/// `<style>` inside its SVG logo (two fill colours), allowed by its hash
/// alone; its style sheet draws its icons from `data:` images.
///
/// ```
/// let policy = service_kit::openapi::DOCS_POLICY;
/// assert!(policy.contains("script-src 'self';"));
/// assert!(!policy.contains("unsafe-inline"));
/// ```
pub const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// Serves `doc` at [`OPENAPI_PATH`] and the Swagger UI that shows it at
/// `/docs/` (and `/docs`, which redirects there: the page's relative links
/// need the slash), every file of it with [`DOCS_POLICY`]. The UI's files
/// are built into the binary and the online validator badge is off, so the
/// page fetches nothing but this service's own files and works without a
/// network.
///
/// ```
/// use utoipa::OpenApi;
///
/// #[derive(OpenApi)]
/// struct ApiDoc;
///
/// let app = actix_web::App::new()
///     .configure(|cfg| service_kit::openapi::configure(cfg, ApiDoc::openapi()));
/// # let _ = app;
/// ```
pub fn configure(cfg: &mut web::ServiceConfig, doc: OpenApi) {
    let config = Config::new([OPENAPI_PATH]).validator_url("none");
    cfg.service(
        web::resource(OPENAPI_PATH)
            .app_data(web::Data::new(doc))
            .route(web::get().to(document)),
    )
    .service(
        web::resource("/docs/{file:.*}")
            .app_data(web::Data::new(config))
            .route(web::get().to(docs_file)),
    )
    .service(web::resource("/docs").route(web::get().to(docs_folder)));
}

async fn document(doc: web::Data<OpenApi>) -> HttpResponse {
    HttpResponse::Ok().json(doc.as_ref())
}

/// The page and its files, each with the policy.
async fn docs_file(file: web::Path<String>, config: web::Data<Config<'static>>) -> HttpResponse {
    match utoipa_swagger_ui::serve(&file, config.into_inner()) {
        Ok(Some(file)) => {
            let mut response = docs_response(StatusCode::OK);
            if file.gzpipped {
                response.insert_header((header::CONTENT_ENCODING, "gzip"));
            }
            response
                .content_type(file.content_type)
                .body(file.bytes.into_owned())
        }
        // The kit's error middleware gives it the JSON body.
        Ok(None) => docs_response(StatusCode::NOT_FOUND).finish(),
        Err(e) => {
            log::error!("Swagger UI file {file}: {e}");
            docs_response(StatusCode::INTERNAL_SERVER_ERROR).finish()
        }
    }
}

/// `/docs` to `/docs/`: the page's relative links need the slash.
async fn docs_folder() -> HttpResponse {
    docs_response(StatusCode::TEMPORARY_REDIRECT)
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

fn docs_response(status: StatusCode) -> HttpResponseBuilder {
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, DOCS_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    response
}
