//! API.md §3: the lockout is exact under concurrency. Of any number of
//! simultaneous attempts for one (email, client address), at most
//! `LOGIN_MAX_FAILURES` may reach the password check, so each must reserve
//! its place in one atomic step before hashing.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use auth_service::db::login_failures::{self, Reservation};
use auth_service::db::{self, DbPool};
use chrono::NaiveDateTime;

use super::{migrated, on};
use crate::helpers::Backend;

const MAX: usize = 5;
const WINDOW: chrono::Duration = chrono::Duration::minutes(15);

fn reserve(pool: &DbPool, email: &str, ip: &str) -> Reservation {
    let now = db::now();
    on(pool, |conn| {
        login_failures::reserve(conn, email, ip, now, now - WINDOW, MAX)
    })
}

/// `threads` threads reserve at once, each for the key `key(i)`; the
/// reservations made per key, in the order of `keys`.
fn race(
    pool: &DbPool,
    threads: usize,
    key: impl Fn(usize) -> (String, String),
) -> Vec<Reservation> {
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (pool, start, (email, ip)) = (pool.clone(), start.clone(), key(i));
            std::thread::spawn(move || {
                start.wait();
                reserve(&pool, &email, &ip)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("a reserving thread"))
        .collect()
}

fn reserved(outcomes: &[Reservation]) -> usize {
    outcomes
        .iter()
        .filter(|r| matches!(r, Reservation::Reserved { .. }))
        .count()
}

fn all_backends(scenario: fn(Backend)) {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        scenario(backend);
    }
}

#[test]
fn thirty_simultaneous_reservations_for_one_key_admit_exactly_max() {
    all_backends(|backend| {
        let (_db, pool) = migrated(backend);

        let outcomes = race(&pool, 30, |_| ("a@example.com".into(), "192.0.2.1".into()));

        assert_eq!(reserved(&outcomes), MAX, "{backend:?}: {outcomes:?}");
        let failures = on(&pool, |conn| {
            login_failures::since(conn, "a@example.com", "192.0.2.1", db::now() - WINDOW)
        });
        assert_eq!(failures.len(), MAX, "{backend:?}");
    });
}

#[test]
fn every_refusal_carries_the_failure_times_that_lock_the_key() {
    all_backends(|backend| {
        let (_db, pool) = migrated(backend);

        let outcomes = race(&pool, 12, |_| ("b@example.com".into(), "192.0.2.1".into()));

        for outcome in &outcomes {
            if let Reservation::Refused { failures } = outcome {
                assert_eq!(failures.len(), MAX, "{backend:?}");
                assert!(failures.is_sorted(), "{backend:?}: oldest first");
            }
        }
        assert_eq!(
            outcomes.len() - reserved(&outcomes),
            12 - MAX,
            "{backend:?}"
        );
    });
}

#[test]
fn keys_are_counted_apart_under_concurrency() {
    all_backends(|backend| {
        let (_db, pool) = migrated(backend);
        // Three emails from one address and one email from another address.
        let key = |i: usize| match i % 4 {
            3 => ("a@example.com".to_owned(), "192.0.2.2".to_owned()),
            n => (format!("{n}@example.com"), "192.0.2.1".to_owned()),
        };

        let outcomes = race(&pool, 40, key);

        for k in 0..4 {
            let of_key: Vec<_> = outcomes
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 4 == k)
                .map(|(_, r)| r.clone())
                .collect();
            assert_eq!(reserved(&of_key), MAX, "{backend:?}, key {k}");
        }
    });
}

#[test]
fn a_reservation_given_back_frees_its_place() {
    all_backends(|backend| {
        let (_db, pool) = migrated(backend);
        let ids: Vec<String> = (0..MAX)
            .map(|_| match reserve(&pool, "c@example.com", "192.0.2.1") {
                Reservation::Reserved { id } => id,
                refused => panic!("{backend:?}: {refused:?}"),
            })
            .collect();
        assert!(matches!(
            reserve(&pool, "c@example.com", "192.0.2.1"),
            Reservation::Refused { .. }
        ));

        assert_eq!(
            on(&pool, |conn| login_failures::give_back(conn, &ids[0])),
            1
        );

        assert!(matches!(
            reserve(&pool, "c@example.com", "192.0.2.1"),
            Reservation::Reserved { .. }
        ));
        assert_eq!(
            on(&pool, |conn| login_failures::give_back(conn, &ids[0])),
            0
        );
    });
}

#[test]
fn failures_before_the_window_do_not_count_and_are_dropped() {
    all_backends(|backend| {
        let (_db, pool) = migrated(backend);
        let now = db::now();
        let old: NaiveDateTime = now - WINDOW - chrono::Duration::seconds(1);
        for _ in 0..MAX {
            on(&pool, |conn| {
                login_failures::record(conn, "d@example.com", "192.0.2.1", old, old - WINDOW)
            });
        }

        let outcome = on(&pool, |conn| {
            login_failures::reserve(conn, "d@example.com", "192.0.2.1", now, now - WINDOW, MAX)
        });

        assert!(
            matches!(outcome, Reservation::Reserved { .. }),
            "{backend:?}"
        );
        let kept = on(&pool, |conn| {
            login_failures::since(conn, "d@example.com", "192.0.2.1", old - WINDOW)
        });
        assert_eq!(kept, vec![now], "{backend:?}");
    });
}

/// PostgreSQL serialises reservers of one key with a lock on that key only:
/// while one transaction holds a key, another key is reserved at once and
/// the same key waits.
#[test]
fn on_postgres_a_held_key_blocks_only_its_own_reservers() {
    let (_db, pool) = migrated(Backend::Postgres);
    let (held, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let holder = {
        let (pool, held, release) = (pool.clone(), held.clone(), release.clone());
        std::thread::spawn(move || {
            on(&pool, |conn| {
                use diesel::Connection;
                conn.transaction(|conn| {
                    let now = db::now();
                    login_failures::reserve(
                        conn,
                        "e@example.com",
                        "192.0.2.1",
                        now,
                        now - WINDOW,
                        MAX,
                    )?;
                    held.wait();
                    release.wait();
                    Ok(())
                })
            })
        })
    };
    held.wait();

    let (sent, other_key) = std::sync::mpsc::channel();
    {
        let pool = pool.clone();
        std::thread::spawn(move || sent.send(reserve(&pool, "f@example.com", "192.0.2.1")));
    }
    let (sent, same_key) = std::sync::mpsc::channel();
    {
        let pool = pool.clone();
        std::thread::spawn(move || sent.send(reserve(&pool, "e@example.com", "192.0.2.1")));
    }

    let other = other_key.recv_timeout(Duration::from_secs(5));
    assert!(
        matches!(other, Ok(Reservation::Reserved { .. })),
        "{other:?}"
    );
    assert!(
        same_key.recv_timeout(Duration::from_millis(500)).is_err(),
        "a reserver of the held key must wait for it"
    );
    release.wait();
    holder.join().expect("the holding thread");
    let same = same_key.recv_timeout(Duration::from_secs(5));
    assert!(matches!(same, Ok(Reservation::Reserved { .. })), "{same:?}");
}
