//! Reading variables: set-but-blank counts as unset, a value that is not
//! UTF-8 is refused, and every refusal names its variable.

use std::ffi::OsString;

/// A variable that is set to something unusable. The message always starts
/// with the variable's name, so one line tells the operator what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value that does not read as the setting needs.
    #[error("{variable}: {message}")]
    Invalid {
        /// The variable at fault.
        variable: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A value that is not UTF-8: refused rather than taken as unset.
    #[error("{variable}: not valid UTF-8")]
    NotUnicode {
        /// The variable at fault.
        variable: &'static str,
    },
}

impl ConfigError {
    /// The variable at fault.
    pub fn variable(&self) -> &'static str {
        match self {
            ConfigError::Invalid { variable, .. } | ConfigError::NotUnicode { variable } => {
                variable
            }
        }
    }

    /// `value` of `variable` is unusable for `reason`.
    pub(super) fn invalid(
        variable: &'static str,
        value: &str,
        reason: impl std::fmt::Display,
    ) -> Self {
        ConfigError::Invalid {
            variable,
            message: format!("invalid value {value:?}: {reason}"),
        }
    }

    /// `value` of `variable` is no duration humantime reads.
    pub(super) fn invalid_duration(
        variable: &'static str,
        value: &str,
        error: humantime::DurationError,
    ) -> Self {
        ConfigError::Invalid {
            variable,
            message: format!("invalid duration {value:?}: {error}"),
        }
    }
}

/// The environment, seen through a lookup function.
pub(super) struct Env<'a>(pub(super) &'a dyn Fn(&str) -> Option<OsString>);

impl Env<'_> {
    /// The variable's value, trimmed; set-but-blank counts as unset.
    pub(super) fn get(&self, variable: &'static str) -> Result<Option<String>, ConfigError> {
        match (self.0)(variable) {
            None => Ok(None),
            Some(raw) => raw
                .into_string()
                .map(|value| Some(value.trim().to_owned()).filter(|value| !value.is_empty()))
                .map_err(|_| ConfigError::NotUnicode { variable }),
        }
    }
}
