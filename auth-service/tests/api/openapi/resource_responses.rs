//! Every response the resource-service gives matches its OpenAPI document,
//! one test per resource, each on both backends.

use serde_json::{json, Value};

use super::responses::registered;
use super::{expect, send, spawn_services, Services};
use crate::both_backends;
use crate::helpers::*;

/// Both services, a registered user (as the registration described it)
/// and the user's access token.
async fn services_and_a_user(backend: Backend) -> (Services, Value, String) {
    let services = spawn_services(backend).await;
    let (user_email, user) = registered(&services.auth).await;
    let access = Tokens::from_response(services.auth.post_login(&user_email, PASSWORD).await)
        .await
        .access;
    (services, user, access)
}

both_backends! {
    async fn the_resource_services_me_answers_as_documented(backend: Backend) {
        let (Services { auth, resource, resource_doc: rd, .. }, user, access) = services_and_a_user(backend).await;
        let http = &auth.client;
        let rurl = |path: &str| resource.url(path);

        let o = send(&rd, "/api/me", http.get(rurl("/api/me")).bearer_auth(&access)).await;
        assert_eq!(expect(o, 200, None).body["sub"], user["id"]);
        let o = send(&rd, "/api/me", http.get(rurl("/api/me"))).await;
        expect(o, 401, Some("unauthorized"));
        let o = send(&rd, "/api/me", http.get(rurl("/api/me")).bearer_auth("not.a.token")).await;
        expect(o, 401, Some("invalid_token"));
        let o = send(&rd, "/api/me", http.put(rurl("/api/me")).bearer_auth(&access)).await;
        expect(o, 405, Some("method_not_allowed"));
    }

    async fn listing_and_creating_projects_answer_as_documented(backend: Backend) {
        let (Services { auth, resource, resource_doc: rd, .. }, _, access) = services_and_a_user(backend).await;
        let http = &auth.client;
        let rurl = |path: &str| resource.url(path);
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
    }

    async fn refused_project_bodies_answer_as_documented(backend: Backend) {
        let (Services { auth, resource, resource_doc: rd, .. }, _, access) = services_and_a_user(backend).await;
        let http = &auth.client;
        let rurl = |path: &str| resource.url(path);
        let projects = "/api/projects";

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
        let big = "x".repeat(17 * 1024);
        let o = send(
            &rd,
            projects,
            http.post(rurl(projects)).bearer_auth(&access).json(&json!({ "name": big })),
        )
        .await;
        expect(o, 413, Some("payload_too_large"));
    }

    async fn deleting_a_project_answers_as_documented(backend: Backend) {
        let (Services { auth, resource, resource_doc: rd, .. }, _, access) = services_and_a_user(backend).await;
        let http = &auth.client;
        let rurl = |path: &str| resource.url(path);
        let admin = auth.create_admin_and_login(&email()).await;
        let created = http.post(rurl("/api/projects")).bearer_auth(&access).json(&json!({ "name": "Apollo" })).send().await.expect("request");
        assert_eq!(created.status(), 201);
        let project: Value = created.json().await.expect("json");
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
    }

    async fn the_resource_services_probes_and_unknown_routes_answer_as_documented(backend: Backend) {
        let Services { auth, resource, resource_doc: rd, .. } = spawn_services(backend).await;
        let http = &auth.client;
        let rurl = |path: &str| resource.url(path);

        for path in ["/healthz", "/readyz"] {
            let o = send(&rd, path, http.get(rurl(path))).await;
            expect(o, 200, None);
        }
        let o = send(&rd, "/nothing/here", http.get(rurl("/nothing/here"))).await;
        expect(o, 404, Some("not_found"));
    }
}
