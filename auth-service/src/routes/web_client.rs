//! The reference web client (`web/` at the workspace root), compiled into the
//! binary. It is served on the auth-service's own origin because the refresh
//! cookie is `SameSite=Strict; Path=/auth`: only a page of this origin gets it
//! sent to `/auth/refresh`.

use actix_web::body::MessageBody;
use actix_web::http::header::{self, ContentType};
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;

use crate::error::Error;

const INDEX_HTML: &str = include_str!("../../../web/index.html");
const ASSETS: [(&str, &str, &str); 4] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/app.js"),
    ),
    (
        "auth-client.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/auth-client.js"),
    ),
    (
        "dpop.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/dpop.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../../web/style.css"),
    ),
];

/// The page, rendered once at start, and the policy that goes with it.
#[derive(Debug, Clone)]
pub struct WebClient {
    index: Bytes,
    policy: String,
}

impl WebClient {
    /// `resource_url` is a normalised origin (`RESOURCE_URL`), so it holds no
    /// quote, space or semicolon that could break out of the attribute or the
    /// policy.
    pub fn new(resource_url: &str) -> Self {
        WebClient {
            index: Bytes::from(INDEX_HTML.replace("{{RESOURCE_URL}}", resource_url)),
            // Scripts only from this origin and no inline script: an injected
            // <script> cannot run, which is what keeps the in-memory access
            // token out of an attacker's reach. Connections only to this
            // origin and the resource-service.
            policy: format!(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                 connect-src 'self' {resource_url}; form-action 'self'; base-uri 'none'; \
                 frame-ancestors 'none'"
            ),
        }
    }

    fn respond(&self, content_type: &str, body: impl MessageBody + 'static) -> HttpResponse {
        HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, content_type))
            .insert_header((header::CONTENT_SECURITY_POLICY, self.policy.as_str()))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            // A new release must reach browsers at once: revalidate every time.
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(body)
    }
}

/// GET /: the page.
pub async fn index(client: web::Data<WebClient>) -> HttpResponse {
    client.respond(&ContentType::html().to_string(), client.index.clone())
}

/// GET /web/{file}: the page's scripts and style sheet.
pub async fn asset(
    client: web::Data<WebClient>,
    file: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file.as_str())
        .ok_or(Error::NotFound)?;
    Ok(client.respond(content_type, *body))
}

/// Registers the page and its assets.
pub fn configure(cfg: &mut web::ServiceConfig, client: web::Data<WebClient>) {
    cfg.app_data(client)
        .service(web::resource("/").route(web::get().to(index)))
        .service(web::resource("/web/{file}").route(web::get().to(asset)));
}
