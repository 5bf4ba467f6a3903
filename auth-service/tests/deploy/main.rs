//! The deployment files (`Dockerfile`, `docker-compose.yml`,
//! `docker-compose.replicas.yml`, `.dockerignore`) cannot be built or run
//! without a container engine, so these tests check what would otherwise
//! fail only on the first `docker compose up`: the files parse, each
//! service's environment is the documented one and is accepted by the real
//! service, the services are wired to each other, the images run as
//! non-root, and every health check answers against the live services.
//!
//! The documented variables are the configuration tables of docs/API.md §5
//! and of the README.

mod files;
mod health;

use std::collections::{BTreeMap, BTreeSet};

use yaml_rust2::Yaml;

use files::*;

/// Variables whose compose default is not the documented one, on purpose:
/// inside a container the binds listen on 0.0.0.0 (checked on their own),
/// the database, the JWKS and the introspection endpoint are other
/// containers, the stack serves plain
/// HTTP on localhost, the resource-service admits the web client, and its
/// public URL is the published port, not its 0.0.0.0 bind.
const CONTAINER_DEFAULTS: &[&str] = &[
    "AUTH_BIND",
    "RESOURCE_BIND",
    "DATABASE_URL",
    "AUTH_JWKS_URL",
    "AUTH_INTROSPECTION_URL",
    "COOKIE_SECURE",
    "CORS_ALLOWED_ORIGINS",
    "RESOURCE_PUBLIC_URL",
];

/// Each compose service of ours: (compose file, service, Dockerfile target,
/// the configuration tables' service column, its bind variable).
pub const SERVICES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "docker-compose.yml",
        "auth-service",
        "auth-service",
        "auth",
        "AUTH_BIND",
    ),
    (
        "docker-compose.yml",
        "resource-service",
        "resource-service",
        "resource",
        "RESOURCE_BIND",
    ),
    (
        "docker-compose.replicas.yml",
        "auth-service-2",
        "auth-service",
        "auth",
        "AUTH_BIND",
    ),
];
#[test]
fn every_interpolation_in_the_compose_files_is_well_formed() {
    for file in ["docker-compose.yml", "docker-compose.replicas.yml"] {
        let mut pending = vec![compose(file)];
        while let Some(node) = pending.pop() {
            match node {
                Yaml::String(s) => {
                    interpolate(&s, &|_| None).unwrap_or_else(|e| panic!("{file}: {e}"));
                }
                Yaml::Array(items) => pending.extend(items),
                Yaml::Hash(map) => pending.extend(map.into_iter().map(|(_, v)| v)),
                _ => {}
            }
        }
    }
}

#[test]
fn each_service_sets_exactly_its_documented_variables_each_from_the_host() {
    for (file, name, _, column, _) in SERVICES {
        let env = environment(service(&compose(file), name));
        let set: BTreeSet<String> = env.keys().cloned().collect();
        assert_eq!(
            set,
            documented_for(column),
            "{file} {name}: set vs documented"
        );
        for (var, value) in &env {
            assert!(
                settable_from(value, var),
                "{file} {name}: {var} is {value:?}; write ${{{var}:-default}}"
            );
        }
    }
}

#[test]
fn compose_defaults_are_the_documented_ones_except_where_a_container_needs_otherwise() {
    let documented = documented();
    for (file, name, _, _, bind_var) in SERVICES {
        for (var, value) in environment(service(&compose(file), name)) {
            let (_, doc_default) = &documented[&var];
            let default = default_of(&value);
            if var == *bind_var {
                let port = port_of(doc_default.as_deref().unwrap_or_default());
                assert_eq!(default, format!("0.0.0.0:{port}"), "{file} {name}: {var}");
            } else if !CONTAINER_DEFAULTS.contains(&var.as_str()) {
                assert_eq!(Some(&default), doc_default.as_ref(), "{file} {name}: {var}");
            }
        }
    }
}

#[test]
fn the_resource_service_trusts_what_the_auth_service_issues() {
    let doc = compose("docker-compose.yml");
    let auth = environment(service(&doc, "auth-service"));
    let resource = environment(service(&doc, "resource-service"));
    for var in ["AUTH_ISSUER", "TOKEN_AUDIENCE"] {
        assert_eq!(auth[var], resource[var], "{var} differs");
    }
    let auth_port = port_of(&default_of(&auth["AUTH_BIND"]));
    assert_eq!(
        default_of(&resource["AUTH_JWKS_URL"]),
        format!("http://auth-service:{auth_port}/.well-known/jwks.json")
    );
    assert_eq!(
        default_of(&resource["AUTH_INTROSPECTION_URL"]),
        format!("http://auth-service:{auth_port}/oauth/introspect")
    );
}

#[test]
fn the_auth_service_uses_the_postgres_service_with_its_password() {
    let doc = compose("docker-compose.yml");
    let pg = environment(service(&doc, "postgres"));
    let database_url = &environment(service(&doc, "auth-service"))["DATABASE_URL"];
    assert!(settable_from(&pg["POSTGRES_PASSWORD"], "POSTGRES_PASSWORD"));
    let (user, db) = (&pg["POSTGRES_USER"], &pg["POSTGRES_DB"]);
    let password = default_of(&pg["POSTGRES_PASSWORD"]);
    assert_eq!(
        default_of(database_url),
        format!("postgres://{user}:{password}@postgres:5432/{db}")
    );
    let host = |name: &str| (name == "POSTGRES_PASSWORD").then(|| "s3cret".to_owned());
    let with_secret = interpolate(database_url, &host).unwrap_or_default();
    assert!(with_secret.contains(":s3cret@"), "{with_secret}");
}

#[test]
fn the_replica_is_configured_exactly_as_the_first_auth_service() {
    let first = environment(service(&compose("docker-compose.yml"), "auth-service"));
    let replica = environment(service(
        &compose("docker-compose.replicas.yml"),
        "auth-service-2",
    ));
    assert_eq!(replica, first);
}

#[test]
fn no_host_port_is_published_twice() {
    let mut published = BTreeMap::new();
    for (file, name, ..) in SERVICES {
        for entry in service(&compose(file), name)["ports"]
            .as_vec()
            .into_iter()
            .flatten()
        {
            let mapping = default_of(&scalar(entry).unwrap_or_default());
            let host = mapping.split(':').next().unwrap_or_default().to_owned();
            if let Some(other) = published.insert(host.clone(), name) {
                panic!("host port {host} is published by {other} and {name}");
            }
        }
    }
}

#[test]
fn containers_publish_and_expose_the_port_they_listen_on() {
    let dockerfile = Dockerfile::read();
    for (file, name, target, _, bind_var) in SERVICES {
        let doc = compose(file);
        let s = service(&doc, name);
        let port = port_of(&default_of(&environment(s)[*bind_var]));
        for entry in s["ports"].as_vec().into_iter().flatten() {
            let mapping = default_of(&scalar(entry).unwrap_or_default());
            assert!(
                mapping.ends_with(&format!(":{port}")),
                "{name}: {mapping} vs {bind_var}"
            );
        }
        assert_eq!(
            dockerfile.all(target, "EXPOSE"),
            vec![port.to_string()],
            "{name}"
        );
    }
}

#[test]
fn the_dockerfile_has_every_target_the_compose_files_build() {
    let dockerfile = Dockerfile::read();
    for (file, name, target, ..) in SERVICES {
        let doc = compose(file);
        let build = &service(&doc, name)["build"];
        assert_eq!(build["context"].as_str(), Some("."), "{name}");
        assert_eq!(build["target"].as_str(), Some(*target), "{name}");
        assert!(
            dockerfile.stages.contains_key(*target),
            "no stage `AS {target}`"
        );
    }
}

#[test]
fn the_service_images_run_as_a_non_root_user() {
    let dockerfile = Dockerfile::read();
    for target in ["auth-service", "resource-service"] {
        let user = dockerfile.all(target, "USER").pop().expect("a USER");
        let name = user.split(':').next().unwrap_or_default();
        assert!(!["root", "0", ""].contains(&name), "{target}: USER {user}");
    }
}

#[test]
fn the_build_stage_copies_every_workspace_member() {
    let workspace = read("Cargo.toml");
    let members = workspace
        .split_once("members")
        .and_then(|(_, rest)| rest.split_once('['))
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .expect("the workspace lists its members");
    let copied = Dockerfile::read().all("build", "COPY").join(" ");
    let copied: BTreeSet<&str> = copied.split_whitespace().collect();
    let members = members.split(',').map(|m| m.trim().trim_matches('"'));
    for needed in members
        .filter(|m| !m.is_empty())
        .chain(["Cargo.lock", "migrations"])
    {
        assert!(
            copied.contains(needed),
            "the build stage does not COPY {needed}"
        );
    }
}

#[test]
fn no_database_password_is_baked_into_an_image() {
    let dockerfile = read("Dockerfile");
    for secret in ["PASSWORD", "postgres://", "postgresql://"] {
        assert!(!dockerfile.contains(secret), "{secret} in the Dockerfile");
    }
}

#[test]
fn dockerignore_keeps_local_state_out() {
    let ignore = read(".dockerignore");
    let entries: BTreeSet<&str> = ignore.lines().map(str::trim).collect();
    for needed in ["target", "data", ".git"] {
        assert!(entries.contains(needed), ".dockerignore lacks {needed}");
    }
}

#[test]
fn each_service_starts_once_what_it_needs_is_healthy() {
    let needs = [
        ("docker-compose.yml", "auth-service", "postgres"),
        ("docker-compose.yml", "resource-service", "auth-service"),
        (
            "docker-compose.replicas.yml",
            "auth-service-2",
            "auth-service",
        ),
    ];
    for (file, name, needed) in needs {
        let doc = compose(file);
        let condition = &service(&doc, name)["depends_on"][needed]["condition"];
        assert_eq!(
            condition.as_str(),
            Some("service_healthy"),
            "{name} on {needed}"
        );
    }
}
