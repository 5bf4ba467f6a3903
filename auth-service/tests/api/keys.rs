//! Signing-key rotation (API.md §6 `keys rotate`) across both services.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use crate::both_backends;
use crate::cli::{auth_service, stderr};
use crate::helpers::*;

pub(crate) fn kid(token: &str) -> String {
    let header = token.split('.').next().expect("header");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("b64")).expect("json");
    header["kid"].as_str().expect("kid").to_owned()
}

pub(crate) async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

both_backends! {
    async fn a_rotated_key_is_published_at_once_used_soon_and_the_old_one_retired_later(backend: Backend) {
        let app = spawn_app_with(backend, |s| {
            s.access_token_ttl = Duration::from_secs(4);
            s.key_reload_interval = Duration::from_millis(200);
            s.key_retirement_margin = Duration::from_secs(1);
        })
        .await;
        let resource = spawn_resource_with(
            &app.url("/.well-known/jwks.json"),
            resource_service::jwks::JwksOptions {
                min_refresh_interval: Duration::ZERO,
                ..Default::default()
            },
        )
        .await;
        let email = email();
        let before = app.register_and_login(&email).await;
        let old_kid = kid(&before.access);
        assert_eq!(jwks_kids(&app).await, std::slice::from_ref(&old_kid));

        let output = auth_service(&app.db, &["keys", "rotate"], None, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let rotated_at = Instant::now();

        // The JWKS lists the new key at once, beside the old one.
        let kids = jwks_kids(&app).await;
        assert_eq!(kids.len(), 2, "{kids:?}");
        assert_eq!(kids[1], old_kid);
        let new_kid = kids[0].clone();

        // The running instance signs with it soon (here within its reload interval).
        let mut after = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        while kid(&after.access) != new_kid {
            assert!(rotated_at.elapsed() < Duration::from_secs(10), "never switched to the new key");
            tokio::time::sleep(Duration::from_millis(100)).await;
            after = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        }

        // The resource-service, which knew only the old key, refetches for the
        // new kid and still accepts tokens of the old one.
        assert_eq!(resource.get_me(&after.access).await.status(), 200);
        assert_eq!(resource.get_me(&before.access).await.status(), 200);

        // Once every token of the old key has expired (the last it may have
        // signed, within a reload interval of the rotation, lives the TTL 4 s
        // plus the margin 1 s; its lease was raised two reload intervals
        // ahead), it leaves the JWKS...
        let retired = Duration::from_millis(6500);
        tokio::time::sleep(retired.saturating_sub(rotated_at.elapsed())).await;
        assert_eq!(jwks_kids(&app).await, std::slice::from_ref(&new_kid));
        // ...and the next rotation deletes it from the database, by what the
        // database records: the command line knows neither the server's TTL
        // nor its margin.
        let output = auth_service(&app.db, &["keys", "rotate"], None, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("1 expired key(s) removed"), "{stdout}");
    }
}

both_backends! {
    async fn replicas_starting_together_on_an_empty_database_store_one_signing_key(backend: Backend) {
        // Every replica finds no key and makes one; exactly one may be
        // stored, or replicas would sign with different keys from the start.
        for round in 0..10 {
            let db = TestDb::new(backend);
            let settings = test_settings(&db);
            let pool = auth_service::db::connect(&db.url).expect("pool");
            auth_service::db::with_connection(&pool, auth_service::db::migrate).expect("migrated");
            let starts = futures_util::future::join_all((0..4).map(|_| {
                let pool = auth_service::db::connect(&db.url).expect("pool");
                let settings = settings.clone();
                async move { auth_service::service::load_or_create_keys(&pool, &settings).await }
            }))
            .await;
            assert!(starts.iter().all(Result::is_ok), "round {round}: {starts:?}");
            let stored = auth_service::db::with_connection(&pool, |conn| {
                auth_service::db::signing_keys::all(conn).map_err(|e| e.to_string())
            })
            .expect("keys");
            let kids: Vec<_> = stored.iter().map(|k| &k.kid).collect();
            assert_eq!(kids.len(), 1, "round {round}: {kids:?}");
        }
    }
}
