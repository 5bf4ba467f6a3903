//! The users the scenarios act as, made through the real CLI, and the
//! tokens they get from the real endpoints.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::ctx::Ctx;
use crate::http;

pub const FAST_USER: &str = "chains@bench.test";
pub const PASSWORD: &str = "bench password 1234";
/// The login users' addresses: `{i}` is the wrk connection's number.
pub const LOGIN_USER_TEMPLATE: &str = "login-{i}@bench.test";

/// The user wrk's login connection `i` logs in as. Each connection has its
/// own: the lockout is exact under concurrency, so simultaneous logins of
/// one user may be answered 429, which is not what the scenario measures.
pub fn login_user(i: u32) -> String {
    LOGIN_USER_TEMPLATE.replace("{i}", &i.to_string())
}

/// Creates a user through the real CLI, with its own bcrypt cost.
pub fn create_user(ctx: &Ctx, database_url: &str, email: &str, cost: u32) -> Result<(), String> {
    let child = spawn_create_user(ctx, database_url, email, cost, &[])?;
    finish_create_user(child, email)
}

/// The login users `0..n` at `cost`, made by as many CLI processes at once
/// (each is one bcrypt hash, so a handful run side by side).
pub fn create_login_users(ctx: &Ctx, database_url: &str, n: u32, cost: u32) -> Result<(), String> {
    let batch = std::thread::available_parallelism().map_or(1, |c| c.get()) as u32;
    let mut i = 0;
    while i < n {
        let mut running = Vec::new();
        for j in i..(i + batch).min(n) {
            let email = login_user(j);
            running.push((
                spawn_create_user(ctx, database_url, &email, cost, &[])?,
                email,
            ));
        }
        for (child, email) in running {
            finish_create_user(child, &email)?;
        }
        i += batch;
    }
    Ok(())
}

/// Creates an admin through the real CLI (`--role admin`), at cost 4: its
/// password is checked once, for its token.
pub fn create_admin(ctx: &Ctx, database_url: &str, email: &str) -> Result<(), String> {
    let child = spawn_create_user(ctx, database_url, email, 4, &["--role", "admin"])?;
    finish_create_user(child, email)
}

fn spawn_create_user(
    ctx: &Ctx,
    database_url: &str,
    email: &str,
    cost: u32,
    extra: &[&str],
) -> Result<std::process::Child, String> {
    let mut child = Command::new(&ctx.auth_bin)
        .args(["user", "create", "--email", email, "--password-stdin"])
        .args(extra)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("BCRYPT_COST", cost.to_string())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("auth-service user create: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{PASSWORD}").map_err(|e| e.to_string())?;
    }
    Ok(child)
}

fn finish_create_user(child: std::process::Child, email: &str) -> Result<(), String> {
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "auth-service user create --email {email}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Logs in through the real endpoint; returns (access, refresh).
pub fn login(addr: &str, email: &str) -> Result<(String, String), String> {
    let body = format!(r#"{{"email":"{email}","password":"{PASSWORD}"}}"#);
    // A login right after the storm may meet its last checks still queued:
    // answered 503, it comes back after Retry-After, as a client should.
    let mut attempts = 0;
    let res = loop {
        let res = http::request(
            addr,
            "POST",
            "/auth/login",
            Some(&body),
            Duration::from_secs(30),
        )
        .map_err(|e| format!("login at {addr}: {e}"))?;
        attempts += 1;
        match res.retry_after {
            Some(wait) if res.status == 503 && attempts < 10 => {
                std::thread::sleep(Duration::from_secs(wait.min(10)));
            }
            _ => break res,
        }
    };
    if res.status != 200 {
        return Err(format!("login at {addr}: {} {}", res.status, res.body));
    }
    let access = http::json_field(&res.body, "access_token").ok_or("no access_token")?;
    let refresh = http::json_field(&res.body, "refresh_token").ok_or("no refresh_token")?;
    Ok((access, refresh))
}

/// `n` fresh sessions' refresh tokens, written one a line to `path`.
pub fn session_tokens(addr: &str, n: u32, path: &Path) -> Result<(), String> {
    let mut lines = String::new();
    for _ in 0..n {
        let (_, refresh) = login(addr, FAST_USER)?;
        lines.push_str(&refresh);
        lines.push('\n');
    }
    fs::write(path, lines).map_err(|e| format!("{}: {e}", path.display()))
}

/// Gathers the access tokens the refresh script wrote to `prefix.0`,
/// `prefix.1`, … into `dest`, one a line; returns how many.
pub fn collect_tokens(prefix: &Path, threads: u32, dest: &Path) -> Result<usize, String> {
    let mut all = String::new();
    let mut n = 0;
    for t in 0..threads {
        let raw = fs::read_to_string(format!("{}.{t}", prefix.display())).unwrap_or_default();
        for line in raw.lines().filter(|l| l.len() > 20) {
            all.push_str(line);
            all.push('\n');
            n += 1;
        }
    }
    fs::write(dest, all).map_err(|e| e.to_string())?;
    Ok(n)
}

/// A confidential client from the real CLI (`auth-service client create`,
/// which prints `{"client_id": …, "client_secret": …}`); `Ok(None)` when
/// this auth-service has no such command.
pub fn create_client(
    ctx: &Ctx,
    database_url: &str,
    name: &str,
) -> Result<Option<(String, String)>, String> {
    let out = Command::new(&ctx.auth_bin)
        .args(["client", "create", "--name", name])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("auth-service client create: {e}"))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        // clap's refusal of an unknown subcommand: the feature is missing.
        if why.contains("unrecognized subcommand") {
            return Ok(None);
        }
        return Err(format!("auth-service client create --name {name}: {why}"));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = http::json_field(&stdout, "client_id").ok_or("client create: no client_id")?;
    let secret =
        http::json_field(&stdout, "client_secret").ok_or("client create: no client_secret")?;
    Ok(Some((id, secret)))
}
