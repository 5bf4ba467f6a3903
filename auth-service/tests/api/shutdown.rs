//! Graceful shutdown: on SIGTERM both services stop accepting, finish the
//! requests in flight (within a bound), close the pool and exit 0.

use std::time::Duration;

use serde_json::json;

use crate::cli::database_url;
use crate::helpers::*;

/// actix's shutdown timeout is 10 s; allow for a slow machine on top.
const EXIT_BOUND: Duration = Duration::from_secs(20);

#[tokio::test]
async fn the_auth_service_finishes_a_login_in_flight_when_terminated() {
    let db = TestDb::new(Backend::Sqlite);
    // A high cost makes the login slow enough to be caught in flight.
    let (mut auth, port) = Process::start(
        env!("CARGO_BIN_EXE_auth-service"),
        &[
            ("DATABASE_URL", database_url(&db)),
            ("AUTH_BIND", "127.0.0.1:0".into()),
            ("BCRYPT_COST", "13".into()),
            ("RUST_LOG", "info".into()),
        ],
        "listening on ",
    );
    let url = format!("http://127.0.0.1:{port}");
    let http = client();
    let email = email();
    let registered = http
        .post(format!("{url}/auth/register"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .expect("register");
    assert_eq!(registered.status(), 201);

    let login = tokio::spawn({
        let http = http.clone();
        let url = url.clone();
        let email = email.clone();
        async move {
            http.post(format!("{url}/auth/login"))
                .json(&json!({ "email": email, "password": PASSWORD }))
                .send()
                .await
        }
    });
    // Let the request reach the bcrypt verification, then stop the service.
    tokio::time::sleep(Duration::from_millis(150)).await;
    auth.terminate();

    let response = login
        .await
        .expect("join")
        .expect("the login in flight is answered");
    assert_eq!(response.status(), 200, "the login in flight completes");
    let tokens = Tokens::from_response(response).await;
    assert!(!tokens.access.is_empty());

    let status = tokio::task::spawn_blocking(move || {
        let status = auth.wait_exit(EXIT_BOUND);
        (status, auth.output())
    })
    .await
    .expect("join");
    let (status, output) = status;
    let status = status.unwrap_or_else(|| panic!("no exit within {EXIT_BOUND:?}: {output:?}"));
    assert!(status.success(), "exit status {status:?}: {output:?}");
    // No longer accepting.
    assert!(http.get(format!("{url}/healthz")).send().await.is_err());
}

#[tokio::test]
async fn the_resource_service_exits_cleanly_when_terminated() {
    let auth = spawn_app(Backend::Sqlite).await;
    let (mut resource, port) = Process::start(
        &resource_service_binary(),
        &[
            ("RESOURCE_BIND", "127.0.0.1:0".into()),
            ("AUTH_JWKS_URL", auth.url("/.well-known/jwks.json")),
            ("RUST_LOG", "info".into()),
        ],
        "listening on port",
    );
    let http = client();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if r.status() == 200 {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready);
    resource.terminate();
    let (status, output) =
        tokio::task::spawn_blocking(move || (resource.wait_exit(EXIT_BOUND), resource.output()))
            .await
            .expect("join");
    let status = status.unwrap_or_else(|| panic!("no exit within {EXIT_BOUND:?}: {output:?}"));
    assert!(status.success(), "exit status {status:?}: {output:?}");
}
