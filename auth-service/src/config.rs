//! Settings, read once from the environment (API.md §5) into a typed struct.

use std::path::PathBuf;
use std::time::Duration;

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
    /// An SQLite file, created on demand with its folder.
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    /// The default: an SQLite file under `./data/`.
    pub fn default_sqlite() -> Self {
        DatabaseUrl::Sqlite(PathBuf::from("data/auth.db"))
    }

    fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.to_owned()));
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"));
        match path {
            Some("") => Err("an sqlite URL needs a file path".into()),
            Some(path) => Ok(DatabaseUrl::Sqlite(PathBuf::from(path))),
            None if raw.contains("://") => Err(format!(
                "unknown database scheme in {:?}: expected postgres://, postgresql:// or sqlite://",
                redact_url(raw)
            )),
            None if raw.is_empty() => Err("empty database URL".into()),
            None => Ok(DatabaseUrl::Sqlite(PathBuf::from(raw))),
        }
    }

    /// A form safe to log: no password.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Postgres(url) => redact_url(url),
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        }
    }
}

fn redact_url(url: &str) -> String {
    let url = match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    };
    // libpq also takes the password as a query parameter.
    match url.split_once('?') {
        Some((base, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{base}?{}", query.join("&"))
        }
        None => url,
    }
}

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
    /// `BCRYPT_COST`, within bcrypt's 4..=31.
    pub bcrypt_cost: u32,
    /// `LOGIN_MAX_FAILURES`.
    pub login_max_failures: u32,
    /// `LOGIN_FAILURE_WINDOW`.
    pub login_failure_window: Duration,
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
    /// How often a running instance reloads the signing keys from the
    /// database, so a `keys rotate` reaches it well within 60 seconds.
    /// Not an environment variable; tests shorten it.
    pub key_reload_interval: Duration,
    /// How long a replaced signing key stays published beyond the lifetime of
    /// the last token it can have signed: covers instances that have not yet
    /// reloaded and clock skew between services. Not an environment variable.
    pub key_retirement_margin: Duration,
}

/// A setting that could not be read. Its message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let settings = Settings {
            bind: env.string("AUTH_BIND", "127.0.0.1:8080"),
            database: env.parse(
                "DATABASE_URL",
                DatabaseUrl::default_sqlite(),
                DatabaseUrl::parse,
            )?,
            issuer: env.string("AUTH_ISSUER", "http://127.0.0.1:8080"),
            audience: env.string("TOKEN_AUDIENCE", "resource-service"),
            access_token_ttl: env.duration("ACCESS_TOKEN_TTL", "15m")?,
            refresh_token_ttl: env.duration("REFRESH_TOKEN_TTL", "7d")?,
            refresh_reuse_grace: env.duration("REFRESH_REUSE_GRACE", "0s")?,
            session_max_ttl: env.duration("SESSION_MAX_TTL", "30d")?,
            bcrypt_cost: env.parse("BCRYPT_COST", 12, parse_bcrypt_cost)?,
            login_max_failures: env.parse("LOGIN_MAX_FAILURES", 5, |raw| {
                raw.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("expected a whole number above 0, got {raw:?}"))
            })?,
            login_failure_window: env.duration("LOGIN_FAILURE_WINDOW", "15m")?,
            allow_registration: env.parse("ALLOW_REGISTRATION", true, parse_bool)?,
            cookie_secure: env.parse("COOKIE_SECURE", true, parse_bool)?,
            cors_allowed_origins: env
                .list("CORS_ALLOWED_ORIGINS")
                .iter()
                .map(|origin| service_kit::cors::normalize_origin(origin))
                .collect::<Result<_, _>>()
                .map_err(|e| ConfigError {
                    variable: "CORS_ALLOWED_ORIGINS",
                    message: e.to_string(),
                })?,
            web_client: env.parse("WEB_CLIENT", true, parse_bool)?,
            resource_url: env.parse("RESOURCE_URL", "http://127.0.0.1:8081".to_owned(), |raw| {
                service_kit::cors::normalize_origin(raw).map_err(|e| e.to_string())
            })?,
            key_reload_interval: Duration::from_secs(30),
            key_retirement_margin: Duration::from_secs(120),
        };
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let at_least_a_second = [
            ("ACCESS_TOKEN_TTL", self.access_token_ttl),
            ("REFRESH_TOKEN_TTL", self.refresh_token_ttl),
            ("SESSION_MAX_TTL", self.session_max_ttl),
            ("LOGIN_FAILURE_WINDOW", self.login_failure_window),
        ];
        for (variable, value) in at_least_a_second {
            if value < Duration::from_secs(1) {
                return Err(ConfigError {
                    variable,
                    message: "must be at least 1s".into(),
                });
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
            ("LOGIN_FAILURE_WINDOW", self.login_failure_window),
        ];
        for (variable, value) in bounded {
            if value > century {
                return Err(ConfigError {
                    variable,
                    message: "must be at most 100 years".into(),
                });
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
            ("ALLOW_REGISTRATION", self.allow_registration.to_string()),
            ("COOKIE_SECURE", self.cookie_secure.to_string()),
            ("CORS_ALLOWED_ORIGINS", self.cors_allowed_origins.join(",")),
            ("WEB_CLIENT", self.web_client.to_string()),
            ("RESOURCE_URL", self.resource_url.clone()),
        ]
        .iter()
        .map(|(variable, value)| format!("{variable}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
    }
}

struct Env<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    /// The variable's value; set-but-empty counts as unset.
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    fn string(&self, name: &str, default: &str) -> String {
        self.get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| default.to_owned())
    }

    fn parse<T>(
        &self,
        name: &'static str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => parse(&raw).map_err(|message| ConfigError {
                variable: name,
                message,
            }),
        }
    }

    fn duration(&self, name: &'static str, default: &str) -> Result<Duration, ConfigError> {
        let raw = self.get(name).unwrap_or_else(|| default.to_owned());
        humantime::parse_duration(raw.trim()).map_err(|e| ConfigError {
            variable: name,
            message: format!("invalid duration {raw:?} ({e}); write it like 900s, 15m or 7d"),
        })
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn parse_bcrypt_cost(raw: &str) -> Result<u32, String> {
    match raw.trim().parse::<u32>() {
        Ok(cost) if (4..=31).contains(&cost) => Ok(cost),
        _ => Err(format!("expected a bcrypt cost from 4 to 31, got {raw:?}")),
    }
}

fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("expected true or false, got {raw:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = settings(&[]).expect("defaults are valid");
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(
            s.database,
            DatabaseUrl::Sqlite(PathBuf::from("data/auth.db"))
        );
        assert_eq!(s.issuer, "http://127.0.0.1:8080");
        assert_eq!(s.audience, "resource-service");
        assert_eq!(s.access_token_ttl, Duration::from_secs(15 * 60));
        assert_eq!(s.refresh_token_ttl, Duration::from_secs(7 * 86400));
        assert_eq!(s.refresh_reuse_grace, Duration::ZERO);
        assert_eq!(s.session_max_ttl, Duration::from_secs(30 * 86400));
        assert_eq!(s.bcrypt_cost, 12);
        assert_eq!(s.login_max_failures, 5);
        assert_eq!(s.login_failure_window, Duration::from_secs(15 * 60));
        assert!(s.allow_registration);
        assert!(s.cookie_secure);
        assert!(s.cors_allowed_origins.is_empty());
    }

    #[test]
    fn durations_accept_the_documented_forms() {
        let s = settings(&[
            ("ACCESS_TOKEN_TTL", "900s"),
            ("REFRESH_TOKEN_TTL", "15m"),
            ("SESSION_MAX_TTL", "7d"),
        ])
        .expect("valid");
        assert_eq!(s.access_token_ttl, Duration::from_secs(900));
        assert_eq!(s.refresh_token_ttl, Duration::from_secs(900));
        assert_eq!(s.session_max_ttl, Duration::from_secs(7 * 86400));
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let cases = [
            ("ACCESS_TOKEN_TTL", "soon"),
            ("BCRYPT_COST", "3"),
            ("BCRYPT_COST", "32"),
            ("BCRYPT_COST", "twelve"),
            ("DATABASE_URL", "mysql://localhost/auth"),
            ("COOKIE_SECURE", "maybe"),
            ("LOGIN_MAX_FAILURES", "0"),
            ("SESSION_MAX_TTL", "0s"),
            ("CORS_ALLOWED_ORIGINS", "https://app.example.com/login"),
            ("CORS_ALLOWED_ORIGINS", "*"),
            ("SESSION_MAX_TTL", "1000000y"),
            ("REFRESH_REUSE_GRACE", "200y"),
            ("WEB_CLIENT", "perhaps"),
            ("RESOURCE_URL", "http://127.0.0.1:8081/api"),
            ("RESOURCE_URL", "'self'; script-src *"),
        ];
        for (variable, value) in cases {
            let err = settings(&[(variable, value)]).expect_err(value);
            assert_eq!(err.variable, variable);
            assert!(err.to_string().starts_with(variable), "{err}");
        }
    }

    #[test]
    fn database_urls_select_the_backend() {
        let pg = settings(&[("DATABASE_URL", "postgres://u:secret@db/auth")]).expect("pg");
        assert!(matches!(pg.database, DatabaseUrl::Postgres(_)));
        assert_eq!(pg.database.redacted(), "postgres://u:***@db/auth");
        let in_query = settings(&[(
            "DATABASE_URL",
            "postgres://db/auth?user=u&password=secret&sslmode=require",
        )])
        .expect("pg");
        assert_eq!(
            in_query.database.redacted(),
            "postgres://db/auth?user=u&password=***&sslmode=require"
        );
        let lite = settings(&[("DATABASE_URL", "sqlite:///tmp/x.db")]).expect("sqlite");
        assert_eq!(
            lite.database,
            DatabaseUrl::Sqlite(PathBuf::from("/tmp/x.db"))
        );
    }

    #[test]
    fn the_summary_names_every_variable_without_the_password() {
        let s = settings(&[
            ("DATABASE_URL", "postgres://u:hunter2@db/auth"),
            ("REFRESH_TOKEN_TTL", "7d"),
            ("REFRESH_REUSE_GRACE", "1500ms"),
        ])
        .expect("valid");
        let line = s.summary();
        for variable in [
            "AUTH_BIND=127.0.0.1:8080",
            "DATABASE_URL=postgres://u:***@db/auth",
            "AUTH_ISSUER=",
            "TOKEN_AUDIENCE=",
            "ACCESS_TOKEN_TTL=15m",
            "REFRESH_TOKEN_TTL=7days",
            "REFRESH_REUSE_GRACE=1s500ms",
            "SESSION_MAX_TTL=30days",
            "BCRYPT_COST=12",
            "LOGIN_MAX_FAILURES=5",
            "LOGIN_FAILURE_WINDOW=15m",
            "ALLOW_REGISTRATION=true",
            "COOKIE_SECURE=true",
            "CORS_ALLOWED_ORIGINS=",
            "WEB_CLIENT=true",
            "RESOURCE_URL=http://127.0.0.1:8081",
        ] {
            assert!(line.contains(variable), "{variable} in {line}");
        }
        assert!(!line.contains("hunter2"), "{line}");
    }

    #[test]
    fn origins_are_a_comma_separated_list() {
        let s = settings(&[(
            "CORS_ALLOWED_ORIGINS",
            "https://a.example, https://b.example,",
        )])
        .expect("valid");
        assert_eq!(
            s.cors_allowed_origins,
            ["https://a.example", "https://b.example"]
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Seconds in each unit API.md's examples use, and humantime's others.
        const UNITS: [(&str, u64); 7] = [
            ("s", 1),
            ("sec", 1),
            ("m", 60),
            ("min", 60),
            ("h", 3600),
            ("d", 86400),
            ("days", 86400),
        ];

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn a_number_and_a_unit_read_as_that_many_seconds(
                // Below 36 500 days: longer is refused as over a century.
                amount in 0u64..36_500,
                unit in proptest::sample::select(&UNITS[..]),
                padding in "[ \t]{0,2}",
            ) {
                let (suffix, seconds) = unit;
                let raw = format!("{padding}{amount}{suffix}{padding}");
                let s = settings(&[("REFRESH_REUSE_GRACE", &raw)]).expect("a plain duration is valid");
                prop_assert_eq!(s.refresh_reuse_grace, Duration::from_secs(amount * seconds));
            }

            #[test]
            fn the_logged_summary_reads_back_as_the_same_duration(
                millis in 0u64..(100 * 365 * 86_400_000),
            ) {
                // An operator copies a value from the start-up line into the
                // environment: it must mean the same.
                let grace = Duration::from_millis(millis);
                let mut s = settings(&[]).expect("defaults");
                s.refresh_reuse_grace = grace;
                let summary = s.summary();
                let logged = summary
                    .split(' ')
                    .find_map(|pair| pair.strip_prefix("REFRESH_REUSE_GRACE="))
                    .expect("the summary names the grace");
                let again = settings(&[("REFRESH_REUSE_GRACE", logged)]).expect("the logged form is valid");
                prop_assert_eq!(again.refresh_reuse_grace, grace);
            }

            #[test]
            fn any_value_is_read_or_refused_naming_its_variable(
                raw in "[0-9a-zA-Z .:+-]{0,24}|\\PC{0,24}",
                variable in proptest::sample::select(&[
                    "ACCESS_TOKEN_TTL",
                    "REFRESH_TOKEN_TTL",
                    "REFRESH_REUSE_GRACE",
                    "SESSION_MAX_TTL",
                    "LOGIN_FAILURE_WINDOW",
                ][..]),
            ) {
                if let Err(e) = settings(&[(variable, &raw)]) {
                    prop_assert_eq!(e.variable, variable);
                    prop_assert!(e.to_string().starts_with(variable));
                }
            }
        }
    }
}
