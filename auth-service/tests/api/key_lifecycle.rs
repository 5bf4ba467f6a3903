//! Signing keys over their life (API.md §6): revocation with `keys revoke`,
//! rotation by the running instances every `KEY_ROTATION_INTERVAL`, and
//! pruning by what the database records rather than by the settings of
//! whoever runs `keys rotate`.

use std::time::{Duration, Instant};

use auth_service::db::schema::signing_keys;
use diesel::prelude::*;

use crate::both_backends;
use crate::cli::{auth_service, stderr};
use crate::helpers::*;
use crate::keys::{jwks_kids, kid};

/// The stored keys' ids and creation times, oldest first.
fn stored_keys(db: &TestDb) -> Vec<(String, chrono::NaiveDateTime)> {
    let pool = auth_service::db::connect(&db.url).expect("pool");
    auth_service::db::with_connection(&pool, |conn| {
        signing_keys::table
            .select((signing_keys::kid, signing_keys::created_at))
            .order(signing_keys::created_at.asc())
            .load(conn)
            .map_err(|e| e.to_string())
    })
    .expect("read the signing keys")
}

/// Moves a key's creation back in time, as if it had been made `ago`.
fn backdate(db: &TestDb, kid: &str, ago: chrono::Duration) {
    let pool = auth_service::db::connect(&db.url).expect("pool");
    auth_service::db::with_connection(&pool, |conn| {
        diesel::update(signing_keys::table.filter(signing_keys::kid.eq(kid)))
            .set(signing_keys::created_at.eq(auth_service::db::now() - ago))
            .execute(conn)
            .map_err(|e| e.to_string())
    })
    .expect("backdate the key");
}

both_backends! {
    async fn a_revoked_key_leaves_the_jwks_and_its_tokens_are_refused(backend: Backend) {
        // The instance never reloads its keys on its own here: what happens
        // at once must not wait for the periodic reload.
        let app = spawn_app_with(backend, |s| s.key_reload_interval = Duration::from_secs(3600)).await;
        let resource = spawn_resource_configured(
            &app.url("/.well-known/jwks.json"),
            resource_service::jwks::JwksOptions::default(),
            |s| s.jwks_refresh_interval = Duration::from_secs(1),
        )
        .await;
        let email = email();
        let tokens = app.register_and_login(&email).await;
        let revoked = kid(&tokens.access);
        assert_eq!(app.get_me(&tokens.access).await.status(), 200);
        assert_eq!(resource.get_me(&tokens.access).await.status(), 200);

        let output = auth_service(&app.db, &["keys", "revoke", "--kid", &revoked], None, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let revoked_at = Instant::now();

        // At once: the key leaves the JWKS (a new one signs in its place)...
        let kids = jwks_kids(&app).await;
        assert!(!kids.contains(&revoked), "{kids:?}");
        assert_eq!(kids.len(), 1, "{kids:?}");
        // ...the auth-service refuses its tokens...
        assert_error(app.get_me(&tokens.access).await, 401, "invalid_token").await;
        // ...and nothing signs with it again.
        let next = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        assert_eq!(kid(&next.access), kids[0]);
        assert_eq!(app.get_me(&next.access).await.status(), 200);

        // The resource-service drops it within its JWKS_REFRESH_INTERVAL.
        while resource.get_me(&tokens.access).await.status() != 401 {
            assert!(
                revoked_at.elapsed() < Duration::from_secs(3),
                "the resource-service still accepts a revoked key's token"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(resource.get_me(&next.access).await.status(), 200);
    }

    async fn the_refusal_of_a_revoked_keys_token_is_an_answer_like_any_other(backend: Backend) {
        // Refused before its handler runs, it still goes through the shared
        // middleware: it has a request id, no CORS header for an origin
        // nobody listed, and it is counted, so replayed tokens of a revoked
        // key leave a trace.
        let app = spawn_app(backend).await;
        let tokens = app.register_and_login(&email()).await;
        let revoked = kid(&tokens.access);
        let output = auth_service(&app.db, &["keys", "revoke", "--kid", &revoked], None, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let series = "http_requests_total{method=\"GET\",route=\"/auth/me\",status=\"401\"}";

        let response = app
            .client
            .get(app.url("/auth/me"))
            .bearer_auth(&tokens.access)
            .header("origin", "https://elsewhere.example")
            .header("x-request-id", "replayed-1")
            .send()
            .await
            .expect("request");
        assert_eq!(response.headers().get("x-request-id").map(|v| v.as_bytes()), Some(&b"replayed-1"[..]));
        for cors in ["access-control-allow-origin", "access-control-allow-credentials", "access-control-expose-headers"] {
            assert!(response.headers().get(cors).is_none(), "{cors}: {:?}", response.headers());
        }
        assert!(response.headers().contains_key("www-authenticate"));
        assert_error(response, 401, "invalid_token").await;
        assert_eq!(app.counter(series).await, 1.0);
    }

    async fn revoking_an_unknown_key_fails_with_one_line(backend: Backend) {
        let app = spawn_app(backend).await;
        let before = jwks_kids(&app).await;
        // A kid is base64url, so it may begin with '-': both spellings take it
        // as the value, as an operator copies it out of the JWKS.
        for args in [["keys", "revoke", "--kid=-no-such-key"].as_slice(), &["keys", "revoke", "--kid", "-no-such-key"]] {
            let output = auth_service(&app.db, args, None, &[]);
            assert!(!output.status.success());
            let line = stderr(&output);
            assert!(line.contains("no signing key with kid \"-no-such-key\""), "{args:?}: {line}");
            assert_eq!(line.trim().lines().count(), 1, "{line}");
        }
        assert_eq!(jwks_kids(&app).await, before);
    }

    async fn replicas_rotate_by_themselves_one_key_per_interval(backend: Backend) {
        let every = Duration::from_secs(1);
        let first = spawn_app_with(backend, |s| {
            s.key_rotation_interval = every;
            s.key_reload_interval = Duration::from_millis(50);
        })
        .await;
        let second = spawn_on(first.db.clone(), first.settings.clone()).await;
        tokio::time::sleep(Duration::from_millis(3500)).await;
        first.stop().await;
        second.stop().await;

        let keys = stored_keys(&first.db);
        assert!((3..=5).contains(&keys.len()), "{keys:?}");
        for pair in keys.windows(2) {
            let gap = pair[1].1 - pair[0].1;
            assert!(
                gap >= chrono::Duration::from_std(every).expect("interval"),
                "two keys within one interval: {keys:?}"
            );
        }
    }

    async fn a_rotation_run_with_another_ttl_keeps_keys_whose_tokens_live(backend: Backend) {
        // The server signs with the default 15-minute TTL.
        let app = spawn_app(backend).await;
        let resource = spawn_resource(&app).await;
        let tokens = app.register_and_login(&email()).await;
        let live = kid(&tokens.access);
        // Its successor was made five minutes ago: the server's tokens of
        // the old key live until twelve minutes from now (margin 2 minutes).
        let tiny = [("ACCESS_TOKEN_TTL", "1s")];
        let output = auth_service(&app.db, &["keys", "rotate"], None, &tiny);
        assert!(output.status.success(), "{}", stderr(&output));
        backdate(&app.db, &live, chrono::Duration::minutes(10));
        let successor = stored_keys(&app.db).last().expect("a key").0.clone();
        backdate(&app.db, &successor, chrono::Duration::minutes(5));

        // A command line whose own ACCESS_TOKEN_TTL is a second keeps it.
        let output = auth_service(&app.db, &["keys", "rotate"], None, &tiny);
        assert!(output.status.success(), "{}", stderr(&output));
        let kept: Vec<String> = stored_keys(&app.db).into_iter().map(|(kid, _)| kid).collect();
        assert!(kept.contains(&live), "{kept:?}");
        assert!(jwks_kids(&app).await.contains(&live));
        assert_eq!(resource.get_me(&tokens.access).await.status(), 200);
    }
}
