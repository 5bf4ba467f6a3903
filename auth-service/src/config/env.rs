//! Reading variables: set-but-blank counts as unset, a value that is not
//! UTF-8 is refused, and every refusal names its variable.

use std::ffi::OsString;
use std::time::Duration;

pub use service_kit::config::ConfigError;

/// The environment, seen through a lookup function.
pub(super) struct Env<'a>(pub(super) &'a dyn Fn(&str) -> Option<OsString>);

impl Env<'_> {
    /// The variable's value, trimmed; set-but-blank counts as unset.
    pub(super) fn get(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        service_kit::config::var(self.0, name)
    }

    pub(super) fn string(&self, name: &'static str, default: &str) -> Result<String, ConfigError> {
        Ok(self
            .get(name)?
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| default.to_owned()))
    }

    pub(super) fn parse<T>(
        &self,
        name: &'static str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.get(name)? {
            None => Ok(default),
            Some(raw) => parse(&raw).map_err(|message| ConfigError::invalid(name, message)),
        }
    }

    pub(super) fn duration(
        &self,
        name: &'static str,
        default: &str,
    ) -> Result<Duration, ConfigError> {
        let raw = self.get(name)?.unwrap_or_else(|| default.to_owned());
        humantime::parse_duration(raw.trim()).map_err(|e| {
            ConfigError::invalid(
                name,
                format!("invalid duration {raw:?} ({e}); write it like 900s, 15m or 7d"),
            )
        })
    }

    pub(super) fn list(&self, name: &'static str) -> Result<Vec<String>, ConfigError> {
        Ok(self
            .get(name)?
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    }
}

pub(super) fn parse_bcrypt_cost(raw: &str) -> Result<u32, String> {
    match raw.trim().parse::<u32>() {
        Ok(cost) if (4..=31).contains(&cost) => Ok(cost),
        _ => Err(format!("expected a bcrypt cost from 4 to 31, got {raw:?}")),
    }
}

pub(super) fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("expected true or false, got {raw:?}")),
    }
}

/// `TRUSTED_PROXIES`: comma-separated CIDRs; a bare address is a network of
/// one. Host bits past the prefix are dropped (`10.1.2.3/8` is `10.0.0.0/8`).
pub(super) fn parse_proxies(raw: &str) -> Result<Vec<ipnet::IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|cidr| {
            cidr.parse::<ipnet::IpNet>()
                .or_else(|_| cidr.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| {
                    format!(
                        "expected comma-separated CIDRs like 10.0.0.0/8 or fd00::/8, got {cidr:?}"
                    )
                })
        })
        .collect()
}
