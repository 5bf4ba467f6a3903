//! The standard OAuth 2 door to the same engine as `/auth/*` (API.md §3):
//! the token endpoint (RFC 6749 §4.3 password grant, §6 refresh), revocation
//! (RFC 7009) and server metadata (RFC 8414). Users, sessions, rotation, reuse
//! detection and the login lockout are [`crate::service`]'s; this module only
//! speaks the RFCs' form bodies and error format.

use actix_web::error::{PayloadError, UrlencodedError};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use service_kit::MAX_BODY_BYTES;
use shared_claims::ErrorBody;
use utoipa::ToSchema;

use super::client_auth;
use crate::error::Error;
use crate::service::{self, ClientInfo, TokenGrant};
use crate::state::AppState;
use crate::tokens::RefreshToken;

/// A failure of the OAuth endpoints, answered as RFC 6749 §5.2 says: 400 with
/// `{error, error_description}`. What the RFC has no code for (the lockout,
/// an unavailable database, a bug) keeps the crate's own answer.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// 400 `invalid_request`: a missing, empty or repeated parameter, or a
    /// body that is no form at all (none, or another content type).
    #[error("{0}")]
    InvalidRequest(String),
    /// 400 `invalid_grant`: wrong credentials, or a refresh token that is
    /// unknown, used, expired or revoked (where `/auth/refresh` says 401).
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// 400 `unsupported_grant_type`.
    #[error("grant_type must be password, refresh_token or client_credentials")]
    UnsupportedGrantType,
    /// 401 `invalid_client` with a `Basic` challenge (RFC 6749 §5.2): client
    /// authentication failed, or a grant that needs it came without it.
    #[error("{0}")]
    InvalidClient(&'static str),
    /// Passed through as the crate maps it: 413, 429 with `Retry-After`, 503, 500.
    #[error(transparent)]
    Engine(Error),
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        match e {
            // RFC 6749 §5.2: bad resource owner credentials are an invalid grant.
            Error::InvalidCredentials => OAuthError::InvalidGrant("invalid username or password"),
            Error::InvalidGrant => {
                OAuthError::InvalidGrant("the refresh token is invalid, expired or revoked")
            }
            Error::InvalidRequest(description) => OAuthError::InvalidRequest(description),
            // With the Basic challenge RFC 6749 §5.2 asks for.
            Error::UnknownClient => OAuthError::InvalidClient("client authentication failed"),
            other => OAuthError::Engine(other),
        }
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            OAuthError::Engine(e) => e.status_code(),
            OAuthError::InvalidRequest(_)
            | OAuthError::InvalidGrant(_)
            | OAuthError::UnsupportedGrantType => StatusCode::BAD_REQUEST,
            OAuthError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            OAuthError::Engine(e) => return e.error_response(),
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidClient(_) => "invalid_client",
        };
        let mut response = HttpResponse::build(self.status_code());
        if let OAuthError::InvalidClient(_) = self {
            response.insert_header((header::WWW_AUTHENTICATE, client_auth::CHALLENGE));
        }
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(ErrorBody::new(code, error_description(&self.to_string())))
    }
}

/// RFC 6749 §5.2 allows only `%x20-21 / %x23-5B / %x5D-7E` in
/// `error_description`; a parser's message may quote anything.
fn error_description(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(c, ' '..='~') && *c != '"' && *c != '\\')
        .collect()
}

/// The form extractor's settings for the OAuth endpoints: API.md §1's body
/// limit, and its failures in the JSON error format instead of actix's text.
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(form_error)
}

fn form_error(err: UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    let err = match err {
        UrlencodedError::Overflow { .. } | UrlencodedError::Payload(PayloadError::Overflow) => {
            OAuthError::Engine(Error::PayloadTooLarge)
        }
        // RFC 6749 §4.3.2 and RFC 7009 §2.1 define these requests as forms
        // only, and §5.2 has no code but `invalid_request` for a malformed
        // one, so a client library parsing RFC errors understands the answer.
        UrlencodedError::ContentType => OAuthError::InvalidRequest(
            "the request body must be application/x-www-form-urlencoded".into(),
        ),
        // serde rejects a repeated field, which RFC 6749 §3.1 forbids.
        UrlencodedError::Parse(e) => OAuthError::InvalidRequest(format!("invalid form body: {e}")),
        other => OAuthError::InvalidRequest(format!("invalid form body: {other}")),
    };
    err.into()
}

/// The token request of RFC 6749 §4.3.2 and §6. Other parameters, such as the
/// `client_id` a public client sends (§2.3, §3.2.1) or `scope`, are ignored.
#[derive(Deserialize, ToSchema)]
#[schema(as = OAuthTokenRequest)]
pub struct TokenRequest {
    /// `password` (with `username` and `password`) or `refresh_token` (with `refresh_token`).
    #[schema(example = "password")]
    grant_type: Option<String>,
    /// The email, for `grant_type=password`.
    username: Option<String>,
    /// For `grant_type=password`.
    password: Option<String>,
    /// For `grant_type=refresh_token`; rotated as by `POST /auth/refresh`.
    refresh_token: Option<String>,
    /// `client_secret_post`: the client's id, with `client_secret`. Alone,
    /// a public client's name, which is not read.
    client_id: Option<String>,
    /// `client_secret_post`: the client's secret.
    client_secret: Option<String>,
}

/// The OAuth 2 token endpoint.
///
/// `POST /oauth/token`: the token endpoint of RFC 6749: the resource owner
/// password grant (§4.3) and the refresh grant (§6), for a public client or
/// an authenticated one (whose refresh tokens only it may refresh); for a
/// confidential client also the client-credentials grant (§4.4).
/// The same users, sessions, rotation and lockout as `/auth/login` and
/// `/auth/refresh`.
#[utoipa::path(
    post,
    path = "/oauth/token",
    operation_id = "oauth_token",
    tag = "oauth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "RFC 6749 §5.1.", body = TokenResponse, headers(
            ("Cache-Control" = String, description = "`no-store`: the body carries tokens."),
            ("Pragma" = String, description = "`no-cache`."),
        )),
        (status = 400, body = ErrorBody, description = "RFC 6749 §5.2: `invalid_request` (a missing, empty or \
            repeated parameter, or a body that is not `application/x-www-form-urlencoded`), `invalid_grant` (wrong credentials, or a refresh token that is unknown, \
            used, expired or revoked), or `unsupported_grant_type`. A refresh token issued to a client, \
            presented by anyone else, is an `invalid_grant` and is not used up. `invalid_dpop_proof`: a `DPoP` \
            header that is not a valid proof for this request, or a refresh of a session bound to a DPoP key \
            without a proof by that key.", headers(
            ("Cache-Control" = String, description = "`no-store`."),
        )),
        (status = 401, body = ErrorBody, description = "`invalid_client`: client authentication failed, or \
            `client_credentials` came without it.", headers(
            ("WWW-Authenticate" = String, description = "`Basic realm=\"auth-service\"`."),
            ("Cache-Control" = String, description = "`no-store`."),
        )),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: the body is over 16 KiB."),
        (status = 429, body = ErrorBody, description = "`too_many_attempts`: this username is locked out from \
            this address, as for `/auth/login`.", headers(
            ("Retry-After" = u64, description = "Whole seconds until the lockout ends."),
        )),
        (status = 503, body = ErrorBody, description = "`temporarily_unavailable`: `LOGIN_QUEUE_LIMIT` password \
            checks are already waiting, answered at once (API.md §3 \"Overload\"); or `not_ready`: the database \
            cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<TokenRequest>,
) -> Result<HttpResponse, OAuthError> {
    let form = form.into_inner();
    let client =
        client_auth::authenticate(&req, &state, form.client_id, form.client_secret).await?;
    let grant_type = required(form.grant_type, "grant_type")?;
    // Before any grant: an invalid proof costs no password check.
    let dpop_jkt = super::dpop::token_request_key(&req, &state)?;
    if grant_type == "client_credentials" {
        let client = client.ok_or(OAuthError::InvalidClient(
            "client_credentials needs client authentication",
        ))?;
        let grant = service::client_credentials(&state, &client, dpop_jkt.as_deref())?;
        return Ok(tokens_response(&TokenResponse {
            access_token: &grant.access_token,
            token_type: grant.token_type.as_str(),
            expires_in: grant.expires_in,
            refresh_token: None,
        }));
    }
    // An authenticated client's session is bound to it: the tokens carry
    // its id, and only it may refresh them (RFC 6749 §6).
    let requester = ClientInfo {
        client_id: client,
        dpop_jkt,
        ..super::client_info(&req)
    };
    let grant = match grant_type.as_str() {
        "password" => {
            let username = required(form.username, "username")?;
            let password = required(form.password, "password")?;
            service::login(&state, &username, password, requester).await?
        }
        "refresh_token" => {
            let presented = required(form.refresh_token, "refresh_token")?;
            service::refresh(&state, RefreshToken::presented(presented), requester).await?
        }
        _ => return Err(OAuthError::UnsupportedGrantType),
    };
    Ok(token_response(&grant))
}

/// The revocation request of RFC 7009 §2.1. `token_type_hint` is not read:
/// the server MAY ignore it, and every token is looked up as a refresh token
/// anyway (an access token hashes to nothing stored).
#[derive(Deserialize, ToSchema)]
#[schema(as = OAuthRevokeRequest)]
pub struct RevokeRequest {
    /// The token to revoke: a refresh token revokes its session. Required
    /// (RFC 7009 §2.1); an `Option` so that its absence is answered with
    /// RFC 6749's `invalid_request` rather than a framework error.
    #[schema(value_type = String, required = true, min_length = 1)]
    token: Option<String>,
    /// `refresh_token` or `access_token`; not needed, and not read.
    #[serde(default)]
    #[schema(example = "refresh_token")]
    #[expect(
        dead_code,
        reason = "RFC 7009 §2.1 lets the server ignore it; it is here to be documented"
    )]
    token_type_hint: Option<String>,
    /// `client_secret_post`: the client's id, with `client_secret`.
    client_id: Option<String>,
    /// `client_secret_post`: the client's secret.
    client_secret: Option<String>,
}

/// Revokes a token.
///
/// `POST /oauth/revoke`: token revocation (RFC 7009).
#[utoipa::path(
    post,
    path = "/oauth/revoke",
    operation_id = "oauth_revoke",
    tag = "oauth",
    request_body(content = RevokeRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Always, whether or not the token was known (RFC 7009 §2.2). An access \
            token stays valid until it expires.", headers(
            ("Cache-Control" = String, description = "`no-store`."),
        )),
        (status = 400, body = ErrorBody, description = "`invalid_request`: `token` is missing, or the body \
            is not `application/x-www-form-urlencoded`.", headers(
            ("Cache-Control" = String, description = "`no-store`."),
        )),
        (status = 401, body = ErrorBody, description = "`invalid_client`: client authentication failed.", headers(
            ("WWW-Authenticate" = String, description = "`Basic realm=\"auth-service\"`."),
            ("Cache-Control" = String, description = "`no-store`."),
        )),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: the body is over 16 KiB."),
        (status = 503, body = ErrorBody, description = "`not_ready`: the database cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<RevokeRequest>,
) -> Result<HttpResponse, OAuthError> {
    let form = form.into_inner();
    let client =
        client_auth::authenticate(&req, &state, form.client_id, form.client_secret).await?;
    let token = required(form.token, "token")?;
    // RFC 7009 §2.2: 200 whether or not the token was known, so the answer
    // tells nothing about which tokens exist. An access token is a stateless
    // JWT and stays valid until it expires (API.md §3). A client may revoke
    // only the tokens issued to it (§2.1): the service checks the session's
    // client.
    let requester = ClientInfo {
        client_id: client,
        ..super::client_info(&req)
    };
    service::logout(&state, RefreshToken::presented(token), requester).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// A parameter that must be there. RFC 6749 §3.1: a parameter without a
/// value counts as omitted.
pub(super) fn required(value: Option<String>, name: &str) -> Result<String, OAuthError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::InvalidRequest(format!("missing parameter: {name}")))
}

/// RFC 6749 §5.1. No cookie: this door is for clients that hold their tokens.
#[derive(Serialize, ToSchema)]
#[schema(as = OAuthTokenResponse)]
struct TokenResponse<'a> {
    /// An EdDSA-signed JWT (`typ: at+jwt`).
    access_token: &'a str,
    /// `Bearer`, or `DPoP` for tokens bound to the key of the request's
    /// `DPoP` proof (RFC 9449 §5).
    #[schema(example = "Bearer", pattern = "^(Bearer|DPoP)$")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
    /// An opaque, single-use refresh token; none for `client_credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
}

fn token_response(grant: &TokenGrant) -> HttpResponse {
    tokens_response(&TokenResponse {
        access_token: &grant.access_token,
        token_type: grant.token_type.as_str(),
        expires_in: grant.expires_in,
        refresh_token: Some(grant.refresh_token.expose()),
    })
}

fn tokens_response(body: &TokenResponse<'_>) -> HttpResponse {
    HttpResponse::Ok()
        // RFC 6749 §5.1: a response with tokens must not be cached.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_descriptions_keep_only_the_characters_rfc_6749_allows() {
        assert_eq!(error_description("bad \"q\"\\é\n `x`"), "bad q `x`");
    }

    #[test]
    fn engine_errors_become_rfc_6749_codes_or_pass_through() {
        assert_eq!(
            OAuthError::from(Error::InvalidCredentials).status_code(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            OAuthError::from(Error::InvalidGrant).status_code(),
            StatusCode::BAD_REQUEST
        );
        let locked = OAuthError::from(Error::TooManyAttempts { retry_after: 7 }).error_response();
        assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            locked
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"7"[..])
        );
        assert_eq!(
            OAuthError::from(Error::Unavailable("down".into())).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
