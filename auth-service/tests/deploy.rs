//! The deployment files (`Dockerfile`, `docker-compose.yml`,
//! `docker-compose.replicas.yml`, `.dockerignore`) cannot be built or run on a
//! machine without a container engine, so this test checks them statically
//! against the services' sources and the contract (docs/API.md §5):
//!
//! - both compose files parse, and their `${VAR:-default}` interpolations are
//!   well formed;
//! - every variable a compose service sets is one the service reads, and every
//!   variable the service reads (API.md §5) is set, from the host variable of
//!   the same name; the defaults are API.md's except where a container needs
//!   otherwise;
//! - the lists of variables kept here match API.md §5 and the services'
//!   `config.rs`, so none of the three can drift silently;
//! - published and exposed ports match the ports of the bind variables;
//! - the Dockerfile has the two targets, runs them as a non-root user and
//!   starts the real binaries with a real subcommand;
//! - every health check probes a real route, and the bash probe used for it
//!   actually works (against a tiny HTTP server on 127.0.0.1);
//! - `.dockerignore` keeps build output and local data out.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

/// The variables the auth-service reads (API.md §5, service `auth` or `both`).
const AUTH_VARS: &[&str] = &[
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
];

/// The variables the resource-service reads (API.md §5, `resource` or `both`).
const RESOURCE_VARS: &[&str] = &[
    "RESOURCE_BIND",
    "AUTH_ISSUER",
    "TOKEN_AUDIENCE",
    "AUTH_JWKS_URL",
    "CLOCK_LEEWAY",
    "CORS_ALLOWED_ORIGINS",
    "RUST_LOG",
];

/// Variables of the auth-service beyond API.md §5 (the contract leaves the
/// rest to the project), with their defaults; the README's configuration
/// table lists them.
const AUTH_EXTRA_VARS: &[(&str, &str)] = &[
    ("WEB_CLIENT", "true"),
    ("RESOURCE_URL", "http://127.0.0.1:8081"),
];

/// Variables whose compose default differs from API.md's, on purpose: the
/// binds listen on 0.0.0.0 (checked separately), the database and the JWKS
/// are other containers, the stack serves plain HTTP on localhost, and the
/// resource-service admits the web client's origin.
const CONTAINER_DEFAULTS: &[&str] = &[
    "AUTH_BIND",
    "RESOURCE_BIND",
    "DATABASE_URL",
    "AUTH_JWKS_URL",
    "COOKIE_SECURE",
    "CORS_ALLOWED_ORIGINS",
];

/// Subcommands of the auth-service CLI that may start a container, with the
/// name of their variant in `cli.rs` (clap lower-cases it).
const AUTH_SUBCOMMANDS: &[(&str, &str)] = &[("serve", "Serve"), ("migrate", "Migrate")];

/// One service, as the deployment files must see it.
struct Service {
    /// Binary, Dockerfile target and compose service name.
    name: &'static str,
    /// API.md §5's "service" column for it.
    api_column: &'static str,
    vars: &'static [&'static str],
    /// Variables beyond API.md §5, with their defaults.
    extra_vars: &'static [(&'static str, &'static str)],
    bind_var: &'static str,
    /// The crate folder.
    dir: &'static str,
}

const AUTH: Service = Service {
    name: "auth-service",
    api_column: "auth",
    vars: AUTH_VARS,
    extra_vars: AUTH_EXTRA_VARS,
    bind_var: "AUTH_BIND",
    dir: "auth-service",
};

const RESOURCE: Service = Service {
    name: "resource-service",
    api_column: "resource",
    vars: RESOURCE_VARS,
    extra_vars: &[],
    bind_var: "RESOURCE_BIND",
    dir: "resource-service",
};

const SERVICES: [&Service; 2] = [&AUTH, &RESOURCE];

impl Service {
    /// Every variable the service reads: API.md's and its own.
    fn all_vars(&self) -> BTreeSet<&'static str> {
        self.vars
            .iter()
            .copied()
            .chain(self.extra_vars.iter().map(|(name, _)| *name))
            .collect()
    }

    /// The default of a variable: API.md's, or the project's for its own.
    fn default_of(&self, api: &BTreeMap<String, ApiVariable>, var: &str) -> Option<String> {
        match self.extra_vars.iter().find(|(name, _)| *name == var) {
            Some((_, default)) => Some((*default).to_owned()),
            None => api[var].default.clone(),
        }
    }
}

// ---------------------------------------------------------------------------
// Reading the files

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn load_yaml(relative: &str) -> Yaml {
    let docs = YamlLoader::load_from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative} is not valid YAML: {e}"));
    assert_eq!(docs.len(), 1, "{relative} must hold exactly one document");
    let doc = docs.into_iter().next().unwrap_or(Yaml::BadValue);
    assert!(
        doc["services"].as_hash().is_some(),
        "{relative} has no `services` mapping"
    );
    doc
}

fn compose() -> Yaml {
    load_yaml("docker-compose.yml")
}

fn replicas() -> Yaml {
    load_yaml("docker-compose.replicas.yml")
}

fn service<'a>(doc: &'a Yaml, name: &str) -> &'a Yaml {
    let service = &doc["services"][name];
    assert!(service.as_hash().is_some(), "no compose service {name:?}");
    service
}

fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        Yaml::Null => Some(String::new()),
        _ => None,
    }
}

/// A service's `environment`, in either of compose's two forms.
fn environment(service: &Yaml) -> BTreeMap<String, String> {
    match &service["environment"] {
        Yaml::Hash(map) => map
            .iter()
            .map(|(k, v)| {
                let key = scalar(k).unwrap_or_else(|| panic!("odd variable name {k:?}"));
                let value = scalar(v).unwrap_or_else(|| panic!("{key}: odd value {v:?}"));
                (key, value)
            })
            .collect(),
        Yaml::Array(items) => items
            .iter()
            .map(|item| {
                let item = scalar(item).unwrap_or_default();
                let (k, v) = item.split_once('=').unwrap_or((item.as_str(), ""));
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        Yaml::BadValue => BTreeMap::new(),
        other => panic!("odd environment {other:?}"),
    }
}

/// The words of a compose `healthcheck.test` (without `CMD`/`CMD-SHELL`).
fn healthcheck_words(service: &Yaml) -> Vec<String> {
    match &service["healthcheck"]["test"] {
        Yaml::Array(items) => {
            let words: Vec<String> = items.iter().filter_map(scalar).collect();
            assert!(
                matches!(words.first().map(String::as_str), Some("CMD" | "CMD-SHELL")),
                "a healthcheck test list starts with CMD or CMD-SHELL: {words:?}"
            );
            words[1..].to_vec()
        }
        Yaml::String(s) => vec!["/bin/sh".into(), "-c".into(), s.clone()],
        other => panic!("no healthcheck test: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Compose interpolation: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`,
// `${VAR-default}`, nested in defaults, as compose does it.

fn interpolate(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '$' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                out.push('$');
                i += 2;
            }
            Some('{') => {
                let end = closing_brace(&chars, i + 1)
                    .ok_or_else(|| format!("unclosed ${{ in {text:?}"))?;
                let inner: String = chars[i + 2..end].iter().collect();
                out.push_str(&expand(&inner, env)?);
                i = end + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let name: String = chars[i + 1..j].iter().collect();
                out.push_str(&env(&name).unwrap_or_default());
                i = j;
            }
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The index of the `}` closing the `{` at `open`, counting nested `${`.
fn closing_brace(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '$' if chars.get(i + 1) == Some(&'$') => i += 1,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn expand(inner: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let name_len = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, rest) = inner.split_at(name_len);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("bad variable name in ${{{inner}}}"));
    }
    let value = env(name);
    if rest.is_empty() {
        Ok(value.unwrap_or_default())
    } else if let Some(default) = rest.strip_prefix(":-") {
        match value.filter(|v| !v.is_empty()) {
            Some(v) => Ok(v),
            None => interpolate(default, env),
        }
    } else if let Some(default) = rest.strip_prefix('-') {
        match value {
            Some(v) => Ok(v),
            None => interpolate(default, env),
        }
    } else {
        Err(format!(
            "${{{inner}}}: only ${{VAR}} and ${{VAR:-default}} are used here"
        ))
    }
}

/// The value with no host variable set.
fn default_of(text: &str) -> String {
    interpolate(text, &|_| None).unwrap_or_else(|e| panic!("{e}"))
}

/// `Some(default)` when `value` is exactly `${name:-default}` (or
/// `${name-default}`, `${name}`): settable from the host variable `name`.
fn settable_from(value: &str, name: &str) -> bool {
    let chars: Vec<char> = value.chars().collect();
    if !value.starts_with("${") || closing_brace(&chars, 1) != Some(chars.len() - 1) {
        return false;
    }
    let inner: String = chars[2..chars.len() - 1].iter().collect();
    inner == name
        || inner
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with(":-") || rest.starts_with('-'))
}

fn port_of(bind: &str) -> u16 {
    bind.rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("{bind:?} is not host:port"))
}

/// The container side of each `ports` entry, and the published host side.
fn ports(service: &Yaml) -> Vec<(Option<String>, u16)> {
    let entries = service["ports"].as_vec().cloned().unwrap_or_default();
    entries
        .iter()
        .map(|entry| match entry {
            Yaml::Hash(_) => {
                let target = scalar(&entry["target"]).unwrap_or_default();
                let published = scalar(&entry["published"]).map(|p| default_of(&p));
                let target = target
                    .parse()
                    .unwrap_or_else(|_| panic!("target {target:?}"));
                (published, target)
            }
            other => {
                let raw = scalar(other).unwrap_or_else(|| panic!("odd port entry {other:?}"));
                let resolved = default_of(&raw);
                let resolved = resolved.split('/').next().unwrap_or_default();
                let mut parts: Vec<&str> = resolved.split(':').collect();
                let target = parts.pop().unwrap_or_default();
                let target = target
                    .parse()
                    .unwrap_or_else(|_| panic!("container port of {raw:?}"));
                (parts.pop().map(str::to_owned), target)
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// API.md §5 and the sources

struct ApiVariable {
    services: BTreeSet<&'static str>,
    /// The literal default, when API.md gives one.
    default: Option<String>,
}

fn api_variables() -> BTreeMap<String, ApiVariable> {
    let api = read("docs/API.md");
    let section = api
        .split("\n## ")
        .find(|s| s.starts_with("5."))
        .expect("docs/API.md has a section 5 (configuration)");
    let mut vars = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').to_owned();
        let services = match cells[2] {
            "auth" => BTreeSet::from(["auth"]),
            "resource" => BTreeSet::from(["resource"]),
            "both" => BTreeSet::from(["auth", "resource"]),
            other => panic!("API.md §5: unknown service {other:?} for {name}"),
        };
        let default = if let Some(rest) = cells[3].strip_prefix('`') {
            rest.split('`').next().map(str::to_owned)
        } else if cells[3].starts_with("empty") {
            Some(String::new())
        } else {
            None
        };
        vars.insert(name, ApiVariable { services, default });
    }
    assert!(vars.len() >= 10, "API.md §5's table was not found");
    vars
}

/// `"UPPER_SNAKE"` string literals of a source file.
fn upper_snake_literals(source: &str) -> BTreeSet<String> {
    source
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.len() > 2
                && s.contains('_')
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_variable_lists_match_api_md_and_the_sources() {
    let api = api_variables();
    for svc in SERVICES {
        let from_api: BTreeSet<&str> = api
            .iter()
            .filter(|(_, v)| v.services.contains(svc.api_column))
            .map(|(name, _)| name.as_str())
            .collect();
        let here: BTreeSet<&str> = svc.vars.iter().copied().collect();
        assert_eq!(
            here, from_api,
            "{}: the list in this test differs from API.md §5",
            svc.name
        );

        let readme = read("README.md");
        for (var, default) in svc.extra_vars {
            assert!(
                !api.contains_key(*var),
                "{}: {var} is in API.md §5 now; move it to the list above",
                svc.name
            );
            assert!(
                readme.contains(&format!("| `{var}` | {} | `{default}` |", svc.api_column)),
                "{}: the README's configuration table does not list {var} with its default",
                svc.name
            );
        }

        let config = read(&format!("{}/src/config/mod.rs", svc.dir));
        let main = read(&format!("{}/src/main.rs", svc.dir));
        let here = svc.all_vars();
        for var in &here {
            if *var == "RUST_LOG" {
                // env_logger reads RUST_LOG through its default `Env`.
                assert!(
                    main.contains("env_logger::Env::default()"),
                    "{}: main.rs no longer reads RUST_LOG through env_logger::Env::default()",
                    svc.name
                );
            } else {
                assert!(
                    config.contains(&format!("\"{var}\"")),
                    "{}: {var} is not read in {}/src/config/mod.rs",
                    svc.name,
                    svc.dir
                );
            }
        }
        // And the other way round: a variable added to config.rs must be
        // added to API.md, to this list and so to the compose files.
        for literal in upper_snake_literals(&config) {
            assert!(
                here.contains(literal.as_str()),
                "{}: config.rs reads {literal}, which neither API.md §5 nor this test knows",
                svc.name
            );
        }
    }
}

// ---------------------------------------------------------------------------
// docker-compose.yml and docker-compose.replicas.yml

#[test]
fn compose_files_parse_and_interpolate() {
    for (file, doc) in [
        ("docker-compose.yml", compose()),
        ("docker-compose.replicas.yml", replicas()),
    ] {
        // Every string of the file, as compose interpolates them all.
        let mut pending = vec![doc];
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
fn compose_sets_exactly_the_variables_each_service_reads() {
    let api = api_variables();
    let doc = compose();
    for svc in SERVICES {
        let env = environment(service(&doc, svc.name));
        let set: BTreeSet<&str> = env.keys().map(String::as_str).collect();
        let read = svc.all_vars();
        let unknown: Vec<_> = set.difference(&read).collect();
        assert!(
            unknown.is_empty(),
            "{}: compose sets variables it does not read: {unknown:?}",
            svc.name
        );
        let missing: Vec<_> = read.difference(&set).collect();
        assert!(
            missing.is_empty(),
            "{}: compose cannot set {missing:?}",
            svc.name
        );

        for (var, value) in &env {
            assert!(
                settable_from(value, var),
                "{}: {var} is {value:?}; write ${{{var}:-default}} so the host can set it",
                svc.name
            );
            let default = default_of(value);
            if *var == svc.bind_var {
                let api_default = api[var.as_str()].default.clone().unwrap_or_default();
                assert_eq!(
                    default,
                    format!("0.0.0.0:{}", port_of(&api_default)),
                    "{}: inside a container {var} must listen on every interface",
                    svc.name
                );
            } else if !CONTAINER_DEFAULTS.contains(&var.as_str()) {
                assert_eq!(
                    Some(default),
                    svc.default_of(&api, var),
                    "{}: the compose default of {var} differs from API.md §5",
                    svc.name
                );
            }
        }
    }
}

#[test]
fn compose_wires_the_services_together() {
    let doc = compose();
    let auth = service(&doc, "auth-service");
    let resource = service(&doc, "resource-service");
    let postgres = service(&doc, "postgres");
    let auth_env = environment(auth);
    let resource_env = environment(resource);

    // Built from this repository's Dockerfile, one target each.
    for svc in SERVICES {
        let s = service(&doc, svc.name);
        assert_eq!(s["build"]["context"].as_str(), Some("."), "{}", svc.name);
        assert_eq!(
            s["build"]["target"].as_str(),
            Some(svc.name),
            "{}",
            svc.name
        );
    }

    // Start order: postgres healthy, then the auth-service, then the
    // resource-service (its /readyz needs the JWKS).
    assert_eq!(
        auth["depends_on"]["postgres"]["condition"].as_str(),
        Some("service_healthy")
    );
    assert_eq!(
        resource["depends_on"]["auth-service"]["condition"].as_str(),
        Some("service_healthy")
    );

    // The resource-service accepts exactly what the auth-service issues.
    for var in ["AUTH_ISSUER", "TOKEN_AUDIENCE"] {
        assert_eq!(auth_env[var], resource_env[var], "{var} differs");
    }

    // It fetches the JWKS from the auth-service container, at its port.
    let auth_port = port_of(&default_of(&auth_env["AUTH_BIND"]));
    assert_eq!(
        default_of(&resource_env["AUTH_JWKS_URL"]),
        format!("http://auth-service:{auth_port}/.well-known/jwks.json")
    );
    assert!(
        read("auth-service/src/routes/mod.rs").contains("\"/.well-known/jwks.json\""),
        "the auth-service has no /.well-known/jwks.json route"
    );

    // PostgreSQL: a pinned major version, a named volume, pg_isready, and a
    // password from the host (with a development default), never a literal.
    let image = postgres["image"].as_str().unwrap_or_default();
    assert!(
        ["postgres:15", "postgres:16"].contains(&image),
        "postgres image {image:?}"
    );
    let pg_env = environment(postgres);
    assert!(
        settable_from(&pg_env["POSTGRES_PASSWORD"], "POSTGRES_PASSWORD"),
        "POSTGRES_PASSWORD must come from the host: {:?}",
        pg_env["POSTGRES_PASSWORD"]
    );
    let volumes = postgres["volumes"].as_vec().cloned().unwrap_or_default();
    let named: Vec<String> = volumes
        .iter()
        .filter_map(scalar)
        .filter_map(|v| v.split(':').next().map(str::to_owned))
        .filter(|v| !v.starts_with('.') && !v.starts_with('/'))
        .collect();
    assert!(
        !named.is_empty(),
        "postgres keeps its data in a named volume"
    );
    for volume in &named {
        assert!(
            doc["volumes"]
                .as_hash()
                .is_some_and(|v| v.contains_key(&Yaml::String(volume.clone()))),
            "volume {volume} is not declared at the top level"
        );
    }
    let pg_check = healthcheck_words(postgres).join(" ");
    assert!(pg_check.contains("pg_isready"), "{pg_check}");

    // The auth-service's database is that postgres service, with its user,
    // its database and the same password variable.
    let user = default_of(&pg_env["POSTGRES_USER"]);
    let db = default_of(&pg_env["POSTGRES_DB"]);
    let password = default_of(&pg_env["POSTGRES_PASSWORD"]);
    assert_eq!(
        default_of(&auth_env["DATABASE_URL"]),
        format!("postgres://{user}:{password}@postgres:5432/{db}")
    );
    let with_secret = interpolate(&auth_env["DATABASE_URL"], &|name| {
        (name == "POSTGRES_PASSWORD").then(|| "s3cret".to_owned())
    })
    .unwrap_or_default();
    assert!(
        with_secret.contains(":s3cret@"),
        "DATABASE_URL must follow POSTGRES_PASSWORD: {with_secret}"
    );
}

#[test]
fn the_replica_override_runs_a_second_identical_auth_service() {
    let base = compose();
    let over = replicas();
    let auth = service(&base, "auth-service");
    let replica = service(&over, "auth-service-2");

    assert_eq!(replica["build"]["context"].as_str(), Some("."));
    assert_eq!(replica["build"]["target"].as_str(), Some("auth-service"));
    // Same configuration, so same database, issuer, lifetimes and limits.
    assert_eq!(
        environment(replica),
        environment(auth),
        "auth-service-2 must be configured exactly as auth-service"
    );
    // Started after the first instance has migrated and made the first key.
    assert_eq!(
        replica["depends_on"]["auth-service"]["condition"].as_str(),
        Some("service_healthy")
    );

    // The merged project publishes no host port twice.
    let mut published = BTreeMap::new();
    for doc in [&base, &over] {
        for (name, svc) in doc["services"].as_hash().cloned().unwrap_or_default() {
            let name = scalar(&name).unwrap_or_default();
            for (host, _) in ports(&svc) {
                if let Some(host) = host {
                    if let Some(other) = published.insert(host.clone(), name.clone()) {
                        panic!("host port {host} is published by {other} and {name}");
                    }
                }
            }
        }
    }
    assert!(
        published.contains_key("8082"),
        "auth-service-2 on 8082: {published:?}"
    );
}

#[test]
fn published_ports_match_the_bind_addresses() {
    let base = compose();
    let over = replicas();
    let dockerfile = dockerfile();
    let cases = [
        (&AUTH, service(&base, "auth-service")),
        (&RESOURCE, service(&base, "resource-service")),
        (&AUTH, service(&over, "auth-service-2")),
    ];
    for (svc, s) in cases {
        let bind_port = port_of(&default_of(&environment(s)[svc.bind_var]));
        let ports = ports(s);
        assert!(!ports.is_empty(), "{} publishes no port", svc.name);
        for (_, target) in ports {
            assert_eq!(
                target, bind_port,
                "{}: container port vs {}",
                svc.name, svc.bind_var
            );
        }
        let stage = dockerfile.stage(svc.name);
        assert_eq!(
            stage.exposed(),
            vec![bind_port],
            "{}: EXPOSE vs {}",
            svc.name,
            svc.bind_var
        );
        assert_eq!(
            port_of(&stage.env()[svc.bind_var]),
            bind_port,
            "{}: the image's {} vs compose's",
            svc.name,
            svc.bind_var
        );
    }
}

// ---------------------------------------------------------------------------
// Health checks

/// The path a probe requests, which must be a real route of the service.
fn assert_probes_a_real_route(svc: &Service, probe: &str) {
    let routes = read(&format!("{}/src/routes/mod.rs", svc.dir));
    let path = ["/readyz", "/healthz"]
        .into_iter()
        .find(|p| probe.contains(&format!("GET {p} ")))
        .unwrap_or_else(|| {
            panic!(
                "{}: the health check probes neither /readyz nor /healthz: {probe}",
                svc.name
            )
        });
    assert!(
        routes.contains(&format!("\"{path}\"")),
        "{}: {path} is not a route",
        svc.name
    );
}

/// A tiny HTTP server on 127.0.0.1 answering `status` to `/readyz` and 404
/// to anything else, for at most `connections` connections.
fn fake_service(status: &'static str, connections: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections).flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Read the headers, so closing does not reset the connection.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim() != "" {
                line.clear();
            }
            let answer = if request_line.starts_with("GET /readyz ") {
                status
            } else {
                "404 Not Found"
            };
            let _ = (&stream).write_all(
                format!("HTTP/1.1 {answer}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    port
}

/// Runs a probe (as the container would) with `bind_var` naming `port`.
fn probe_succeeds(words: &[String], bind_var: &str, port: u16) -> bool {
    let (program, args) = words.split_first().expect("an empty probe");
    Command::new(program)
        .args(args)
        .env(bind_var, format!("0.0.0.0:{port}"))
        .status()
        .unwrap_or_else(|e| panic!("cannot run the probe {program}: {e}"))
        .success()
}

fn check_probe(svc: &Service, words: &[String], origin: &str) {
    let probe = words.join(" ");
    assert_probes_a_real_route(svc, &probe);
    // It reaches the port the service listens on.
    assert!(
        probe.contains(&format!("${{{}##*:}}", svc.bind_var)),
        "{origin}: the probe must follow {}: {probe}",
        svc.bind_var
    );
    assert!(
        !probe.contains("curl") && !probe.contains("wget"),
        "{origin}: the slim image has neither curl nor wget: {probe}"
    );
    // And it works: success on 200, failure on 503.
    let ready = fake_service("200 OK", 1);
    assert!(
        probe_succeeds(words, svc.bind_var, ready),
        "{origin}: the probe fails against a ready service"
    );
    let not_ready = fake_service("503 Service Unavailable", 1);
    assert!(
        !probe_succeeds(words, svc.bind_var, not_ready),
        "{origin}: the probe passes against a service answering 503"
    );
}

#[test]
fn healthchecks_probe_real_routes_and_work() {
    let base = compose();
    let over = replicas();
    let cases = [
        (
            &AUTH,
            service(&base, "auth-service"),
            "docker-compose.yml auth-service",
        ),
        (
            &RESOURCE,
            service(&base, "resource-service"),
            "docker-compose.yml resource-service",
        ),
        (
            &AUTH,
            service(&over, "auth-service-2"),
            "docker-compose.replicas.yml",
        ),
    ];
    for (svc, s, origin) in cases {
        // Compose turns `$$` into `$` before the container sees it.
        let words: Vec<String> = healthcheck_words(s)
            .iter()
            .map(|w| interpolate(w, &|_| None).unwrap_or_else(|e| panic!("{origin}: {e}")))
            .collect();
        assert_eq!(
            words.first().map(String::as_str),
            Some("bash"),
            "{origin}: /dev/tcp needs bash"
        );
        check_probe(svc, &words, origin);
    }

    let dockerfile = dockerfile();
    for svc in SERVICES {
        if let Some(words) = dockerfile.stage(svc.name).healthcheck() {
            check_probe(svc, &words, &format!("Dockerfile {}", svc.name));
        }
    }
}

// ---------------------------------------------------------------------------
// Dockerfile

struct Instruction {
    keyword: String,
    args: String,
}

struct Stage {
    image: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

struct Dockerfile {
    stages: Vec<Stage>,
}

fn dockerfile() -> Dockerfile {
    let text = read("Dockerfile");
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        // Comments and blank lines, also inside a continued instruction.
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical {
        let (keyword, args) = line
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((&line, ""));
        let keyword = keyword.to_ascii_uppercase();
        let args = args.trim().to_owned();
        if keyword == "FROM" {
            let words: Vec<&str> = args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some((*name).to_owned()),
                _ => None,
            };
            stages.push(Stage {
                image: words.first().map(|w| (*w).to_owned()).unwrap_or_default(),
                name,
                instructions: Vec::new(),
            });
        } else {
            stages
                .last_mut()
                .unwrap_or_else(|| panic!("Dockerfile: {keyword} before the first FROM"))
                .instructions
                .push(Instruction { keyword, args });
        }
    }
    Dockerfile { stages }
}

impl Dockerfile {
    fn stage(&self, name: &str) -> &Stage {
        self.stages
            .iter()
            .find(|s| s.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("the Dockerfile has no stage `AS {name}`"))
    }
}

fn exec_form(args: &str, what: &str) -> Vec<String> {
    serde_json::from_str(args)
        .unwrap_or_else(|e| panic!("{what} should be in exec form (a JSON list): {args} ({e})"))
}

impl Stage {
    fn all(&self, keyword: &str) -> Vec<&str> {
        self.instructions
            .iter()
            .filter(|i| i.keyword == keyword)
            .map(|i| i.args.as_str())
            .collect()
    }

    fn last(&self, keyword: &str) -> Option<&str> {
        self.all(keyword).last().copied()
    }

    fn env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for args in self.all("ENV") {
            let words: Vec<&str> = args.split_whitespace().collect();
            if words.first().is_some_and(|w| w.contains('=')) {
                for word in words {
                    let (k, v) = word.split_once('=').unwrap_or((word, ""));
                    env.insert(k.to_owned(), v.trim_matches('"').to_owned());
                }
            } else if let Some((k, v)) = args.split_once(char::is_whitespace) {
                env.insert(k.to_owned(), v.trim().trim_matches('"').to_owned());
            }
        }
        env
    }

    fn exposed(&self) -> Vec<u16> {
        self.all("EXPOSE")
            .into_iter()
            .flat_map(str::split_whitespace)
            .map(|p| {
                let port = p.split('/').next().unwrap_or_default();
                port.parse().unwrap_or_else(|_| panic!("EXPOSE {p}"))
            })
            .collect()
    }

    fn healthcheck(&self) -> Option<Vec<String>> {
        let args = self.last("HEALTHCHECK")?;
        if args.trim().eq_ignore_ascii_case("NONE") {
            return None;
        }
        let (_, command) = args
            .split_once("CMD ")
            .unwrap_or_else(|| panic!("HEALTHCHECK without CMD: {args}"));
        let command = command.trim();
        if command.starts_with('[') {
            Some(exec_form(command, "HEALTHCHECK CMD"))
        } else {
            Some(vec!["/bin/sh".into(), "-c".into(), command.to_owned()])
        }
    }
}

#[test]
fn the_dockerfile_builds_both_binaries_and_runs_them_as_non_root() {
    let dockerfile = dockerfile();
    let stage_names: BTreeSet<&str> = dockerfile
        .stages
        .iter()
        .filter_map(|s| s.name.as_deref())
        .collect();

    // One build stage on the official Rust image, with libpq to link against.
    let build = dockerfile
        .stages
        .iter()
        .find(|s| s.image.starts_with("rust:1-bookworm"))
        .expect("a build stage FROM rust:1-bookworm");
    let build_name = build.name.clone().expect("the build stage is named");
    let runs = build.all("RUN").join("\n");
    assert!(
        runs.contains("libpq-dev"),
        "the build stage installs libpq-dev"
    );
    let cargo = runs
        .split("&&")
        .find(|c| c.contains("cargo build"))
        .expect("the build stage runs cargo build");
    assert!(cargo.contains("--release"), "{cargo}");
    for svc in SERVICES {
        assert!(
            cargo.contains(&format!("--bin {}", svc.name)),
            "{cargo} builds no {}",
            svc.name
        );
    }
    let copied = build.all("COPY").join("\n");
    // Every workspace member (a new one too) and the embedded migrations.
    let workspace = read("Cargo.toml");
    let members: Vec<String> = workspace
        .lines()
        .find_map(|l| l.trim().strip_prefix("members"))
        .and_then(|l| l.split_once('[').and_then(|(_, rest)| rest.split_once(']')))
        .map(|(list, _)| {
            list.split(',')
                .map(|m| m.trim().trim_matches('"').to_owned())
                .filter(|m| !m.is_empty())
                .collect()
        })
        .expect("the workspace Cargo.toml lists its members on one line");
    assert!(members.len() >= 3, "workspace members: {members:?}");
    let needed = ["Cargo.toml", "Cargo.lock", "migrations"]
        .into_iter()
        .chain(members.iter().map(String::as_str));
    for needed in needed {
        assert!(
            copied.split_whitespace().any(|w| w == needed),
            "the build stage does not COPY {needed}"
        );
    }

    for svc in SERVICES {
        assert!(stage_names.contains(svc.name), "no target {}", svc.name);
        let stage = dockerfile.stage(svc.name);
        assert!(
            stage.image.starts_with("debian:bookworm-slim"),
            "{}: runtime on debian:bookworm-slim, not {}",
            svc.name,
            stage.image
        );

        // A real binary: the package of that name builds one from src/main.rs.
        let manifest = read(&format!("{}/Cargo.toml", svc.dir));
        assert!(
            manifest.contains(&format!("name = \"{}\"", svc.name)),
            "{} is not a package",
            svc.name
        );
        assert!(
            repo().join(svc.dir).join("src/main.rs").exists(),
            "{} has no main.rs",
            svc.name
        );

        // Only the binary comes from the build stage.
        let from_build: Vec<&str> = stage
            .all("COPY")
            .into_iter()
            .filter(|c| c.contains(&format!("--from={build_name}")))
            .collect();
        assert_eq!(
            from_build.len(),
            1,
            "{}: copy only the binary: {from_build:?}",
            svc.name
        );
        let copy = from_build[0].split_whitespace().collect::<Vec<_>>();
        let destination = copy.last().copied().unwrap_or_default();
        assert!(
            copy.iter()
                .rev()
                .nth(1)
                .is_some_and(|src| src.ends_with(&format!("/{}", svc.name))),
            "{}: {:?} is not the binary",
            svc.name,
            from_build[0]
        );

        // Started as itself.
        let entrypoint = exec_form(stage.last("ENTRYPOINT").unwrap_or("[]"), "ENTRYPOINT");
        let program = entrypoint.first().cloned().unwrap_or_default();
        assert!(
            program == svc.name || program.ends_with(&format!("/{}", svc.name)),
            "{}: ENTRYPOINT runs {program:?}",
            svc.name
        );
        assert!(
            destination == program
                || (destination.ends_with('/') && program == format!("{destination}{}", svc.name)),
            "{}: the binary is copied to {destination} but ENTRYPOINT runs {program}",
            svc.name
        );
        let cmd = stage
            .last("CMD")
            .map(|c| exec_form(c, "CMD"))
            .unwrap_or_default();
        let mut argv: Vec<String> = entrypoint[1..].to_vec();
        argv.extend(cmd);
        if svc.name == "auth-service" {
            let cli = read("auth-service/src/cli.rs");
            if let Some(sub) = argv.first() {
                let (_, variant) = AUTH_SUBCOMMANDS
                    .iter()
                    .find(|(word, _)| word == sub)
                    .unwrap_or_else(|| {
                        panic!("auth-service has no subcommand {sub:?} to start a container")
                    });
                assert!(
                    cli.contains(&format!("    {variant},")),
                    "cli.rs has no {variant} command"
                );
            }
        } else {
            assert!(argv.is_empty(), "{} takes no arguments: {argv:?}", svc.name);
        }

        // Not as root.
        let user = stage
            .last("USER")
            .unwrap_or_else(|| panic!("{}: no USER", svc.name));
        let name = user.split(':').next().unwrap_or_default();
        assert!(
            !["root", "0", ""].contains(&name),
            "{}: USER {user}",
            svc.name
        );
        let user_at = stage.instructions.iter().rposition(|i| i.keyword == "USER");
        let start_at = stage
            .instructions
            .iter()
            .rposition(|i| i.keyword == "ENTRYPOINT");
        assert!(
            user_at < start_at,
            "{}: USER comes before ENTRYPOINT",
            svc.name
        );

        // Variables baked in are ones the service reads, and no secret.
        let env = stage.env();
        for var in env.keys() {
            assert!(
                svc.all_vars().contains(var.as_str()),
                "{}: ENV {var} is not read by the service",
                svc.name
            );
        }
        assert!(
            env[svc.bind_var].starts_with("0.0.0.0:"),
            "{}: inside a container {} must listen on every interface",
            svc.name,
            svc.bind_var
        );
        let runtime_text: String = stage
            .instructions
            .iter()
            .map(|i| format!("{} {}\n", i.keyword, i.args))
            .collect();
        for secret in ["PASSWORD", "postgres://", "postgresql://"] {
            assert!(
                !runtime_text.contains(secret),
                "{}: {secret} in the image",
                svc.name
            );
        }
        let installs = stage.all("RUN").join("\n");
        assert!(
            installs.contains("ca-certificates"),
            "{}: ca-certificates",
            svc.name
        );
    }

    // The auth-service: libpq at run time, SQLite by default on a volume.
    let auth = dockerfile.stage("auth-service");
    let installs = auth.all("RUN").join("\n");
    assert!(
        installs.contains("libpq5"),
        "the auth-service image needs libpq5"
    );
    assert!(
        auth.all("VOLUME").iter().any(|v| v.contains("/data")),
        "the auth-service image declares a /data volume"
    );
    let database = &auth.env()["DATABASE_URL"];
    assert!(
        database.starts_with("sqlite:///data/"),
        "DATABASE_URL {database}"
    );
    assert!(
        installs.contains("/data"),
        "the auth-service image makes /data writable"
    );

    let whole = read("Dockerfile");
    assert!(
        !whole.contains("POSTGRES_PASSWORD"),
        "no database password in the Dockerfile"
    );
}

#[test]
fn dockerignore_keeps_local_state_out() {
    let ignore = read(".dockerignore");
    let entries: BTreeSet<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_start_matches('/').trim_end_matches('/'))
        .collect();
    for needed in ["target", "data", ".git"] {
        assert!(entries.contains(needed), ".dockerignore lacks {needed}");
    }
}
