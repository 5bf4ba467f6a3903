use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared_claims::{ErrorBody, Role};
use utoipa::ToSchema;

use super::Caller;
use crate::domain;
use crate::error::Error;
use crate::service::{self, TokenGrant};
use crate::state::AppState;
use crate::tokens::RefreshToken;

const REFRESH_COOKIE: &str = "refresh_token";
/// The cookie goes only to the refresh and logout endpoints, never to others.
const REFRESH_COOKIE_PATH: &str = "/auth";

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    /// The user's id.
    #[schema(format = Uuid)]
    pub id: String,
    /// The normalised email.
    pub email: String,
    /// The role.
    pub role: Role,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
}

impl From<domain::User> for User {
    fn from(user: domain::User) -> Self {
        User {
            id: user.id.to_string(),
            email: user.email,
            role: user.role,
            created_at: user.created_at,
        }
    }
}

/// An email and a password, to register or to log in.
#[derive(Deserialize, ToSchema)]
pub struct Credentials {
    /// Trimmed and lower-cased before it is stored or compared.
    #[schema(example = "ada@example.com")]
    email: String,
    /// 8 characters to 72 bytes, not a common password. (The schema can
    /// state the minimum only: JSON Schema counts characters, bcrypt's
    /// limit is in bytes.)
    #[schema(example = "correct horse battery", min_length = 8)]
    password: String,
}

/// Creates an account with the `user` role.
#[utoipa::path(
    post,
    path = "/auth/register",
    operation_id = "register",
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = 201, description = "The account.", body = User),
        (status = 400, body = ErrorBody, description = "`invalid_request` (a malformed body, a missing field), \
            `invalid_email`, or `weak_password` (under 8 characters, over 72 bytes, or one of the 10,000 most \
            common passwords in any case)."),
        (status = 403, body = ErrorBody, description = "`registration_disabled` (`ALLOW_REGISTRATION=false`)."),
        (status = 409, body = ErrorBody, description = "`email_taken`."),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: the body is over 16 KiB."),
        (status = 415, body = ErrorBody, description = "`unsupported_media_type`: the body is not `application/json`."),
        (status = 503, body = ErrorBody, description = "`temporarily_unavailable`: `LOGIN_QUEUE_LIMIT` password \
            checks are already waiting, answered at once (API.md §3 \"Overload\"); or `not_ready`: the database \
            cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn register(
    state: web::Data<AppState>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, Error> {
    let Credentials { email, password } = body.into_inner();
    let user = service::register(&state, &email, password).await?;
    Ok(HttpResponse::Created().json(User::from(user)))
}

/// Logs in.
///
/// Starts a session and answers with a token pair, the refresh token also in
/// an `HttpOnly` cookie for browsers. With a `DPoP` proof (RFC 9449), the
/// session and its tokens are bound to the proof's key. After `LOGIN_MAX_FAILURES` failed
/// logins for one email from one address, that address is locked out for
/// `LOGIN_FAILURE_WINDOW`.
#[utoipa::path(
    post,
    path = "/auth/login",
    operation_id = "login",
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = 200, description = "A new session's tokens.", body = TokenResponse, headers(
            ("Cache-Control" = String, description = "`no-store`: the body carries tokens."),
            ("Set-Cookie" = String, description = "`refresh_token=<token>; HttpOnly; SameSite=Strict; \
                Path=/auth; Max-Age=<refresh_expires_in>`, plus `Secure` unless `COOKIE_SECURE=false`."),
        )),
        (status = 400, body = ErrorBody, description = "`invalid_request`: a malformed body or a missing field; \
            `invalid_dpop_proof`: a `DPoP` header that is not a valid proof for this request (checked \
            before the password)."),
        (status = 401, body = ErrorBody, description = "`invalid_credentials`: an unknown email or a wrong \
            password, told apart nowhere."),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: the body is over 16 KiB."),
        (status = 415, body = ErrorBody, description = "`unsupported_media_type`: the body is not `application/json`."),
        (status = 429, body = ErrorBody, description = "`too_many_attempts`: this email is locked out from \
            this address, even with the right password.", headers(
            ("Retry-After" = u64, description = "Whole seconds until the lockout ends."),
        )),
        (status = 503, body = ErrorBody, description = "`temporarily_unavailable`: `LOGIN_QUEUE_LIMIT` password \
            checks are already waiting, answered at once (API.md §3 \"Overload\"); or `not_ready`: the database \
            cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, Error> {
    let Credentials { email, password } = body.into_inner();
    let mut client = super::client_info(&req);
    client.dpop_jkt = super::dpop::token_request_key(&req, &state)?;
    let grant = service::login(&state, &email, password, client).await?;
    Ok(token_response(&state, grant))
}

/// Rotates a refresh token.
///
/// The presented refresh token is marked used and a new pair is issued for the same session. Presenting a used token again (reuse)
/// revokes the whole session, unless within `REFRESH_REUSE_GRACE`.
#[utoipa::path(
    post,
    path = "/auth/refresh",
    operation_id = "refresh",
    tag = "auth",
    request_body(content = Option<RefreshBody>, description = "Optional: without it, the `refresh_token` \
        cookie is used. When both are there, the body wins."),
    params(
        ("refresh_token" = Option<String>, Cookie, description = "The refresh token, when the body has none."),
    ),
    responses(
        (status = 200, description = "The session's new tokens.", body = TokenResponse, headers(
            ("Cache-Control" = String, description = "`no-store`: the body carries tokens."),
            ("Set-Cookie" = String, description = "The new `refresh_token` cookie."),
        )),
        (status = 400, body = ErrorBody, description = "`invalid_request`: no refresh token at all, or a malformed \
            body; `invalid_dpop_proof`: a `DPoP` header that is not a valid proof for this request, or a \
            session bound to a DPoP key refreshed without a proof by that key (the token is not used up)."),
        (status = 401, body = ErrorBody, description = "`invalid_grant`: the refresh token is unknown, expired, \
            revoked or used (reuse, which revokes the session).", headers(
            ("Set-Cookie" = String, description = "Clears the `refresh_token` cookie."),
        )),
        (status = 403, body = ErrorBody, description = "`invalid_origin`: the token came from the cookie, \
            in a request from a page of another origin (an `Origin` that is neither `AUTH_ISSUER`'s \
            origin nor one of `CORS_ALLOWED_ORIGINS`, or `Sec-Fetch-Site: cross-site`). Nothing changed."),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: the body is over 16 KiB."),
        (status = 503, body = ErrorBody, description = "`not_ready`: the database cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, Error> {
    let token = presented_refresh_token(&req, &body, &state)?
        .ok_or_else(|| Error::InvalidRequest("no refresh token in the body or cookie".into()))?;
    let mut client = super::client_info(&req);
    client.dpop_jkt = super::dpop::token_request_key(&req, &state)?;
    match service::refresh(&state, token, client).await {
        Ok(grant) => Ok(token_response(&state, grant)),
        Err(Error::InvalidGrant) => {
            // A dead token should not stay in the browser to be sent again.
            let mut response = Error::InvalidGrant.error_response();
            response
                .add_cookie(&removal_cookie(&state))
                .map_err(|e| Error::Internal(format!("cookie: {e}")))?;
            Ok(response)
        }
        Err(other) => Err(other),
    }
}

/// Logs out.
///
/// Revokes the session of the presented refresh token. Idempotent;
/// access tokens already issued stay valid until they expire.
#[utoipa::path(
    post,
    path = "/auth/logout",
    operation_id = "logout",
    tag = "auth",
    request_body(content = Option<RefreshBody>, description = "Optional: without it, the `refresh_token` \
        cookie is used. When both are there, the body wins."),
    params(
        ("refresh_token" = Option<String>, Cookie, description = "The refresh token, when the body has none."),
    ),
    responses(
        (status = 204, description = "Logged out (also when the token was unknown or absent).", headers(
            ("Set-Cookie" = String, description = "Clears the `refresh_token` cookie."),
        )),
        (status = 400, body = ErrorBody, description = "`invalid_request`: a malformed body."),
        (status = 403, body = ErrorBody, description = "`invalid_origin`: the token came from the cookie, \
            in a request from a page of another origin (an `Origin` that is neither `AUTH_ISSUER`'s \
            origin nor one of `CORS_ALLOWED_ORIGINS`, or `Sec-Fetch-Site: cross-site`). Nothing changed."),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: the body is over 16 KiB."),
        (status = 503, body = ErrorBody, description = "`not_ready`: the database cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, Error> {
    if let Some(token) = presented_refresh_token(&req, &body, &state)? {
        service::logout(&state, token, super::client_info(&req)).await?;
    }
    Ok(HttpResponse::NoContent()
        .cookie(removal_cookie(&state))
        .finish())
}

/// Revokes every session of the caller.
#[utoipa::path(
    post,
    path = "/auth/logout-all",
    operation_id = "logout_all",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session of the user is revoked.", headers(
            ("Set-Cookie" = String, description = "Clears the `refresh_token` cookie."),
        )),
        (status = 401, body = ErrorBody, description = "No access token (`unauthorized`), or a refused one \
            (`invalid_token`, also once its session has ended).", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"auth-service\"`, with \
                `error=\"invalid_token\"` and `error_description` for a refused token (RFC 6750); \
                `DPoP error=\"...\", algs=\"ES256 EdDSA\"` for a DPoP-bound token presented as `Bearer` \
                or without a valid proof by its key, or an unbound token under `DPoP` (API.md §7)."),
        )),
        (status = 503, body = ErrorBody, description = "`not_ready`: the database cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn logout_all(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, Error> {
    service::logout_all(&state, caller.user.id, super::client_info(&req)).await?;
    Ok(HttpResponse::NoContent()
        .cookie(removal_cookie(&state))
        .finish())
}

/// The caller's account.
#[utoipa::path(
    get,
    path = "/auth/me",
    operation_id = "me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account the access token is for.", body = User),
        (status = 401, body = ErrorBody, description = "No access token (`unauthorized`), or a refused one \
            (`invalid_token`, also once its session has ended or its user is gone).", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"auth-service\"`, with \
                `error=\"invalid_token\"` and `error_description` for a refused token (RFC 6750); \
                `DPoP error=\"...\", algs=\"ES256 EdDSA\"` for a DPoP-bound token presented as `Bearer` \
                or without a valid proof by its key, or an unbound token under `DPoP` (API.md §7)."),
        )),
        (status = 503, body = ErrorBody, description = "`not_ready`: the database cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn me(caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(User::from(caller.user))
}

/// The body of `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Deserialize, ToSchema)]
#[schema(as = RefreshRequest)]
struct RefreshBody {
    /// The refresh token; when absent or empty, the cookie's is used.
    refresh_token: Option<String>,
}

/// The refresh token from the JSON body, else from the cookie (API.md §3: the
/// body wins). An empty body is allowed; a malformed one is not. A token from
/// the cookie counts only from this service's own pages and the listed
/// origins (API.md §1); one in the body is no ambient authority.
fn presented_refresh_token(
    req: &HttpRequest,
    body: &[u8],
    state: &AppState,
) -> Result<Option<RefreshToken>, Error> {
    let from_body = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        // The document allows `null` for this optional body: JSON's own way
        // of sending nothing, so it means "use the cookie" like no body does.
        serde_json::from_slice::<Option<RefreshBody>>(body)
            .map_err(|e| Error::InvalidRequest(format!("invalid JSON body: {e}")))?
            .and_then(|body| body.refresh_token)
    };
    if let Some(token) = from_body.filter(|t| !t.is_empty()) {
        return Ok(Some(RefreshToken::presented(token)));
    }
    let Some(token) = req
        .cookie(REFRESH_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    super::origin::check_cookie_request(req, &state.settings)?;
    Ok(Some(RefreshToken::presented(token)))
}

/// The token response of `/auth/login` and `/auth/refresh`.
#[derive(Serialize, ToSchema)]
struct TokenResponse<'a> {
    /// An EdDSA-signed JWT (`typ: at+jwt`), for `Authorization: Bearer`,
    /// or, when bound, for `Authorization: DPoP` with a proof.
    access_token: &'a str,
    /// `Bearer`, or `DPoP` when the request carried a valid `DPoP` proof
    /// and the session is bound to its key (API.md §7).
    #[schema(example = "Bearer", pattern = "^(Bearer|DPoP)$")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
    /// An opaque token for `/auth/refresh`, single use.
    refresh_token: &'a str,
    /// Seconds until the refresh token expires.
    refresh_expires_in: u64,
    /// Whom the tokens are for.
    user: TokenUser<'a>,
}

/// The user of a token response.
#[derive(Serialize, ToSchema)]
struct TokenUser<'a> {
    #[schema(format = Uuid)]
    id: &'a str,
    email: &'a str,
    role: Role,
}

fn token_response(state: &AppState, grant: TokenGrant) -> HttpResponse {
    let cookie = refresh_cookie(
        state,
        grant.refresh_token.expose(),
        grant.refresh_expires_in,
    );
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .cookie(cookie)
        .json(TokenResponse {
            access_token: &grant.access_token,
            token_type: grant.token_type.as_str(),
            expires_in: grant.expires_in,
            refresh_token: grant.refresh_token.expose(),
            refresh_expires_in: grant.refresh_expires_in,
            user: TokenUser {
                id: grant.user.id.as_str(),
                email: &grant.user.email,
                role: grant.user.role,
            },
        })
}

fn refresh_cookie<'a>(state: &AppState, value: &'a str, max_age_secs: u64) -> Cookie<'a> {
    Cookie::build(REFRESH_COOKIE, value)
        .http_only(true)
        .same_site(SameSite::Strict)
        .path(REFRESH_COOKIE_PATH)
        .max_age(time::Duration::seconds(
            i64::try_from(max_age_secs).unwrap_or(i64::MAX),
        ))
        .secure(state.settings.cookie_secure)
        .finish()
}

fn removal_cookie(state: &AppState) -> Cookie<'static> {
    refresh_cookie(state, "", 0)
}
