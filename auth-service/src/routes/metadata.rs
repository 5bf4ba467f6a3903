//! RFC 8414 authorization server metadata: what a stock OAuth client reads
//! to find the endpoints, grants and client authentication methods.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// The authorization server's metadata.
///
/// `GET /.well-known/oauth-authorization-server` (RFC 8414 §3).
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    operation_id = "oauth_metadata",
    tag = "discovery",
    responses((status = 200, description = "RFC 8414 authorization server metadata.", body = Metadata))
)]
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let issuer = state.settings.issuer.as_str();
    let base = issuer.trim_end_matches('/');
    HttpResponse::Ok().json(Metadata {
        // §3.3: identical to the issuer the client expects (and to the
        // tokens' `iss`), so it is not normalised.
        issuer,
        token_endpoint: format!("{base}/oauth/token"),
        revocation_endpoint: format!("{base}/oauth/revoke"),
        introspection_endpoint: format!("{base}/oauth/introspect"),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        // Stated, because omitting it means `authorization_code` and `implicit` (§2).
        grant_types_supported: &["password", "refresh_token", "client_credentials"],
        // Required by §2; there is no authorization endpoint, so no response type.
        response_types_supported: &[],
        token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
        revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
        // Without `none`: introspection answers authenticated clients only.
        introspection_endpoint_auth_methods_supported: &CLIENT_AUTH_METHODS[1..],
        dpop_signing_alg_values_supported: &shared_claims::dpop::ALGORITHMS,
    })
}

/// `none` for public clients, and the two methods of API.md §8.
const CLIENT_AUTH_METHODS: &[&str] = &["none", "client_secret_basic", "client_secret_post"];

/// RFC 8414 §2 authorization server metadata.
#[derive(Serialize, ToSchema)]
#[schema(as = AuthorizationServerMetadata)]
struct Metadata<'a> {
    /// `AUTH_ISSUER`, as the tokens' `iss`.
    issuer: &'a str,
    token_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    jwks_uri: String,
    /// `password`, `refresh_token` and `client_credentials`.
    #[schema(value_type = Vec<String>)]
    grant_types_supported: &'static [&'static str],
    /// Empty: there is no authorization endpoint.
    #[schema(value_type = Vec<String>)]
    response_types_supported: &'static [&'static str],
    /// `none`, `client_secret_basic`, `client_secret_post`.
    #[schema(value_type = Vec<String>)]
    token_endpoint_auth_methods_supported: &'static [&'static str],
    /// `none`, `client_secret_basic`, `client_secret_post`.
    #[schema(value_type = Vec<String>)]
    revocation_endpoint_auth_methods_supported: &'static [&'static str],
    /// `client_secret_basic`, `client_secret_post`.
    #[schema(value_type = Vec<String>)]
    introspection_endpoint_auth_methods_supported: &'static [&'static str],
    /// The `alg`s of DPoP proofs this server accepts (RFC 9449 §5.1):
    /// `ES256` and `EdDSA`.
    #[schema(value_type = Vec<String>)]
    dpop_signing_alg_values_supported: &'static [&'static str],
}
