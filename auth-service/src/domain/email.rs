use std::fmt;

/// An email address, trimmed and lower-cased (API.md §1), so that one mailbox
/// can never hold two accounts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Longest address SMTP can carry (RFC 5321 §4.5.3.1.3).
const MAX_LEN: usize = 254;

impl Email {
    /// Normalises and checks an address. The check is deliberately loose: the
    /// only real proof of an address is mail that arrives.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let email = raw.trim().to_lowercase();
        let (local, domain) = email.rsplit_once('@').ok_or(InvalidEmail)?;
        let well_formed = !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !local.contains('@')
            && email.len() <= MAX_LEN
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if well_formed {
            Ok(Email(email))
        } else {
            Err(InvalidEmail)
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The input is not an email address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid email address")]
pub struct InvalidEmail;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let email = Email::parse("  Ada.Lovelace@Example.COM \n").expect("valid");
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for raw in [
            "",
            "   ",
            "plain",
            "@example.com",
            "ada@",
            "ada@localhost",
            "ada@.example.com",
            "ada@example.com.",
            "a b@example.com",
            "ada@@example.com",
            "ada@exa\u{0}mple.com",
        ] {
            assert_eq!(Email::parse(raw), Err(InvalidEmail), "{raw:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(InvalidEmail));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Addresses of the common shape, in any ASCII case.
        fn address() -> impl Strategy<Value = String> {
            "[a-zA-Z0-9._%+-]{1,40}@[a-zA-Z0-9-]{1,20}(\\.[a-zA-Z]{2,8}){1,3}"
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn any_input_is_refused_or_comes_back_trimmed_lower_cased_and_stable(raw in any::<String>()) {
                if let Ok(email) = Email::parse(&raw) {
                    prop_assert_eq!(email.as_str(), raw.trim().to_lowercase());
                    prop_assert_eq!(email.as_str().matches('@').count(), 1);
                    prop_assert!(email.as_str().len() <= MAX_LEN);
                    prop_assert!(!email.as_str().chars().any(char::is_whitespace));
                    // Parsing the stored form again changes nothing, so a
                    // stored address always finds its own account.
                    prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
                }
            }

            #[test]
            fn input_near_the_rules_never_panics_and_stays_stable(
                raw in "[ \t\n@.a-zA-Z\u{0}\u{130}\u{212a}\u{1e9e}-]{0,80}",
            ) {
                if let Ok(email) = Email::parse(&raw) {
                    prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
                }
            }

            #[test]
            fn case_and_surrounding_space_never_make_a_second_account(
                raw in address(),
                padding in "[ \t\n]{0,3}",
            ) {
                let plain = Email::parse(&raw).expect("a common address is valid");
                let shouted = Email::parse(&format!("{padding}{}{padding}", raw.to_ascii_uppercase()));
                prop_assert_eq!(shouted, Ok(plain));
            }
        }
    }
}
