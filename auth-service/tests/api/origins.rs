//! Cookie requests from other sites (API.md §1): `SameSite=Strict` does not
//! stop sibling subdomains or other ports of one host, so a refresh or
//! logout that takes its token from the cookie must come from the issuer's
//! origin or a listed one. A token in the body is not ambient authority.

use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

const LISTED: &str = "https://app.example.com";

async fn spawn(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| {
        s.cors_allowed_origins = vec![LISTED.to_owned()]
    })
    .await
}

/// A request with the refresh token in the cookie only, and these headers.
async fn with_cookie(
    app: &TestApp,
    path: &str,
    refresh_token: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header("cookie", format!("refresh_token={refresh_token}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request")
}

both_backends! {
    async fn a_cookie_refresh_from_a_foreign_origin_is_refused_and_the_token_stays_usable(backend: Backend) {
        let app = spawn(backend).await;
        let tokens = app.register_and_login(&email()).await;

        for foreign in ["https://evil.example", "http://auth.test:8443", "https://auth.test", "null", "not an origin"] {
            let refused = with_cookie(&app, "/auth/refresh", &tokens.refresh, &[("origin", foreign)]).await;
            assert!(refused.headers().get("set-cookie").is_none(), "{foreign}: the cookie is left alone");
            assert_error(refused, 403, "invalid_origin").await;
        }

        // Nothing was rotated: the token works, once.
        assert_eq!(app.post_refresh(&tokens.refresh).await.status(), 200);
    }

    async fn a_cookie_logout_from_a_foreign_origin_is_refused_and_the_session_stays(backend: Backend) {
        let app = spawn(backend).await;
        let tokens = app.register_and_login(&email()).await;

        let refused = with_cookie(&app, "/auth/logout", &tokens.refresh, &[("origin", "https://evil.example")]).await;
        assert!(refused.headers().get("set-cookie").is_none(), "the cookie is not cleared");
        assert_error(refused, 403, "invalid_origin").await;

        let sessions: serde_json::Value = app.get_sessions(&tokens.access).await.json().await.expect("json");
        assert_eq!(sessions.as_array().map(Vec::len), Some(1), "{sessions}");
        assert_eq!(app.post_refresh(&tokens.refresh).await.status(), 200);
    }

    async fn cookie_requests_from_the_issuer_a_listed_origin_or_no_origin_work(backend: Backend) {
        let app = spawn(backend).await;
        let mut refresh = app.register_and_login(&email()).await.refresh;

        for headers in [
            vec![("origin", ISSUER)],
            vec![("origin", LISTED)],
            vec![("origin", "HTTP://AUTH.TEST:80")],
            vec![],
            vec![("origin", ISSUER), ("sec-fetch-site", "same-origin")],
            vec![("origin", LISTED), ("sec-fetch-site", "same-site")],
        ] {
            let refreshed = with_cookie(&app, "/auth/refresh", &refresh, &headers).await;
            assert_eq!(refreshed.status(), 200, "{headers:?}");
            refresh = Tokens::from_response(refreshed).await.refresh;
        }

        let logged_out = with_cookie(&app, "/auth/logout", &refresh, &[("origin", ISSUER)]).await;
        assert_eq!(logged_out.status(), 204);
        assert_error(app.post_refresh(&refresh).await, 401, "invalid_grant").await;
    }

    async fn a_cookie_request_marked_cross_site_is_refused(backend: Backend) {
        let app = spawn(backend).await;
        let tokens = app.register_and_login(&email()).await;

        for headers in [
            vec![("sec-fetch-site", "cross-site")],
            vec![("origin", ISSUER), ("sec-fetch-site", "cross-site")],
        ] {
            for path in ["/auth/refresh", "/auth/logout"] {
                let refused = with_cookie(&app, path, &tokens.refresh, &headers).await;
                assert_error(refused, 403, "invalid_origin").await;
            }
        }

        assert_eq!(app.post_refresh(&tokens.refresh).await.status(), 200);
    }

    async fn a_token_in_the_body_is_not_checked_for_its_origin(backend: Backend) {
        let app = spawn(backend).await;
        let tokens = app.register_and_login(&email()).await;
        let foreign = [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")];

        let mut refresh = app.client.post(app.url("/auth/refresh")).json(&json!({ "refresh_token": tokens.refresh }));
        for (name, value) in foreign {
            refresh = refresh.header(name, value);
        }
        let refreshed = Tokens::from_response(refresh.send().await.expect("request")).await;

        let mut logout = app.client.post(app.url("/auth/logout")).json(&json!({ "refresh_token": refreshed.refresh }));
        for (name, value) in foreign {
            logout = logout.header(name, value);
        }
        assert_eq!(logout.send().await.expect("request").status(), 204);
        assert_error(app.post_refresh(&refreshed.refresh).await, 401, "invalid_grant").await;
    }
}
