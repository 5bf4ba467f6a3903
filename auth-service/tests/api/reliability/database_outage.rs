//! PostgreSQL stops while clients log in and refresh. Each test runs a
//! cluster of its own (see [`PrivatePostgres`]) so it can stop and start it.
//!
//! The auth-service answers `503 not_ready` with `Retry-After` (never 500,
//! never a dropped connection), promptly, `/readyz` follows the database,
//! and once PostgreSQL is back the same process serves again. A refresh cut
//! off by the outage either happened fully or not at all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_service::config::DatabaseUrl;

use super::{assert_unavailable, describe};
use crate::helpers::*;

/// The pool gives up on a connection after 2 s; allow for a slow machine.
const PROMPT: Duration = Duration::from_secs(4);

async fn spawn_on_private(pg: &PrivatePostgres) -> TestApp {
    let db = Arc::new(TestDb::at(DatabaseUrl::Postgres(pg.url())));
    let settings = test_settings(&db);
    spawn_on(db, settings).await
}

async fn wait_ready(app: &TestApp, limit: Duration) {
    let started = Instant::now();
    loop {
        let r = app
            .client
            .get(app.url("/readyz"))
            .send()
            .await
            .expect("request");
        match r.status().as_u16() {
            200 => return,
            503 => assert_unavailable(r, "/readyz while recovering").await,
            _ => panic!("/readyz answered {}", describe(r).await),
        }
        assert!(started.elapsed() < limit, "/readyz never returned to 200");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_database_outage_gets_a_prompt_503_and_the_service_resumes_without_a_restart() {
    let pg = PrivatePostgres::start();
    let app = spawn_on_private(&pg).await;
    let email = email();
    let tokens = app.register_and_login(&email).await;
    assert_eq!(get(&app, "/readyz").await, 200);

    pg.stop("fast");
    let newcomer = crate::helpers::email();
    every_request_needing_the_database_gets_a_prompt_503(&app, &tokens, &email, &newcomer).await;
    // Liveness is not readiness: the process itself is fine.
    assert_eq!(get(&app, "/healthz").await, 200);

    pg.start_again();
    wait_ready(&app, Duration::from_secs(30)).await;
    the_refresh_token_the_outage_refused_is_still_the_live_one(&app, &tokens).await;
    assert_eq!(app.post_register(&newcomer, PASSWORD).await.status(), 201);
    Tokens::from_response(app.post_login(&newcomer, PASSWORD).await).await;
}

async fn get(app: &TestApp, path: &str) -> u16 {
    app.client
        .get(app.url(path))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn every_request_needing_the_database_gets_a_prompt_503(
    app: &TestApp,
    tokens: &Tokens,
    email: &str,
    newcomer: &str,
) {
    let oauth_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens.refresh.as_str()),
    ];
    let attempts = [
        (
            "login",
            app.client
                .post(app.url("/auth/login"))
                .json(&serde_json::json!({ "email": email, "password": PASSWORD })),
        ),
        (
            "refresh",
            app.client
                .post(app.url("/auth/refresh"))
                .json(&serde_json::json!({ "refresh_token": tokens.refresh })),
        ),
        (
            "register",
            app.client
                .post(app.url("/auth/register"))
                .json(&serde_json::json!({ "email": newcomer, "password": PASSWORD })),
        ),
        (
            "me",
            app.client
                .get(app.url("/auth/me"))
                .bearer_auth(&tokens.access),
        ),
        (
            "oauth refresh",
            app.client.post(app.url("/oauth/token")).form(&oauth_form),
        ),
        ("readyz", app.client.get(app.url("/readyz"))),
    ];
    for (what, request) in attempts {
        let started = Instant::now();
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
        let elapsed = started.elapsed();
        assert!(elapsed < PROMPT, "{what}: the 503 took {elapsed:?}");
        assert_unavailable(response, what).await;
    }
}

async fn the_refresh_token_the_outage_refused_is_still_the_live_one(
    app: &TestApp,
    tokens: &Tokens,
) {
    // Pooled connections that died with the server may still cost a 503
    // each.
    let mut refreshed = app.post_refresh(&tokens.refresh).await;
    for _ in 0..10 {
        if refreshed.status() != 503 {
            break;
        }
        assert_unavailable(refreshed, "refresh after the outage").await;
        refreshed = app.post_refresh(&tokens.refresh).await;
    }
    let refreshed = Tokens::from_response(refreshed).await;
    assert_eq!(app.get_me(&refreshed.access).await.status(), 200);
}

/// One refresh chain's history as its client saw it.
struct Chain {
    session: String,
    token: String,
    acknowledged: i64,
    unavailable: usize,
}

#[tokio::test]
async fn refreshes_cut_off_by_a_database_outage_either_happened_fully_or_not_at_all() {
    let pg = PrivatePostgres::start();
    let app = Arc::new(spawn_on_private(&pg).await);
    let stop = Arc::new(AtomicBool::new(false));
    let chains: Vec<_> = sessions_of_two_users(&app)
        .await
        .into_iter()
        .map(|start| spawn_refresh_chain(app.clone(), start, stop.clone()))
        .collect();
    let logins = spawn_logins(app.clone(), stop.clone()).await;

    tokio::time::sleep(Duration::from_millis(500)).await;
    let pg = outage_of_a_second_and_a_half(pg).await;
    wait_ready(&app, Duration::from_secs(30)).await;
    // Load goes on for a while on the recovered database.
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, Ordering::Relaxed);
    let mut results = Vec::new();
    for chain in chains {
        results.push(chain.await.expect("a refresh client panicked"));
    }
    let login_unavailable = logins.await.expect("the login client panicked");

    the_outage_was_felt_and_every_chain_rotated(&results, login_unavailable);
    every_session_stores_one_live_token_and_exactly_the_rotations_acknowledged(&pg, &results);
    for chain in &results {
        Tokens::from_response(app.post_refresh(&chain.token).await).await;
    }
}

/// Three sessions each of two users.
async fn sessions_of_two_users(app: &TestApp) -> Vec<Tokens> {
    let mut starts = Vec::new();
    for _ in 0..2 {
        let email = email();
        starts.push(app.register_and_login(&email).await);
        for _ in 0..2 {
            starts.push(Tokens::from_response(app.post_login(&email, PASSWORD).await).await);
        }
    }
    starts
}

/// A client refreshing in a loop until `stop`, keeping the newest token it
/// was given; a 503 leaves it with the token it had.
fn spawn_refresh_chain(
    app: Arc<TestApp>,
    start: Tokens,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Chain> {
    tokio::spawn(async move {
        let mut chain = Chain {
            session: claims(&start.access)["sid"]
                .as_str()
                .expect("sid")
                .to_owned(),
            token: start.refresh,
            acknowledged: 0,
            unavailable: 0,
        };
        while !stop.load(Ordering::Relaxed) {
            let response = app.post_refresh(&chain.token).await;
            match response.status().as_u16() {
                200 => {
                    chain.token = Tokens::from_response(response).await.refresh;
                    chain.acknowledged += 1;
                }
                503 => {
                    assert_unavailable(response, "refresh").await;
                    chain.unavailable += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ => panic!("a refresh answered {}", describe(response).await),
            }
        }
        chain
    })
}

/// A client logging in until `stop`, each login a new session; how many
/// times it was told the service is unavailable.
async fn spawn_logins(app: Arc<TestApp>, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<usize> {
    let login_email = email();
    assert_eq!(
        app.post_register(&login_email, PASSWORD).await.status(),
        201
    );
    tokio::spawn(async move {
        let mut unavailable = 0;
        while !stop.load(Ordering::Relaxed) {
            let response = app.post_login(&login_email, PASSWORD).await;
            match response.status().as_u16() {
                200 => {}
                503 => {
                    assert_unavailable(response, "login").await;
                    unavailable += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ => panic!("a login answered {}", describe(response).await),
            }
        }
        unavailable
    })
}

async fn outage_of_a_second_and_a_half(pg: PrivatePostgres) -> PrivatePostgres {
    tokio::task::spawn_blocking(move || {
        pg.stop("fast");
        std::thread::sleep(Duration::from_millis(1500));
        pg.start_again();
        pg
    })
    .await
    .expect("stop and start PostgreSQL")
}

fn the_outage_was_felt_and_every_chain_rotated(chains: &[Chain], login_unavailable: usize) {
    let unavailable: usize =
        chains.iter().map(|c| c.unavailable).sum::<usize>() + login_unavailable;
    assert!(unavailable > 0, "the outage was felt");
    assert!(
        chains.iter().all(|c| c.acknowledged > 0),
        "every chain rotated"
    );
}

fn every_session_stores_one_live_token_and_exactly_the_rotations_acknowledged(
    pg: &PrivatePostgres,
    chains: &[Chain],
) {
    let pool = auth_service::db::connect(&DatabaseUrl::Postgres(pg.url())).expect("pool");
    let sessions = auth_service::db::with_connection(&pool, |conn| {
        let sessions = all_session_ids(conn);
        Ok(sessions
            .into_iter()
            .map(|s| {
                let counts = (live_refresh_tokens(conn, &s), used_refresh_tokens(conn, &s));
                (s, counts)
            })
            .collect::<std::collections::HashMap<_, _>>())
    })
    .expect("read the sessions");
    for (session, (live, _)) in &sessions {
        assert_eq!(
            *live, 1,
            "session {session} has exactly one live refresh token"
        );
    }
    for chain in chains {
        assert_eq!(
            sessions[&chain.session].1, chain.acknowledged,
            "session {}: every rotation the client saw, and no other, is stored",
            chain.session
        );
    }
}

fn all_session_ids(conn: &mut auth_service::db::AnyConnection) -> Vec<String> {
    use auth_service::db::schema::sessions;
    use diesel::{QueryDsl, RunQueryDsl};
    sessions::table
        .select(sessions::id)
        .load(conn)
        .expect("sessions")
}
