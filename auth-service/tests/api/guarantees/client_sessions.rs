//! No session outlives its client: `client delete` ends the sessions the
//! client opened, and a login that was still opening one for it when the
//! client went either lands before the delete (and is ended by it) or
//! finds the client gone and stores nothing.

use std::sync::{Arc, Barrier};

use auth_service::db::clients::ClientRow;
use auth_service::db::models::{NewRefreshToken, NewSession, NewUser};
use auth_service::db::schema::sessions;
use auth_service::db::{self, DbPool};
use diesel::prelude::*;

use super::{migrated, on};
use crate::both_backends;
use crate::helpers::*;

fn insert_user(pool: &DbPool) -> String {
    let user_id = uuid::Uuid::new_v4().to_string();
    on(pool, |conn| {
        db::users::insert(
            conn,
            &NewUser {
                id: &user_id,
                email: &format!("{user_id}@example.com"),
                password_hash: "not a hash",
                role: "user",
                created_at: db::now(),
            },
        )
    });
    user_id
}

fn insert_client(pool: &DbPool) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let row = ClientRow {
        id: id.clone(),
        name: "racing".into(),
        secret_hash: "not a hash".into(),
        created_at: db::now(),
    };
    on(pool, |conn| db::clients::insert(conn, &row));
    id
}

/// Opens a session of `user_id` for `client_id`; whether it was stored.
fn open_for(pool: &DbPool, user_id: &str, client_id: &str) -> bool {
    let (session_id, token) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let now = db::now();
    on(pool, |conn| {
        db::sessions::open(
            conn,
            &NewSession {
                id: &session_id,
                user_id,
                created_at: now,
                last_used_at: now,
                expires_at: now + chrono::Duration::days(1),
                user_agent: None,
                ip: None,
                client_id: Some(client_id),
                dpop_jkt: None,
            },
            &NewRefreshToken {
                token_hash: &token,
                session_id: &session_id,
                issued_at: now,
                expires_at: now + chrono::Duration::days(1),
            },
        )
    })
}

/// Sessions of `client_id` that are not ended.
fn live_sessions_of(pool: &DbPool, client_id: &str) -> i64 {
    on(pool, |conn| {
        sessions::table
            .filter(sessions::client_id.eq(client_id))
            .filter(sessions::ended_at.is_null())
            .count()
            .get_result(conn)
    })
}

both_backends! {
    async fn no_session_is_opened_for_a_client_that_is_gone(backend: Backend) {
        let (_db, pool) = migrated(backend);
        let user_id = insert_user(&pool);
        let client_id = insert_client(&pool);
        assert!(open_for(&pool, &user_id, &client_id));
        let stored = |pool: &DbPool| on(pool, |conn| sessions::table.count().get_result::<i64>(conn));

        let gone = uuid::Uuid::new_v4().to_string();
        let opened = open_for(&pool, &user_id, &gone);

        assert!(!opened);
        assert_eq!(stored(&pool), 1, "nothing stored for a client that is not registered");
    }

    async fn logins_racing_a_client_delete_leave_no_live_session_of_it(backend: Backend) {
        let (_db, pool) = migrated(backend);
        let user_id = insert_user(&pool);
        let client_id = insert_client(&pool);
        let logins = 6;
        let start = Arc::new(Barrier::new(logins + 1));

        let openers: Vec<_> = (0..logins)
            .map(|_| {
                let (pool, user_id, client_id, start) = (pool.clone(), user_id.clone(), client_id.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    open_for(&pool, &user_id, &client_id)
                })
            })
            .collect();
        let deleter = {
            let (pool, client_id, start) = (pool.clone(), client_id.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(auth_service::service::delete_client(&pool, &client_id))
            })
        };
        for opener in openers {
            opener.join().expect("opener");
        }
        deleter.join().expect("deleter").expect("client deleted");

        assert_eq!(live_sessions_of(&pool, &client_id), 0);
    }
}
