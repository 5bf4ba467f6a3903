//! The auth-service killed with SIGKILL while logins, registrations and
//! refreshes are in flight, then started again on the same database: every
//! session that was live still refreshes, every access token issued before
//! still verifies (the keys are in the database, not in the dead process),
//! everything acknowledged is there, and no migration runs again.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::{QueryDsl, RunQueryDsl};
use serde_json::json;

use crate::both_backends;
use crate::cli::database_url;
use crate::helpers::*;

diesel::table! {
    __diesel_schema_migrations (version) {
        version -> Text,
        run_on -> Timestamp,
    }
}

/// The real binary on `db`, on a free port.
pub fn start_auth_service(db: &TestDb) -> (Process, String) {
    let (process, port) = Process::start(
        env!("CARGO_BIN_EXE_auth-service"),
        &[
            ("DATABASE_URL", database_url(db)),
            ("AUTH_BIND", "127.0.0.1:0".into()),
            ("AUTH_ISSUER", ISSUER.into()),
            ("TOKEN_AUDIENCE", AUDIENCE.into()),
            ("BCRYPT_COST", "4".into()),
            ("COOKIE_SECURE", "false".into()),
            ("RUST_LOG", "info".into()),
        ],
        "listening on ",
    );
    (process, format!("http://127.0.0.1:{port}"))
}

pub async fn register(
    http: &reqwest::Client,
    base: &str,
    email: &str,
) -> reqwest::Result<reqwest::Response> {
    http.post(format!("{base}/auth/register"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
}

pub async fn login(
    http: &reqwest::Client,
    base: &str,
    email: &str,
) -> reqwest::Result<reqwest::Response> {
    http.post(format!("{base}/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
}

pub async fn refresh(
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> reqwest::Result<reqwest::Response> {
    http.post(format!("{base}/auth/refresh"))
        .json(&json!({ "refresh_token": token }))
        .send()
        .await
}

pub async fn me(http: &reqwest::Client, base: &str, access: &str) -> u16 {
    http.get(format!("{base}/auth/me"))
        .bearer_auth(access)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// What the database holds, to compare before and after a restart.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub migrations: Vec<(String, NaiveDateTime)>,
    pub users: i64,
    pub sessions: i64,
    pub refresh_tokens: i64,
    pub signing_keys: Vec<String>,
    /// Sessions without exactly one live refresh token.
    pub sessions_without_one_live_token: Vec<(String, i64)>,
}

pub fn snapshot(db: &TestDb) -> Snapshot {
    use auth_service::db::schema::{refresh_tokens, sessions, signing_keys, users};
    let pool = auth_service::db::connect(&db.url).expect("pool");
    auth_service::db::with_connection(&pool, |conn| {
        let session_ids: Vec<String> = sessions::table
            .select(sessions::id)
            .load(conn)
            .map_err(|e| e.to_string())?;
        Ok(Snapshot {
            migrations: __diesel_schema_migrations::table
                .order(__diesel_schema_migrations::version)
                .load(conn)
                .map_err(|e| e.to_string())?,
            users: users::table
                .count()
                .get_result(conn)
                .map_err(|e| e.to_string())?,
            sessions: session_ids.len() as i64,
            refresh_tokens: refresh_tokens::table
                .count()
                .get_result(conn)
                .map_err(|e| e.to_string())?,
            signing_keys: signing_keys::table
                .select(signing_keys::kid)
                .order(signing_keys::kid)
                .load(conn)
                .map_err(|e| e.to_string())?,
            sessions_without_one_live_token: session_ids
                .into_iter()
                .map(|s| {
                    let live = live_refresh_tokens(conn, &s);
                    (s, live)
                })
                .filter(|(_, live)| *live != 1)
                .collect(),
        })
    })
    .expect("read the database")
}

/// A refresh chain driven until the process dies under it.
struct Chain {
    session: String,
    refresh: String,
    access: String,
    acknowledged: i64,
    /// The last request got no answer: it may or may not have rotated.
    cut_off: bool,
}

/// Registers a user at `base` and logs in.
async fn new_session(http: &reqwest::Client, base: &str) -> Tokens {
    let email = email();
    assert_eq!(
        register(http, base, &email)
            .await
            .expect("register")
            .status(),
        201
    );
    Tokens::from_response(login(http, base, &email).await.expect("login")).await
}

/// A session that refreshes as fast as it can until the process dies under
/// it.
async fn spawn_busy_chain(http: &reqwest::Client, base: &str) -> tokio::task::JoinHandle<Chain> {
    let start = new_session(http, base).await;
    let (http, base) = (http.clone(), base.to_owned());
    tokio::spawn(async move {
        let mut chain = Chain {
            session: claims(&start.access)["sid"]
                .as_str()
                .expect("sid")
                .to_owned(),
            refresh: start.refresh,
            access: start.access,
            acknowledged: 0,
            cut_off: false,
        };
        loop {
            let Ok(response) = refresh(&http, &base, &chain.refresh).await else {
                chain.cut_off = true;
                return chain;
            };
            assert_eq!(response.status(), 200, "a refresh before the crash");
            // A body cut off by the kill is no acknowledgement either.
            let Ok(body) = response.json::<serde_json::Value>().await else {
                chain.cut_off = true;
                return chain;
            };
            chain.refresh = body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned();
            chain.access = body["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned();
            chain.acknowledged += 1;
        }
    })
}

/// A client registering and logging in new users until the process dies;
/// the emails whose registration was acknowledged.
fn spawn_newcomers(http: &reqwest::Client, base: &str) -> tokio::task::JoinHandle<Vec<String>> {
    let (http, base) = (http.clone(), base.to_owned());
    tokio::spawn(async move {
        let mut acknowledged = Vec::new();
        loop {
            let email = email();
            match register(&http, &base, &email).await {
                Ok(r) if r.status() == 201 => acknowledged.push(email.clone()),
                Ok(r) => panic!("a registration before the crash answered {}", r.status()),
                Err(_) => return acknowledged,
            }
            match login(&http, &base, &email).await {
                Ok(r) => assert_eq!(r.status(), 200, "a login before the crash"),
                Err(_) => return acknowledged,
            }
        }
    })
}

/// Every access token of `sessions` verifies on both services, and every
/// refresh token refreshes.
async fn idle_sessions_carry_on(
    http: &reqwest::Client,
    base: &str,
    resource: &ResourceApp,
    sessions: &[Tokens],
) {
    for tokens in sessions {
        assert_eq!(
            me(http, base, &tokens.access).await,
            200,
            "an access token from before the crash"
        );
        assert_eq!(
            resource.get_me(&tokens.access).await.status(),
            200,
            "an access token from before the crash"
        );
        let response = refresh(http, base, &tokens.refresh).await.expect("request");
        assert_eq!(
            response.status(),
            200,
            "an idle session refreshes after the restart"
        );
    }
}

/// The last access token of each chain verifies; its newest refresh token
/// refreshes, unless the request the kill cut off did rotate.
async fn busy_chains_carry_on_from_their_last_acknowledged_rotation(
    http: &reqwest::Client,
    base: &str,
    resource: &ResourceApp,
    db: &TestDb,
    chains: &[Chain],
) {
    let pool = auth_service::db::connect(&db.url).expect("pool");
    for chain in chains {
        assert_eq!(
            me(http, base, &chain.access).await,
            200,
            "the last access token of a chain"
        );
        assert_eq!(resource.get_me(&chain.access).await.status(), 200);
        let used = auth_service::db::with_connection(&pool, |conn| {
            Ok(used_refresh_tokens(conn, &chain.session))
        })
        .expect("count");
        let status = refresh(http, base, &chain.refresh)
            .await
            .expect("request")
            .status();
        if used == chain.acknowledged {
            // The request the kill cut off (if any) did not rotate.
            assert_eq!(status, 200, "the chain's newest token refreshes");
        } else {
            // It did, and its answer was lost: the client's token is
            // spent, as API.md §2 says of a used token.
            assert!(
                chain.cut_off && used == chain.acknowledged + 1,
                "session {}: {used} rotations stored, {} acknowledged",
                chain.session,
                chain.acknowledged
            );
            assert_eq!(status, 401);
        }
    }
}

both_backends! {
    async fn a_killed_auth_service_restarts_with_every_session_key_and_row_intact(backend: Backend) {
        let db = TestDb::new(backend);
        let (first, base) = start_auth_service(&db);
        let http = client();
        let mut quiet = Vec::new();
        for _ in 0..3 {
            quiet.push(new_session(&http, &base).await);
        }
        let mut busy = Vec::new();
        for _ in 0..4 {
            busy.push(spawn_busy_chain(&http, &base).await);
        }
        let newcomers: Vec<_> = (0..2).map(|_| spawn_newcomers(&http, &base)).collect();

        tokio::time::sleep(Duration::from_millis(800)).await;
        let _ = tokio::task::spawn_blocking(move || first.kill()).await.expect("kill");
        let mut chains = Vec::new();
        for chain in busy {
            chains.push(chain.await.expect("a refresh client panicked"));
        }
        let mut registered = Vec::new();
        for task in newcomers {
            registered.extend(task.await.expect("a registering client panicked"));
        }
        assert!(chains.iter().all(|c| c.acknowledged > 0), "the chains were rotating");
        assert!(!registered.is_empty(), "registrations were acknowledged");

        let before = snapshot(&db);
        assert!(
            before.sessions_without_one_live_token.is_empty(),
            "a rotation was left half done: {:?}",
            before.sessions_without_one_live_token
        );
        let db = Arc::new(db);
        let (second, base) = {
            let db = db.clone();
            tokio::task::spawn_blocking(move || start_auth_service(&db)).await.expect("restart")
        };
        assert_eq!(snapshot(&db), before, "the restart changed the database (a migration ran again?)");

        let resource = spawn_resource_for(&format!("{base}/.well-known/jwks.json")).await;
        idle_sessions_carry_on(&http, &base, &resource, &quiet).await;
        busy_chains_carry_on_from_their_last_acknowledged_rotation(&http, &base, &resource, &db, &chains).await;
        for email in &registered {
            let response = login(&http, &base, email).await.expect("request");
            assert_eq!(response.status(), 200, "{email}, registered before the crash, logs in");
        }
        second.stop();
    }
}
