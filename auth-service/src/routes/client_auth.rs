//! Client authentication at the OAuth endpoints (API.md §8): HTTP Basic
//! (`client_secret_basic`) or the `client_id` and `client_secret` form
//! fields (`client_secret_post`).

use actix_web::http::header;
use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::oauth::OAuthError;
use crate::service;
use crate::state::AppState;

/// The challenge of a `401 invalid_client` (RFC 6749 §5.2).
pub const CHALLENGE: &str = r#"Basic realm="auth-service""#;

/// The id of the client the request authenticates as; `None` for a public
/// client, which presents no secret. A secret that does not match, or a
/// malformed `Basic` header, is `invalid_client`.
pub async fn authenticate(
    req: &HttpRequest,
    state: &AppState,
    form_id: Option<String>,
    form_secret: Option<String>,
) -> Result<Option<String>, OAuthError> {
    let Some((id, secret)) = presented(req, form_id, form_secret)? else {
        return Ok(None);
    };
    if service::authenticate_client(&state.pool, &id, &secret).await? {
        Ok(Some(id))
    } else {
        Err(OAuthError::InvalidClient("client authentication failed"))
    }
}

/// The (id, secret) the request presents, if any.
pub(super) fn presented(
    req: &HttpRequest,
    form_id: Option<String>,
    form_secret: Option<String>,
) -> Result<Option<(String, String)>, OAuthError> {
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, credentials)| credentials.trim());
    match (basic, form_secret) {
        // RFC 6749 §2.3: a client uses one method per request.
        (Some(_), Some(_)) => Err(OAuthError::InvalidRequest(
            "more than one client authentication method".into(),
        )),
        (Some(credentials), None) => basic_credentials(credentials)
            .map(Some)
            .ok_or(OAuthError::InvalidClient("malformed Basic credentials")),
        (None, Some(secret)) => match form_id.filter(|id| !id.is_empty()) {
            Some(id) => Ok(Some((id, secret))),
            None => Err(OAuthError::InvalidClient("client_secret without client_id")),
        },
        (None, None) => Ok(None),
    }
}

/// RFC 6749 §2.3.1: base64 of `id:secret`, each form-url-encoded first.
fn basic_credentials(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// `application/x-www-form-urlencoded` decoding of one value.
fn form_decode(value: &str) -> Option<String> {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_url_decoded() {
        let encoded = STANDARD.encode("my%20client:a%2Bb+c");
        assert_eq!(
            basic_credentials(&encoded),
            Some(("my client".to_owned(), "a+b c".to_owned()))
        );
    }

    #[test]
    fn basic_credentials_without_a_colon_or_in_bad_base64_are_malformed() {
        assert_eq!(basic_credentials(&STANDARD.encode("no-colon")), None);
        assert_eq!(basic_credentials("%%%"), None);
    }
}
