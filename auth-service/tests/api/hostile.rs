//! API.md §1: bad input gets a clear error, never a 5xx, and never loses or
//! corrupts data. Every endpoint of both services is fed a table of hostile
//! bodies, headers and path segments.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::both_backends;
use crate::helpers::*;

fn hostile_bodies() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let json = "application/json";
    let deep = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    let long = format!(
        "{{\"email\":\"{}@example.com\",\"password\":\"{}\"}}",
        "a".repeat(8000),
        "p".repeat(7000)
    );
    vec![
        ("empty", Vec::new(), json),
        ("null", b"null".to_vec(), json),
        ("array", b"[]".to_vec(), json),
        ("object", b"{}".to_vec(), json),
        ("string", b"\"hello\"".to_vec(), json),
        ("number", b"1e400".to_vec(), json),
        ("nulls", br#"{"email":null,"password":null,"refresh_token":null,"role":null,"name":null}"#.to_vec(), json),
        ("wrong types", br#"{"email":1,"password":{},"refresh_token":[],"role":true,"name":2}"#.to_vec(), json),
        ("nul bytes", "{\"email\":\"a\\u0000@example.com\",\"password\":\"pass\\u0000word\",\"refresh_token\":\"\\u0000\",\"name\":\"\\u0000\"}".as_bytes().to_vec(), json),
        ("lone surrogate", br#"{"email":"\ud800@example.com","password":"\udfff\udfffpassword"}"#.to_vec(), json),
        ("invalid utf-8", b"{\"email\":\"\xff\xfe@example.com\",\"password\":\"\xc3\x28\"}".to_vec(), json),
        ("duplicate keys", br#"{"email":"a@example.com","email":"b@example.com","password":"x","password":"y"}"#.to_vec(), json),
        ("sql injection", br#"{"email":"' OR 1=1; DROP TABLE users; --@example.com","password":"' OR '1'='1","refresh_token":"' OR 1=1 --","role":"admin' --","name":"'; DROP TABLE x; --"}"#.to_vec(), json),
        ("deep nesting", deep.into_bytes(), json),
        ("long strings", long.into_bytes(), json),
        ("not json", b"email=a@example.com&password=x".to_vec(), "application/x-www-form-urlencoded"),
        ("text", b"hello".to_vec(), "text/plain"),
        ("utf-16 json", b"\xff\xfe{\x00}\x00".to_vec(), "application/json; charset=utf-16"),
        ("too large", vec![b' '; 17 * 1024], json),
    ]
}

const NASTY_SEGMENTS: &[&str] = &[
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "'%3B%20DROP%20TABLE%20users%3B--",
    "%F0%9F%92%A5",
    "%FF%FE",
    "00000000-0000-0000-0000-000000000000",
];

fn nasty_authorizations(token: &str) -> Vec<String> {
    vec![
        "Bearer".into(),
        "Bearer ".into(),
        format!("Bearer {}", "a".repeat(7000)),
        "Basic dXNlcjpwYXNz".into(),
        format!("Bearer {token}.extra"),
        format!("bearer  {token} trailing"),
        "Bearer e30.e30.e30".into(),
        "Bearer eyJhbGciOiJub25lIn0.e30.".into(),
    ]
}

async fn send(
    client: &reqwest::Client,
    method: &Method,
    url: &str,
    body: &[u8],
    content_type: &str,
    authorization: Option<&str>,
) -> reqwest::Response {
    let mut request = client
        .request(method.clone(), url)
        .header("content-type", content_type)
        .header("cookie", "refresh_token=%00%FF'--")
        .body(body.to_vec());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.expect("request")
}

async fn assert_handled(response: reqwest::Response, what: &str) {
    let status = response.status();
    assert!(
        !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {status}"
    );
    assert_ne!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: the database is up"
    );
    if !status.is_success() {
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{what}: {status} without a JSON body: {e}"));
        assert!(body["error"].is_string(), "{what}: {body}");
    }
}

both_backends! {
    async fn no_input_makes_either_service_fail_or_lose_data(backend: Backend) {
        let auth = spawn_app(backend).await;
        let resource = spawn_resource(&auth).await;
        let email = email();
        let user = auth.register_and_login(&email).await;
        let admin = auth.create_admin_and_login(&self::email()).await;
        let bystander_email = self::email();
        let bystander = auth.register_and_login(&bystander_email).await;

        let endpoints: Vec<(Method, String)> = vec![
            (Method::POST, auth.url("/auth/register")),
            (Method::POST, auth.url("/auth/login")),
            (Method::POST, auth.url("/auth/refresh")),
            (Method::POST, auth.url("/auth/logout")),
            (Method::POST, auth.url("/auth/logout-all")),
            (Method::GET, auth.url("/auth/me")),
            (Method::GET, auth.url("/auth/sessions")),
            (Method::POST, auth.url("/auth/password")),
            (Method::PUT, auth.url(&format!("/admin/users/{}/role", user.body["user"]["id"].as_str().expect("id")))),
            (Method::POST, auth.url("/oauth/token")),
            (Method::POST, auth.url("/oauth/revoke")),
            (Method::GET, auth.url("/.well-known/jwks.json")),
            (Method::GET, auth.url("/.well-known/oauth-authorization-server")),
            (Method::GET, resource.url("/api/me")),
            (Method::GET, resource.url("/api/projects")),
            (Method::POST, resource.url("/api/projects")),
        ];
        let client = client();
        for (method, url) in &endpoints {
            for (name, body, content_type) in hostile_bodies() {
                // With no token, with the user's, and with the admin's: the
                // body must be parsed and refused on every path through.
                for authorization in [None, Some(format!("Bearer {}", user.access)), Some(format!("Bearer {}", admin.access))] {
                    let response = send(&client, method, url, &body, content_type, authorization.as_deref()).await;
                    assert_handled(response, &format!("{method} {url} with {name}")).await;
                }
            }
            for authorization in nasty_authorizations(&user.access) {
                let response = send(&client, method, url, b"{}", "application/json", Some(&authorization)).await;
                assert_handled(response, &format!("{method} {url} with Authorization {:.40}", authorization)).await;
            }
        }
        for segment in NASTY_SEGMENTS {
            for (method, url) in [
                (Method::DELETE, auth.url(&format!("/auth/sessions/{segment}"))),
                (Method::PUT, auth.url(&format!("/admin/users/{segment}/role"))),
                (Method::DELETE, resource.url(&format!("/api/projects/{segment}"))),
                (Method::GET, auth.url(&format!("/{segment}"))),
            ] {
                let response = send(&client, &method, &url, br#"{"role":"admin"}"#, "application/json", Some(&format!("Bearer {}", admin.access))).await;
                assert_handled(response, &format!("{method} {url}")).await;
            }
        }

        // Nothing was lost or changed: the user (whose own token went to
        // /auth/logout-all above, so their sessions ended) logs in with the
        // same password and is still a user; a bystander's session lives on.
        let again = Tokens::from_response(auth.post_login(&email, PASSWORD).await).await;
        assert_eq!(again.body["user"]["role"], "user");
        assert_eq!(resource.get_me(&again.access).await.status(), 200);
        assert_eq!(auth.post_refresh(&bystander.refresh).await.status(), 200);
        let me: Value = auth.get_me(&bystander.access).await.json().await.expect("json");
        assert_eq!(me["email"], bystander_email.as_str());
    }
}
