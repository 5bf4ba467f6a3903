//! The reference web client (web/) in a real browser: Debian's Chromium,
//! driven by playwright-core from `web/tests/flow.mjs`, against the real
//! auth-service (which serves the page) and resource-service (reached through
//! CORS), with access tokens that expire after a few seconds.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::helpers::{spawn_app_with, spawn_resource_configured, Backend, TestApp, PASSWORD};

const ACCESS_TTL_SECONDS: u64 = 5;

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web")
}

/// Chromium's path, or why the test cannot run: no Chromium, or no Node.js
/// and npm to drive it.
fn browser() -> Result<String, String> {
    let path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&path).exists() {
        return Err(format!(
            "no Chromium at {path} (Debian: apt-get install chromium; or set CHROMIUM to its path)"
        ));
    }
    for program in ["node", "npm"] {
        let found = std::process::Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !found {
            return Err(format!(
                "no {program} on the PATH (Debian: apt-get install nodejs npm)"
            ));
        }
    }
    Ok(path)
}

/// Chromium's path; `None` when the browser is missing on a developer's
/// machine, so that `cargo test --workspace` passes without one. CI
/// (`CI=true`) installs the browser, so there a missing one fails the run.
fn chromium_or_skip() -> Option<String> {
    match browser() {
        Ok(path) => Some(path),
        Err(missing) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("the browser test needs a browser under CI: {missing}")
        }
        Err(missing) => {
            // Straight to stderr: libtest hides what a passing test prints.
            let _ = writeln!(std::io::stderr(), "browser test skipped: {missing}");
            None
        }
    }
}

/// web/'s npm packages (playwright-core), installed from the lock file on
/// first use, as cargo fetches crates.
fn ensure_npm_packages(web: &Path) {
    if web
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        return;
    }
    let status = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(web)
        .status()
        .expect("the browser test needs Node.js and npm on the PATH");
    assert!(status.success(), "npm ci in web/ failed");
}

/// A free port for the resource-service, whose origin the page must know
/// before the auth-service starts.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

async fn create_user(auth: &TestApp, email: &str, role: shared_claims::Role) {
    let pool = auth_service::db::connect(&auth.db.url).expect("pool");
    auth_service::service::create_user(
        &pool,
        &auth_service::passwords::Hasher::new(),
        auth.settings.bcrypt_cost,
        auth_service::domain::Email::parse(email).expect("email"),
        auth_service::domain::Password::parse(PASSWORD.to_owned()).expect("password"),
        role,
    )
    .await
    .expect("create user");
}

#[tokio::test]
async fn the_web_client_lives_the_whole_flow_in_a_real_browser() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let web = web_dir();
    ensure_npm_packages(&web);
    let resource_port = free_port();
    let resource_url = format!("http://127.0.0.1:{resource_port}");
    let auth_port = free_port();
    // The page is opened at another of the service's origins than its
    // issuer's (as `http://127.0.0.1:8080` beside `http://localhost:8080`),
    // so the client's DPoP proofs must name the issuer, not the page's URL.
    let issuer = format!("http://localhost:{auth_port}");
    let page_origin = format!("http://127.0.0.1:{auth_port}");
    let auth = spawn_app_with(Backend::Sqlite, |s| {
        s.issuer = issuer.clone();
        s.access_token_ttl = Duration::from_secs(ACCESS_TTL_SECONDS);
        s.resource_url = resource_url.clone();
        s.bind = format!("127.0.0.1:{auth_port}");
        // Cookie refreshes must come from an origin the service knows.
        s.cors_allowed_origins = vec![page_origin.clone()];
    })
    .await;
    let _resource = spawn_resource_configured(
        &auth.url("/.well-known/jwks.json"),
        resource_service::jwks::JwksOptions::default(),
        |s| {
            s.bind = format!("127.0.0.1:{resource_port}");
            s.issuer = issuer.clone();
            s.cors_allowed_origins = vec![auth.address.clone()];
        },
    )
    .await;
    let user = "grace@example.com";
    let admin = "ada@example.com";
    create_user(&auth, user, shared_claims::Role::User).await;
    create_user(&auth, admin, shared_claims::Role::Admin).await;
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");

    let run = tokio::process::Command::new("node")
        .arg("tests/flow.mjs")
        .current_dir(&web)
        .env("AUTH_URL", &auth.address)
        .env("RESOURCE_URL", &resource_url)
        .env("USER_EMAIL", user)
        .env("ADMIN_EMAIL", admin)
        .env("PASSWORD", PASSWORD)
        .env("ACCESS_TTL_SECONDS", ACCESS_TTL_SECONDS.to_string())
        .env("ARTIFACTS_DIR", &artifacts)
        .env("CHROMIUM", chromium)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("the browser flow finishes within four minutes")
        .expect("node runs web/tests/flow.mjs");

    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    assert!(output.status.success(), "browser flow failed:\n{report}");
    assert!(
        artifacts.join("logged-in.png").exists(),
        "the screenshot is saved:\n{report}"
    );

    // The README's script of a DPoP-bound login and call, as written.
    let example = tokio::process::Command::new("node")
        .args([
            "examples/dpop-call.mjs",
            // The script's first argument is the issuer, as the README says.
            &issuer,
            &resource_url,
            admin,
            PASSWORD,
        ])
        .current_dir(&web)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), example)
        .await
        .expect("the example finishes")
        .expect("node runs web/examples/dpop-call.mjs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the DPoP example failed:\n{report}"
    );
    assert!(report.contains("token_type DPoP"), "{report}");
}
