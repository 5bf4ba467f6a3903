//! Reading a service's variables the same way in every service: set-but-blank
//! counts as unset, a value that is not UTF-8 is refused, and every refusal
//! names its variable.

use std::ffi::OsString;

/// A variable that is set to something unusable. The message always starts
/// with the variable's name, so one line tells the operator what to fix.
///
/// ```
/// use service_kit::config::ConfigError;
///
/// let e = ConfigError::invalid("AUTH_BIND", "expected host:port");
/// assert_eq!(e.to_string(), "AUTH_BIND: expected host:port");
/// assert_eq!(e.variable(), "AUTH_BIND");
/// ```
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
    /// `variable` is unusable, for the reason `message` gives.
    pub fn invalid(variable: &'static str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            variable,
            message: message.into(),
        }
    }

    /// The variable at fault.
    pub fn variable(&self) -> &'static str {
        match self {
            ConfigError::Invalid { variable, .. } | ConfigError::NotUnicode { variable } => {
                variable
            }
        }
    }
}

/// The value of `variable` through `lookup`, trimmed; set-but-blank counts as
/// unset.
///
/// ```
/// use std::ffi::OsString;
/// use service_kit::config::var;
///
/// let lookup = |name: &str| (name == "PORT").then(|| OsString::from(" 8080 "));
/// assert_eq!(var(&lookup, "PORT"), Ok(Some("8080".to_owned())));
/// assert_eq!(var(&lookup, "HOST"), Ok(None));
/// ```
pub fn var(
    lookup: &dyn Fn(&str) -> Option<OsString>,
    variable: &'static str,
) -> Result<Option<String>, ConfigError> {
    match lookup(variable) {
        None => Ok(None),
        Some(raw) => raw
            .into_string()
            .map(|value| Some(value.trim().to_owned()).filter(|value| !value.is_empty()))
            .map_err(|_| ConfigError::NotUnicode { variable }),
    }
}
