//! The real binary at start: one line with the effective configuration (no
//! secrets), then one access-log line per request with its request id.
#![expect(clippy::unwrap_used, reason = "a failing test shows the value it got")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use resource_service::config::VARIABLES;

/// Collects what the child prints until `done` holds for a line, or 60 s.
fn read_until(lines: &mpsc::Receiver<String>, seen: &mut Vec<String>, done: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                let finished = done(&line);
                seen.push(line);
                if finished {
                    return;
                }
            }
            Err(_) => break,
        }
    }
    panic!("the awaited line never came: {seen:#?}");
}

/// The id of the one request [`lines_of_a_run_with_one_request`] sends.
const REQUEST_ID: &str = "startup-test-7";

/// Runs the binary until it has logged one request carrying
/// [`REQUEST_ID`] (with a secret in the query string); every line it printed.
async fn lines_of_a_run_with_one_request() -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_resource-service"))
        .env("RESOURCE_BIND", "127.0.0.1:0")
        // Nothing listens there: the JWKS fetch keeps failing, which is fine.
        .env(
            "AUTH_JWKS_URL",
            "http://jwks-reader:s3cret-pass@127.0.0.1:1/.well-known/jwks.json",
        )
        .env("CLOCK_LEEWAY", "90s")
        .env("INTROSPECTION_CLIENT_ID", "projects-api")
        .env("INTROSPECTION_CLIENT_SECRET", "s3cret-of-the-client")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut seen = Vec::new();
    read_until(&rx, &mut seen, |l| l.contains("listening on port"));
    let port: u16 = seen
        .last()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let response = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{port}/healthz?access_token=q-secret"
        ))
        .header("x-request-id", REQUEST_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], REQUEST_ID);
    read_until(&rx, &mut seen, |l| {
        l.contains(&format!("request_id={REQUEST_ID}"))
    });
    child.kill().unwrap();
    child.wait().unwrap();
    seen
}

#[tokio::test]
async fn the_binary_logs_its_effective_configuration_once_without_secrets() {
    let seen = lines_of_a_run_with_one_request().await;

    let configuration: Vec<&String> = seen
        .iter()
        .filter(|l| l.contains("resource-service configuration:"))
        .collect();
    assert_eq!(configuration.len(), 1, "{seen:#?}");
    let line = configuration[0];
    for variable in VARIABLES.iter().chain(&["RUST_LOG"]) {
        assert!(
            line.contains(&format!(" {variable}=")),
            "{variable} in {line}"
        );
    }
    for expected in [
        "RESOURCE_BIND=127.0.0.1:0 ",
        "AUTH_JWKS_URL=http://jwks-reader:***@127.0.0.1:1/.well-known/jwks.json ",
        "CLOCK_LEEWAY=1m30s ",
        "INTROSPECTION_CLIENT_ID=projects-api ",
        "INTROSPECTION_CLIENT_SECRET=*** ",
        "RUST_LOG=info",
    ] {
        assert!(line.contains(expected), "{expected} in {line}");
    }
    assert!(!seen.iter().any(|l| l.contains("s3cret")), "{seen:#?}");
}

#[tokio::test]
async fn the_binary_logs_a_line_per_request_with_its_id_and_no_query() {
    let seen = lines_of_a_run_with_one_request().await;

    let access = seen.last().unwrap();
    assert!(access.contains("\"GET /healthz\" 200"), "{access}");
    assert!(access.contains("ms request_id=startup-test-7"), "{access}");
    assert!(!seen.iter().any(|l| l.contains("q-secret")), "{seen:#?}");
}

#[test]
fn the_binary_refuses_half_an_introspection_client_with_one_line_naming_the_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_resource-service"))
        .env("RESOURCE_BIND", "127.0.0.1:0")
        .env("INTROSPECTION_CLIENT_ID", "projects-api")
        .env_remove("INTROSPECTION_CLIENT_SECRET")
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("resource-service: INTROSPECTION_CLIENT_SECRET: "),
        "{stderr}"
    );
}

#[test]
fn the_binary_refuses_a_bad_introspection_cache_ttl() {
    let output = Command::new(env!("CARGO_BIN_EXE_resource-service"))
        .env("RESOURCE_BIND", "127.0.0.1:0")
        .env("INTROSPECTION_CACHE_TTL", "ten seconds")
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("resource-service: INTROSPECTION_CACHE_TTL: "),
        "{stderr}"
    );
}

#[test]
fn a_bad_public_url_stops_the_binary_with_a_line_naming_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_resource-service"))
        .env("RESOURCE_BIND", "127.0.0.1:0")
        .env("RESOURCE_PUBLIC_URL", "ftp://api.example.com")
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("resource-service: RESOURCE_PUBLIC_URL: "),
        "{stderr}"
    );
}
