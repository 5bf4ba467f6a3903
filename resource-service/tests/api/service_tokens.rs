//! Service tokens (API.md §4, §8) at the resource-service: accepted like a
//! user's, told apart by their type, refused by admin routes.

use crate::helpers::{claims, error_code, service_claims, spawn_app};
use serde_json::{json, Value};

#[tokio::test]
async fn me_answers_a_service_token_without_email_or_session() {
    let env = spawn_app().await;
    let claims = service_claims();
    let token = env.key.sign(&claims);

    let response = env.app.get_me(&token).await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["sub"], claims["client_id"]);
    assert_eq!(body["role"], "service");
    assert_eq!(body["email"], Value::Null);
    assert_eq!(body["sid"], Value::Null);
}

#[tokio::test]
async fn a_service_token_cannot_delete_a_project() {
    let env = spawn_app().await;
    let user = env.key.sign(&claims("user"));
    let service = env.key.sign(&service_claims());
    let created: Value = env
        .app
        .post_project(&user, &json!({"name": "kept"}))
        .await
        .json()
        .await
        .unwrap();

    let response = env
        .app
        .delete_project(&service, created["id"].as_str().unwrap())
        .await;

    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "insufficient_role");
    let listed: Value = env.app.get_projects(&user).await.json().await.unwrap();
    assert_eq!(listed, json!([created]));
}

#[tokio::test]
async fn a_service_token_naming_a_session_is_refused() {
    let env = spawn_app().await;
    let mut claims = service_claims();
    claims["sid"] = json!("7d1e8c55-2b5e-4a39-8f02-6c3b1a2d4e5f");
    let token = env.key.sign(&claims);

    let response = env.app.get_me(&token).await;

    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "invalid_token");
}
