//! API.md §2: a running server purges expired refresh tokens, sessions past
//! their history and login failures past their window by itself.

use std::time::{Duration, Instant};

use auth_service::db::schema::{login_failures, refresh_tokens, sessions};
use diesel::prelude::*;

use crate::both_backends;
use crate::helpers::*;

/// (sessions, refresh tokens, login failures) in the database.
fn rows(app: &TestApp) -> (i64, i64, i64) {
    let pool = auth_service::db::connect(&app.db.url).expect("pool");
    auth_service::db::with_connection(&pool, |conn| {
        let count = |r: QueryResult<i64>| r.map_err(|e| e.to_string());
        Ok((
            count(sessions::table.count().get_result(conn))?,
            count(refresh_tokens::table.count().get_result(conn))?,
            count(login_failures::table.count().get_result(conn))?,
        ))
    })
    .expect("count rows")
}

both_backends! {
    async fn a_running_server_purges_expired_rows_by_itself(backend: Backend) {
        let app = spawn_app_with(backend, |s| {
            s.refresh_token_ttl = Duration::from_secs(1);
            s.session_history_ttl = Duration::from_secs(1);
            s.login_failure_window = Duration::from_secs(1);
            s.purge_interval = Duration::from_millis(200);
        })
        .await;
        let email = email();
        // One session ended by logout, one left open with a refresh token
        // that expires in a second, and one failed login.
        let ended = app.register_and_login(&email).await;
        assert_eq!(app.post_logout(&ended.refresh).await.status(), 204);
        let _open = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
        assert_eq!(app.post_login(&email, "wrong password").await.status(), 401);
        assert_eq!(rows(&app), (2, 2, 1));

        // The open session stays (it has not ended); everything else goes.
        let started = Instant::now();
        while rows(&app) != (1, 0, 0) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "still {:?} (sessions, refresh tokens, login failures)",
                rows(&app)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
