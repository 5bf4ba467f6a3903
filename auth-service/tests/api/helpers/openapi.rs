//! Checks a response against the service's own OpenAPI document.

use reqwest::Response;
use serde_json::{json, Value};

use super::client;

/// A service's OpenAPI document (`GET /openapi.json`), to check what the
/// service answers against what it documents.
///
/// [`OpenApiDoc::check`] takes a response as the tests receive it and
/// asserts that its status is documented for the operation (or, for a path
/// or method the document lacks, that it is the document's shared 404 or 405
/// response), that every header the document lists for it is there, and that
/// its body has the documented content type and matches the documented JSON
/// schema. Objects may not carry properties the schema does not name.
pub struct OpenApiDoc {
    pub doc: Value,
    /// `components.schemas`, with `additionalProperties: false` added to
    /// every object schema that says nothing about extra properties.
    strict_schemas: Value,
}

/// A response after [`OpenApiDoc::check`]: its parts, for the test's own asserts.
#[derive(Debug)]
pub struct Observed {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The JSON body, or `Value::Null` when the body is empty.
    pub body: Value,
}

impl OpenApiDoc {
    /// Fetches `base` + `/openapi.json`.
    pub async fn fetch(base: &str) -> OpenApiDoc {
        let response = client()
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .expect("request /openapi.json");
        assert_eq!(response.status(), 200, "GET /openapi.json");
        OpenApiDoc::new(response.json().await.expect("/openapi.json is JSON"))
    }

    pub fn new(doc: Value) -> OpenApiDoc {
        let mut strict_schemas = doc["components"]["schemas"].clone();
        forbid_undocumented_properties(&mut strict_schemas);
        OpenApiDoc {
            doc,
            strict_schemas,
        }
    }

    /// The operation object of `method` (any case) at `path_template`.
    pub fn operation(&self, method: &str, path_template: &str) -> Option<&Value> {
        self.doc["paths"]
            .get(path_template)?
            .get(method.to_ascii_lowercase())
    }

    /// Reads `response` and asserts that it is documented (see [`OpenApiDoc`]).
    pub async fn check(&self, method: &str, path_template: &str, response: Response) -> Observed {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("response body");
        self.assert_documented(method, path_template, status, &headers, &bytes);
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Observed {
            status,
            headers,
            body,
        }
    }

    /// Asserts that a response with this status, headers and body is what
    /// the document says `method path_template` answers.
    pub fn assert_documented(
        &self,
        method: &str,
        path_template: &str,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) {
        let what = format!("{method} {path_template} -> {status}");
        let spec = self.response_spec(method, path_template, status, &what);
        if let Some(documented) = spec.get("headers").and_then(Value::as_object) {
            for name in documented.keys() {
                assert!(
                    headers.contains_key(name.as_str()),
                    "{what}: the documented header {name} is missing; headers {headers:?}"
                );
            }
        }
        let Some(content) = spec.get("content").and_then(Value::as_object) else {
            assert!(
                body.is_empty(),
                "{what}: documented without a body, but got {:?}",
                String::from_utf8_lossy(body)
            );
            return;
        };
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        let media = content.get(media_type).unwrap_or_else(|| {
            panic!(
                "{what}: content type {content_type:?} is not documented (documented: {:?})",
                content.keys().collect::<Vec<_>>()
            )
        });
        let Some(schema) = media.get("schema") else {
            return;
        };
        let instance: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
            panic!(
                "{what}: the body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(body)
            )
        });
        self.assert_matches(schema, &instance, &what);
    }

    /// Asserts that `instance` matches `schema`, whose `$ref`s point into
    /// this document's `#/components/schemas`.
    pub fn assert_matches(&self, schema: &Value, instance: &Value, what: &str) {
        let mut schema = schema.clone();
        forbid_undocumented_properties(&mut schema);
        let mut root = serde_json::Map::new();
        root.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        // The refs read `#/components/schemas/X`: give them that root.
        root.insert(
            "components".into(),
            json!({ "schemas": self.strict_schemas }),
        );
        root.insert("allOf".into(), json!([schema]));
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .unwrap_or_else(|e| panic!("{what}: the documented schema does not compile: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: the body does not match the documented schema:\n  {}\nbody: {instance}",
            errors.join("\n  ")
        );
    }

    /// The response object the document gives for this status: the
    /// operation's own, or the shared 404/405 for what it does not list.
    fn response_spec(&self, method: &str, path_template: &str, status: u16, what: &str) -> Value {
        let Some(path_item) = self.doc["paths"].get(path_template) else {
            assert_eq!(status, 404, "{what}: the path is not documented");
            return self.shared_response("NotFound");
        };
        let Some(operation) = path_item.get(method.to_ascii_lowercase()) else {
            assert_eq!(status, 405, "{what}: the method is not documented");
            return self.shared_response("MethodNotAllowed");
        };
        let responses = &operation["responses"];
        let response = responses.get(status.to_string()).unwrap_or_else(|| {
            panic!(
                "{what}: the status is not documented (documented: {:?})",
                responses
                    .as_object()
                    .map(|r| r.keys().collect::<Vec<_>>())
                    .unwrap_or_default()
            )
        });
        match response["$ref"].as_str() {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/components/responses/")
                    .unwrap_or_else(|| panic!("{what}: unexpected response $ref {reference}"));
                self.shared_response(name)
            }
            None => response.clone(),
        }
    }

    fn shared_response(&self, name: &str) -> Value {
        let response = &self.doc["components"]["responses"][name];
        assert!(
            response.is_object(),
            "the document has no components.responses.{name}"
        );
        response.clone()
    }
}

/// Adds `additionalProperties: false` to every object schema with
/// `properties` that says nothing about other properties, so a field the
/// document does not name fails the check.
fn forbid_undocumented_properties(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties")
                && !map.contains_key("additionalProperties")
                && !map.contains_key("unevaluatedProperties")
            {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(forbid_undocumented_properties);
        }
        Value::Array(items) => items.iter_mut().for_each(forbid_undocumented_properties),
        _ => {}
    }
}
