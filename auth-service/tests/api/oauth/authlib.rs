//! A stock Python client, authlib's `OAuth2Session`, unchanged: a service
//! authenticating with `client_secret_basic`, taking a service token by the
//! client-credentials grant and calling the resource-service with it (API.md
//! §8). It runs in a venv under target/ with authlib from PyPI; without
//! python3 the test is skipped, except under CI (`CI=true`), where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::clients::create_client;
use crate::helpers::*;

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|ci| ci == "true")
}

fn run(command: &mut Command) -> Result<Output, String> {
    let output = command
        .output()
        .map_err(|e| format!("{command:?} did not run: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A venv with authlib, made once (the versions are ranges: the test is of
/// our endpoints, with the client as its users get it).
fn authlib_python() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("authlib-venv");
    let python = venv.join("bin/python");
    let ready = venv.join("authlib-installed");
    if ready.exists() {
        return Ok(python);
    }
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "authlib>=1.3,<2",
        "requests>=2.31,<3",
    ]))?;
    std::fs::write(&ready, b"").map_err(|e| e.to_string())?;
    Ok(python)
}

#[tokio::test]
async fn authlib_oauth2_session_takes_a_service_token_with_client_secret_basic() {
    let python = match authlib_python() {
        Ok(python) => python,
        Err(missing) if under_ci() => panic!("the authlib test needs python3 under CI: {missing}"),
        Err(missing) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "authlib test skipped: {missing}");
            return;
        }
    };
    let app = spawn_app(Backend::Postgres).await;
    let resource = spawn_resource(&app).await;
    let (id, secret) = create_client(&app.db, "reports");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/authlib_client_credentials.py");

    let output = tokio::task::spawn_blocking({
        let token_url = app.url("/oauth/token");
        let resource_url = resource.address.clone();
        let id = id.clone();
        move || {
            run(Command::new(python)
                .arg(script)
                .args([&token_url, &resource_url, &id, &secret])
                // authlib refuses plain HTTP unless told: the test servers
                // listen on loopback without TLS.
                .env("AUTHLIB_INSECURE_TRANSPORT", "1"))
        }
    })
    .await
    .expect("the client ran")
    .unwrap_or_else(|e| panic!("{e}"));
    let seen: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");

    assert_eq!(seen["token"]["token_type"], "Bearer", "{seen}");
    assert!(seen["token"].get("refresh_token").is_none(), "{seen}");
    let token = claims(seen["access_token"].as_str().expect("access_token"));
    assert_eq!(token["sub"], id.as_str());
    assert_eq!(token["client_id"], id.as_str());
    assert_eq!(token["role"], "service");
    assert_eq!(seen["me_status"], 200, "{seen}");
    assert_eq!(seen["me"]["role"], "service", "{seen}");
    assert_eq!(seen["me"]["email"], Value::Null, "{seen}");
}
