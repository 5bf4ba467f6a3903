//! Settings, read once from the environment (API.md §5) into a typed struct.

mod database_url;
mod env;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::time::Duration;

pub use database_url::DatabaseUrl;
pub use env::ConfigError;
use env::{parse_bcrypt_cost, parse_bool, parse_proxies, Env};

/// Every setting of the auth-service.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `AUTH_BIND`: address to listen on; port 0 picks a free one.
    pub bind: String,
    /// `DATABASE_URL`.
    pub database: DatabaseUrl,
    /// `AUTH_ISSUER`: the `iss` of every token.
    pub issuer: String,
    /// `TOKEN_AUDIENCE`: the `aud` of every token.
    pub audience: String,
    /// `ACCESS_TOKEN_TTL`.
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_TTL`: sliding lifetime of one refresh token.
    pub refresh_token_ttl: Duration,
    /// `REFRESH_REUSE_GRACE`.
    pub refresh_reuse_grace: Duration,
    /// `SESSION_MAX_TTL`: absolute lifetime of a session.
    pub session_max_ttl: Duration,
    /// `SESSION_HISTORY_TTL`: how long an ended session is kept, then purged.
    pub session_history_ttl: Duration,
    /// `BCRYPT_COST`, within bcrypt's 4..=31.
    pub bcrypt_cost: u32,
    /// `LOGIN_MAX_FAILURES`.
    pub login_max_failures: u32,
    /// `LOGIN_FAILURE_WINDOW`.
    pub login_failure_window: Duration,
    /// `LOGIN_QUEUE_LIMIT`: password checks that may wait before more are
    /// refused with 503 (API.md §3 "Overload").
    pub login_queue_limit: usize,
    /// `ALLOW_REGISTRATION`.
    pub allow_registration: bool,
    /// `COOKIE_SECURE`: whether the refresh cookie carries `Secure`.
    pub cookie_secure: bool,
    /// `CORS_ALLOWED_ORIGINS`.
    pub cors_allowed_origins: Vec<String>,
    /// `WEB_CLIENT`: whether `/` serves the reference web client (web/).
    pub web_client: bool,
    /// `RESOURCE_URL`: the resource-service's origin as a browser reaches it;
    /// the web client calls it, and the page's Content-Security-Policy allows
    /// connections to it and nowhere else but this origin.
    pub resource_url: String,
    /// `TRUSTED_PROXIES`: the proxies whose `X-Forwarded-For` names the
    /// client (API.md §1); empty, the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `KEY_ROTATION_INTERVAL`: running instances add a new signing key
    /// once the newest is this old; zero: only `keys rotate` does.
    pub key_rotation_interval: Duration,
    /// `KEY_ENCRYPTION_KEY`: seals private signing keys at rest; `None`:
    /// they are stored in plaintext (a warning at start says so).
    pub key_encryption_key: Option<crate::tokens::KeyEncryptionKey>,
    /// How often a running instance reloads the signing keys from the
    /// database, so a `keys rotate` reaches it well within 60 seconds.
    /// Not an environment variable; tests shorten it.
    pub key_reload_interval: Duration,
    /// How long a replaced signing key stays published beyond the lifetime of
    /// the last token it can have signed: covers instances that have not yet
    /// reloaded and clock skew between services. Not an environment variable.
    pub key_retirement_margin: Duration,
    /// How often the background purge runs (each wait jittered by ±20%,
    /// so replicas spread out). Not an environment variable; tests shorten it.
    pub purge_interval: Duration,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_os_lookup(|name| std::env::var_os(name))
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_os_lookup(|name| lookup(name).map(OsString::from))
    }

    /// Like [`Self::from_lookup`], with values as the OS gives them, which
    /// need not be UTF-8.
    pub fn from_os_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let settings = Settings {
            bind: env.string("AUTH_BIND", "127.0.0.1:8080")?,
            database: env.parse(
                "DATABASE_URL",
                DatabaseUrl::default_sqlite(),
                DatabaseUrl::parse,
            )?,
            issuer: env.string("AUTH_ISSUER", "http://127.0.0.1:8080")?,
            audience: env.string("TOKEN_AUDIENCE", "resource-service")?,
            access_token_ttl: env.duration("ACCESS_TOKEN_TTL", "15m")?,
            refresh_token_ttl: env.duration("REFRESH_TOKEN_TTL", "7d")?,
            refresh_reuse_grace: env.duration("REFRESH_REUSE_GRACE", "0s")?,
            session_max_ttl: env.duration("SESSION_MAX_TTL", "30d")?,
            session_history_ttl: env.duration("SESSION_HISTORY_TTL", "30d")?,
            bcrypt_cost: env.parse("BCRYPT_COST", 12, parse_bcrypt_cost)?,
            login_max_failures: env.parse("LOGIN_MAX_FAILURES", 5, |raw| {
                raw.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("expected a whole number above 0, got {raw:?}"))
            })?,
            login_failure_window: env.duration("LOGIN_FAILURE_WINDOW", "15m")?,
            login_queue_limit: env.parse("LOGIN_QUEUE_LIMIT", 64, |raw| {
                raw.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("expected a whole number above 0, got {raw:?}"))
            })?,
            allow_registration: env.parse("ALLOW_REGISTRATION", true, parse_bool)?,
            cookie_secure: env.parse("COOKIE_SECURE", true, parse_bool)?,
            cors_allowed_origins: env
                .list("CORS_ALLOWED_ORIGINS")?
                .iter()
                .map(|origin| service_kit::cors::normalize_origin(origin))
                .collect::<Result<_, _>>()
                .map_err(|e| ConfigError::invalid("CORS_ALLOWED_ORIGINS", e.to_string()))?,
            web_client: env.parse("WEB_CLIENT", true, parse_bool)?,
            resource_url: env.parse("RESOURCE_URL", "http://127.0.0.1:8081".to_owned(), |raw| {
                service_kit::cors::normalize_origin(raw).map_err(|e| e.to_string())
            })?,
            trusted_proxies: env.parse("TRUSTED_PROXIES", Vec::new(), parse_proxies)?,
            key_rotation_interval: env.duration("KEY_ROTATION_INTERVAL", "30d")?,
            key_encryption_key: env.parse("KEY_ENCRYPTION_KEY", None, |raw| {
                crate::tokens::KeyEncryptionKey::parse(raw).map(Some)
            })?,
            key_reload_interval: Duration::from_secs(30),
            key_retirement_margin: Duration::from_secs(120),
            purge_interval: Duration::from_secs(300),
        };
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let at_least_a_second = [
            ("ACCESS_TOKEN_TTL", self.access_token_ttl),
            ("REFRESH_TOKEN_TTL", self.refresh_token_ttl),
            ("SESSION_MAX_TTL", self.session_max_ttl),
            ("SESSION_HISTORY_TTL", self.session_history_ttl),
            ("LOGIN_FAILURE_WINDOW", self.login_failure_window),
        ];
        for (variable, value) in at_least_a_second {
            if value < Duration::from_secs(1) {
                return Err(ConfigError::invalid(variable, "must be at least 1s"));
            }
        }
        // Timestamps are computed as now + duration; a century is far past
        // any sensible setting and far from the calendar's overflow.
        let century = Duration::from_secs(100 * 365 * 86_400);
        let bounded = [
            ("ACCESS_TOKEN_TTL", self.access_token_ttl),
            ("REFRESH_TOKEN_TTL", self.refresh_token_ttl),
            ("REFRESH_REUSE_GRACE", self.refresh_reuse_grace),
            ("SESSION_MAX_TTL", self.session_max_ttl),
            ("SESSION_HISTORY_TTL", self.session_history_ttl),
            ("LOGIN_FAILURE_WINDOW", self.login_failure_window),
            ("KEY_ROTATION_INTERVAL", self.key_rotation_interval),
        ];
        for (variable, value) in bounded {
            if value > century {
                return Err(ConfigError::invalid(variable, "must be at most 100 years"));
            }
        }
        Ok(())
    }
}

impl Settings {
    /// The effective configuration on one line, as `VARIABLE=value` pairs in
    /// API.md §5's order, durations in humantime form, the database URL
    /// without its password: logged at start so an operator sees what the
    /// service runs with.
    pub fn summary(&self) -> String {
        // "1s 500ms" as "1s500ms": one word, and humantime still reads it.
        let d = |d: Duration| humantime::format_duration(d).to_string().replace(' ', "");
        [
            ("AUTH_BIND", self.bind.clone()),
            ("DATABASE_URL", self.database.redacted()),
            ("AUTH_ISSUER", self.issuer.clone()),
            ("TOKEN_AUDIENCE", self.audience.clone()),
            ("ACCESS_TOKEN_TTL", d(self.access_token_ttl)),
            ("REFRESH_TOKEN_TTL", d(self.refresh_token_ttl)),
            ("REFRESH_REUSE_GRACE", d(self.refresh_reuse_grace)),
            ("SESSION_MAX_TTL", d(self.session_max_ttl)),
            ("BCRYPT_COST", self.bcrypt_cost.to_string()),
            ("LOGIN_MAX_FAILURES", self.login_max_failures.to_string()),
            ("LOGIN_FAILURE_WINDOW", d(self.login_failure_window)),
            ("LOGIN_QUEUE_LIMIT", self.login_queue_limit.to_string()),
            ("SESSION_HISTORY_TTL", d(self.session_history_ttl)),
            ("KEY_ROTATION_INTERVAL", d(self.key_rotation_interval)),
            (
                "KEY_ENCRYPTION_KEY",
                if self.key_encryption_key.is_some() {
                    "(set)"
                } else {
                    "(unset)"
                }
                .to_owned(),
            ),
            ("ALLOW_REGISTRATION", self.allow_registration.to_string()),
            ("COOKIE_SECURE", self.cookie_secure.to_string()),
            ("CORS_ALLOWED_ORIGINS", self.cors_allowed_origins.join(",")),
            ("WEB_CLIENT", self.web_client.to_string()),
            ("RESOURCE_URL", self.resource_url.clone()),
            (
                "TRUSTED_PROXIES",
                self.trusted_proxies
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ]
        .iter()
        .map(|(variable, value)| format!("{variable}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
    }
}
