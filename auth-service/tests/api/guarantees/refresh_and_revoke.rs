//! A refresh racing the end of its session (logout, `DELETE
//! /auth/sessions/{id}`, logout-all, a password change) never leaves a
//! usable token for the ended session, with a reuse grace or without: either
//! the refresh commits first and its successor dies with the session, or the
//! end commits first and the refresh is refused.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use auth_service::db::history::Origin;
use auth_service::db::models::{NewRefreshToken, NewSession, NewUser};
use auth_service::db::schema::refresh_tokens;
use auth_service::db::sessions::{self, Rotation};
use auth_service::db::{self, DbPool};
use diesel::prelude::*;
use serde_json::{json, Value};

use super::{migrated, on};
use crate::both_backends;
use crate::helpers::*;

const TTL: chrono::Duration = chrono::Duration::days(1);
const GRACE: chrono::Duration = chrono::Duration::seconds(30);

// --- the interleaving itself, held open on purpose ---

/// A user with a session whose first refresh token hashes to `first`.
fn open_session(pool: &DbPool, first: &str) -> String {
    let (user_id, session_id) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let now = db::now();
    on(pool, |conn| {
        db::users::insert(
            conn,
            &NewUser {
                id: &user_id,
                email: &format!("{user_id}@example.com"),
                password_hash: "not a hash",
                role: "user",
                created_at: now,
            },
        )?;
        sessions::open(
            conn,
            &NewSession {
                id: &session_id,
                user_id: &user_id,
                created_at: now,
                last_used_at: now,
                expires_at: now + TTL * 7,
                user_agent: None,
                ip: None,
                client_id: None,
                dpop_jkt: None,
            },
            &NewRefreshToken {
                token_hash: first,
                session_id: &session_id,
                issued_at: now,
                expires_at: now + TTL,
            },
        )
    });
    session_id
}

/// Revokes the session in a transaction that stays open until the rotation
/// of `presented` has started and is waiting for it, then commits; what the
/// rotation answered.
fn rotate_while_a_revoke_commits(pool: &DbPool, session_id: &str, presented: &str) -> Rotation {
    let (revoked, commit) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let holder = {
        let (pool, session_id) = (pool.clone(), session_id.to_owned());
        let (revoked, commit) = (revoked.clone(), commit.clone());
        std::thread::spawn(move || {
            on(&pool, |conn| {
                db::write_transaction(conn, |conn| {
                    sessions::revoke(conn, &session_id, db::now())?;
                    revoked.wait();
                    commit.wait();
                    Ok(())
                })
            })
        })
    };
    revoked.wait();
    let rotation = {
        let (pool, presented) = (pool.clone(), presented.to_owned());
        std::thread::spawn(move || {
            on(&pool, |conn| {
                sessions::rotate(
                    conn,
                    &presented,
                    "successor",
                    db::now(),
                    TTL,
                    GRACE,
                    None,
                    Origin::NONE,
                    None,
                )
            })
        })
    };
    // Long enough for the rotation to reach the session row (PostgreSQL) or
    // the write lock (SQLite) and wait there.
    std::thread::sleep(Duration::from_millis(300));
    commit.wait();
    holder.join().expect("the revoking thread");
    rotation.join().expect("the rotating thread")
}

fn stored(pool: &DbPool, hash: &str) -> bool {
    on(pool, |conn| {
        refresh_tokens::table
            .find(hash)
            .count()
            .get_result::<i64>(conn)
    }) == 1
}

both_backends! {
    async fn a_live_token_presented_while_a_revoke_commits_is_refused(backend: Backend) {
        let (_db, pool) = migrated(backend);
        let session_id = open_session(&pool, "first");

        let rotation = rotate_while_a_revoke_commits(&pool, &session_id, "first");

        assert!(matches!(rotation, Rotation::Invalid), "{rotation:?}");
        assert!(!stored(&pool, "successor"), "no successor for an ended session");
    }

    async fn a_token_within_its_grace_presented_while_a_revoke_commits_is_refused(backend: Backend) {
        let (_db, pool) = migrated(backend);
        let session_id = open_session(&pool, "first");
        let rotated = on(&pool, |conn| sessions::rotate(conn, "first", "second", db::now(), TTL, GRACE, None, Origin::NONE, None));
        assert!(matches!(rotated, Rotation::Rotated { .. }), "{rotated:?}");

        // "first" is used, so this takes the grace path, which reads the
        // session after replacing "second".
        let rotation = rotate_while_a_revoke_commits(&pool, &session_id, "first");

        assert!(matches!(rotation, Rotation::Invalid), "{rotation:?}");
        assert!(!stored(&pool, "successor"), "no successor for an ended session");
    }
}

// --- many rounds of real requests against a real server ---

#[derive(Debug, Clone, Copy)]
enum Ending {
    Logout,
    DeleteSession,
    LogoutAll,
    PasswordChange,
}

const ROUNDS: usize = 6;

/// Ends the racing session the way `ending` says, `other` being a second
/// session of the same user; the status of that request.
async fn end(app: &TestApp, ending: Ending, racing: &Tokens, other: &Tokens) -> u16 {
    let response = match ending {
        Ending::Logout => app.post_logout(&racing.refresh).await,
        Ending::DeleteSession => app
            .client
            .delete(app.url(&format!("/auth/sessions/{}", session_id_of(&racing.access))))
            .bearer_auth(&other.access)
            .send()
            .await
            .expect("request"),
        Ending::LogoutAll => app.post_logout_all(&other.access).await,
        Ending::PasswordChange => app
            .client
            .post(app.url("/auth/password"))
            .bearer_auth(&other.access)
            .json(&json!({ "current_password": PASSWORD, "new_password": "a new and longer passphrase" }))
            .send()
            .await
            .expect("request"),
    };
    response.status().as_u16()
}

/// One round: a fresh session's refresh token(s) presented at the same
/// moment as the session ends; then nothing of the session may refresh.
async fn round(app: &TestApp, ending: Ending, grace: bool) {
    let email = email();
    let racing = app.register_and_login(&email).await;
    let other = Tokens::from_response(app.post_login(&email, PASSWORD).await).await;
    let session_id = session_id_of(&racing.access);
    let presented = if grace {
        // The rotated token, three times: the grace path. (Its successor is
        // not presented: if that won, the others would be reuse, which ends
        // the session before the request under test can.)
        Tokens::from_response(app.post_refresh(&racing.refresh).await).await;
        vec![racing.refresh.clone(); 3]
    } else {
        vec![racing.refresh.clone()]
    };

    let refreshes = futures_util::future::join_all(presented.iter().map(|token| async move {
        let response = app.post_refresh(token).await;
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.expect("a JSON body"))
    }));
    let (answers, ended) = tokio::join!(refreshes, end(app, ending, &racing, &other));

    assert_eq!(ended, 204, "{ending:?}");
    let stored = &app.stored_sessions()[&session_id];
    assert!(stored.revoked, "{ending:?}: the session is ended");
    assert!(
        stored.tokens.iter().filter(|t| t.is_live()).count() <= 1,
        "{ending:?}: one current token at most, {stored:?}"
    );
    let issued = answers
        .iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, body)| {
            body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned()
        });
    for token in issued.chain(presented) {
        let response = app.post_refresh(&token).await;
        assert_eq!(
            response.status(),
            401,
            "{ending:?}, grace {grace}: a token of an ended session refreshed"
        );
    }
}

async fn rounds(backend: Backend, ending: Ending) {
    for grace in [false, true] {
        let app = spawn_app_with(backend, |settings| {
            settings.refresh_reuse_grace = if grace {
                Duration::from_secs(30)
            } else {
                Duration::ZERO
            };
        })
        .await;
        for _ in 0..ROUNDS {
            round(&app, ending, grace).await;
        }
    }
}

both_backends! {
    async fn a_refresh_racing_a_logout_leaves_nothing_usable(backend: Backend) {
        rounds(backend, Ending::Logout).await;
    }

    async fn a_refresh_racing_a_session_deletion_leaves_nothing_usable(backend: Backend) {
        rounds(backend, Ending::DeleteSession).await;
    }

    async fn a_refresh_racing_a_logout_everywhere_leaves_nothing_usable(backend: Backend) {
        rounds(backend, Ending::LogoutAll).await;
    }

    async fn a_refresh_racing_a_password_change_leaves_nothing_usable(backend: Backend) {
        rounds(backend, Ending::PasswordChange).await;
    }
}
