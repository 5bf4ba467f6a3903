//! API.md §2: expired refresh tokens, sessions past their history and login
//! failures past their window are purged, in bounded batches, so no table
//! grows without bound; what is inside its horizon stays.

use auth_service::db::models::{NewRefreshToken, NewSession, NewUser};
use auth_service::db::schema::{login_failures, refresh_tokens, sessions};
use auth_service::db::{self, purge, AnyConnection, DbPool};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{migrated, on};
use crate::both_backends;
use crate::helpers::Backend;

const HISTORY: Duration = Duration::days(30);
const WINDOW: Duration = Duration::minutes(15);

/// A user with one session that expires at `expires_at`, whose first
/// refresh token expires at `token_expires_at`; the session's id.
fn session(pool: &DbPool, expires_at: NaiveDateTime, token_expires_at: NaiveDateTime) -> String {
    let (user_id, session_id) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let created_at = expires_at.min(token_expires_at) - Duration::days(1);
    on(pool, |conn| {
        db::users::insert(
            conn,
            &NewUser {
                id: &user_id,
                email: &format!("{user_id}@example.com"),
                password_hash: "not a hash",
                role: "user",
                created_at,
            },
        )?;
        db::sessions::open(
            conn,
            &NewSession {
                id: &session_id,
                user_id: &user_id,
                created_at,
                last_used_at: created_at,
                expires_at,
                user_agent: None,
                ip: None,
                client_id: None,
                dpop_jkt: None,
            },
            &token(
                &session_id,
                created_at,
                token_expires_at,
                &uuid::Uuid::new_v4().to_string(),
            ),
        )
    });
    session_id
}

fn token<'a>(
    session_id: &'a str,
    issued_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    hash: &'a str,
) -> NewRefreshToken<'a> {
    NewRefreshToken {
        token_hash: hash,
        session_id,
        issued_at,
        expires_at,
    }
}

/// Adds a refresh token to a session, used or not.
fn add_token(pool: &DbPool, session_id: &str, expires_at: NaiveDateTime, used: bool) -> String {
    let hash = uuid::Uuid::new_v4().to_string();
    on(pool, |conn| {
        diesel::insert_into(refresh_tokens::table)
            .values(&token(
                session_id,
                expires_at - Duration::days(1),
                expires_at,
                &hash,
            ))
            .execute(conn)?;
        if used {
            diesel::update(refresh_tokens::table.find(&hash))
                .set(refresh_tokens::used_at.eq(expires_at - Duration::hours(1)))
                .execute(conn)?;
        }
        Ok(())
    });
    hash
}

fn token_hashes(conn: &mut AnyConnection) -> QueryResult<Vec<String>> {
    refresh_tokens::table
        .select(refresh_tokens::token_hash)
        .load(conn)
}

fn session_ids(conn: &mut AnyConnection) -> QueryResult<Vec<String>> {
    sessions::table.select(sessions::id).load(conn)
}

fn failure_count(conn: &mut AnyConnection) -> QueryResult<i64> {
    login_failures::table.count().get_result(conn)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

both_backends! {
    async fn refresh_tokens_go_once_past_their_own_expiry_used_or_not(backend: Backend) {
        let (_db, pool) = migrated(backend);
        let now = db::now();
        let (past, future) = (now - Duration::seconds(1), now + Duration::hours(1));
        let sid = session(&pool, now + Duration::days(7), future);
        let [expired_unused, expired_used, live_unused, live_used] = [
            add_token(&pool, &sid, past, false),
            add_token(&pool, &sid, past, true),
            add_token(&pool, &sid, future, false),
            // A used token still inside its lifetime is what reuse detection reads.
            add_token(&pool, &sid, future, true),
        ];
        let before = on(&pool, token_hashes).len();

        let deleted = on(&pool, |conn| purge::expired_refresh_tokens(conn, now, purge::BATCH));

        assert_eq!(deleted, 2);
        let left = on(&pool, token_hashes);
        assert_eq!(left.len(), before - 2);
        assert!(!left.contains(&expired_unused) && !left.contains(&expired_used));
        assert!(left.contains(&live_unused) && left.contains(&live_used));
    }

    async fn sessions_go_with_their_tokens_once_ended_longer_than_the_history_ago(backend: Backend) {
        let (_db, pool) = migrated(backend);
        let now = db::now();
        let horizon = now - HISTORY;
        let long = now + Duration::days(7);
        let revoked_long_ago = session(&pool, long, long);
        let revoked_lately = session(&pool, long, long);
        let over_long_ago = session(&pool, horizon - Duration::seconds(1), horizon - Duration::seconds(1));
        let over_lately = session(&pool, horizon + Duration::hours(1), horizon + Duration::hours(1));
        let active = session(&pool, long, long);
        on(&pool, |conn| {
            db::sessions::revoke(conn, &revoked_long_ago, horizon - Duration::seconds(1))?;
            db::sessions::revoke(conn, &revoked_lately, horizon + Duration::hours(1))
        });

        let deleted = on(&pool, |conn| purge::ended_sessions(conn, horizon, purge::BATCH));

        assert_eq!(deleted, 2);
        assert_eq!(
            sorted(on(&pool, session_ids)),
            sorted(vec![revoked_lately.clone(), over_lately.clone(), active.clone()])
        );
        let orphans: i64 = on(&pool, |conn| {
            refresh_tokens::table
                .filter(refresh_tokens::session_id.eq_any([&revoked_long_ago, &over_long_ago]))
                .count()
                .get_result(conn)
        });
        assert_eq!(orphans, 0, "the tokens of a purged session go with it");
        assert_eq!(on(&pool, token_hashes).len(), 3);
    }

    async fn login_failures_go_once_past_the_window(backend: Backend) {
        let (_db, pool) = migrated(backend);
        let now = db::now();
        let window_start = now - WINDOW;
        for (ip, at) in [
            ("192.0.2.1", window_start - Duration::seconds(1)),
            ("192.0.2.2", window_start),
            ("192.0.2.3", now - Duration::minutes(1)),
        ] {
            on(&pool, |conn| {
                db::login_failures::record(conn, "a@example.com", ip, at, at - WINDOW)
            });
        }

        let deleted = on(&pool, |conn| purge::old_login_failures(conn, window_start, purge::BATCH));

        assert_eq!(deleted, 2);
        let left = on(&pool, |conn| {
            db::login_failures::since(conn, "a@example.com", "192.0.2.3", window_start)
        });
        assert_eq!(left.len(), 1);
        assert_eq!(on(&pool, failure_count), 1);
    }

    async fn batches_smaller_than_the_backlog_still_purge_all_of_it(backend: Backend) {
        let (_db, pool) = migrated(backend);
        let now = db::now();
        let long = now + Duration::days(7);
        let keep = session(&pool, long, long);
        for _ in 0..11 {
            add_token(&pool, &keep, now - Duration::minutes(1), true);
        }
        for _ in 0..7 {
            let ended = session(&pool, now - HISTORY - Duration::days(1), now - HISTORY - Duration::days(1));
            add_token(&pool, &ended, now + Duration::hours(1), false);
        }
        for i in 0..9 {
            let at = now - WINDOW - Duration::minutes(1);
            on(&pool, |conn| {
                db::login_failures::record(conn, "b@example.com", &format!("192.0.2.{i}"), at, at - WINDOW)
            });
        }

        let purged = on(&pool, |conn| purge::all(conn, now, HISTORY, WINDOW, 3));

        // The 7 ended sessions' first tokens have expired as well: 11 + 7 go
        // as tokens, and the 7 unexpired ones go with their sessions.
        assert_eq!(
            purged,
            purge::Purged { expired_sessions: 7, refresh_tokens: 18, sessions: 7, login_failures: 9 }
        );
        assert_eq!(on(&pool, session_ids), vec![keep]);
        assert_eq!(on(&pool, token_hashes).len(), 1);
        assert_eq!(on(&pool, failure_count), 0);
    }
}
