//! Ids of users and sessions. Both are UUIDs (API.md §1); parsing is the
//! only way in, so arbitrary bytes never reach a query and one id has one
//! spelling (lower-case, hyphenated).

use std::fmt;

/// Text that is no UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a UUID")]
pub struct InvalidId;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// A new random id.
            pub fn generate() -> Self {
                $name(uuid::Uuid::new_v4().to_string())
            }

            /// Reads a UUID in any of its textual forms.
            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                uuid::Uuid::parse_str(raw)
                    .map(|id| $name(id.to_string()))
                    .map_err(|_| InvalidId)
            }

            /// The id as stored and as put in tokens.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

uuid_id!(
    /// A user's id: the `sub` of their access tokens.
    UserId
);
uuid_id!(
    /// A session's id: the `sid` of its access tokens.
    SessionId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_one_spelling() {
        let id = UserId::parse("5F0C9D1E-6F43-4C5E-9D7A-1B2C3D4E5F60").expect("a UUID");
        assert_eq!(id.as_str(), "5f0c9d1e-6f43-4c5e-9d7a-1b2c3d4e5f60");
        assert_eq!(id.to_string(), id.as_str());
        assert_eq!(UserId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn anything_but_a_uuid_is_refused() {
        for raw in [
            "",
            "1",
            "../etc/passwd",
            "5f0c9d1e-6f43-4c5e-9d7a-1b2c3d4e5f6",
        ] {
            assert_eq!(SessionId::parse(raw), Err(InvalidId), "{raw:?}");
        }
    }

    #[test]
    fn generated_ids_parse_back() {
        let id = SessionId::generate();
        assert_eq!(SessionId::parse(id.as_str()), Ok(id));
    }
}
