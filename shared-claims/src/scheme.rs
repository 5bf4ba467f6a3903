//! The two schemes an access token may come under in `Authorization`.

/// The access token of an `Authorization` value under either scheme, for a
/// request whose scheme and proof were already checked.
#[cfg(all(feature = "actix", feature = "introspection"))]
pub(crate) fn access_token(authorization: Option<&str>) -> Option<&str> {
    scheme_and_token(authorization).map(|(_, token)| token)
}

/// The two schemes an access token may come under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Bearer,
    Dpop,
}

/// The scheme and token of an `Authorization: Bearer <token>` or
/// `Authorization: DPoP <token>` value (RFC 6750 §2.1, RFC 9449 §7.1: the
/// scheme is case-insensitive).
pub(crate) fn scheme_and_token(authorization: Option<&str>) -> Option<(Scheme, &str)> {
    let value = authorization?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((Scheme::Bearer, token))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some((Scheme::Dpop, token))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{scheme_and_token, Scheme};

    #[test]
    fn schemes_are_case_insensitive_and_token_is_required() {
        assert_eq!(
            scheme_and_token(Some("Bearer abc")),
            Some((Scheme::Bearer, "abc"))
        );
        assert_eq!(
            scheme_and_token(Some("bearer abc")),
            Some((Scheme::Bearer, "abc"))
        );
        assert_eq!(
            scheme_and_token(Some("DPoP abc")),
            Some((Scheme::Dpop, "abc"))
        );
        assert_eq!(
            scheme_and_token(Some("dpop abc")),
            Some((Scheme::Dpop, "abc"))
        );
        assert_eq!(scheme_and_token(Some("Bearer ")), None);
        assert_eq!(scheme_and_token(Some("DPoP ")), None);
        assert_eq!(scheme_and_token(Some("Basic abc")), None);
        assert_eq!(scheme_and_token(Some("abc")), None);
        assert_eq!(scheme_and_token(None), None);
    }
}
