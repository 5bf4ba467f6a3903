//! The OpenAPI documents of both services (`GET /openapi.json`): they list
//! every route of the contract (`docs/API.md` §3 and §4, read from the file
//! so the check follows the contract) with its statuses, every response the
//! services give in a full flow matches them, and the documentation page
//! (`/docs`) is served whole by the service itself, so it works offline.

use std::collections::BTreeSet;

use reqwest::RequestBuilder;
use serde_json::{json, Value};

use crate::helpers::*;

mod contract;
mod docs_policy;
mod resource_responses;
mod responses;

use contract::contract_routes;

/// Both services, each with its document.
pub(super) struct Services {
    auth: TestApp,
    resource: ResourceApp,
    auth_doc: OpenApiDoc,
    resource_doc: OpenApiDoc,
}

pub(super) async fn spawn_services(backend: Backend) -> Services {
    let auth = spawn_app(backend).await;
    let resource = spawn_resource(&auth).await;
    let auth_doc = OpenApiDoc::fetch(&auth.address).await;
    let resource_doc = OpenApiDoc::fetch(&resource.address).await;
    Services {
        auth,
        resource,
        auth_doc,
        resource_doc,
    }
}

/// Sends `request` and checks the response against `doc` under `template`.
pub(super) async fn send(doc: &OpenApiDoc, template: &str, request: RequestBuilder) -> Observed {
    let (client, request) = request.build_split();
    let request = request.expect("a valid request");
    let method = request.method().as_str().to_owned();
    let response = client.execute(request).await.expect("request");
    doc.check(&method, template, response).await
}

/// Asserts the status and, for an error, the `error` code.
pub(super) fn expect(observed: Observed, status: u16, code: Option<&str>) -> Observed {
    assert_eq!(observed.status, status, "body {}", observed.body);
    if let Some(code) = code {
        assert_eq!(observed.body["error"], code, "body {}", observed.body);
    }
    observed
}

#[tokio::test]
async fn every_route_of_the_contract_is_in_the_documents_with_its_statuses() {
    let services = spawn_services(Backend::Sqlite).await;
    for (heading, doc) in [
        ("## 3.", &services.auth_doc),
        ("## 4.", &services.resource_doc),
    ] {
        assert!(
            doc.doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.")),
            "an OpenAPI 3 document"
        );
        for route in contract_routes(heading) {
            let operation = doc
                .operation(&route.method, &route.path)
                .unwrap_or_else(|| {
                    panic!("{} {} is not in the document", route.method, route.path)
                });
            for status in &route.statuses {
                assert!(
                    operation["responses"].get(status.to_string()).is_some(),
                    "{} {}: API.md's status {status} is not documented",
                    route.method,
                    route.path
                );
            }
        }
        let mut operation_ids = BTreeSet::new();
        for (path, item) in doc.doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("a path item") {
                let id = operation["operationId"].as_str().unwrap_or_default();
                assert!(
                    operation_ids.insert(id.to_owned()),
                    "{method} {path}: operationId {id:?} is not unique"
                );
                for requirement in operation["security"].as_array().into_iter().flatten() {
                    for scheme in requirement.as_object().expect("a requirement").keys() {
                        assert!(
                            doc.doc["components"]["securitySchemes"][scheme].is_object(),
                            "{method} {path}: security scheme {scheme} is not defined"
                        );
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn every_documented_operation_is_served_and_answers_as_documented() {
    let services = spawn_services(Backend::Sqlite).await;
    for (base, doc) in [
        (&services.auth.address, &services.auth_doc),
        (&services.resource.address, &services.resource_doc),
    ] {
        for (template, item) in doc.doc["paths"].as_object().expect("paths") {
            let path = template
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        uuid::Uuid::new_v4().to_string()
                    } else {
                        segment.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            for method in item.as_object().expect("a path item").keys() {
                let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes())
                    .expect("a method");
                // No token and no body: every operation still has a
                // documented answer, and none is "no such route".
                let observed = send(
                    doc,
                    template,
                    client().request(method.clone(), format!("{base}{path}")),
                )
                .await;
                assert!(
                    ![404, 405].contains(&observed.status),
                    "{method} {template} is documented but not routed: {}",
                    observed.body
                );
            }
        }
    }
}

/// The addresses of both services.
async fn both_bases() -> (Services, [String; 2]) {
    let services = spawn_services(Backend::Sqlite).await;
    let bases = [
        services.auth.address.clone(),
        services.resource.address.clone(),
    ];
    (services, bases)
}

#[tokio::test]
async fn get_docs_redirects_to_the_docs_folder_on_each_service() {
    let (_services, bases) = both_bases().await;
    for base in bases {
        let bare = client()
            .get(format!("{base}/docs"))
            .send()
            .await
            .expect("GET /docs");
        assert!(
            bare.status().is_redirection(),
            "GET /docs: {}",
            bare.status()
        );
        assert_eq!(
            bare.headers().get("location").and_then(|v| v.to_str().ok()),
            Some("/docs/")
        );
    }
}

#[tokio::test]
async fn the_docs_page_loads_only_files_its_own_service_serves_so_it_works_offline() {
    let (_services, bases) = both_bases().await;
    for base in bases {
        let http = client();
        let page = http
            .get(format!("{base}/docs/"))
            .send()
            .await
            .expect("GET /docs/");
        assert_eq!(page.status(), 200);
        let content_type = page
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let html = page.text().await.expect("the page");
        let references = referenced_urls(&html);
        assert!(
            references.iter().any(|r| r.ends_with(".js")),
            "the page loads its scripts: {references:?}"
        );
        for reference in &references {
            assert!(
                !reference.contains("//"),
                "{base}/docs/ references {reference}, which is not this service's"
            );
            let url = match reference.strip_prefix('/') {
                Some(_) => format!("{base}{reference}"),
                None => format!("{base}/docs/{}", reference.trim_start_matches("./")),
            };
            let file = http.get(&url).send().await.expect("a referenced file");
            assert_eq!(file.status(), 200, "{url}");
            assert!(!file.bytes().await.expect("its bytes").is_empty(), "{url}");
        }
    }
}

#[tokio::test]
async fn the_docs_page_reads_its_own_document_and_nothing_from_elsewhere() {
    let (_services, bases) = both_bases().await;
    for base in bases {
        let initializer = client()
            .get(format!("{base}/docs/swagger-initializer.js"))
            .send()
            .await
            .expect("the initializer")
            .text()
            .await
            .expect("its text");
        assert!(initializer.contains("\"/openapi.json\""), "{initializer}");
        assert!(
            initializer.contains("\"validatorUrl\": \"none\""),
            "the online validator badge must be off: {initializer}"
        );
        assert!(
            !initializer.contains("http://") && !initializer.contains("https://"),
            "the initializer loads nothing from elsewhere: {initializer}"
        );
    }
}

/// The `src` and `href` values of a page.
pub(super) fn referenced_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            rest = &rest[start + attribute.len()..];
            if let Some(end) = rest.find('"') {
                urls.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
    }
    urls
}

/// A JSON body just over the 16 KiB limit.
pub(super) fn oversized() -> Value {
    json!({ "email": "a@example.com", "password": "x".repeat(17 * 1024) })
}

#[tokio::test]
async fn answers_without_a_database_or_keys_match_the_documents() {
    // The auth-service with its database gone.
    let auth = spawn_app(Backend::Postgres).await;
    let auth_doc = OpenApiDoc::fetch(&auth.address).await;
    auth.db.drop_postgres_now();
    let o = send(&auth_doc, "/readyz", auth.client.get(auth.url("/readyz"))).await;
    expect(o, 503, Some("not_ready"));
    let o = send(&auth_doc, "/healthz", auth.client.get(auth.url("/healthz"))).await;
    expect(o, 200, None);
    // The keys are served from memory.
    let o = send(
        &auth_doc,
        "/.well-known/jwks.json",
        auth.client.get(auth.url("/.well-known/jwks.json")),
    )
    .await;
    expect(o, 200, None);

    // A resource-service that cannot fetch the keys.
    let mut settings =
        resource_service::config::Settings::from_lookup(|_| None).expect("default settings");
    settings.bind = "127.0.0.1:0".into();
    settings.issuer = ISSUER.into();
    settings.audience = AUDIENCE.into();
    settings.jwks_url = auth.url("/no/keys/here");
    let app = resource_service::startup::Application::build_with(
        settings,
        resource_service::jwks::JwksOptions::default(),
    )
    .await
    .expect("resource-service starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let resource_doc = OpenApiDoc::fetch(&base).await;
    let o = send(
        &resource_doc,
        "/readyz",
        client().get(format!("{base}/readyz")),
    )
    .await;
    expect(o, 503, Some("not_ready"));
}

#[test]
fn the_checker_refuses_what_the_document_does_not_say() {
    let doc = OpenApiDoc::new(json!({
        "openapi": "3.1.0",
        "paths": { "/thing": { "get": { "responses": {
            "200": {
                "description": "a thing",
                "headers": { "Cache-Control": { "schema": { "type": "string" } } },
                "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/Thing" }
                } }
            },
            "204": { "description": "nothing" }
        } } } },
        "components": {
            "schemas": { "Thing": {
                "type": "object",
                "required": ["id"],
                "properties": { "id": { "type": "string", "format": "uuid" } }
            } },
            "responses": {
                "NotFound": { "description": "no route" },
                "MethodNotAllowed": { "description": "no method" }
            }
        }
    }));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().expect("a value"));
    headers.insert("cache-control", "no-store".parse().expect("a value"));
    let id = uuid::Uuid::new_v4().to_string();
    let good = json!({ "id": id }).to_string();
    doc.assert_documented("GET", "/thing", 200, &headers, good.as_bytes());

    let refused = |status: u16, headers: &reqwest::header::HeaderMap, body: &str| {
        let outcome = std::panic::catch_unwind(|| {
            doc.assert_documented("GET", "/thing", status, headers, body.as_bytes())
        });
        assert!(outcome.is_err(), "{status} {body} should be refused");
    };
    refused(201, &headers, &good);
    refused(200, &headers, &json!({ "id": id, "extra": 1 }).to_string());
    refused(200, &headers, &json!({ "id": "not-a-uuid" }).to_string());
    refused(200, &headers, &json!({}).to_string());
    refused(204, &headers, &good);
    let mut without_cache_control = headers.clone();
    without_cache_control.remove("cache-control");
    refused(200, &without_cache_control, &good);
    let mut as_text = headers.clone();
    as_text.insert("content-type", "text/plain".parse().expect("a value"));
    refused(200, &as_text, &good);
}
