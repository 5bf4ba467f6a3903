//! The OpenAPI documents of both services (`GET /openapi.json`): they list
//! every route of the contract (`docs/API.md` §3 and §4, read from the file
//! so the check follows the contract) with its statuses, every response the
//! services give in a full flow matches them, and the documentation page
//! (`/docs`) is served whole by the service itself, so it works offline.

use std::collections::BTreeSet;

use reqwest::RequestBuilder;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

/// A route of API.md's tables: its method, path template and every status
/// its success and errors columns name.
#[derive(Debug)]
struct ContractRoute {
    method: String,
    path: String,
    statuses: BTreeSet<u16>,
}

/// The routes of the table in API.md's section whose heading starts with
/// `heading` (`## 3.`).
fn contract_routes(heading: &str) -> Vec<ContractRoute> {
    let api_md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/API.md"))
        .expect("docs/API.md");
    let section: Vec<&str> = api_md
        .lines()
        .skip_while(|line| !line.starts_with(heading))
        .skip(1)
        .take_while(|line| !line.starts_with("## "))
        .collect();
    let routes: Vec<ContractRoute> = section
        .iter()
        .filter(|line| line.starts_with('|'))
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            let (method, path) = cells.first()?.split_once(' ')?;
            let is_method = ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method);
            if !is_method || !path.starts_with('/') || cells.len() < 3 {
                return None;
            }
            // The last two columns are "success" and "errors".
            let statuses = cells[cells.len() - 2..]
                .iter()
                .flat_map(|cell| statuses_in(cell))
                .collect();
            Some(ContractRoute {
                method: method.to_owned(),
                path: path.to_owned(),
                statuses,
            })
        })
        .collect();
    assert!(
        routes.len() >= 6,
        "API.md {heading}: expected a table of routes, found {routes:?}"
    );
    routes
}

/// The HTTP statuses named in a table cell: runs of exactly three digits
/// from 100 to 599 (so `RFC 6749 §5.1` names none).
fn statuses_in(cell: &str) -> Vec<u16> {
    // Commas stay inside words so that a count such as "100,000" is one
    // word, not the status 100.
    cell.split(|c: char| !c.is_ascii_alphanumeric() && c != ',')
        .map(|word| word.trim_matches(','))
        .filter(|word| word.len() == 3)
        .filter_map(|word| word.parse::<u16>().ok())
        .filter(|status| (100..600).contains(status))
        .collect()
}

#[test]
fn the_contract_tables_are_read_with_their_statuses() {
    let register = contract_routes("## 3.")
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/auth/register")
        .expect("POST /auth/register in API.md §3");
    assert_eq!(
        register.statuses,
        BTreeSet::from([201, 400, 403, 409]),
        "{register:?}"
    );
    assert_eq!(statuses_in("200 RFC 6749 §5.1: `{access_token}`"), [200]);
}

/// Both services, each with its document.
struct Services {
    auth: TestApp,
    resource: ResourceApp,
    auth_doc: OpenApiDoc,
    resource_doc: OpenApiDoc,
}

async fn spawn_services(backend: Backend) -> Services {
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
async fn send(doc: &OpenApiDoc, template: &str, request: RequestBuilder) -> Observed {
    let (client, request) = request.build_split();
    let request = request.expect("a valid request");
    let method = request.method().as_str().to_owned();
    let response = client.execute(request).await.expect("request");
    doc.check(&method, template, response).await
}

/// Asserts the status and, for an error, the `error` code.
fn expect(observed: Observed, status: u16, code: Option<&str>) -> Observed {
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

#[tokio::test]
async fn the_docs_page_is_served_whole_by_each_service_so_it_works_offline() {
    let services = spawn_services(Backend::Sqlite).await;
    for base in [&services.auth.address, &services.resource.address] {
        let http = client();
        let bare = http
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
        let initializer = http
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
fn referenced_urls(html: &str) -> Vec<String> {
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
fn oversized() -> Value {
    json!({ "email": "a@example.com", "password": "x".repeat(17 * 1024) })
}

both_backends! {
    async fn every_response_of_a_full_flow_matches_the_documents(backend: Backend) {
        let Services { auth, resource, auth_doc: ad, resource_doc: rd } =
            spawn_services(backend).await;
        let http = &auth.client;
        let url = |path: &str| auth.url(path);
        let mut seen = BTreeSet::new();

        // Registration.
        let user_email = email();
        let credentials = json!({ "email": user_email, "password": PASSWORD });
        let o = send(&ad, "/auth/register", http.post(url("/auth/register")).json(&credentials)).await;
        let user = expect(o, 201, None).body;
        seen.insert(201);
        let o = send(&ad, "/auth/register", http.post(url("/auth/register")).json(&credentials)).await;
        seen.insert(expect(o, 409, Some("email_taken")).status);
        for (body, code) in [
            (json!({ "email": "not an email", "password": PASSWORD }), "invalid_email"),
            (json!({ "email": email(), "password": "short" }), "weak_password"),
            (json!({ "email": email() }), "invalid_request"),
        ] {
            let o = send(&ad, "/auth/register", http.post(url("/auth/register")).json(&body)).await;
            seen.insert(expect(o, 400, Some(code)).status);
        }
        let o = send(
            &ad,
            "/auth/register",
            http.post(url("/auth/register")).header("content-type", "text/plain").body("hi"),
        )
        .await;
        seen.insert(expect(o, 415, Some("unsupported_media_type")).status);
        let o = send(&ad, "/auth/register", http.post(url("/auth/register")).json(&oversized())).await;
        seen.insert(expect(o, 413, Some("payload_too_large")).status);

        // Login, me, refresh.
        let o = send(&ad, "/auth/login", http.post(url("/auth/login")).json(&credentials)).await;
        let o = expect(o, 200, None);
        assert_eq!(
            o.headers.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        let login = o.body;
        let access = login["access_token"].as_str().expect("access_token").to_owned();
        let refresh = login["refresh_token"].as_str().expect("refresh_token").to_owned();
        let wrong = json!({ "email": user_email, "password": "wrong password" });
        let o = send(&ad, "/auth/login", http.post(url("/auth/login")).json(&wrong)).await;
        seen.insert(expect(o, 401, Some("invalid_credentials")).status);
        let o = send(&ad, "/auth/login", http.post(url("/auth/login")).body("{")).await;
        expect(o, 415, None);
        let o = send(&ad, "/auth/me", http.get(url("/auth/me")).bearer_auth(&access)).await;
        assert_eq!(expect(o, 200, None).body, user);
        let o = send(&ad, "/auth/me", http.get(url("/auth/me"))).await;
        expect(o, 401, Some("unauthorized"));
        let o = send(&ad, "/auth/me", http.get(url("/auth/me")).bearer_auth("not.a.token")).await;
        expect(o, 401, Some("invalid_token"));
        let o = send(
            &ad,
            "/auth/refresh",
            http.post(url("/auth/refresh")).json(&json!({ "refresh_token": refresh })),
        )
        .await;
        let refreshed = expect(o, 200, None).body;
        let access = refreshed["access_token"].as_str().expect("access_token").to_owned();
        let o = send(
            &ad,
            "/auth/refresh",
            http.post(url("/auth/refresh")).json(&json!({ "refresh_token": "unknown" })),
        )
        .await;
        expect(o, 401, Some("invalid_grant"));
        let o = send(&ad, "/auth/refresh", http.post(url("/auth/refresh"))).await;
        expect(o, 400, Some("invalid_request"));

        // Sessions and password.
        let second = Tokens::from_response(auth.post_login(&user_email, PASSWORD).await).await;
        let o = send(&ad, "/auth/sessions", http.get(url("/auth/sessions")).bearer_auth(&access)).await;
        let sessions = expect(o, 200, None).body;
        assert_eq!(sessions.as_array().map(Vec::len), Some(2), "{sessions}");
        let other = sessions
            .as_array()
            .and_then(|all| all.iter().find(|s| s["current"] == false))
            .and_then(|s| s["id"].as_str())
            .expect("the other session")
            .to_owned();
        let o = send(
            &ad,
            "/auth/sessions/{id}",
            http.delete(url(&format!("/auth/sessions/{}", uuid::Uuid::new_v4()))).bearer_auth(&access),
        )
        .await;
        seen.insert(expect(o, 404, Some("not_found")).status);
        let o = send(
            &ad,
            "/auth/sessions/{id}",
            http.delete(url(&format!("/auth/sessions/{other}"))).bearer_auth(&access),
        )
        .await;
        seen.insert(expect(o, 204, None).status);
        let o = send(
            &ad,
            "/auth/refresh",
            http.post(url("/auth/refresh")).json(&json!({ "refresh_token": second.refresh })),
        )
        .await;
        expect(o, 401, Some("invalid_grant"));
        let change = |current: &str, new: &str| {
            http.post(url("/auth/password"))
                .bearer_auth(&access)
                .json(&json!({ "current_password": current, "new_password": new }))
        };
        let o = send(&ad, "/auth/password", change("wrong password", "another good one")).await;
        expect(o, 401, Some("invalid_credentials"));
        let o = send(&ad, "/auth/password", change(PASSWORD, "short")).await;
        expect(o, 400, Some("weak_password"));
        let o = send(&ad, "/auth/password", change(PASSWORD, "another good one")).await;
        expect(o, 204, None);
        let o = send(&ad, "/auth/password", http.post(url("/auth/password")).json(&json!({}))).await;
        expect(o, 401, Some("unauthorized"));

        // Admin.
        let admin = auth.create_admin_and_login(&email()).await;
        let user_id = user["id"].as_str().expect("id").to_owned();
        let set_role = |token: &str, id: &str, body: Value| {
            http.put(url(&format!("/admin/users/{id}/role"))).bearer_auth(token).json(&body)
        };
        let role = "/admin/users/{id}/role";
        let o = send(&ad, role, set_role(&access, &user_id, json!({ "role": "admin" }))).await;
        seen.insert(expect(o, 403, Some("insufficient_role")).status);
        let o = send(
            &ad,
            role,
            set_role(&admin.access, &uuid::Uuid::new_v4().to_string(), json!({ "role": "admin" })),
        )
        .await;
        expect(o, 404, Some("not_found"));
        let o = send(&ad, role, set_role(&admin.access, &user_id, json!({ "role": "king" }))).await;
        expect(o, 400, Some("invalid_request"));
        let o = send(&ad, role, set_role(&admin.access, &user_id, json!({ "role": "user" }))).await;
        assert_eq!(expect(o, 200, None).body["role"], "user");
        let o = send(&ad, role, http.put(url(&format!("/admin/users/{user_id}/role")))).await;
        expect(o, 401, None);

        // OAuth.
        let token = "/oauth/token";
        let form = |pairs: &[(&str, &str)]| http.post(url(token)).form(pairs);
        let o = send(
            &ad,
            token,
            form(&[("grant_type", "password"), ("username", &user_email), ("password", "another good one")]),
        )
        .await;
        let oauth = expect(o, 200, None).body;
        let oauth_refresh = oauth["refresh_token"].as_str().expect("refresh_token").to_owned();
        let o = send(
            &ad,
            token,
            form(&[("grant_type", "refresh_token"), ("refresh_token", &oauth_refresh)]),
        )
        .await;
        let oauth_refresh = expect(o, 200, None).body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned();
        let o = send(&ad, token, form(&[("grant_type", "client_credentials")])).await;
        expect(o, 400, Some("unsupported_grant_type"));
        let o = send(&ad, token, form(&[("grant_type", "refresh_token"), ("refresh_token", "nope")])).await;
        expect(o, 400, Some("invalid_grant"));
        let o = send(&ad, token, form(&[])).await;
        expect(o, 400, Some("invalid_request"));
        let o = send(&ad, token, http.post(url(token)).json(&json!({ "grant_type": "password" }))).await;
        expect(o, 400, Some("invalid_request"));
        let big = "x".repeat(17 * 1024);
        let o = send(&ad, token, form(&[("grant_type", "password"), ("password", &big)])).await;
        expect(o, 413, Some("payload_too_large"));
        let revoke = "/oauth/revoke";
        let o = send(
            &ad,
            revoke,
            http.post(url(revoke)).form(&[("token", oauth_refresh.as_str()), ("token_type_hint", "refresh_token")]),
        )
        .await;
        expect(o, 200, None);
        let o = send(&ad, revoke, http.post(url(revoke)).form(&[("token_type_hint", "refresh_token")])).await;
        expect(o, 400, Some("invalid_request"));

        // Discovery and probes.
        for path in [
            "/.well-known/oauth-authorization-server",
            "/.well-known/jwks.json",
            "/healthz",
            "/readyz",
        ] {
            let o = send(&ad, path, http.get(url(path))).await;
            expect(o, 200, None);
        }

        // What no route or no method answers.
        let o = send(&ad, "/auth/login", http.get(url("/auth/login"))).await;
        let o = expect(o, 405, Some("method_not_allowed"));
        assert_eq!(o.headers.get("allow").and_then(|v| v.to_str().ok()), Some("POST"));
        seen.insert(o.status);
        let o = send(&ad, "/no/such/route", http.get(url("/no/such/route"))).await;
        expect(o, 404, Some("not_found"));

        // The resource-service.
        let rurl = |path: &str| resource.url(path);
        let o = send(&rd, "/api/me", http.get(rurl("/api/me")).bearer_auth(&access)).await;
        assert_eq!(expect(o, 200, None).body["sub"], user["id"]);
        let o = send(&rd, "/api/me", http.get(rurl("/api/me"))).await;
        expect(o, 401, Some("unauthorized"));
        let o = send(&rd, "/api/me", http.get(rurl("/api/me")).bearer_auth("not.a.token")).await;
        expect(o, 401, Some("invalid_token"));
        let o = send(&rd, "/api/me", http.put(rurl("/api/me")).bearer_auth(&access)).await;
        expect(o, 405, Some("method_not_allowed"));
        let projects = "/api/projects";
        let o = send(&rd, projects, http.get(rurl(projects)).bearer_auth(&access)).await;
        expect(o, 200, None);
        let o = send(
            &rd,
            projects,
            http.post(rurl(projects)).bearer_auth(&access).json(&json!({ "name": "Apollo" })),
        )
        .await;
        let project = expect(o, 201, None).body;
        let o = send(&rd, projects, http.get(rurl(projects)).bearer_auth(&access)).await;
        assert_eq!(expect(o, 200, None).body, json!([project]));
        for body in [json!({ "name": "  " }), json!({})] {
            let o = send(&rd, projects, http.post(rurl(projects)).bearer_auth(&access).json(&body)).await;
            expect(o, 400, Some("invalid_request"));
        }
        let o = send(
            &rd,
            projects,
            http.post(rurl(projects)).bearer_auth(&access).header("content-type", "text/plain").body("Apollo"),
        )
        .await;
        expect(o, 415, Some("unsupported_media_type"));
        let o = send(
            &rd,
            projects,
            http.post(rurl(projects)).bearer_auth(&access).json(&json!({ "name": big })),
        )
        .await;
        expect(o, 413, Some("payload_too_large"));
        let project_id = project["id"].as_str().expect("id");
        let one = "/api/projects/{id}";
        let o = send(&rd, one, http.delete(rurl(&format!("/api/projects/{project_id}"))).bearer_auth(&access)).await;
        expect(o, 403, Some("insufficient_role"));
        let o = send(
            &rd,
            one,
            http.delete(rurl(&format!("/api/projects/{}", uuid::Uuid::new_v4()))).bearer_auth(&admin.access),
        )
        .await;
        expect(o, 404, Some("not_found"));
        let o = send(
            &rd,
            one,
            http.delete(rurl(&format!("/api/projects/{project_id}"))).bearer_auth(&admin.access),
        )
        .await;
        expect(o, 204, None);
        let o = send(&rd, one, http.delete(rurl(&format!("/api/projects/{project_id}")))).await;
        expect(o, 401, Some("unauthorized"));
        for path in ["/healthz", "/readyz"] {
            let o = send(&rd, path, http.get(rurl(path))).await;
            expect(o, 200, None);
        }
        let o = send(&rd, "/nothing/here", http.get(rurl("/nothing/here"))).await;
        expect(o, 404, Some("not_found"));

        // Logging out.
        let o = send(&ad, "/auth/logout", http.post(url("/auth/logout")).body("{")).await;
        expect(o, 400, Some("invalid_request"));
        let o = send(
            &ad,
            "/auth/logout",
            http.post(url("/auth/logout")).json(&json!({ "refresh_token": refreshed["refresh_token"] })),
        )
        .await;
        expect(o, 204, None);
        let o = send(&ad, "/auth/logout-all", http.post(url("/auth/logout-all")).bearer_auth(&access)).await;
        expect(o, 204, None);
        let o = send(&ad, "/auth/logout-all", http.post(url("/auth/logout-all"))).await;
        expect(o, 401, None);

        // The lockout, through both doors, on its own service.
        let locked = spawn_app_with(backend, |s| s.login_max_failures = 2).await;
        let locked_doc = OpenApiDoc::fetch(&locked.address).await;
        locked.register_and_login(&user_email).await;
        for _ in 0..2 {
            let o = send(&locked_doc, "/auth/login", locked.client.post(locked.url("/auth/login")).json(&wrong)).await;
            expect(o, 401, Some("invalid_credentials"));
        }
        let o = send(&locked_doc, "/auth/login", locked.client.post(locked.url("/auth/login")).json(&credentials)).await;
        let o = expect(o, 429, Some("too_many_attempts"));
        let retry_after = o.headers.get("retry-after").and_then(|v| v.to_str().ok());
        assert!(
            retry_after.is_some_and(|v| v.parse::<u64>().is_ok()),
            "Retry-After in whole seconds: {retry_after:?}"
        );
        seen.insert(o.status);
        let o = send(
            &locked_doc,
            token,
            locked.client.post(locked.url(token)).form(&[
                ("grant_type", "password"),
                ("username", user_email.as_str()),
                ("password", PASSWORD),
            ]),
        )
        .await;
        expect(o, 429, Some("too_many_attempts"));

        // Registration switched off.
        let closed = spawn_app_with(backend, |s| s.allow_registration = false).await;
        let closed_doc = OpenApiDoc::fetch(&closed.address).await;
        let o = send(
            &closed_doc,
            "/auth/register",
            closed.client.post(closed.url("/auth/register")).json(&credentials),
        )
        .await;
        expect(o, 403, Some("registration_disabled"));

        assert_eq!(
            seen,
            BTreeSet::from([201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 429]),
            "the flow covers the statuses it should"
        );
    }
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
