//! Settings, read once from the environment (API.md §5) into a typed struct
//! that is passed down, so a test can start several differently configured
//! servers in one process.

mod env;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::time::Duration;

use reqwest::Url;
use shared_claims::dpop::PublicUrl;

pub use env::ConfigError;
use env::{invalid, invalid_duration, Env};

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
/// How often the JWKS is fetched again, so that withdrawn keys are dropped.
pub const JWKS_REFRESH_INTERVAL: &str = "JWKS_REFRESH_INTERVAL";
/// The auth-service's RFC 7662 introspection endpoint.
pub const AUTH_INTROSPECTION_URL: &str = "AUTH_INTROSPECTION_URL";
/// This service's client id at the auth-service, for introspection.
pub const INTROSPECTION_CLIENT_ID: &str = "INTROSPECTION_CLIENT_ID";
/// This service's client secret at the auth-service, for introspection.
pub const INTROSPECTION_CLIENT_SECRET: &str = "INTROSPECTION_CLIENT_SECRET";
/// How long an introspection answer is remembered.
pub const INTROSPECTION_CACHE_TTL: &str = "INTROSPECTION_CACHE_TTL";
/// The URL clients address this service by; a DPoP proof's `htu` is it
/// followed by the request's path.
pub const RESOURCE_PUBLIC_URL: &str = "RESOURCE_PUBLIC_URL";

/// Every variable this service reads.
pub const VARIABLES: [&str; 12] = [
    RESOURCE_BIND,
    AUTH_ISSUER,
    TOKEN_AUDIENCE,
    AUTH_JWKS_URL,
    CLOCK_LEEWAY,
    CORS_ALLOWED_ORIGINS,
    JWKS_REFRESH_INTERVAL,
    AUTH_INTROSPECTION_URL,
    INTROSPECTION_CLIENT_ID,
    INTROSPECTION_CLIENT_SECRET,
    INTROSPECTION_CACHE_TTL,
    RESOURCE_PUBLIC_URL,
];

const DEFAULT_BIND: &str = "127.0.0.1:8081";
const DEFAULT_ISSUER: &str = "http://127.0.0.1:8080";
const DEFAULT_AUDIENCE: &str = "resource-service";
const DEFAULT_JWKS_URL: &str = "http://127.0.0.1:8080/.well-known/jwks.json";
const DEFAULT_CLOCK_LEEWAY: Duration = Duration::from_secs(30);
const DEFAULT_JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
const DEFAULT_INTROSPECTION_URL: &str = "http://127.0.0.1:8080/oauth/introspect";
const DEFAULT_INTROSPECTION_CACHE_TTL: Duration = Duration::from_secs(10);

/// The client this service authenticates as at the introspection endpoint.
/// Its `Debug` hides the secret, so no log of the settings shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// `INTROSPECTION_CLIENT_ID`.
    pub id: String,
    /// `INTROSPECTION_CLIENT_SECRET`.
    pub secret: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("id", &self.id)
            .field("secret", &"***")
            .finish()
    }
}

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
    /// `JWKS_REFRESH_INTERVAL`: the JWKS is fetched again this often, and a
    /// key that left it is no longer trusted.
    pub jwks_refresh_interval: Duration,
    /// `AUTH_INTROSPECTION_URL`: where session-checked routes ask whether a
    /// token is still live.
    pub introspection_url: String,
    /// `INTROSPECTION_CLIENT_ID` and `INTROSPECTION_CLIENT_SECRET`, both or
    /// neither: `Some` turns the session-checked routes on.
    pub introspection_client: Option<ClientCredentials>,
    /// `INTROSPECTION_CACHE_TTL`: how long an introspection answer is
    /// remembered, so how long a session's end may go unseen.
    pub introspection_cache_ttl: Duration,
    /// `RESOURCE_PUBLIC_URL`: the base of every DPoP proof's `htu`. `None`
    /// (unset): `http://` + `RESOURCE_BIND`, with the port actually bound
    /// when that is `0`.
    pub public_url: Option<PublicUrl>,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_os_lookup(|var| std::env::var_os(var))
    }

    /// Reads variables through `lookup`, so tests need not touch the
    /// process environment. A variable that is unset or blank takes its
    /// default.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_os_lookup(|var| lookup(var).map(OsString::from))
    }

    /// Like [`Self::from_lookup`], with values as the OS gives them, which
    /// need not be UTF-8.
    pub fn from_os_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let get = |var: &'static str| env.get(var);

        let bind = get(RESOURCE_BIND)?.unwrap_or_else(|| DEFAULT_BIND.to_owned());
        check_bind(&bind)?;
        let jwks_url = get(AUTH_JWKS_URL)?.unwrap_or_else(|| DEFAULT_JWKS_URL.to_owned());
        check_http_url(AUTH_JWKS_URL, &jwks_url)?;
        let clock_leeway = match get(CLOCK_LEEWAY)? {
            None => DEFAULT_CLOCK_LEEWAY,
            Some(value) => {
                let leeway = humantime::parse_duration(&value)
                    .map_err(|error| invalid_duration(CLOCK_LEEWAY, &value, error))?;
                // The verifier would cut a longer one short; say so at start
                // rather than run with a value other than the one configured.
                if leeway > shared_claims::MAX_LEEWAY {
                    return Err(invalid(CLOCK_LEEWAY, &value, "must be at most 1 day"));
                }
                leeway
            }
        };
        let jwks_refresh_interval = match get(JWKS_REFRESH_INTERVAL)? {
            None => DEFAULT_JWKS_REFRESH_INTERVAL,
            Some(value) => {
                let every = humantime::parse_duration(&value)
                    .map_err(|error| invalid_duration(JWKS_REFRESH_INTERVAL, &value, error))?;
                // Never refetching would trust a revoked key for ever.
                if every < Duration::from_secs(1) {
                    return Err(invalid(
                        JWKS_REFRESH_INTERVAL,
                        &value,
                        "must be at least 1s",
                    ));
                }
                every
            }
        };
        let public_url = match get(RESOURCE_PUBLIC_URL)? {
            None => None,
            Some(value) => Some(
                PublicUrl::parse(value.trim())
                    .map_err(|error| invalid(RESOURCE_PUBLIC_URL, &value, error))?,
            ),
        };
        let cors_allowed_origins = match get(CORS_ALLOWED_ORIGINS)? {
            None => Vec::new(),
            Some(value) => parse_origins(&value)?,
        };
        let introspection_url =
            get(AUTH_INTROSPECTION_URL)?.unwrap_or_else(|| DEFAULT_INTROSPECTION_URL.to_owned());
        check_http_url(AUTH_INTROSPECTION_URL, &introspection_url)?;
        let introspection_client = match (
            get(INTROSPECTION_CLIENT_ID)?,
            get(INTROSPECTION_CLIENT_SECRET)?,
        ) {
            (None, None) => None,
            (Some(id), Some(secret)) => Some(ClientCredentials { id, secret }),
            // Half a configuration would silently leave the routes
            // stateless; the operator meant them checked.
            (Some(_), None) => {
                return Err(ConfigError::invalid(
                    INTROSPECTION_CLIENT_SECRET,
                    "must be set when INTROSPECTION_CLIENT_ID is",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::invalid(
                    INTROSPECTION_CLIENT_ID,
                    "must be set when INTROSPECTION_CLIENT_SECRET is",
                ))
            }
        };
        let introspection_cache_ttl = match get(INTROSPECTION_CACHE_TTL)? {
            None => DEFAULT_INTROSPECTION_CACHE_TTL,
            Some(value) => humantime::parse_duration(&value)
                .map_err(|error| invalid_duration(INTROSPECTION_CACHE_TTL, &value, error))?,
        };

        Ok(Settings {
            bind,
            issuer: get(AUTH_ISSUER)?.unwrap_or_else(|| DEFAULT_ISSUER.to_owned()),
            audience: get(TOKEN_AUDIENCE)?.unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
            jwks_url,
            clock_leeway,
            cors_allowed_origins,
            jwks_refresh_interval,
            introspection_url,
            introspection_client,
            introspection_cache_ttl,
            public_url,
        })
    }

    /// The base of DPoP proofs' `htu` once bound to `port`:
    /// `RESOURCE_PUBLIC_URL`, or else `http://` + `RESOURCE_BIND`'s host and
    /// `port`.
    pub fn public_url_for(&self, port: u16) -> Result<PublicUrl, ConfigError> {
        if let Some(url) = &self.public_url {
            return Ok(url.clone());
        }
        let host = self
            .bind
            .rsplit_once(':')
            .map_or(self.bind.as_str(), |(host, _)| host);
        let url = format!("http://{host}:{port}");
        PublicUrl::parse(&url).map_err(|error| {
            invalid(
                RESOURCE_PUBLIC_URL,
                &url,
                format!("{error} (derived from {RESOURCE_BIND}; set {RESOURCE_PUBLIC_URL})"),
            )
        })
    }
}

impl Settings {
    /// The effective configuration on one line, as `VARIABLE=value` pairs,
    /// durations in humantime form, any password in a URL and the client
    /// secret hidden: logged at start so an operator sees what the service
    /// runs with.
    pub fn summary(&self) -> String {
        let jwks_url = without_password(&self.jwks_url);
        let (client_id, client_secret) = match &self.introspection_client {
            Some(client) => (client.id.clone(), "***".to_owned()),
            None => (String::new(), String::new()),
        };
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
            (
                JWKS_REFRESH_INTERVAL,
                humantime::format_duration(self.jwks_refresh_interval)
                    .to_string()
                    .replace(' ', ""),
            ),
            (
                AUTH_INTROSPECTION_URL,
                without_password(&self.introspection_url),
            ),
            (INTROSPECTION_CLIENT_ID, client_id),
            (INTROSPECTION_CLIENT_SECRET, client_secret),
            (
                INTROSPECTION_CACHE_TTL,
                humantime::format_duration(self.introspection_cache_ttl)
                    .to_string()
                    .replace(' ', ""),
            ),
            (
                RESOURCE_PUBLIC_URL,
                self.public_url
                    .as_ref()
                    .map_or_else(|| format!("http://{}", self.bind), ToString::to_string),
            ),
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
        Err(invalid(
            RESOURCE_BIND,
            value,
            "expected host:port, e.g. 127.0.0.1:8081",
        ))
    }
}

fn check_http_url(var: &'static str, value: &str) -> Result<(), ConfigError> {
    let url = Url::parse(value).map_err(|e| invalid(var, value, e))?;
    if matches!(url.scheme(), "http" | "https") {
        Ok(())
    } else {
        Err(invalid(var, value, "expected an http(s) URL"))
    }
}

/// Origins as browsers send them in `Origin`, so a later exact comparison works.
fn parse_origins(value: &str) -> Result<Vec<String>, ConfigError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            service_kit::cors::normalize_origin(origin).map_err(|_| {
                invalid(
                    CORS_ALLOWED_ORIGINS,
                    origin,
                    "expected origins like https://app.example.com, comma separated",
                )
            })
        })
        .collect()
}
