//! Spawns the real services on free 127.0.0.1 ports against a fresh database
//! (a new SQLite file or a new PostgreSQL database) per test.

use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use auth_service::config::{DatabaseUrl, Settings};
use auth_service::startup::Application;
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::Response;
use serde_json::{json, Value};

pub const ISSUER: &str = "http://auth.test";
pub const AUDIENCE: &str = "resource-service";
pub const PASSWORD: &str = "correct horse battery";

/// Runs each named test once per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($backend:ident: Backend) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn scenario($backend: Backend) $body

                #[tokio::test]
                async fn sqlite() {
                    scenario(Backend::Sqlite).await
                }

                #[tokio::test]
                async fn postgres() {
                    scenario(Backend::Postgres).await
                }
            }
        )*
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn init_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = env_logger::Builder::from_env(
                env_logger::Env::default().default_filter_or("debug"),
            )
            .is_test(true)
            .try_init();
        }
    });
}

/// A database that exists for one test and is removed after it.
#[derive(Debug)]
pub struct TestDb {
    pub url: DatabaseUrl,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    /// The test owns the database's lifetime itself (a [`PrivatePostgres`]).
    None,
    File(PathBuf),
    Postgres {
        admin_url: String,
        name: String,
    },
}

/// The PostgreSQL server the tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl TestDb {
    pub fn new(backend: Backend) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("auth-test-{id}.db"));
                TestDb {
                    url: DatabaseUrl::Sqlite(path.clone()),
                    cleanup: Cleanup::File(path),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("auth_test_{id}");
                let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
                    panic!("PostgreSQL at {admin_url} is needed for the tests (set TEST_DATABASE_URL): {e}")
                });
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base)
                    .expect("database URL has a path");
                TestDb {
                    url: DatabaseUrl::Postgres(format!("{base}/{name}")),
                    cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
        }
    }

    /// A database whose lifetime the test manages itself.
    pub fn at(url: DatabaseUrl) -> Self {
        TestDb {
            url,
            cleanup: Cleanup::None,
        }
    }

    /// Drops a PostgreSQL test database now, connections and all.
    pub fn drop_postgres_now(&self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Postgres { .. } => self.drop_postgres_now(),
            Cleanup::None => {}
        }
    }
}

/// Settings for tests: port 0, a cheap bcrypt cost, the given database.
pub fn test_settings(db: &TestDb) -> Settings {
    let mut settings = Settings::from_lookup(|_| None).expect("default settings");
    settings.bind = "127.0.0.1:0".into();
    settings.database = db.url.clone();
    settings.issuer = ISSUER.into();
    settings.audience = AUDIENCE.into();
    settings.bcrypt_cost = 4;
    settings
}

/// A running auth-service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    handle: ServerHandle,
    pub db: std::sync::Arc<TestDb>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let db = std::sync::Arc::new(TestDb::new(backend));
    let mut settings = test_settings(&db);
    configure(&mut settings);
    spawn_on(db, settings).await
}

/// Starts an auth-service on an existing test database (a restart, or a replica).
pub async fn spawn_on(db: std::sync::Arc<TestDb>, settings: Settings) -> TestApp {
    init_logging();
    let app = Application::build(settings.clone())
        .await
        .expect("auth-service starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: client(),
        settings,
        handle,
        db,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// The token response of a login or refresh.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub body: Value,
}

impl Tokens {
    pub async fn from_response(response: Response) -> Tokens {
        assert_eq!(response.status(), 200, "expected a token response");
        let body: Value = response.json().await.expect("json");
        Tokens {
            access: body["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            refresh: body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
            body,
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_register(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/auth/register",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn post_login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/auth/login",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn post_refresh(&self, refresh_token: &str) -> Response {
        self.post_json("/auth/refresh", &json!({ "refresh_token": refresh_token }))
            .await
    }

    pub async fn post_logout(&self, refresh_token: &str) -> Response {
        self.post_json("/auth/logout", &json!({ "refresh_token": refresh_token }))
            .await
    }

    pub async fn get_me(&self, access_token: &str) -> Response {
        self.client
            .get(self.url("/auth/me"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_logout_all(&self, access_token: &str) -> Response {
        self.client
            .post(self.url("/auth/logout-all"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
    }

    /// Registers `email` with [`PASSWORD`] and logs in.
    pub async fn register_and_login(&self, email: &str) -> Tokens {
        let registered = self.post_register(email, PASSWORD).await;
        assert_eq!(registered.status(), 201, "register {email}");
        Tokens::from_response(self.post_login(email, PASSWORD).await).await
    }
}

/// A running resource-service trusting `auth`.
pub struct ResourceApp {
    pub address: String,
    pub client: reqwest::Client,
}

pub async fn spawn_resource(auth: &TestApp) -> ResourceApp {
    spawn_resource_for(&auth.url("/.well-known/jwks.json")).await
}

pub async fn spawn_resource_for(jwks_url: &str) -> ResourceApp {
    spawn_resource_with(jwks_url, resource_service::jwks::JwksOptions::default()).await
}

pub async fn spawn_resource_with(
    jwks_url: &str,
    options: resource_service::jwks::JwksOptions,
) -> ResourceApp {
    spawn_resource_configured(jwks_url, options, |_| {}).await
}

pub async fn spawn_resource_configured(
    jwks_url: &str,
    options: resource_service::jwks::JwksOptions,
    configure: impl FnOnce(&mut resource_service::config::Settings),
) -> ResourceApp {
    init_logging();
    let mut settings = resource_service::config::Settings {
        bind: "127.0.0.1:0".into(),
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        jwks_url: jwks_url.into(),
        clock_leeway: Duration::ZERO,
        cors_allowed_origins: Vec::new(),
    };
    configure(&mut settings);
    let app = resource_service::startup::Application::build_with(settings, options)
        .await
        .expect("resource-service starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let resource = ResourceApp {
        address,
        client: client(),
    };
    resource.wait_ready().await;
    resource
}

impl ResourceApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn wait_ready(&self) {
        for _ in 0..100 {
            if let Ok(r) = self.client.get(self.url("/readyz")).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("resource-service never became ready");
    }

    pub async fn get_me(&self, access_token: &str) -> Response {
        self.client
            .get(self.url("/api/me"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
    }
}

/// A unique email for a test.
pub fn email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// Asserts a JSON error body with this status and code.
pub async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type}"
    );
    let body: Value = response.json().await.expect("json body");
    assert_eq!(body["error"], code, "body {body}");
    assert!(body["error_description"].is_string(), "body {body}");
    body
}

impl TestApp {
    /// Creates an admin directly in the database (as `user create --role admin`
    /// does) and logs in.
    pub async fn create_admin_and_login(&self, email: &str) -> Tokens {
        let pool = auth_service::db::connect(&self.db.url).expect("pool");
        auth_service::service::create_user(
            &pool,
            &auth_service::passwords::Hasher::new(),
            4,
            auth_service::domain::Email::parse(email).expect("email"),
            auth_service::domain::Password::parse(PASSWORD.to_owned()).expect("password"),
            shared_claims::Role::Admin,
        )
        .await
        .expect("create admin");
        Tokens::from_response(self.post_login(email, PASSWORD).await).await
    }

    pub async fn get_sessions(&self, access_token: &str) -> Response {
        self.client
            .get(self.url("/auth/sessions"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
    }
}

/// A service's OpenAPI document (`GET /openapi.json`), to check what the
/// service answers against what it documents.
///
/// [`OpenApiDoc::check`] takes a response as the tests receive it and
/// asserts that its status is documented for the operation (or, for a path
/// or method the document lacks, that it is the document's shared 404 or 405
/// response), that every header the document lists for it is there, and that
/// its body has the documented content type and matches the documented JSON
/// schema. Objects may not carry properties the schema does not name.
pub struct OpenApiDoc {
    pub doc: Value,
    /// `components.schemas`, with `additionalProperties: false` added to
    /// every object schema that says nothing about extra properties.
    strict_schemas: Value,
}

/// A response after [`OpenApiDoc::check`]: its parts, for the test's own asserts.
#[derive(Debug)]
pub struct Observed {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The JSON body, or `Value::Null` when the body is empty.
    pub body: Value,
}

impl OpenApiDoc {
    /// Fetches `base` + `/openapi.json`.
    pub async fn fetch(base: &str) -> OpenApiDoc {
        let response = client()
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .expect("request /openapi.json");
        assert_eq!(response.status(), 200, "GET /openapi.json");
        OpenApiDoc::new(response.json().await.expect("/openapi.json is JSON"))
    }

    pub fn new(doc: Value) -> OpenApiDoc {
        let mut strict_schemas = doc["components"]["schemas"].clone();
        forbid_undocumented_properties(&mut strict_schemas);
        OpenApiDoc {
            doc,
            strict_schemas,
        }
    }

    /// The operation object of `method` (any case) at `path_template`.
    pub fn operation(&self, method: &str, path_template: &str) -> Option<&Value> {
        self.doc["paths"]
            .get(path_template)?
            .get(method.to_ascii_lowercase())
    }

    /// Reads `response` and asserts that it is documented (see [`OpenApiDoc`]).
    pub async fn check(&self, method: &str, path_template: &str, response: Response) -> Observed {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("response body");
        self.assert_documented(method, path_template, status, &headers, &bytes);
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Observed {
            status,
            headers,
            body,
        }
    }

    /// Asserts that a response with this status, headers and body is what
    /// the document says `method path_template` answers.
    pub fn assert_documented(
        &self,
        method: &str,
        path_template: &str,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) {
        let what = format!("{method} {path_template} -> {status}");
        let spec = self.response_spec(method, path_template, status, &what);
        if let Some(documented) = spec.get("headers").and_then(Value::as_object) {
            for name in documented.keys() {
                assert!(
                    headers.contains_key(name.as_str()),
                    "{what}: the documented header {name} is missing; headers {headers:?}"
                );
            }
        }
        let Some(content) = spec.get("content").and_then(Value::as_object) else {
            assert!(
                body.is_empty(),
                "{what}: documented without a body, but got {:?}",
                String::from_utf8_lossy(body)
            );
            return;
        };
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        let media = content.get(media_type).unwrap_or_else(|| {
            panic!(
                "{what}: content type {content_type:?} is not documented (documented: {:?})",
                content.keys().collect::<Vec<_>>()
            )
        });
        let Some(schema) = media.get("schema") else {
            return;
        };
        let instance: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
            panic!(
                "{what}: the body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(body)
            )
        });
        self.assert_matches(schema, &instance, &what);
    }

    /// Asserts that `instance` matches `schema`, whose `$ref`s point into
    /// this document's `#/components/schemas`.
    pub fn assert_matches(&self, schema: &Value, instance: &Value, what: &str) {
        let mut schema = schema.clone();
        forbid_undocumented_properties(&mut schema);
        let mut root = serde_json::Map::new();
        root.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        // The refs read `#/components/schemas/X`: give them that root.
        root.insert(
            "components".into(),
            json!({ "schemas": self.strict_schemas }),
        );
        root.insert("allOf".into(), json!([schema]));
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .unwrap_or_else(|e| panic!("{what}: the documented schema does not compile: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: the body does not match the documented schema:\n  {}\nbody: {instance}",
            errors.join("\n  ")
        );
    }

    /// The response object the document gives for this status: the
    /// operation's own, or the shared 404/405 for what it does not list.
    fn response_spec(&self, method: &str, path_template: &str, status: u16, what: &str) -> Value {
        let Some(path_item) = self.doc["paths"].get(path_template) else {
            assert_eq!(status, 404, "{what}: the path is not documented");
            return self.shared_response("NotFound");
        };
        let Some(operation) = path_item.get(method.to_ascii_lowercase()) else {
            assert_eq!(status, 405, "{what}: the method is not documented");
            return self.shared_response("MethodNotAllowed");
        };
        let responses = &operation["responses"];
        let response = responses.get(status.to_string()).unwrap_or_else(|| {
            panic!(
                "{what}: the status is not documented (documented: {:?})",
                responses
                    .as_object()
                    .map(|r| r.keys().collect::<Vec<_>>())
                    .unwrap_or_default()
            )
        });
        match response["$ref"].as_str() {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/components/responses/")
                    .unwrap_or_else(|| panic!("{what}: unexpected response $ref {reference}"));
                self.shared_response(name)
            }
            None => response.clone(),
        }
    }

    fn shared_response(&self, name: &str) -> Value {
        let response = &self.doc["components"]["responses"][name];
        assert!(
            response.is_object(),
            "the document has no components.responses.{name}"
        );
        response.clone()
    }
}

/// Adds `additionalProperties: false` to every object schema with
/// `properties` that says nothing about other properties, so a field the
/// document does not name fails the check.
fn forbid_undocumented_properties(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties")
                && !map.contains_key("additionalProperties")
                && !map.contains_key("unevaluatedProperties")
            {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(forbid_undocumented_properties);
        }
        Value::Array(items) => items.iter_mut().for_each(forbid_undocumented_properties),
        _ => {}
    }
}

/// A PostgreSQL cluster of one test's own: `initdb` into a temporary folder,
/// served on a free port of 127.0.0.1, so the test can stop and start it
/// without disturbing the shared server other tests use. Removed on drop.
///
/// The binaries are taken from `PG_BIN_DIR`, else the newest
/// `/usr/lib/postgresql/*/bin`, else `PATH`. PostgreSQL refuses to run as
/// root, so under root its tools run as the `postgres` user.
pub struct PrivatePostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    run_as_postgres: bool,
}

impl PrivatePostgres {
    /// Creates and starts a cluster that trusts user `postgres` on 127.0.0.1.
    pub fn start() -> PrivatePostgres {
        let run_as_postgres = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let cluster = PrivatePostgres {
            dir: std::env::temp_dir()
                .join(format!("auth-test-pg-{}", uuid::Uuid::new_v4().simple())),
            bin: postgres_bin_dir(),
            port,
            run_as_postgres,
        };
        let dir = cluster.dir.to_string_lossy().into_owned();
        cluster.tool(
            "initdb",
            &[
                "-D",
                &dir,
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "--no-locale",
                "-E",
                "UTF8",
            ],
        );
        cluster.start_again();
        cluster
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server: `fast` ends every session at once, rolling back
    /// the transactions in flight; `immediate` is a crash.
    pub fn stop(&self, mode: &str) {
        let dir = self.dir.to_string_lossy().into_owned();
        self.tool("pg_ctl", &["-D", &dir, "-m", mode, "-w", "stop"]);
    }

    /// Starts the (stopped) server again on the same port.
    pub fn start_again(&self) {
        let dir = self.dir.to_string_lossy().into_owned();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {dir} -c fsync=off",
            self.port
        );
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        self.tool(
            "pg_ctl",
            &[
                "-D", &dir, "-l", &log, "-o", &options, "-w", "-t", "30", "start",
            ],
        );
    }

    fn tool(&self, name: &str, args: &[&str]) {
        let program = self.bin.join(name);
        let mut command = if self.run_as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            std::process::Command::new(&program)
        };
        let output = command
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        assert!(
            output.status.success(),
            "{name} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let dir = self.dir.to_string_lossy().into_owned();
        let program = self.bin.join("pg_ctl");
        let args = ["-D", dir.as_str(), "-m", "immediate", "-w", "stop"];
        let _ = if self.run_as_postgres {
            std::process::Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&program)
                .args(args)
                .output()
        } else {
            std::process::Command::new(&program).args(args).output()
        };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn postgres_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    // Empty: the tools are looked up on PATH.
    versions.pop().map(|(_, bin)| bin).unwrap_or_default()
}

/// The claims of an access token, read without verifying it.
pub fn claims(access_token: &str) -> Value {
    use base64::Engine;
    let payload = access_token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

/// Refresh tokens of a session that could still be presented successfully:
/// neither used nor superseded (the session's own state aside).
pub fn live_refresh_tokens(conn: &mut auth_service::db::AnyConnection, session_id: &str) -> i64 {
    use auth_service::db::schema::refresh_tokens;
    use diesel::{ExpressionMethods, QueryDsl};
    refresh_tokens::table
        .filter(refresh_tokens::session_id.eq(session_id))
        .filter(refresh_tokens::used_at.is_null())
        .filter(refresh_tokens::superseded_at.is_null())
        .count()
        .get_result(conn)
        .expect("count live refresh tokens")
}

/// Refresh tokens of a session that have been rotated (presented once).
pub fn used_refresh_tokens(conn: &mut auth_service::db::AnyConnection, session_id: &str) -> i64 {
    use auth_service::db::schema::refresh_tokens;
    use diesel::{ExpressionMethods, QueryDsl};
    refresh_tokens::table
        .filter(refresh_tokens::session_id.eq(session_id))
        .filter(refresh_tokens::used_at.is_not_null())
        .count()
        .get_result(conn)
        .expect("count used refresh tokens")
}

/// One session as the database holds it, for counting the outcome of races.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub revoked: bool,
    /// Every refresh token issued in the session, in no particular order.
    pub tokens: Vec<StoredToken>,
}

/// One refresh-token row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredToken {
    pub used: bool,
    pub superseded: bool,
}

impl StoredToken {
    /// Neither used nor superseded: presenting it would refresh.
    pub fn is_live(&self) -> bool {
        !self.used && !self.superseded
    }
}

impl TestApp {
    /// Every session in the test database with its refresh tokens, by
    /// session id: what the contract's invariants are counted against.
    pub fn stored_sessions(&self) -> std::collections::HashMap<String, StoredSession> {
        use auth_service::db::schema::{refresh_tokens, sessions};
        use chrono::NaiveDateTime;
        use diesel::prelude::*;

        let pool = auth_service::db::connect(&self.db.url).expect("pool");
        auth_service::db::with_connection(&pool, |conn| {
            let stored: Vec<(String, Option<NaiveDateTime>)> = sessions::table
                .select((sessions::id, sessions::revoked_at))
                .load(conn)
                .map_err(|e| e.to_string())?;
            let tokens: Vec<(String, Option<NaiveDateTime>, Option<NaiveDateTime>)> =
                refresh_tokens::table
                    .select((
                        refresh_tokens::session_id,
                        refresh_tokens::used_at,
                        refresh_tokens::superseded_at,
                    ))
                    .load(conn)
                    .map_err(|e| e.to_string())?;
            let mut by_id: std::collections::HashMap<String, StoredSession> = stored
                .into_iter()
                .map(|(id, revoked_at)| {
                    let session = StoredSession {
                        revoked: revoked_at.is_some(),
                        tokens: Vec::new(),
                    };
                    (id, session)
                })
                .collect();
            for (session_id, used_at, superseded_at) in tokens {
                by_id
                    .get_mut(&session_id)
                    .expect("every refresh token belongs to a session")
                    .tokens
                    .push(StoredToken {
                        used: used_at.is_some(),
                        superseded: superseded_at.is_some(),
                    });
            }
            Ok(by_id)
        })
        .expect("read sessions")
    }

    /// The email of every account in the test database.
    pub fn stored_emails(&self) -> Vec<String> {
        use auth_service::db::schema::users;
        use diesel::prelude::*;

        let pool = auth_service::db::connect(&self.db.url).expect("pool");
        auth_service::db::with_connection(&pool, |conn| {
            users::table
                .select(users::email)
                .load(conn)
                .map_err(|e| e.to_string())
        })
        .expect("read users")
    }

    /// Registers `count` users and logs each in once: `count` sessions.
    pub async fn open_sessions(&self, count: usize) -> Vec<Tokens> {
        let mut sessions = Vec::with_capacity(count);
        // In batches: enough concurrency to be quick, not so much that the
        // set-up itself is the load.
        for _ in 0..count.div_ceil(10) {
            let batch = (sessions.len()..count.min(sessions.len() + 10))
                .map(|_| async { self.register_and_login(&email()).await });
            sessions.extend(futures_util::future::join_all(batch).await);
        }
        sessions
    }

    /// Presents every session's refresh token `per_session` times, all
    /// requests of all sessions at once, and returns each session's answers
    /// as (status, body).
    pub async fn race_refreshes(
        &self,
        sessions: &[Tokens],
        per_session: usize,
    ) -> Vec<Vec<(u16, Value)>> {
        let requests = sessions.iter().flat_map(|tokens| {
            (0..per_session).map(move |_| async move {
                let response = self.post_refresh(&tokens.refresh).await;
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.expect("a JSON body"))
            })
        });
        let mut answers = futures_util::future::join_all(requests).await.into_iter();
        sessions
            .iter()
            .map(|_| answers.by_ref().take(per_session).collect())
            .collect()
    }
}

/// The `sid` claim of an access token (read, not verified: the tests got
/// the token from the service itself).
pub fn session_id_of(access_token: &str) -> String {
    use base64::Engine as _;
    let payload = access_token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    let claims: Value = serde_json::from_slice(&bytes).expect("JSON claims");
    claims["sid"].as_str().expect("sid").to_owned()
}
