//! Who the bearer of the token is.

use std::time::{Duration, SystemTime};

use actix_web::HttpResponse;
use serde::Serialize;
use shared_claims::actix::Authenticated;
use shared_claims::{ErrorBody, TokenRole};
use utoipa::ToSchema;

/// The body of `GET /api/me`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me<'a> {
    /// The user's id, or a service token's client id.
    pub sub: &'a str,
    /// The user's email when the token was issued; `null` for a service token.
    pub email: Option<&'a str>,
    /// The role when the token was issued: a user's, or `service`.
    pub role: TokenRole,
    /// The session the token belongs to; `null` for a service token.
    #[schema(format = Uuid)]
    pub sid: Option<&'a str>,
    /// When the token expires, RFC 3339 (API.md §1: times in bodies).
    #[schema(format = DateTime)]
    pub exp: String,
}

/// Who the bearer of the token is.
///
/// `GET /api/me`: the verified token's subject, nothing looked up.
#[utoipa::path(
    get,
    path = "/api/me",
    operation_id = "me",
    tag = "api",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Who the access token is for, from its claims.", body = Me),
        (status = 401, body = ErrorBody, description = "No access token (`unauthorized`), or a refused one \
            (`invalid_token`: malformed, badly signed, expired, not yet valid, of the wrong type, or \
            for another issuer or audience).", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"resource-service\"`, with \
                `error=\"invalid_token\"` and `error_description` for a refused token (RFC 6750)."),
        )),
    )
)]
pub async fn me(user: Authenticated) -> HttpResponse {
    let claims = user.claims();
    HttpResponse::Ok().json(Me {
        sub: &claims.sub,
        email: claims.subject.email(),
        role: claims.role(),
        sid: claims.subject.sid(),
        exp: rfc3339(claims.exp),
    })
}

/// The last second humantime can print (9999-12-31T23:59:59Z); past it its
/// `Display` fails, which `to_string` turns into a panic.
const LAST_PRINTABLE_SECOND: u64 = 253_402_300_799;

/// A NumericDate (seconds since the epoch) as RFC 3339 in UTC, clamped to
/// what RFC 3339's four-digit years can hold. A verified token's `exp` is in
/// the future, so the lower clamp (the epoch) is never reached in practice.
fn rfc3339(seconds: i64) -> String {
    let seconds = u64::try_from(seconds)
        .unwrap_or(0)
        .min(LAST_PRINTABLE_SECOND);
    let since_epoch = Duration::from_secs(seconds);
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + since_epoch).to_string()
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn numeric_dates_print_as_rfc3339_utc() {
        assert_eq!(rfc3339(1_700_000_900), "2023-11-14T22:28:20Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(-5), "1970-01-01T00:00:00Z");
    }
}
