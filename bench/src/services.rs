//! The processes under test: where each listens, the environment each is
//! started with, and how it is stopped.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::ctx::Ctx;
use crate::{http, sys};

pub const AUTH_PG: &str = "127.0.0.1:18080";
pub const RESOURCE: &str = "127.0.0.1:18081";
pub const HELLO: &str = "127.0.0.1:18082";
pub const AUTH_SQLITE: &str = "127.0.0.1:18083";
pub const STARTUP_PROBE: &str = "127.0.0.1:18084";
pub const RESOURCE_PROBE: &str = "127.0.0.1:18085";
pub const RESOURCE_CHECKED: &str = "127.0.0.1:18086";
pub const RESOURCE_DPOP: &str = "127.0.0.1:18087";
pub const ISSUER: &str = "http://127.0.0.1:18080";

/// A service process started by the harness; stopped when dropped.
pub struct Service {
    name: String,
    child: Child,
    addr: String,
}

impl Service {
    fn spawn(
        name: &str,
        program: &Path,
        args: &[&str],
        env: &[(&str, String)],
        addr: &str,
        log: &Path,
    ) -> Result<Self, String> {
        let log_file = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let child = Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        Ok(Service {
            name: name.to_owned(),
            child,
            addr: addr.to_owned(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `path` every millisecond or two until it answers 200.
    pub fn wait_ready(&mut self, path: &str, timeout: Duration) -> Result<Duration, String> {
        let start = Instant::now();
        loop {
            if http::is_ready(&self.addr, path) {
                return Ok(start.elapsed());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited before it was ready ({status})",
                    self.name
                ));
            }
            if start.elapsed() > timeout {
                return Err(format!("{} not ready after {timeout:?}", self.name));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// SIGTERM, then SIGKILL after 10 s.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        sys::signal(self.child.id(), "TERM");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// `auth-service serve` on `database_url`, listening on `addr`.
pub fn spawn_auth(
    ctx: &Ctx,
    name: &str,
    addr: &str,
    database_url: &str,
    log: &Path,
) -> Result<Service, String> {
    let env = auth_env(ctx, addr, database_url);
    Service::spawn(name, &ctx.auth_bin, &["serve"], &env, addr, log)
}

/// The resource-service on `addr`, taking its keys from the PostgreSQL
/// auth-service.
pub fn spawn_resource(ctx: &Ctx, name: &str, addr: &str, log: &Path) -> Result<Service, String> {
    let env = resource_env(ctx, addr);
    Service::spawn(name, &ctx.resource_bin, &[], &env, addr, log)
}

/// A second resource-service on `addr` whose destructive route asks the
/// PostgreSQL auth-service's introspection endpoint about each token's
/// session, authenticating as the client `id` with `secret` (API.md §4
/// "Session-checked routes").
pub fn spawn_checked_resource(
    ctx: &Ctx,
    addr: &str,
    (id, secret): (&str, &str),
    log: &Path,
) -> Result<Service, String> {
    let mut env = resource_env(ctx, addr);
    env.extend([
        (
            "AUTH_INTROSPECTION_URL",
            format!("http://{AUTH_PG}/oauth/introspect"),
        ),
        ("INTROSPECTION_CLIENT_ID", id.to_owned()),
        ("INTROSPECTION_CLIENT_SECRET", secret.to_owned()),
    ]);
    Service::spawn(
        "resource-service (session-checked)",
        &ctx.resource_bin,
        &[],
        &env,
        addr,
        log,
    )
}

/// The actix-web "hello" server (`src/bin/hello.rs`).
pub fn spawn_hello(ctx: &Ctx, log: &Path) -> Result<Service, String> {
    let env = [("HELLO_BIND", HELLO.to_owned())];
    Service::spawn("hello", &ctx.hello_bin, &[], &env, HELLO, log)
}

/// The auth-service's `LOGIN_QUEUE_LIMIT` in every run: the login
/// scenario's connections, so that it is never refused (its connections
/// never outnumber the queue), while the storm's are more than the queue
/// and every core together hold.
pub fn login_queue_limit(o: &crate::opts::Opts) -> u32 {
    o.login_connections
}

fn base_env(ctx: &Ctx) -> Vec<(&'static str, String)> {
    vec![("RUST_LOG", ctx.opts.rust_log.clone())]
}

fn auth_env(ctx: &Ctx, bind: &str, database_url: &str) -> Vec<(&'static str, String)> {
    let mut env = base_env(ctx);
    env.extend([
        ("AUTH_BIND", bind.to_owned()),
        ("DATABASE_URL", database_url.to_owned()),
        ("AUTH_ISSUER", ISSUER.to_owned()),
        ("BCRYPT_COST", ctx.opts.bcrypt_cost.to_string()),
        (
            "LOGIN_QUEUE_LIMIT",
            login_queue_limit(&ctx.opts).to_string(),
        ),
        ("COOKIE_SECURE", "false".to_owned()),
    ]);
    env
}

fn resource_env(ctx: &Ctx, bind: &str) -> Vec<(&'static str, String)> {
    let mut env = base_env(ctx);
    env.extend([
        ("RESOURCE_BIND", bind.to_owned()),
        ("AUTH_ISSUER", ISSUER.to_owned()),
        (
            "AUTH_JWKS_URL",
            format!("http://{AUTH_PG}/.well-known/jwks.json"),
        ),
    ]);
    env
}
