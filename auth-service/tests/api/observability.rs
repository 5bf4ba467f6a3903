//! Operating the services: `/metrics` on both (HTTP series by route pattern,
//! the domain counters operators watch), `X-Request-Id` on every response,
//! one access-log line per request, and the start-up line with the effective
//! configuration.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use crate::cli::{auth_service, database_url, stderr};
use crate::helpers::*;

/// The value of the series `name` whose labels include `labels`, summed over
/// every series that matches; `None` when none does.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name != name {
            continue;
        }
        let pairs: Vec<(&str, &str)> = series_labels
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k, v.trim_matches('"')))
            .collect();
        if labels.iter().all(|wanted| pairs.contains(wanted)) {
            let value: f64 = value.parse().expect("a number");
            found = Some(found.unwrap_or(0.0) + value);
        }
    }
    found
}

/// `GET /metrics` at `base`, checked to be the Prometheus text format.
async fn scrape(client: &reqwest::Client, base: &str) -> String {
    let response = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.expect("text")
}

/// Scrapes until `ready` holds: the HTTP series of a request are recorded
/// when its response body is dropped, a moment after the client has it.
async fn scrape_until(
    client: &reqwest::Client,
    base: &str,
    ready: impl Fn(&str) -> bool,
) -> String {
    let mut text = String::new();
    for _ in 0..100 {
        text = scrape(client, base).await;
        if ready(&text) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    text
}

fn requests(text: &str, method: &str, route: &str, status: &str) -> f64 {
    sample(
        text,
        "http_requests_total",
        &[("method", method), ("route", route), ("status", status)],
    )
    .unwrap_or(0.0)
}

/// The `X-Request-Id` of a response.
fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .expect("an X-Request-Id header")
        .to_str()
        .expect("visible ASCII")
        .to_owned()
}

fn is_uuid_v4(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 4)
}

/// A genuine token with its header's `kid` replaced: a key nobody publishes.
fn with_unknown_kid(token: &str) -> String {
    let mut parts = token.splitn(2, '.');
    let header = parts.next().expect("header");
    let rest = parts.next().expect("payload and signature");
    let mut header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("b64")).expect("json");
    header["kid"] = Value::from("kid-nobody-publishes");
    format!(
        "{}.{rest}",
        URL_SAFE_NO_PAD.encode(header.to_string().as_bytes())
    )
}

/// The sample of `name` with `labels` in `text`, which must have it.
fn counter(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(text, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} in\n{text}"))
}

#[tokio::test]
async fn a_new_auth_service_counts_no_login_and_one_signing_key() {
    let app = spawn_app(Backend::Sqlite).await;

    let text = scrape(&app.client, &app.address).await;

    assert_eq!(sample(&text, "auth_logins_total", &[]), Some(0.0));
    assert_eq!(sample(&text, "auth_signing_keys", &[]), Some(1.0));
}

#[tokio::test]
async fn auth_metrics_count_registrations_and_refused_duplicates() {
    let app = spawn_app(Backend::Sqlite).await;
    let email = email();

    assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
    assert_eq!(app.post_register(&email, PASSWORD).await.status(), 409);

    let text = scrape_until(&app.client, &app.address, |t| {
        requests(t, "POST", "/auth/register", "409") >= 1.0
    })
    .await;
    assert_eq!(counter(&text, "auth_registrations_total", &[]), 1.0);
    assert_eq!(requests(&text, "POST", "/auth/register", "201"), 1.0);
    assert_eq!(requests(&text, "POST", "/auth/register", "409"), 1.0);
}

#[tokio::test]
async fn auth_metrics_count_logins_failures_and_lockouts() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.login_max_failures = 2).await;
    let email = email();
    assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);

    assert_eq!(app.post_login(&email, "wrong password").await.status(), 401);
    Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
    assert_eq!(app.post_login(&email, "wrong password").await.status(), 401);
    assert_eq!(app.post_login(&email, "wrong password").await.status(), 401);
    // Locked now, even with the right password.
    assert_eq!(app.post_login(&email, PASSWORD).await.status(), 429);

    let text = scrape_until(&app.client, &app.address, |t| {
        requests(t, "POST", "/auth/login", "429") >= 1.0
    })
    .await;
    assert_eq!(counter(&text, "auth_logins_total", &[]), 1.0);
    assert_eq!(
        counter(
            &text,
            "auth_login_failures_total",
            &[("reason", "invalid_credentials")]
        ),
        3.0
    );
    assert_eq!(
        counter(&text, "auth_login_failures_total", &[("reason", "locked")]),
        1.0
    );
    assert_eq!(counter(&text, "auth_lockouts_total", &[]), 1.0);
    assert_eq!(requests(&text, "POST", "/auth/login", "200"), 1.0);
    assert_eq!(requests(&text, "POST", "/auth/login", "401"), 3.0);
    assert_eq!(requests(&text, "POST", "/auth/login", "429"), 1.0);
}

#[tokio::test]
async fn auth_request_latencies_form_a_histogram_by_route_and_status() {
    let app = spawn_app(Backend::Sqlite).await;
    let email = email();
    assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);

    for _ in 0..3 {
        assert_eq!(app.post_login(&email, "wrong password").await.status(), 401);
    }

    let login_401 = [
        ("method", "POST"),
        ("route", "/auth/login"),
        ("status", "401"),
    ];
    let text = scrape_until(&app.client, &app.address, |t| {
        sample(t, "http_requests_duration_seconds_count", &login_401) == Some(3.0)
    })
    .await;
    assert_eq!(
        counter(&text, "http_requests_duration_seconds_count", &login_401),
        3.0
    );
    assert!(counter(&text, "http_requests_duration_seconds_sum", &login_401) > 0.0);
    let mut inf = login_401.to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(
        counter(&text, "http_requests_duration_seconds_bucket", &inf),
        3.0
    );
}

#[tokio::test]
async fn auth_metrics_count_refreshes_by_outcome_and_detected_reuse() {
    let app = spawn_app(Backend::Sqlite).await;
    let tokens = app.register_and_login(&email()).await;

    assert_eq!(app.post_refresh(&tokens.refresh).await.status(), 200);
    assert_eq!(app.post_refresh(&tokens.refresh).await.status(), 401); // reuse
    assert_eq!(
        app.post_refresh("no-such-refresh-token").await.status(),
        401
    );

    let text = scrape_until(&app.client, &app.address, |t| {
        requests(t, "POST", "/auth/refresh", "401") >= 2.0
    })
    .await;
    assert_eq!(
        counter(&text, "auth_refreshes_total", &[("outcome", "ok")]),
        1.0
    );
    assert_eq!(
        counter(&text, "auth_refreshes_total", &[("outcome", "reuse")]),
        1.0
    );
    assert_eq!(
        counter(&text, "auth_refreshes_total", &[("outcome", "invalid")]),
        1.0
    );
    assert_eq!(
        counter(&text, "auth_refresh_reuse_detected_total", &[]),
        1.0
    );
    assert_eq!(counter(&text, "auth_signing_keys", &[]), 1.0);
    assert_eq!(requests(&text, "POST", "/auth/refresh", "200"), 1.0);
    assert_eq!(requests(&text, "POST", "/auth/refresh", "401"), 2.0);
}

#[tokio::test]
async fn ids_probed_paths_and_tokens_never_become_label_values() {
    let app = spawn_app(Backend::Sqlite).await;
    let tokens = app.register_and_login(&email()).await;
    let session = uuid::Uuid::new_v4();
    let revoke = app
        .client
        .delete(app.url(&format!("/auth/sessions/{session}")))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .expect("request");
    assert_eq!(revoke.status(), 404);
    let probe = uuid::Uuid::new_v4();
    let unknown = app
        .client
        .get(app.url(&format!("/no/such/route/{probe}")))
        .send()
        .await
        .expect("request");
    assert_eq!(unknown.status(), 404);
    assert_eq!(app.post_refresh(&tokens.refresh).await.status(), 200);

    let text = scrape_until(&app.client, &app.address, |t| {
        requests(t, "GET", "unmatched", "404") >= 1.0
            && requests(t, "DELETE", "/auth/sessions/{id}", "404") >= 1.0
            && requests(t, "POST", "/auth/refresh", "200") >= 1.0
    })
    .await;
    assert_eq!(requests(&text, "GET", "unmatched", "404"), 1.0);
    assert_eq!(requests(&text, "DELETE", "/auth/sessions/{id}", "404"), 1.0);
    assert!(!text.contains(&session.to_string()), "{text}");
    assert!(!text.contains(&probe.to_string()), "{text}");
    assert!(!text.contains(&tokens.refresh), "{text}");
}

#[tokio::test]
async fn two_auth_services_in_one_process_count_apart() {
    let first = spawn_app(Backend::Sqlite).await;
    let second = spawn_app(Backend::Sqlite).await;
    first.register_and_login(&email()).await;

    let text = scrape(&second.client, &second.address).await;
    assert_eq!(sample(&text, "auth_logins_total", &[]), Some(0.0));
    assert_eq!(sample(&text, "auth_registrations_total", &[]), Some(0.0));
    let text = scrape(&first.client, &first.address).await;
    assert_eq!(sample(&text, "auth_logins_total", &[]), Some(1.0));
}

/// An auth-service and a resource-service that refetches its keys on every
/// unknown `kid`, and a user's tokens.
async fn auth_and_eager_resource() -> (TestApp, ResourceApp, Tokens) {
    let auth = spawn_app(Backend::Sqlite).await;
    let resource = spawn_resource_with(
        &auth.url("/.well-known/jwks.json"),
        resource_service::jwks::JwksOptions {
            min_refresh_interval: Duration::ZERO,
            ..Default::default()
        },
    )
    .await;
    let tokens = auth.register_and_login(&email()).await;
    (auth, resource, tokens)
}

#[tokio::test]
async fn resource_metrics_count_refused_tokens_by_reason_but_not_missing_ones() {
    let (_auth, resource, tokens) = auth_and_eager_resource().await;

    assert_eq!(resource.get_me(&tokens.access).await.status(), 200);
    assert_eq!(resource.get_me("not-a-jwt").await.status(), 401);
    assert_eq!(
        resource
            .get_me(&with_unknown_kid(&tokens.access))
            .await
            .status(),
        401
    );
    // No token at all is not a refused token.
    let anonymous = resource
        .client
        .get(resource.url("/api/me"))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);

    let text = scrape_until(&resource.client, &resource.address, |t| {
        requests(t, "GET", "/api/me", "401") >= 3.0
    })
    .await;
    assert_eq!(
        counter(
            &text,
            "resource_tokens_refused_total",
            &[("reason", "malformed")]
        ),
        1.0
    );
    assert_eq!(
        counter(
            &text,
            "resource_tokens_refused_total",
            &[("reason", "unknown_key")]
        ),
        1.0
    );
    assert_eq!(counter(&text, "resource_tokens_refused_total", &[]), 2.0);
    assert_eq!(requests(&text, "GET", "/api/me", "200"), 1.0);
    assert_eq!(requests(&text, "GET", "/api/me", "401"), 3.0);
    assert!(
        sample(
            &text,
            "http_requests_duration_seconds_bucket",
            &[("route", "/api/me"), ("status", "401"), ("le", "+Inf")]
        ) == Some(3.0),
        "{text}"
    );
}

#[tokio::test]
async fn resource_metrics_count_the_initial_jwks_fetch_a_refetch_and_the_keys() {
    let (_auth, resource, tokens) = auth_and_eager_resource().await;

    // An unknown `kid` makes the resource-service fetch the keys again.
    assert_eq!(
        resource
            .get_me(&with_unknown_kid(&tokens.access))
            .await
            .status(),
        401
    );

    let text = scrape_until(&resource.client, &resource.address, |t| {
        requests(t, "GET", "/api/me", "401") >= 1.0
    })
    .await;
    assert_eq!(
        counter(
            &text,
            "resource_jwks_fetches_total",
            &[("kind", "initial"), ("outcome", "ok")]
        ),
        1.0
    );
    assert_eq!(
        counter(
            &text,
            "resource_jwks_fetches_total",
            &[("kind", "refetch"), ("outcome", "ok")]
        ),
        1.0
    );
    assert_eq!(
        counter(
            &text,
            "resource_jwks_fetches_total",
            &[("outcome", "failed")]
        ),
        0.0
    );
    assert_eq!(counter(&text, "resource_jwks_keys", &[]), 1.0);
}

#[tokio::test]
async fn a_refetch_failed_while_the_auth_service_is_down_is_counted_and_the_keys_kept() {
    let (auth, resource, tokens) = auth_and_eager_resource().await;

    auth.stop().await;
    assert_eq!(
        resource
            .get_me(&with_unknown_kid(&tokens.access))
            .await
            .status(),
        401
    );

    let text = scrape(&resource.client, &resource.address).await;
    assert_eq!(
        sample(
            &text,
            "resource_jwks_fetches_total",
            &[("kind", "refetch"), ("outcome", "failed")]
        ),
        Some(1.0)
    );
    assert_eq!(sample(&text, "resource_jwks_keys", &[]), Some(1.0));
}

#[tokio::test]
async fn resource_metrics_name_the_route_pattern_never_the_id() {
    let (_auth, resource, tokens) = auth_and_eager_resource().await;
    let project = uuid::Uuid::new_v4();

    let delete = resource
        .client
        .delete(resource.url(&format!("/api/projects/{project}")))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .expect("request");
    assert_eq!(delete.status(), 403);

    let text = scrape_until(&resource.client, &resource.address, |t| {
        requests(t, "DELETE", "/api/projects/{id}", "403") >= 1.0
    })
    .await;
    assert_eq!(requests(&text, "DELETE", "/api/projects/{id}", "403"), 1.0);
    assert!(!text.contains(&project.to_string()), "{text}");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_sane_incoming_one_is_echoed() {
    let auth = spawn_app(Backend::Sqlite).await;
    let resource = spawn_resource(&auth).await;

    for base in [&auth.address, &resource.address] {
        for path in ["/healthz", "/no/such/route", "/metrics"] {
            let response = auth
                .client
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("request");
            let id = request_id(&response);
            assert!(is_uuid_v4(&id), "{base}{path}: {id}");
        }
        // The longest kept: 64 characters of every kind allowed.
        let sent = format!("client-trace_0123456789-ABCXYZabcxyz{}", "9".repeat(28));
        assert_eq!(sent.len(), 64);
        let response = auth
            .client
            .get(format!("{base}/healthz"))
            .header("x-request-id", &sent)
            .send()
            .await
            .expect("request");
        assert_eq!(request_id(&response), sent);
    }
    // Errors made by the framework carry it too.
    let response = auth
        .client
        .put(auth.url("/auth/login"))
        .header("x-request-id", "retry-42")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 405);
    assert_eq!(request_id(&response), "retry-42");
    let response = resource
        .client
        .get(resource.url("/api/me"))
        .header("x-request-id", "retry-43")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    assert_eq!(request_id(&response), "retry-43");
}

#[tokio::test]
async fn a_bad_incoming_request_id_is_replaced() {
    let auth = spawn_app(Backend::Sqlite).await;
    let resource = spawn_resource(&auth).await;
    let too_long = "a".repeat(65);
    let bad = [
        "has space",
        "semi;colon",
        "<script>",
        "dots.are.not.allowed",
        "é",
        too_long.as_str(),
    ];
    for base in [&auth.address, &resource.address] {
        for sent in bad {
            let response = auth
                .client
                .get(format!("{base}/healthz"))
                .header("x-request-id", sent)
                .send()
                .await
                .expect("request");
            let id = request_id(&response);
            assert_ne!(id, sent);
            assert!(is_uuid_v4(&id), "{sent:?} became {id:?}");
        }
    }
}

#[tokio::test]
async fn the_start_up_line_names_every_setting_and_hides_the_database_password() {
    let db = TestDb::new(Backend::Sqlite);
    // Nothing listens on port 1: the service fails to connect, after it has
    // said what it was configured with.
    let url = "postgres://operator:hunter2-in-userinfo@127.0.0.1:1/auth?sslmode=disable&password=hunter3-in-query";
    let output = auth_service(
        &db,
        &["serve"],
        None,
        &[
            ("DATABASE_URL", url),
            ("RUST_LOG", "info"),
            ("AUTH_BIND", "127.0.0.1:0"),
            ("ACCESS_TOKEN_TTL", "900s"),
            ("REFRESH_REUSE_GRACE", "2s"),
            ("CORS_ALLOWED_ORIGINS", "https://app.example.com"),
        ],
    );
    assert!(!output.status.success());
    let text = stderr(&output) + &String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("auth-service configuration:"))
        .collect();
    assert_eq!(lines.len(), 1, "one start-up line in:\n{text}");
    let line = lines[0];
    // Every variable of API.md §5 the auth-service reads, named.
    for variable in [
        "AUTH_BIND",
        "DATABASE_URL",
        "AUTH_ISSUER",
        "TOKEN_AUDIENCE",
        "ACCESS_TOKEN_TTL",
        "REFRESH_TOKEN_TTL",
        "REFRESH_REUSE_GRACE",
        "SESSION_MAX_TTL",
        "BCRYPT_COST",
        "LOGIN_MAX_FAILURES",
        "LOGIN_FAILURE_WINDOW",
        "ALLOW_REGISTRATION",
        "COOKIE_SECURE",
        "CORS_ALLOWED_ORIGINS",
        "RUST_LOG",
    ] {
        assert!(
            line.contains(&format!(" {variable}=")),
            "{variable} in {line}"
        );
    }
    // Effective values, durations in humantime form.
    for expected in [
        "AUTH_BIND=127.0.0.1:0",
        "DATABASE_URL=postgres://operator:***@127.0.0.1:1/auth?sslmode=disable&password=*** ",
        "ACCESS_TOKEN_TTL=15m ",
        "REFRESH_REUSE_GRACE=2s ",
        "BCRYPT_COST=4 ",
        "CORS_ALLOWED_ORIGINS=https://app.example.com ",
        "RUST_LOG=info",
    ] {
        assert!(line.contains(expected), "{expected} in {line}");
    }
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("hunter3"), "{text}");
}

#[tokio::test]
async fn the_running_binary_logs_one_line_per_request_with_its_id_and_no_query() {
    let db = TestDb::new(Backend::Sqlite);
    let (auth, port) = Process::start(
        env!("CARGO_BIN_EXE_auth-service"),
        &[
            ("DATABASE_URL", database_url(&db)),
            ("AUTH_BIND", "127.0.0.1:0".into()),
            ("BCRYPT_COST", "4".into()),
            ("RUST_LOG", "info".into()),
        ],
        "listening on ",
    );
    let http = client();
    let sent = http
        .get(format!(
            "http://127.0.0.1:{port}/healthz?access_token=query-secret"
        ))
        .header("x-request-id", "log-line-check-1")
        .send()
        .await
        .expect("request");
    assert_eq!(sent.status(), 200);
    let generated = http
        .get(format!(
            "http://127.0.0.1:{port}/auth/sessions/{}",
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .expect("request");
    let generated_id = request_id(&generated);
    // The access log is written when the response is done.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lines = auth.stop();

    let configuration: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("auth-service configuration:"))
        .collect();
    assert_eq!(configuration.len(), 1, "{lines:#?}");
    assert!(configuration[0].contains("DATABASE_URL=sqlite://"));
    let access: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("request_id=log-line-check-1"))
        .collect();
    assert_eq!(access.len(), 1, "one line per request: {lines:#?}");
    assert!(access[0].contains("\"GET /healthz\" 200"), "{}", access[0]);
    assert!(
        access[0].contains("ms request_id="),
        "latency: {}",
        access[0]
    );
    let generated_line = lines
        .iter()
        .find(|l| l.contains(&format!("request_id={generated_id}")))
        .unwrap_or_else(|| panic!("{generated_id} in {lines:#?}"));
    // Only DELETE is routed there: 405, and the raw path is logged.
    assert!(
        generated_line.contains("\"GET /auth/sessions/") && generated_line.contains("\" 405 "),
        "{generated_line}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("query-secret")),
        "{lines:#?}"
    );
}

/// Starts the binary with `rust_log`, sends one request with a known id and
/// stops the process at once; the lines it logged.
async fn lines_of_one_request(rust_log: &str, id: &str) -> Vec<String> {
    let db = TestDb::new(Backend::Sqlite);
    let (auth, port) = Process::start(
        env!("CARGO_BIN_EXE_auth-service"),
        &[
            ("DATABASE_URL", database_url(&db)),
            ("AUTH_BIND", "127.0.0.1:0".into()),
            ("BCRYPT_COST", "4".into()),
            ("RUST_LOG", rust_log.into()),
        ],
        "listening on ",
    );
    let response = client()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .header("x-request-id", id)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    auth.stop()
}

#[tokio::test]
async fn a_request_served_just_before_shutdown_is_in_the_log() {
    // No pause between the request and the stop: the background writer's
    // line must still reach the log before the process exits.
    let lines = lines_of_one_request("info", "pending-at-exit-1").await;

    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"GET /healthz\" 200")
                && l.contains("request_id=pending-at-exit-1")),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn the_access_target_switches_the_access_log_off() {
    let lines = lines_of_one_request("info,access=off", "access-off-1").await;

    assert!(
        lines.iter().any(|l| l.contains("listening on ")),
        "the other lines stay: {lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("access-off-1")),
        "{lines:#?}"
    );
}
