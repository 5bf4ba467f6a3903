use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use shared_claims::actix::Authenticated;
use shared_claims::Role;

use crate::error::Error;
use crate::service::{self, AppState, TokenGrant};
use crate::tokens::RefreshToken;

const REFRESH_COOKIE: &str = "refresh_token";
/// The cookie goes only to the refresh and logout endpoints, never to others.
const REFRESH_COOKIE_PATH: &str = "/auth";

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
}

pub async fn register(
    state: web::Data<AppState>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, Error> {
    let Credentials { email, password } = body.into_inner();
    let user = service::register(&state, &email, password).await?;
    Ok(HttpResponse::Created().json(user))
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, Error> {
    let Credentials { email, password } = body.into_inner();
    let client = super::client_info(&req);
    let grant = service::login(&state, &email, password, client).await?;
    Ok(token_response(&state, grant))
}

pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, Error> {
    let token = presented_refresh_token(&req, &body)?
        .ok_or_else(|| Error::InvalidRequest("no refresh token in the body or cookie".into()))?;
    match service::refresh(&state, token).await {
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

pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, Error> {
    if let Some(token) = presented_refresh_token(&req, &body)? {
        service::logout(&state, token).await?;
    }
    Ok(HttpResponse::NoContent()
        .cookie(removal_cookie(&state))
        .finish())
}

pub async fn logout_all(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<HttpResponse, Error> {
    service::logout_all(&state, user.into_claims().sub).await?;
    Ok(HttpResponse::NoContent()
        .cookie(removal_cookie(&state))
        .finish())
}

pub async fn me(state: web::Data<AppState>, user: Authenticated) -> Result<HttpResponse, Error> {
    let user = service::me(&state, user.into_claims().sub).await?;
    Ok(HttpResponse::Ok().json(user))
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: Option<String>,
}

/// The refresh token from the JSON body, else from the cookie (API.md §3: the
/// body wins). An empty body is allowed; a malformed one is not.
fn presented_refresh_token(req: &HttpRequest, body: &[u8]) -> Result<Option<RefreshToken>, Error> {
    let from_body = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<RefreshBody>(body)
            .map_err(|e| Error::InvalidRequest(format!("invalid JSON body: {e}")))?
            .refresh_token
    };
    let from_cookie = || req.cookie(REFRESH_COOKIE).map(|c| c.value().to_owned());
    Ok(from_body
        .filter(|t| !t.is_empty())
        .or_else(from_cookie)
        .filter(|t| !t.is_empty())
        .map(RefreshToken::presented))
}

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: &'a str,
    refresh_expires_in: u64,
    user: TokenUser<'a>,
}

#[derive(Serialize)]
struct TokenUser<'a> {
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
            token_type: "Bearer",
            expires_in: grant.expires_in,
            refresh_token: grant.refresh_token.expose(),
            refresh_expires_in: grant.refresh_expires_in,
            user: TokenUser {
                id: &grant.user.id,
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
