//! `POST /oauth/introspect`: token introspection (RFC 7662) for
//! authenticated clients, such as a resource server checking that a token's
//! session is still active.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use shared_claims::{Authority, ErrorBody};
use utoipa::ToSchema;

use super::client_auth;
use super::oauth::{required, OAuthError};
use crate::service::{self, ClientCredentials, Introspection};
use crate::state::AppState;

/// The introspection request of RFC 7662 §2.1.
#[derive(Deserialize, ToSchema)]
#[schema(as = OAuthIntrospectRequest)]
pub struct IntrospectRequest {
    /// The access or refresh token to look at. Required; an `Option` so
    /// that its absence is answered with `invalid_request`.
    #[schema(value_type = String, required = true, min_length = 1)]
    token: Option<String>,
    /// `access_token` or `refresh_token`: a hint only, not needed. Both
    /// kinds are recognised whatever it says.
    #[serde(default)]
    #[schema(example = "access_token")]
    #[expect(
        dead_code,
        reason = "RFC 7662 §2.1 lets the server ignore it; it is here to be documented"
    )]
    token_type_hint: Option<String>,
    /// `client_secret_post`: the client's id, with `client_secret`.
    client_id: Option<String>,
    /// `client_secret_post`: the client's secret.
    client_secret: Option<String>,
}

/// The introspection response of RFC 7662 §2.2: `active`, and for a live
/// token what it is.
#[derive(Serialize, ToSchema)]
#[schema(as = OAuthIntrospectionResponse)]
pub struct IntrospectionResponse {
    /// Whether the token is live now. Everything else is present only when it is.
    active: bool,
    /// `Bearer` or `DPoP` for an access token, `refresh_token` for a refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Bearer")]
    token_type: Option<&'static str>,
    /// The client the token was issued to: `first-party` or a client's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// The user's id, or for a service token the client's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    /// Issue time of an access token, seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    /// The issuer of an access token.
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    /// The audience of an access token.
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    /// The access token's unique id.
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    /// The session, for a user's token.
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    /// `user`, `admin` or `service`, for an access token.
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<shared_claims::TokenRole>,
    /// The user's email, for a user's access token.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    /// The key a sender-constrained access token is bound to (RFC 9449).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    cnf: Option<serde_json::Value>,
}

impl IntrospectionResponse {
    fn inactive() -> Self {
        IntrospectionResponse {
            active: false,
            token_type: None,
            client_id: None,
            sub: None,
            exp: None,
            iat: None,
            iss: None,
            aud: None,
            jti: None,
            sid: None,
            role: None,
            email: None,
            cnf: None,
        }
    }
}

/// Introspects a token.
///
/// `POST /oauth/introspect`: token introspection (RFC 7662), for
/// authenticated clients only. `{"active": false}` for anything that is not
/// a live token; nothing is used up or changed.
#[utoipa::path(
    post,
    path = "/oauth/introspect",
    operation_id = "oauth_introspect",
    tag = "oauth",
    request_body(content = IntrospectRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "RFC 7662 §2.2. A live access token: signed by a key of this issuer that \
            is not revoked, not expired, and its session active (a service token: its client still \
            registered). A live refresh token: unused, unexpired, its session active.",
            body = IntrospectionResponse, headers(
            ("Cache-Control" = String, description = "`no-store`."),
            ("Pragma" = String, description = "`no-cache`."),
        )),
        (status = 400, body = ErrorBody, description = "`invalid_request`: `token` is missing, or the body \
            is not `application/x-www-form-urlencoded`.", headers(
            ("Cache-Control" = String, description = "`no-store`."),
        )),
        (status = 401, body = ErrorBody, description = "`invalid_client`: no client authentication, or it failed.", headers(
            ("WWW-Authenticate" = String, description = "`Basic realm=\"auth-service\"`."),
            ("Cache-Control" = String, description = "`no-store`."),
        )),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: the body is over 16 KiB."),
        (status = 503, body = ErrorBody, description = "`not_ready`: the database cannot be reached.", headers(
            ("Retry-After" = u64, description = "Whole seconds to wait before trying again."),
        )),
    )
)]
pub async fn introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    authority: web::Data<Authority>,
    form: web::Form<IntrospectRequest>,
) -> Result<HttpResponse, OAuthError> {
    let form = form.into_inner();
    let refused = || OAuthError::InvalidClient("client authentication failed");
    // RFC 7662 §2.1: the endpoint answers authenticated clients only.
    let Some((id, secret)) = client_auth::presented(&req, form.client_id, form.client_secret)?
    else {
        return Err(OAuthError::InvalidClient(
            "introspection needs client authentication",
        ));
    };
    let token = match required(form.token, "token") {
        Ok(token) => token,
        Err(missing) => {
            // Who asks is settled before what is asked.
            return Err(
                match service::authenticate_client(&state.pool, &id, &secret).await? {
                    true => missing,
                    false => refused(),
                },
            );
        }
    };
    let client = ClientCredentials { id, secret };
    let body = match service::introspect(&state, &authority, client, token).await? {
        Introspection::UnknownClient => return Err(refused()),
        Introspection::Inactive => IntrospectionResponse::inactive(),
        Introspection::Access { claims, cnf } => {
            let claims = *claims;
            IntrospectionResponse {
                active: true,
                // RFC 9449 §6.2: a bound token is of type DPoP.
                token_type: Some(if cnf.is_some() { "DPoP" } else { "Bearer" }),
                role: Some(claims.role()),
                sid: claims.subject.sid().map(str::to_owned),
                email: claims.subject.email().map(str::to_owned),
                client_id: Some(claims.client_id),
                sub: Some(claims.sub),
                exp: Some(claims.exp),
                iat: Some(claims.iat),
                iss: Some(claims.iss),
                aud: Some(claims.aud),
                jti: Some(claims.jti),
                cnf,
            }
        }
        Introspection::Refresh {
            client_id,
            sub,
            sid,
            exp,
        } => IntrospectionResponse {
            active: true,
            token_type: Some("refresh_token"),
            client_id: Some(client_id),
            sub: Some(sub),
            exp: Some(exp),
            sid: Some(sid),
            ..IntrospectionResponse::inactive()
        },
    };
    Ok(HttpResponse::Ok()
        // RFC 7662 §2.2 and API.md §3: the answer describes a live credential.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body))
}
