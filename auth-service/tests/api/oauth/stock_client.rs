//! A stock OAuth 2 client library (`oauth2`) driving the endpoints unchanged:
//! it reads the metadata document, then logs in, refreshes and revokes.
//!
//! RFC 7009 §2 makes clients refuse a revocation endpoint that is not HTTPS,
//! and oauth2 does. The test server speaks plain HTTP on loopback, so the
//! issuer is an https name and [`Proxy`] stands in for the TLS-terminating
//! proxy in front of it.

use oauth2::basic::{BasicClient, BasicErrorResponse, BasicErrorResponseType, BasicTokenType};
use oauth2::{
    AsyncHttpClient, AuthType, ClientId, EndpointNotSet, EndpointSet, HttpRequest,
    RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername, RevocationUrl,
    StandardRevocableToken, TokenResponse, TokenUrl,
};
use serde_json::Value;

use super::METADATA;
use crate::both_backends;
use crate::helpers::*;

/// The issuer a client sees through a TLS-terminating proxy.
const PUBLIC_ISSUER: &str = "https://auth.test";

/// oauth2's client with the token and revocation endpoints set.
type OAuthClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet, EndpointSet>;

/// The transport oauth2 is given: sends what the client addressed to
/// [`PUBLIC_ISSUER`] to the test server.
struct Proxy {
    inner: oauth2::reqwest::Client,
    origin: String,
}

impl<'c> AsyncHttpClient<'c> for Proxy {
    type Error = <oauth2::reqwest::Client as AsyncHttpClient<'c>>::Error;
    type Future = <oauth2::reqwest::Client as AsyncHttpClient<'c>>::Future;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        let target = parts.uri.to_string();
        let path = target.strip_prefix(PUBLIC_ISSUER).unwrap_or_else(|| {
            panic!("the client called {target}, not an endpoint from the metadata")
        });
        parts.uri = format!("{}{path}", self.origin).parse().expect("uri");
        self.inner.call(HttpRequest::from_parts(parts, body))
    }
}

/// A registered user and a stock client configured from the metadata.
struct StockClient {
    app: TestApp,
    email: String,
    oauth: OAuthClient,
    proxy: Proxy,
}

async fn stock_client(backend: Backend) -> StockClient {
    let app = spawn_app_with(backend, |s| s.issuer = PUBLIC_ISSUER.into()).await;
    let email = email();
    assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
    let metadata: Value = app
        .client
        .get(app.url(METADATA))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let endpoint = |name: &str| metadata[name].as_str().expect("endpoint").to_owned();
    let oauth = BasicClient::new(ClientId::new("stock-client".into()))
        // A public client: client_id in the body, no secret (RFC 6749 §2.3).
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::new(endpoint("token_endpoint")).expect("token url"))
        .set_revocation_url(
            RevocationUrl::new(endpoint("revocation_endpoint")).expect("revocation url"),
        );
    // oauth2's own advice: no redirects, so a token request cannot be bounced elsewhere.
    let inner = oauth2::reqwest::Client::builder()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let proxy = Proxy {
        inner,
        origin: app.address.clone(),
    };
    StockClient {
        app,
        email,
        oauth,
        proxy,
    }
}

impl StockClient {
    async fn password_grant(
        &self,
        password: &str,
    ) -> Result<oauth2::basic::BasicTokenResponse, TokenError> {
        self.oauth
            .exchange_password(
                &ResourceOwnerUsername::new(self.email.clone()),
                &ResourceOwnerPassword::new(password.into()),
            )
            .request_async(&self.proxy)
            .await
    }

    async fn refresh_grant(
        &self,
        token: &oauth2::RefreshToken,
    ) -> Result<oauth2::basic::BasicTokenResponse, TokenError> {
        self.oauth
            .exchange_refresh_token(token)
            .request_async(&self.proxy)
            .await
    }

    /// A password grant with the right password, which must succeed.
    async fn logged_in(&self) -> oauth2::basic::BasicTokenResponse {
        self.password_grant(PASSWORD).await.expect("password grant")
    }

    async fn revoke(&self, token: StandardRevocableToken) {
        self.oauth
            .revoke_token(token)
            .expect("revocation endpoint set")
            .request_async(&self.proxy)
            .await
            .expect("revocation");
    }
}

type TokenError =
    RequestTokenError<oauth2::HttpClientError<oauth2::reqwest::Error>, BasicErrorResponse>;

fn assert_invalid_grant<T: std::fmt::Debug>(outcome: Result<T, TokenError>, when: &str) {
    match outcome {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidGrant, "{when}")
        }
        other => panic!("expected invalid_grant {when}, got {other:?}"),
    }
}

both_backends! {
    async fn a_stock_oauth2_client_is_refused_a_wrong_password_as_an_invalid_grant(backend: Backend) {
        let stock = stock_client(backend).await;

        let wrong = stock.password_grant("wrong password").await;

        assert_invalid_grant(wrong, "for a wrong password");
    }

    async fn a_stock_oauth2_client_gets_a_bearer_token_its_lifetime_and_a_refresh_token(backend: Backend) {
        let stock = stock_client(backend).await;

        let granted = stock.logged_in().await;

        assert_eq!(*granted.token_type(), BasicTokenType::Bearer);
        assert_eq!(granted.expires_in(), Some(stock.app.settings.access_token_ttl));
        assert!(granted.refresh_token().is_some(), "a refresh token");
    }

    async fn a_stock_oauth2_client_refreshes_to_a_working_access_token_and_a_new_refresh_token(backend: Backend) {
        let stock = stock_client(backend).await;
        let granted = stock.logged_in().await;
        let first_refresh = granted.refresh_token().expect("a refresh token");

        let refreshed = stock.refresh_grant(first_refresh).await.expect("refresh grant");

        let me: Value = stock.app.get_me(refreshed.access_token().secret()).await.json().await.expect("json");
        assert_eq!(me["email"], stock.email.as_str());
        let refresh = refreshed.refresh_token().expect("a new refresh token");
        assert_ne!(refresh.secret(), first_refresh.secret());
    }

    async fn a_refresh_token_revoked_by_a_stock_oauth2_client_refreshes_no_more(backend: Backend) {
        let stock = stock_client(backend).await;
        let granted = stock.logged_in().await;
        let refreshed = stock.refresh_grant(granted.refresh_token().expect("a refresh token")).await.expect("refresh grant");
        let refresh = refreshed.refresh_token().expect("a new refresh token").clone();

        stock.revoke(StandardRevocableToken::RefreshToken(refresh.clone())).await;

        assert_invalid_grant(stock.refresh_grant(&refresh).await, "after revocation");
    }

    async fn a_stock_oauth2_client_may_revoke_an_access_token(backend: Backend) {
        let stock = stock_client(backend).await;
        let granted = stock.logged_in().await;

        // RFC 7009 §2.2: the server accepts an access token too.
        stock.revoke(StandardRevocableToken::AccessToken(granted.access_token().clone())).await;
    }
}
