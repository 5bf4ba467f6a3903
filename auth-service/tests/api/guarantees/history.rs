//! API.md §2 "Session history" at the database: an event commits with the
//! rotation it records or neither does; a session keeps its newest events
//! only; an expiry is recorded by the purge at the latest, and a session's
//! record and events go once its history has run out.

use auth_service::db::history::{Origin, EVENTS_KEPT};
use auth_service::db::models::{NewRefreshToken, NewSession, NewUser};
use auth_service::db::schema::{refresh_tokens, session_events, sessions};
use auth_service::db::sessions::Rotation;
use auth_service::db::{self, purge, AnyConnection, DbPool};
use chrono::{Duration, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::{migrated, on};
use crate::both_backends;
use crate::helpers::Backend;

const TTL: Duration = Duration::days(7);
const HISTORY: Duration = Duration::days(30);
const WINDOW: Duration = Duration::minutes(15);

/// A user with one session, ending at `expires_at`, whose refresh token
/// `hash` expires at `token_expires_at`; the session's id.
fn session(
    pool: &DbPool,
    hash: &str,
    expires_at: NaiveDateTime,
    token_expires_at: NaiveDateTime,
) -> String {
    let user_id = uuid::Uuid::new_v4().to_string();
    let session_id = uuid::Uuid::new_v4().to_string();
    let created_at = expires_at.min(token_expires_at) - Duration::days(1);
    on(pool, |conn| {
        let email = format!("{user_id}@example.com");
        let user = NewUser {
            id: &user_id,
            email: &email,
            password_hash: "-",
            role: "user",
            created_at,
        };
        db::users::insert(conn, &user)?;
        let session = NewSession {
            id: &session_id,
            user_id: &user_id,
            created_at,
            last_used_at: created_at,
            expires_at,
            user_agent: Some("agent"),
            ip: Some("192.0.2.1"),
            client_id: None,
            dpop_jkt: None,
        };
        let token = NewRefreshToken {
            token_hash: hash,
            session_id: &session_id,
            issued_at: created_at,
            expires_at: token_expires_at,
        };
        db::sessions::open(conn, &session, &token)
    });
    session_id
}

fn live_session(pool: &DbPool, hash: &str) -> String {
    let later = db::now() + Duration::days(7);
    session(pool, hash, later, later)
}

fn event_kinds(conn: &mut AnyConnection, session_id: &str) -> QueryResult<Vec<String>> {
    session_events::table
        .filter(session_events::session_id.eq(session_id))
        .order(session_events::id.asc())
        .select(session_events::kind)
        .load(conn)
}

/// Makes every insert into `session_events` fail, as a connection lost in
/// the middle of the rotation would.
fn cut_off_events(conn: &mut AnyConnection) -> QueryResult<()> {
    match conn {
        AnyConnection::Sqlite(c) => c.batch_execute(
            "CREATE TRIGGER cut_off BEFORE INSERT ON session_events \
             BEGIN SELECT RAISE(ABORT, 'cut off'); END;",
        ),
        AnyConnection::Postgresql(c) => c.batch_execute(
            "CREATE FUNCTION cut_off() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'cut off'; END $$; \
             CREATE TRIGGER cut_off BEFORE INSERT ON session_events \
                 FOR EACH ROW EXECUTE FUNCTION cut_off();",
        ),
    }
}

fn restore_events(conn: &mut AnyConnection) -> QueryResult<()> {
    match conn {
        AnyConnection::Sqlite(c) => c.batch_execute("DROP TRIGGER cut_off;"),
        AnyConnection::Postgresql(c) => c.batch_execute("DROP TRIGGER cut_off ON session_events;"),
    }
}

fn rotate(conn: &mut AnyConnection, presented: &str, successor: &str) -> QueryResult<Rotation> {
    db::sessions::rotate(
        conn,
        presented,
        successor,
        db::now(),
        TTL,
        Duration::zero(),
        None,
        Origin::NONE,
        None,
    )
}

both_backends! {
    async fn a_rotation_cut_off_before_its_event_leaves_neither(backend: Backend) {
        let (_db, pool) = migrated(backend);
        let sid = live_session(&pool, "first");
        on(&pool, cut_off_events);

        let failed = db::with_connection(&pool, |conn| rotate(conn, "first", "second").map_err(|e| e.to_string()));
        assert!(failed.is_err(), "the event insert failed, so the rotation must: {failed:?}");

        on(&pool, restore_events);
        let used: Option<Option<NaiveDateTime>> = on(&pool, |conn| {
            refresh_tokens::table.find("first").select(refresh_tokens::used_at).first(conn).optional()
        });
        assert_eq!(used, Some(None), "the presented token is still unused");
        let successor: i64 = on(&pool, |conn| refresh_tokens::table.find("second").count().get_result(conn));
        assert_eq!(successor, 0, "no successor was stored");
        assert_eq!(on(&pool, |conn| event_kinds(conn, &sid)), ["login"]);

        let rotated = on(&pool, |conn| rotate(conn, "first", "second"));
        assert!(matches!(rotated, Rotation::Rotated { .. }), "{rotated:?}");
        assert_eq!(on(&pool, |conn| event_kinds(conn, &sid)), ["login", "refresh"]);
    }

    async fn a_busy_session_keeps_only_its_newest_events(backend: Backend) {
        let (_db, pool) = migrated(backend);
        let sid = live_session(&pool, "t0");
        let rotations = EVENTS_KEPT + 5;
        for i in 0..rotations {
            let rotated = on(&pool, |conn| rotate(conn, &format!("t{i}"), &format!("t{}", i + 1)));
            assert!(matches!(rotated, Rotation::Rotated { .. }), "{rotated:?}");
        }

        let kinds = on(&pool, |conn| event_kinds(conn, &sid));
        assert_eq!(kinds.len() as i64, EVENTS_KEPT);
        assert!(kinds.iter().all(|k| k == "refresh"), "the login was the oldest, so it went");
    }

    async fn a_session_counts_every_event_it_recorded_even_those_dropped(backend: Backend) {
        let (_db, pool) = migrated(backend);
        let sid = live_session(&pool, "t0");
        let rotations = EVENTS_KEPT + 3;
        for i in 0..rotations {
            on(&pool, |conn| rotate(conn, &format!("t{i}"), &format!("t{}", i + 1)));
        }

        let counted: i64 = on(&pool, |conn| {
            sessions::table.find(&sid).select(sessions::event_count).get_result(conn)
        });
        assert_eq!(counted, rotations + 1, "the login and every refresh");
        assert_eq!(on(&pool, |conn| event_kinds(conn, &sid)).len() as i64, EVENTS_KEPT);
    }

    async fn the_purge_records_expiry_then_deletes_the_session_and_events_after_the_history(backend: Backend) {
        let (_db, pool) = migrated(backend);
        let now = db::now();
        let absolute = session(&pool, "a", now - Duration::hours(1), now - Duration::hours(1));
        let sliding = session(&pool, "s", now + Duration::days(7), now - Duration::hours(1));
        let live = live_session(&pool, "l");

        let purged = on(&pool, |conn| purge::all(conn, now, HISTORY, WINDOW, purge::BATCH));
        assert_eq!(purged.expired_sessions, 2);
        for sid in [&absolute, &sliding] {
            let (ended_at, reason): (Option<NaiveDateTime>, Option<String>) = on(&pool, |conn| {
                sessions::table.find(sid).select((sessions::ended_at, sessions::end_reason)).first(conn)
            });
            assert_eq!((ended_at, reason.as_deref()), (Some(now), Some("expired")));
            assert_eq!(on(&pool, |conn| event_kinds(conn, sid)), ["login", "ended"]);
        }
        let (live_ended, _): (Option<NaiveDateTime>, Option<String>) = on(&pool, |conn| {
            sessions::table.find(&live).select((sessions::ended_at, sessions::end_reason)).first(conn)
        });
        assert_eq!(live_ended, None);

        let still = on(&pool, |conn| purge::all(conn, now + HISTORY - Duration::hours(2), HISTORY, WINDOW, purge::BATCH));
        assert_eq!(still.sessions, 0, "within the history the record stays");
        let after = on(&pool, |conn| purge::all(conn, now + HISTORY + Duration::seconds(1), HISTORY, WINDOW, purge::BATCH));
        assert!(after.sessions >= 2, "{after:?}");
        for sid in [&absolute, &sliding] {
            let left: i64 = on(&pool, |conn| sessions::table.find(sid).count().get_result(conn));
            assert_eq!(left, 0);
            assert!(on(&pool, |conn| event_kinds(conn, sid)).is_empty(), "its events went with it");
        }
    }
}

/// The rows of `session_events` the current transaction has read (a
/// PostgreSQL statistics view that counts them as they happen).
fn event_rows_read(conn: &mut AnyConnection) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Read {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        rows: i64,
    }
    let AnyConnection::Postgresql(pg) = conn else {
        unreachable!("PostgreSQL only");
    };
    diesel::sql_query(
        "SELECT (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::bigint AS rows \
           FROM pg_stat_xact_user_tables WHERE relname = 'session_events'",
    )
    .get_result::<Read>(pg)
    .map(|r| r.rows)
}

/// Past the cap, a refresh drops the session's oldest event without reading
/// the others: finding the cut below the newest events read all of them on
/// every refresh, a hundred rows where the rotation itself touches a few.
#[tokio::test]
async fn a_refresh_past_the_cap_reads_no_event_but_the_one_it_drops() {
    let (_db, pool) = migrated(Backend::Postgres);
    let sid = live_session(&pool, "t0");
    for i in 0..EVENTS_KEPT {
        on(&pool, |conn| {
            rotate(conn, &format!("t{i}"), &format!("t{}", i + 1))
        });
    }

    let (rotated, read) = on(&pool, |conn| {
        conn.transaction(|conn| {
            let before = event_rows_read(conn)?;
            let rotated = rotate(conn, &format!("t{EVENTS_KEPT}"), "last")?;
            Ok((rotated, event_rows_read(conn)? - before))
        })
    });

    assert!(matches!(rotated, Rotation::Rotated { .. }), "{rotated:?}");
    assert!(read <= 2, "the trim read {read} events");
    assert_eq!(
        on(&pool, |conn| event_kinds(conn, &sid)).len() as i64,
        EVENTS_KEPT
    );
}

/// The plans PostgreSQL used for the rotation statement prepared on this
/// connection, if it is prepared: (generic, custom), one row per statement.
fn prepared_rotations(conn: &mut AnyConnection) -> QueryResult<Vec<(i64, i64)>> {
    #[derive(QueryableByName)]
    struct Plans {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        generic_plans: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        custom_plans: i64,
    }
    let AnyConnection::Postgresql(pg) = conn else {
        unreachable!("PostgreSQL only");
    };
    let plans: Vec<Plans> = diesel::sql_query(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements \
          WHERE statement LIKE 'WITH claimed AS%'",
    )
    .load(pg)?;
    Ok(plans
        .into_iter()
        .map(|p| (p.generic_plans, p.custom_plans))
        .collect())
}

/// A connection parses the rotation once and, after PostgreSQL's first few
/// custom plans, runs it on one generic plan: parsing and planning this
/// statement afresh on every refresh cost the database more than running it.
#[tokio::test]
async fn a_connection_prepares_the_rotation_once_and_keeps_its_plan() {
    const ROTATIONS: i64 = 12;
    let (_db, pool) = migrated(Backend::Postgres);
    live_session(&pool, "t0");

    let prepared = on(&pool, |conn| {
        for i in 0..ROTATIONS {
            let rotated = rotate(conn, &format!("t{i}"), &format!("t{}", i + 1))?;
            assert!(matches!(rotated, Rotation::Rotated { .. }), "{rotated:?}");
        }
        prepared_rotations(conn)
    });

    let [(generic, custom)] = prepared[..] else {
        panic!("the rotation should be prepared exactly once: {prepared:?}");
    };
    assert_eq!(
        generic + custom,
        ROTATIONS,
        "every rotation ran the prepared statement"
    );
    assert!(generic > 0, "no generic plan ({custom} custom plans)");
}
