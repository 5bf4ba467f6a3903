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
pub const LOGIN_USER: &str = "login@bench.test";
pub const PASSWORD: &str = "bench password 1234";

/// Creates a user through the real CLI, with its own bcrypt cost.
pub fn create_user(ctx: &Ctx, database_url: &str, email: &str, cost: u32) -> Result<(), String> {
    let mut child = Command::new(&ctx.auth_bin)
        .args(["user", "create", "--email", email, "--password-stdin"])
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
    if let Some(stdin) = child.stdin.as_mut() {
        writeln!(stdin, "{PASSWORD}").map_err(|e| e.to_string())?;
    }
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
    let res = http::request(
        addr,
        "POST",
        "/auth/login",
        Some(&body),
        Duration::from_secs(30),
    )
    .map_err(|e| format!("login at {addr}: {e}"))?;
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
