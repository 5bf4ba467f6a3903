//! A session bound to a DPoP key, as the database decides its rotation:
//! only a request that proved the session's key moves it, and one that did
//! not changes nothing at all (API.md §7). Run on the queries directly, so
//! every path of `rotate` is reached with a key of the test's choosing.

use auth_service::db::history::Origin;
use auth_service::db::models::{NewRefreshToken, NewSession, NewUser};
use auth_service::db::schema::{refresh_tokens, sessions};
use auth_service::db::sessions::Rotation;
use auth_service::db::{self, AnyConnection, DbPool};
use diesel::prelude::*;

use crate::both_backends;
use crate::helpers::*;

const TTL: chrono::Duration = chrono::Duration::days(1);

/// A fresh, migrated database and a pool on it.
fn migrated(backend: Backend) -> (TestDb, DbPool) {
    let test_db = TestDb::new(backend);
    let pool = db::connect(&test_db.url).expect("pool");
    db::with_connection(&pool, db::migrate).expect("migrations");
    (test_db, pool)
}

fn on<T>(pool: &DbPool, f: impl FnOnce(&mut AnyConnection) -> QueryResult<T>) -> T {
    db::with_connection(pool, |conn| f(conn).map_err(|e| e.to_string())).expect("query")
}

/// A session bound to `jkt` (or unbound), whose first refresh token hashes
/// to `first`.
fn open_session(pool: &DbPool, first: &str, jkt: Option<&str>) -> String {
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
        db::sessions::open(
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
                dpop_jkt: jkt,
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

fn rotate(pool: &DbPool, presented: &str, successor: &str, jkt: Option<&str>) -> Rotation {
    on(pool, |conn| {
        db::sessions::rotate(
            conn,
            presented,
            successor,
            db::now(),
            TTL,
            chrono::Duration::zero(),
            None,
            Origin::NONE,
            jkt,
        )
    })
}

/// Whether the token hashing to `hash` has been used.
fn used(pool: &DbPool, hash: &str) -> bool {
    on(pool, |conn| {
        refresh_tokens::table
            .find(hash)
            .select(refresh_tokens::used_at)
            .first::<Option<chrono::NaiveDateTime>>(conn)
    })
    .is_some()
}

fn revoked(pool: &DbPool, session_id: &str) -> bool {
    on(pool, |conn| {
        sessions::table
            .find(session_id)
            .select(sessions::revoked_at)
            .first::<Option<chrono::NaiveDateTime>>(conn)
    })
    .is_some()
}

both_backends! {
    async fn a_bound_session_rotates_only_for_a_proof_by_its_key(backend: Backend) {
        let (_db, pool) = migrated(backend);
        open_session(&pool, "first", Some("key-a"));

        let without = rotate(&pool, "first", "second", None);
        let other = rotate(&pool, "first", "second", Some("key-b"));

        assert!(matches!(without, Rotation::WrongKey), "{without:?}");
        assert!(matches!(other, Rotation::WrongKey), "{other:?}");
        assert!(!used(&pool, "first"), "refused refreshes use nothing up");
        let right = rotate(&pool, "first", "second", Some("key-a"));
        match right {
            Rotation::Rotated { dpop_jkt, .. } => assert_eq!(dpop_jkt.as_deref(), Some("key-a")),
            other => panic!("expected a rotation, got {other:?}"),
        }
    }

    async fn a_used_token_of_a_bound_session_without_its_key_ends_nothing(backend: Backend) {
        let (_db, pool) = migrated(backend);
        let session_id = open_session(&pool, "first", Some("key-a"));
        let rotated = rotate(&pool, "first", "second", Some("key-a"));
        assert!(matches!(rotated, Rotation::Rotated { .. }), "{rotated:?}");

        // A thief holding an old token but not the key cannot even end the
        // session by replaying it.
        let replayed = rotate(&pool, "first", "third", None);

        assert!(matches!(replayed, Rotation::WrongKey), "{replayed:?}");
        assert!(!revoked(&pool, &session_id));
        assert!(!used(&pool, "second"));
        let next = rotate(&pool, "second", "third", Some("key-a"));
        assert!(matches!(next, Rotation::Rotated { .. }), "{next:?}");
    }

    async fn an_unbound_session_stays_unbound_whatever_the_request_proved(backend: Backend) {
        let (_db, pool) = migrated(backend);
        open_session(&pool, "first", None);

        let rotated = rotate(&pool, "first", "second", Some("key-a"));

        match rotated {
            Rotation::Rotated { dpop_jkt, .. } => assert_eq!(dpop_jkt, None),
            other => panic!("expected a rotation, got {other:?}"),
        }
        let next = rotate(&pool, "second", "third", None);
        assert!(matches!(next, Rotation::Rotated { dpop_jkt: None, .. }), "{next:?}");
    }
}
