//! Settings, read once from the environment (API.md §5) into a typed struct
//! that is passed down, so a test can start several differently configured
//! servers in one process.

use std::time::Duration;

use reqwest::Url;

/// `host:port` to listen on.
pub const RESOURCE_BIND: &str = "RESOURCE_BIND";
/// The issuer every accepted token must name in `iss`.
pub const AUTH_ISSUER: &str = "AUTH_ISSUER";
/// The audience every accepted token must name in `aud`.
pub const TOKEN_AUDIENCE: &str = "TOKEN_AUDIENCE";
/// Where the auth-service publishes its public keys.
pub const AUTH_JWKS_URL: &str = "AUTH_JWKS_URL";
/// Tolerated clock skew when checking `exp` and `nbf`.
pub const CLOCK_LEEWAY: &str = "CLOCK_LEEWAY";
/// Browser origins allowed to call the API, comma separated.
pub const CORS_ALLOWED_ORIGINS: &str = "CORS_ALLOWED_ORIGINS";

/// Every variable this service reads.
pub const VARIABLES: [&str; 6] = [
    RESOURCE_BIND,
    AUTH_ISSUER,
    TOKEN_AUDIENCE,
    AUTH_JWKS_URL,
    CLOCK_LEEWAY,
    CORS_ALLOWED_ORIGINS,
];

const DEFAULT_BIND: &str = "127.0.0.1:8081";
const DEFAULT_ISSUER: &str = "http://127.0.0.1:8080";
const DEFAULT_AUDIENCE: &str = "resource-service";
const DEFAULT_JWKS_URL: &str = "http://127.0.0.1:8080/.well-known/jwks.json";
const DEFAULT_CLOCK_LEEWAY: Duration = Duration::from_secs(30);

/// The resource-service's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `RESOURCE_BIND`: `host:port` to listen on (port `0` picks a free one).
    pub bind: String,
    /// `AUTH_ISSUER`: the `iss` every accepted token must carry.
    pub issuer: String,
    /// `TOKEN_AUDIENCE`: the `aud` every accepted token must carry.
    pub audience: String,
    /// `AUTH_JWKS_URL`: the auth-service's JWKS document.
    pub jwks_url: String,
    /// `CLOCK_LEEWAY`: skew tolerated on `exp` and `nbf`.
    pub clock_leeway: Duration,
    /// `CORS_ALLOWED_ORIGINS`: normalised origins (`scheme://host[:port]`).
    pub cors_allowed_origins: Vec<String>,
}

/// A variable that is set to something unusable. The message always starts
/// with the variable's name, so one line tells the operator what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A duration humantime cannot read (`900s`, `15m`, `7d` are fine).
    #[error("{var}: invalid duration {value:?}: {error}")]
    InvalidDuration {
        /// The variable's name.
        var: &'static str,
        /// What it was set to.
        value: String,
        /// Why it does not parse.
        error: humantime::DurationError,
    },
    /// Any other unusable value.
    #[error("{var}: invalid value {value:?}: {reason}")]
    InvalidValue {
        /// The variable's name.
        var: &'static str,
        /// What it was set to.
        value: String,
        /// What was expected instead.
        reason: String,
    },
}

impl ConfigError {
    /// The variable at fault.
    pub fn variable(&self) -> &'static str {
        match self {
            ConfigError::InvalidDuration { var, .. } | ConfigError::InvalidValue { var, .. } => var,
        }
    }

    fn invalid(var: &'static str, value: &str, reason: impl Into<String>) -> Self {
        ConfigError::InvalidValue {
            var,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        // `std::env::var(..).ok()` would quietly fall back to the default for
        // a value that is not UTF-8; say so instead.
        for var in VARIABLES {
            if let Err(std::env::VarError::NotUnicode(raw)) = std::env::var(var) {
                return Err(ConfigError::invalid(
                    var,
                    &raw.to_string_lossy(),
                    "not valid UTF-8",
                ));
            }
        }
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads variables through `lookup`, so tests need not touch the
    /// process environment. A variable that is unset or blank takes its
    /// default.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &str| {
            lookup(var)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };

        let bind = get(RESOURCE_BIND).unwrap_or_else(|| DEFAULT_BIND.to_owned());
        check_bind(&bind)?;
        let jwks_url = get(AUTH_JWKS_URL).unwrap_or_else(|| DEFAULT_JWKS_URL.to_owned());
        check_http_url(AUTH_JWKS_URL, &jwks_url)?;
        let clock_leeway = match get(CLOCK_LEEWAY) {
            None => DEFAULT_CLOCK_LEEWAY,
            Some(value) => {
                let leeway = humantime::parse_duration(&value).map_err(|error| {
                    ConfigError::InvalidDuration {
                        var: CLOCK_LEEWAY,
                        value: value.clone(),
                        error,
                    }
                })?;
                // The verifier would cut a longer one short; say so at start
                // rather than run with a value other than the one configured.
                if leeway > shared_claims::MAX_LEEWAY {
                    return Err(ConfigError::invalid(
                        CLOCK_LEEWAY,
                        &value,
                        "must be at most 1 day",
                    ));
                }
                leeway
            }
        };
        let cors_allowed_origins = match get(CORS_ALLOWED_ORIGINS) {
            None => Vec::new(),
            Some(value) => parse_origins(&value)?,
        };

        Ok(Settings {
            bind,
            issuer: get(AUTH_ISSUER).unwrap_or_else(|| DEFAULT_ISSUER.to_owned()),
            audience: get(TOKEN_AUDIENCE).unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
            jwks_url,
            clock_leeway,
            cors_allowed_origins,
        })
    }
}

impl Settings {
    /// The effective configuration on one line, as `VARIABLE=value` pairs,
    /// the leeway in humantime form and any password in the JWKS URL hidden:
    /// logged at start so an operator sees what the service runs with.
    pub fn summary(&self) -> String {
        let jwks_url = without_password(&self.jwks_url);
        [
            (RESOURCE_BIND, self.bind.clone()),
            (AUTH_ISSUER, self.issuer.clone()),
            (TOKEN_AUDIENCE, self.audience.clone()),
            (AUTH_JWKS_URL, jwks_url),
            (
                CLOCK_LEEWAY,
                // "1s 500ms" as "1s500ms": one word, and humantime still reads it.
                humantime::format_duration(self.clock_leeway)
                    .to_string()
                    .replace(' ', ""),
            ),
            (CORS_ALLOWED_ORIGINS, self.cors_allowed_origins.join(",")),
        ]
        .iter()
        .map(|(variable, value)| format!("{variable}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// `url` with any password in it replaced by `***`, for logs.
pub(crate) fn without_password(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// `host:port` with a numeric port. The host itself is resolved only when
/// binding, where a failure is reported with the address.
fn check_bind(value: &str) -> Result<(), ConfigError> {
    let port_ok = value
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if port_ok {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            RESOURCE_BIND,
            value,
            "expected host:port, e.g. 127.0.0.1:8081",
        ))
    }
}

fn check_http_url(var: &'static str, value: &str) -> Result<(), ConfigError> {
    let url = Url::parse(value).map_err(|e| ConfigError::invalid(var, value, e.to_string()))?;
    if matches!(url.scheme(), "http" | "https") {
        Ok(())
    } else {
        Err(ConfigError::invalid(var, value, "expected an http(s) URL"))
    }
}

/// Origins as browsers send them in `Origin`, so a later exact comparison works.
fn parse_origins(value: &str) -> Result<Vec<String>, ConfigError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            shared_claims::normalize_origin(origin).map_err(|_| {
                ConfigError::invalid(
                    CORS_ALLOWED_ORIGINS,
                    origin,
                    "expected origins like https://app.example.com, comma separated",
                )
            })
        })
        .collect()
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test shows the value it got")]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|var| vars.get(var).cloned())
    }

    #[test]
    fn unset_variables_take_the_documented_defaults() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.bind, "127.0.0.1:8081");
        assert_eq!(s.issuer, "http://127.0.0.1:8080");
        assert_eq!(s.audience, "resource-service");
        assert_eq!(s.jwks_url, "http://127.0.0.1:8080/.well-known/jwks.json");
        assert_eq!(s.clock_leeway, Duration::from_secs(30));
        assert!(s.cors_allowed_origins.is_empty());
    }

    #[test]
    fn blank_variables_take_the_defaults_too() {
        let s = settings(&[(CLOCK_LEEWAY, "  "), (AUTH_ISSUER, "")]).unwrap();
        assert_eq!(s.clock_leeway, Duration::from_secs(30));
        assert_eq!(s.issuer, "http://127.0.0.1:8080");
    }

    #[test]
    fn every_variable_is_read() {
        let s = settings(&[
            (RESOURCE_BIND, "0.0.0.0:9000"),
            (AUTH_ISSUER, "https://auth.example.com"),
            (TOKEN_AUDIENCE, "projects"),
            (AUTH_JWKS_URL, "https://auth.example.com/jwks"),
            (CLOCK_LEEWAY, "2m"),
            (
                CORS_ALLOWED_ORIGINS,
                "https://a.example.com, http://localhost:3000",
            ),
        ])
        .unwrap();
        assert_eq!(s.bind, "0.0.0.0:9000");
        assert_eq!(s.issuer, "https://auth.example.com");
        assert_eq!(s.audience, "projects");
        assert_eq!(s.jwks_url, "https://auth.example.com/jwks");
        assert_eq!(s.clock_leeway, Duration::from_secs(120));
        assert_eq!(
            s.cors_allowed_origins,
            ["https://a.example.com", "http://localhost:3000"]
        );
    }

    #[test]
    fn the_summary_names_every_variable_and_hides_passwords() {
        let s = settings(&[
            (AUTH_JWKS_URL, "https://jwks:s3cret@auth.example.com/jwks"),
            (CLOCK_LEEWAY, "90s"),
        ])
        .unwrap();
        let line = s.summary();
        for variable in VARIABLES {
            assert!(
                line.contains(&format!("{variable}=")),
                "{variable} in {line}"
            );
        }
        assert!(line.contains("CLOCK_LEEWAY=1m30s"), "{line}");
        assert!(!line.contains("s3cret"), "{line}");
    }

    #[test]
    fn zero_leeway_is_allowed() {
        let s = settings(&[(CLOCK_LEEWAY, "0s")]).unwrap();
        assert_eq!(s.clock_leeway, Duration::ZERO);
    }

    #[test]
    fn a_bad_duration_names_the_variable_and_the_value() {
        let err = settings(&[(CLOCK_LEEWAY, "abc")]).unwrap_err();
        assert_eq!(err.variable(), CLOCK_LEEWAY);
        let message = err.to_string();
        assert!(
            message.starts_with(r#"CLOCK_LEEWAY: invalid duration "abc": "#),
            "{message}"
        );
    }

    #[test]
    fn a_bind_without_a_port_is_refused() {
        for bad in ["localhost", "127.0.0.1:", ":8081", "127.0.0.1:99999"] {
            let err = settings(&[(RESOURCE_BIND, bad)]).unwrap_err();
            assert_eq!(err.variable(), RESOURCE_BIND, "{bad}");
            assert!(err.to_string().starts_with("RESOURCE_BIND: "));
        }
        assert!(settings(&[(RESOURCE_BIND, "[::1]:0")]).is_ok());
        assert!(settings(&[(RESOURCE_BIND, "localhost:8081")]).is_ok());
    }

    #[test]
    fn the_jwks_url_must_be_http_or_https() {
        for bad in ["not a url", "ftp://auth.example.com/jwks", "/jwks.json"] {
            let err = settings(&[(AUTH_JWKS_URL, bad)]).unwrap_err();
            assert_eq!(err.variable(), AUTH_JWKS_URL, "{bad}");
        }
    }

    #[test]
    fn cors_origins_are_normalised_and_empty_items_skipped() {
        let s = settings(&[(
            CORS_ALLOWED_ORIGINS,
            "HTTPS://App.Example.com/, ,https://b.example.com:443,http://x.example:8080",
        )])
        .unwrap();
        assert_eq!(
            s.cors_allowed_origins,
            [
                "https://app.example.com",
                "https://b.example.com",
                "http://x.example:8080"
            ]
        );
    }

    #[test]
    fn cors_entries_that_are_not_origins_are_refused() {
        for bad in [
            "*",
            "app.example.com",
            "https://app.example.com/path",
            "https://app.example.com?q=1",
            "file:///etc",
        ] {
            let err = settings(&[(CORS_ALLOWED_ORIGINS, bad)]).unwrap_err();
            assert_eq!(err.variable(), CORS_ALLOWED_ORIGINS, "{bad}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn a_leeway_is_read_up_to_a_day_and_refused_beyond(seconds in 0u64..(3 * 86_400)) {
                let outcome = settings(&[(CLOCK_LEEWAY, &format!("{seconds}s"))]);
                if seconds <= 86_400 {
                    prop_assert_eq!(outcome.ok().map(|s| s.clock_leeway), Some(Duration::from_secs(seconds)));
                } else {
                    let error = outcome.expect_err("over a day");
                    prop_assert_eq!(error.variable(), CLOCK_LEEWAY);
                }
            }

            #[test]
            fn any_leeway_value_is_read_or_refused_naming_its_variable(
                raw in "[0-9a-zA-Z .:+-]{0,24}|\\PC{0,24}",
            ) {
                if let Err(error) = settings(&[(CLOCK_LEEWAY, &raw)]) {
                    prop_assert_eq!(error.variable(), CLOCK_LEEWAY);
                }
            }
        }
    }
}
