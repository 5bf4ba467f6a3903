//! The embedded default, SQLite, under faults of its own: the process killed
//! in the middle of writes, and two processes sharing one file.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

use super::crash::{login, refresh, register, start_auth_service};
use super::describe;
use crate::helpers::*;

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

/// The lines a PRAGMA answers, read with a plain connection of its own.
fn pragma(db: &TestDb, pragma: &str) -> Vec<String> {
    let auth_service::config::DatabaseUrl::Sqlite(path) = &db.url else {
        panic!("an SQLite test database");
    };
    let mut conn = SqliteConnection::establish(&path.to_string_lossy()).expect("open the file");
    diesel::sql_query(format!("SELECT {pragma} AS line FROM pragma_{pragma}()"))
        .load::<Line>(&mut conn)
        .unwrap_or_else(|e| panic!("PRAGMA {pragma}: {e}"))
        .into_iter()
        .map(|l| l.line)
        .collect()
}

fn registered_emails(db: &TestDb) -> Vec<String> {
    use auth_service::db::schema::users;
    use diesel::QueryDsl;
    let pool = auth_service::db::connect(&db.url).expect("pool");
    auth_service::db::with_connection(&pool, |conn| {
        users::table
            .select(users::email)
            .load(conn)
            .map_err(|e| e.to_string())
    })
    .expect("users")
}

/// What one writing client had acknowledged when the process died: the
/// emails it registered and the sessions it refreshed.
type Acknowledged = (Vec<String>, Vec<String>);

/// A client that registers, logs in and refreshes, over and over, until the
/// process dies: every step a write, each acknowledged only when its answer
/// arrived whole.
fn spawn_writer(http: &reqwest::Client, base: &str) -> tokio::task::JoinHandle<Acknowledged> {
    let (http, base) = (http.clone(), base.to_owned());
    tokio::spawn(async move {
        let mut registered = Vec::new();
        let mut refreshed = Vec::new();
        loop {
            let email = email();
            match register(&http, &base, &email).await {
                Ok(r) if r.status() == 201 => registered.push(email.clone()),
                Ok(r) => panic!("a registration answered {}", describe(r).await),
                Err(_) => return (registered, refreshed),
            }
            let Ok(r) = login(&http, &base, &email).await else {
                return (registered, refreshed);
            };
            assert_eq!(r.status(), 200, "a login");
            let Ok(tokens) = r.json::<serde_json::Value>().await else {
                return (registered, refreshed);
            };
            let session = claims(tokens["access_token"].as_str().expect("access"))["sid"]
                .as_str()
                .expect("sid")
                .to_owned();
            let presented = tokens["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_owned();
            match refresh(&http, &base, &presented).await {
                Ok(r) if r.status() == 200 => {
                    if r.bytes().await.is_ok() {
                        refreshed.push(session);
                    }
                }
                Ok(r) => panic!("a refresh answered {}", describe(r).await),
                Err(_) => return (registered, refreshed),
            }
        }
    })
}

fn every_acknowledged_registration_is_stored(db: &TestDb, registered: &[String]) {
    let stored = registered_emails(db);
    for email in registered {
        assert!(
            stored.contains(email),
            "{email} was acknowledged, then lost"
        );
    }
}

fn every_acknowledged_rotation_is_stored(db: &TestDb, refreshed: &[String]) {
    let pool = auth_service::db::connect(&db.url).expect("pool");
    for session in refreshed {
        let (live, used) = auth_service::db::with_connection(&pool, |conn| {
            Ok((
                live_refresh_tokens(conn, session),
                used_refresh_tokens(conn, session),
            ))
        })
        .expect("count");
        assert_eq!(
            (live, used),
            (1, 1),
            "session {session}: its acknowledged rotation is stored"
        );
    }
}

#[tokio::test]
async fn a_kill_during_writes_leaves_an_intact_sqlite_file_with_every_acknowledged_write() {
    let db = Arc::new(TestDb::new(Backend::Sqlite));
    let (process, base) = start_auth_service(&db);
    let http = client();
    let writers: Vec<_> = (0..6).map(|_| spawn_writer(&http, &base)).collect();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        pragma(&db, "journal_mode"),
        ["wal"],
        "the file is in WAL mode"
    );

    tokio::task::spawn_blocking(move || process.kill())
        .await
        .expect("kill");
    let mut registered = Vec::new();
    let mut refreshed = Vec::new();
    for task in writers {
        let (r, s) = task.await.expect("a client panicked");
        registered.extend(r);
        refreshed.extend(s);
    }
    assert!(
        registered.len() >= 6,
        "{} registrations acknowledged",
        registered.len()
    );
    assert!(!refreshed.is_empty(), "refreshes were acknowledged");

    assert_eq!(pragma(&db, "integrity_check"), ["ok"]);
    every_acknowledged_registration_is_stored(&db, &registered);
    every_acknowledged_rotation_is_stored(&db, &refreshed);
    // The service opens the file again and serves what it held.
    let (process, base) = {
        let db = db.clone();
        tokio::task::spawn_blocking(move || start_auth_service(&db))
            .await
            .expect("restart")
    };
    for email in registered.iter().take(5) {
        Tokens::from_response(login(&http, &base, email).await.expect("request")).await;
    }
    process.stop();
}

/// How often each `"step status"` was answered, and the emails registered.
type Tally = (BTreeMap<String, usize>, Vec<String>);

/// A client that registers, logs in and refreshes at `base` until
/// `deadline`, counting the answers.
fn spawn_counted_writer(
    http: &reqwest::Client,
    base: &str,
    deadline: Instant,
) -> tokio::task::JoinHandle<Tally> {
    let (http, base) = (http.clone(), base.to_owned());
    tokio::spawn(async move {
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        let mut registered = Vec::new();
        let mut count = |what: &str, status: u16| {
            *statuses.entry(format!("{what} {status}")).or_default() += 1;
        };
        while Instant::now() < deadline {
            let email = email();
            let r = register(&http, &base, &email).await.expect("register");
            count("register", r.status().as_u16());
            if r.status() != 201 {
                continue;
            }
            registered.push(email.clone());
            let r = login(&http, &base, &email).await.expect("login");
            count("login", r.status().as_u16());
            if r.status() != 200 {
                continue;
            }
            let tokens = Tokens::from_response(r).await;
            let r = refresh(&http, &base, &tokens.refresh)
                .await
                .expect("refresh");
            count("refresh", r.status().as_u16());
        }
        (statuses, registered)
    })
}

/// Starts `n` processes on `db` at once, so they also race on the
/// migrations and the first signing key.
fn start_together(db: &Arc<TestDb>, n: usize) -> Vec<(Process, String)> {
    let starts: Vec<_> = (0..n)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || start_auth_service(&db))
        })
        .collect();
    starts
        .into_iter()
        .map(|s| s.join().expect("a process started"))
        .collect()
}

#[tokio::test]
async fn two_processes_on_one_sqlite_file_both_serve_concurrent_writes() {
    let db = Arc::new(TestDb::new(Backend::Sqlite));
    let processes = start_together(&db, 2);
    let http = client();
    let deadline = Instant::now() + Duration::from_secs(3);

    let writers: Vec<_> = (0..8)
        .map(|i| spawn_counted_writer(&http, &processes[i % 2].1, deadline))
        .collect();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    let mut registered = Vec::new();
    for task in writers {
        let (s, r) = task.await.expect("a client panicked");
        for (k, v) in s {
            *statuses.entry(k).or_default() += v;
        }
        registered.extend(r);
    }

    let failures: Vec<_> = statuses
        .iter()
        .filter(|(k, _)| !["register 201", "login 200", "refresh 200"].contains(&k.as_str()))
        .collect();
    assert!(
        failures.is_empty(),
        "every write succeeded on both processes: {statuses:?}"
    );
    assert!(registered.len() >= 8, "{statuses:?}");
    every_acknowledged_registration_is_stored(&db, &registered);
    // Each process sees what the other wrote.
    for email in registered.iter().take(3) {
        for (_, base) in &processes {
            Tokens::from_response(login(&http, base, email).await.expect("request")).await;
        }
    }
    for (process, _) in processes {
        process.stop();
    }
}

#[tokio::test]
async fn processes_started_together_on_a_new_sqlite_file_all_start_cleanly() {
    // Each round a new file, so every process races to create the schema
    // and the first signing key.
    for round in 0..4 {
        let db = Arc::new(TestDb::new(Backend::Sqlite));
        let (processes, bases): (Vec<_>, Vec<_>) = start_together(&db, 3).into_iter().unzip();
        let http = client();
        let email = email();
        assert_eq!(
            register(&http, &bases[0], &email)
                .await
                .expect("register")
                .status(),
            201
        );
        for base in &bases {
            let r = login(&http, base, &email).await.expect("login");
            assert_eq!(r.status(), 200, "round {round}: {}", describe(r).await);
        }
        for process in processes {
            let lines = process.stop();
            let complaints: Vec<_> = lines
                .iter()
                .filter(|l| l.contains("ERROR") || l.contains("database is locked"))
                .collect();
            assert!(complaints.is_empty(), "round {round}: {complaints:#?}");
        }
    }
}
