use std::fmt;

mod common;

/// A password that meets API.md §3: at least 8 characters, at most 72 bytes,
/// and not one of the 10,000 most common passwords (in any case).
/// Its `Debug` shows nothing of it, so it cannot leak through a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

const MIN_CHARS: usize = 8;
/// bcrypt reads at most 72 bytes; longer input would be silently truncated,
/// so two passwords sharing a 72-byte prefix would both open the account.
const MAX_BYTES: usize = 72;

impl Password {
    /// Checks a new password.
    pub fn parse(raw: String) -> Result<Self, WeakPassword> {
        if raw.chars().count() < MIN_CHARS {
            return Err(WeakPassword::TooShort);
        }
        if raw.len() > MAX_BYTES {
            return Err(WeakPassword::TooLong);
        }
        // A breached list is the first thing a guesser tries: the login
        // lockout allows a handful of guesses, and these would need no more.
        if common::is_common(&raw) {
            return Err(WeakPassword::Common);
        }
        Ok(Password(raw))
    }

    /// The secret itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Why a password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    /// Fewer than 8 characters.
    #[error("the password must have at least 8 characters")]
    TooShort,
    /// More than 72 bytes once encoded as UTF-8.
    #[error("the password must be at most 72 bytes long (bcrypt's limit)")]
    TooLong,
    /// One of the 10,000 most common passwords, compared case-insensitively.
    #[error("the password is one of the 10,000 most commonly used passwords")]
    Common,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_characters_is_the_minimum() {
        assert_eq!(
            Password::parse("1234567".into()),
            Err(WeakPassword::TooShort)
        );
        assert!(Password::parse("1234567x".into()).is_ok());
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        for raw in [
            "password",
            "12345678",
            "iloveyou",
            "qwerty123",
            "PassWord",
            "IloveYou",
        ] {
            assert_eq!(
                Password::parse(raw.into()),
                Err(WeakPassword::Common),
                "{raw}"
            );
        }
        // A listed password with anything added is no longer on the list.
        assert!(Password::parse("iloveyou, Kate".into()).is_ok());
    }

    #[test]
    fn the_limit_is_72_bytes_not_72_characters() {
        assert!(Password::parse("a".repeat(72)).is_ok());
        assert_eq!(Password::parse("a".repeat(73)), Err(WeakPassword::TooLong));
        // 25 three-byte characters: 25 characters, 75 bytes.
        assert_eq!(Password::parse("€".repeat(25)), Err(WeakPassword::TooLong));
        // Multi-byte characters still count as one toward the minimum.
        assert!(Password::parse("€".repeat(8)).is_ok());
    }

    #[test]
    fn debug_output_hides_the_password() {
        let password = Password::parse("correct horse".into()).expect("valid");
        assert!(!format!("{password:?}").contains("horse"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn accepted_exactly_from_eight_characters_up_to_72_bytes_off_the_list(raw in any::<String>()) {
                let expected = raw.chars().count() >= MIN_CHARS
                    && raw.len() <= MAX_BYTES
                    && !common::is_common(&raw);
                let parsed = Password::parse(raw.clone());
                prop_assert_eq!(parsed.is_ok(), expected, "{:?}", raw);
                if let Ok(password) = parsed {
                    // Never truncated, never altered.
                    prop_assert_eq!(password.expose(), raw.as_str());
                    prop_assert_eq!(format!("{password:?}"), "Password(***)");
                }
            }

            #[test]
            fn multi_byte_passwords_around_the_limits(
                chars in proptest::collection::vec(
                    prop_oneof![Just('a'), Just('\u{e9}'), Just('\u{20ac}'), Just('\u{1f511}')],
                    0..40,
                ),
            ) {
                let raw: String = chars.iter().collect();
                let bytes: usize = chars.iter().map(|c| c.len_utf8()).sum();
                let outcome = Password::parse(raw.clone());
                let expected = if chars.len() < MIN_CHARS {
                    Err(WeakPassword::TooShort)
                } else if bytes > MAX_BYTES {
                    Err(WeakPassword::TooLong)
                } else if common::is_common(&raw) {
                    // `aaaaaaaa` and its like are on the list.
                    Err(WeakPassword::Common)
                } else {
                    Ok(())
                };
                prop_assert_eq!(outcome.map(|_| ()), expected);
            }
        }
    }
}
