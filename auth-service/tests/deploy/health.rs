//! Every health check, run as the container runs it, against the live
//! services configured from their compose environment.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::files::{compose, default_of, environment, scalar, service, Dockerfile};
use crate::SERVICES;

/// The argv of a compose health check, as the container runs it.
fn compose_healthcheck(file: &str, name: &str) -> Vec<String> {
    let doc = compose(file);
    let words: Vec<String> = service(&doc, name)["healthcheck"]["test"]
        .as_vec()
        .into_iter()
        .flatten()
        .filter_map(scalar)
        .map(|word| default_of(&word))
        .collect();
    assert_eq!(words.first().map(String::as_str), Some("CMD"), "{name}");
    words[1..].to_vec()
}

/// Runs a probe with `bind_var` naming `port`, as the container would.
fn probe(argv: &[String], bind_var: &str, port: u16) -> bool {
    Command::new(&argv[0])
        .args(&argv[1..])
        .env(bind_var, format!("0.0.0.0:{port}"))
        .status()
        .unwrap_or_else(|e| panic!("cannot run the probe {argv:?}: {e}"))
        .success()
}

/// Starts a service configured from its compose environment's defaults,
/// apart from the bind address and what `overrides` names, and returns its
/// port.
async fn start(column: &str, overrides: &[(&str, String)]) -> u16 {
    let (file, name, ..) = SERVICES.iter().find(|s| s.3 == column).expect("a service");
    let env = environment(service(&compose(file), name));
    let lookup = |var: &str| {
        let overridden = overrides.iter().find(|(name, _)| *name == var);
        overridden
            .map(|(_, value)| value.clone())
            .or_else(|| env.get(var).map(|value| default_of(value)))
    };
    if column == "auth" {
        let settings = auth_service::config::Settings::from_lookup(lookup)
            .expect("the compose environment is a valid auth-service configuration");
        let app = auth_service::startup::Application::build(settings)
            .await
            .expect("starts");
        let port = app.port();
        tokio::spawn(app.run_until_stopped());
        port
    } else {
        let settings = resource_service::config::Settings::from_lookup(lookup)
            .expect("the compose environment is a valid resource-service configuration");
        let app = resource_service::startup::Application::build(settings)
            .await
            .expect("starts");
        let port = app.port();
        tokio::spawn(app.run_until_stopped());
        port
    }
}

#[tokio::test]
async fn every_health_check_passes_on_a_ready_service_and_fails_on_one_that_is_not() {
    let database = std::env::temp_dir().join(format!("deploy-{}.db", uuid::Uuid::new_v4()));
    let auth_port = start(
        "auth",
        &[
            ("AUTH_BIND", "127.0.0.1:0".into()),
            ("DATABASE_URL", database.display().to_string()),
            ("BCRYPT_COST", "4".into()),
        ],
    )
    .await;
    let jwks = format!("http://127.0.0.1:{auth_port}/.well-known/jwks.json");
    let resource_port = start(
        "resource",
        &[
            ("RESOURCE_BIND", "127.0.0.1:0".into()),
            ("AUTH_JWKS_URL", jwks),
        ],
    )
    .await;
    // Its JWKS never answers, so its /readyz stays 503.
    let not_ready_port = start(
        "resource",
        &[
            ("RESOURCE_BIND", "127.0.0.1:0".into()),
            (
                "AUTH_JWKS_URL",
                "http://127.0.0.1:1/.well-known/jwks.json".into(),
            ),
        ],
    )
    .await;
    let dockerfile = Dockerfile::read();

    for (file, name, target, column, bind_var) in SERVICES {
        let ready_port = if *column == "auth" {
            auth_port
        } else {
            resource_port
        };
        let probes = [
            (format!("{file} {name}"), compose_healthcheck(file, name)),
            (
                format!("Dockerfile {target}"),
                dockerfile.healthcheck(target),
            ),
        ];
        for (origin, argv) in probes {
            // The resource-service is ready once it holds the keys.
            let started = Instant::now();
            while !probe(&argv, bind_var, ready_port) {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "{origin}: never passes"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(
                !probe(&argv, bind_var, not_ready_port),
                "{origin}: passes on a 503"
            );
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
}
