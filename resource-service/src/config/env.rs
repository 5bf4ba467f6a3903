//! Reading variables: set-but-blank counts as unset, a value that is not
//! UTF-8 is refused, and every refusal names its variable.

use std::ffi::OsString;

pub use service_kit::config::ConfigError;

/// `value` of `variable` is unusable for `reason`.
pub(super) fn invalid(
    variable: &'static str,
    value: &str,
    reason: impl std::fmt::Display,
) -> ConfigError {
    ConfigError::invalid(variable, format!("invalid value {value:?}: {reason}"))
}

/// `value` of `variable` is no duration humantime reads.
pub(super) fn invalid_duration(
    variable: &'static str,
    value: &str,
    error: humantime::DurationError,
) -> ConfigError {
    ConfigError::invalid(variable, format!("invalid duration {value:?}: {error}"))
}

/// The environment, seen through a lookup function.
pub(super) struct Env<'a>(pub(super) &'a dyn Fn(&str) -> Option<OsString>);

impl Env<'_> {
    /// The variable's value, trimmed; set-but-blank counts as unset.
    pub(super) fn get(&self, variable: &'static str) -> Result<Option<String>, ConfigError> {
        service_kit::config::var(self.0, variable)
    }
}
