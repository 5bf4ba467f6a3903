//! API.md §3 "Overload": past `LOGIN_QUEUE_LIMIT` waiting password checks,
//! a request that needs one answers at once `503 temporarily_unavailable`
//! with `Retry-After`, gives back (or never takes) its place under the
//! lockout, and refreshes never wait behind the hashing.
//!
//! Each storm fills the queue step by step, against an account whose stored
//! hash has a real bcrypt cost: first as many wrong logins as the server
//! has cores, which take every core for a quarter of a second, then
//! `LOGIN_QUEUE_LIMIT` more, which wait behind them. Each step is seen
//! done in the database (every check reserves its place under the lockout
//! just before it runs), so what comes next meets a full queue. The
//! assertions are on statuses, counts and the order of answers, never on
//! durations.

use std::time::{Duration, Instant};

use auth_service::db::{self, DbPool};
use auth_service::domain::{Email, Password};
use auth_service::passwords::Hasher;
use futures_util::future::join_all;
use reqwest::Response;
use serde_json::{json, Value};
use shared_claims::Role;
use tokio::task::JoinHandle;

use super::exact_lockout::{password_grant, post_password};
use crate::both_backends;
use crate::helpers::*;

/// Password checks that may wait.
const LIMIT: usize = 2;
/// Logins beyond those the hasher can hold: each is answered 503.
const EXTRA: usize = 6;
/// The cost of the storm account's hash: about a quarter of a second per
/// check, more on a busy machine (the hashing threads run at the lowest
/// priority).
const SLOW_COST: u32 = 12;

/// How many checks the server runs at once: its hasher has a thread per core
/// of this machine, and the tests share its process.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// An app with a short queue and a real bcrypt cost, whose lockout takes
/// one failure more than a storm's checks: had a refusal counted, the
/// account would be locked after it.
async fn spawn_limited_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| {
        s.login_queue_limit = LIMIT;
        s.bcrypt_cost = 12;
        s.login_max_failures = u32::try_from(cores() + LIMIT + 1).expect("a few");
    })
    .await
}

/// An account whose every password check takes a quarter of a second.
async fn slow_account(app: &TestApp) -> String {
    let email = email();
    let pool = auth_service::db::connect(&app.db.url).expect("pool");
    auth_service::service::create_user(
        &pool,
        &Hasher::new(),
        SLOW_COST,
        Email::parse(&email).expect("email"),
        Password::parse(PASSWORD.to_owned()).expect("password"),
        Role::User,
    )
    .await
    .expect("create the slow account");
    email
}

/// One answer of a storm, with the moment it came back.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
    at: Instant,
}

async fn answer(response: Response) -> Answer {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = response.json().await.expect("a JSON body");
    Answer {
        status,
        retry_after,
        body,
        at: Instant::now(),
    }
}

fn is_overloaded(answer: &Answer) -> bool {
    answer.status == 503
        && answer.body["error"] == "temporarily_unavailable"
        && answer.body["error_description"].is_string()
        && answer.retry_after.is_some_and(|s| s >= 1)
}

/// Asserts a 503 `temporarily_unavailable` with `Retry-After`, as the
/// OpenAPI document describes it.
async fn assert_overloaded(doc: &OpenApiDoc, path: &str, response: Response) {
    let observed = doc.check("POST", path, response).await;
    assert_eq!(observed.status, 503, "{path}: {}", observed.body);
    assert_eq!(observed.body["error"], "temporarily_unavailable", "{path}");
    let retry_after = observed
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok());
    assert!(
        retry_after
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|s| s >= 1),
        "{path}: Retry-After in whole seconds: {retry_after:?}"
    );
}

/// A wrong login for `email`, in flight on its own task.
fn wrong_login(app: &TestApp, email: &str) -> JoinHandle<Answer> {
    let request = app
        .client
        .post(app.url("/auth/login"))
        .json(&json!({ "email": email, "password": "wrong password" }));
    tokio::spawn(async move { answer(request.send().await.expect("request")).await })
}

/// Places reserved under the lockout for (`email`, the test client).
fn reserved(pool: &DbPool, email: &str) -> usize {
    let window_start = db::now() - chrono::Duration::days(1);
    db::with_connection(pool, |conn| {
        db::login_failures::since(conn, email, "127.0.0.1", window_start).map_err(|e| e.to_string())
    })
    .expect("read login failures")
    .len()
}

/// Waits until `count` checks for `email` have reserved their place.
async fn until_reserved(pool: &DbPool, email: &str, count: usize) {
    for _ in 0..2000 {
        if reserved(pool, email) >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{count} checks for {email} never started");
}

/// Sends wrong logins for `target` until every core checks one and
/// `LIMIT` more wait; returns them, still in flight.
async fn fill_the_queue(app: &TestApp, pool: &DbPool, target: &str) -> Vec<JoinHandle<Answer>> {
    let mut admitted: Vec<_> = (0..cores()).map(|_| wrong_login(app, target)).collect();
    until_reserved(pool, target, cores()).await;
    // From reserving to running takes microseconds; leave them some more.
    tokio::time::sleep(Duration::from_millis(50)).await;
    admitted.extend((0..LIMIT).map(|_| wrong_login(app, target)));
    until_reserved(pool, target, cores() + LIMIT).await;
    admitted
}

async fn answers(handles: Vec<JoinHandle<Answer>>) -> Vec<Answer> {
    join_all(handles)
        .await
        .into_iter()
        .map(|h| h.expect("the request task"))
        .collect()
}

both_backends! {
    async fn a_login_storm_past_the_queue_is_refused_at_once_without_locking_anyone_out(backend: Backend) {
        let app = spawn_limited_app(backend).await;
        let pool = db::connect(&app.db.url).expect("pool");
        let target = slow_account(&app).await;
        let bystander = app.create_admin_and_login(&email()).await;

        let admitted = fill_the_queue(&app, &pool, &target).await;
        let beyond: Vec<_> = (0..EXTRA).map(|_| wrong_login(&app, &target)).collect();
        let refresh = app.post_refresh(&bystander.refresh).await;
        let refreshed_at = Instant::now();
        let refused = answers(beyond).await;
        let checked = answers(admitted).await;

        assert!(refused.iter().all(is_overloaded), "{backend:?}: {refused:?}");
        assert!(
            checked.iter().all(|a| a.status == 401 && a.body["error"] == "invalid_credentials"),
            "{backend:?}: {checked:?}"
        );
        // At once: every refusal, and the refresh, came back while the
        // first admitted checks were still running.
        let first_checked = checked.iter().map(|a| a.at).min().expect("some were checked");
        assert!(refused.iter().all(|a| a.at < first_checked), "{backend:?}: {refused:?} {checked:?}");
        assert_eq!(refresh.status(), 200, "{backend:?}: the refresh during the storm");
        assert!(refreshed_at < first_checked, "{backend:?}: the refresh waited for a hash");
        // Only the checks made count against the lockout: the 503s left nothing.
        assert_eq!(reserved(&pool, &target), cores() + LIMIT, "{backend:?}");
        let metrics = app.client.get(app.url("/metrics")).send().await.expect("metrics");
        let text = metrics.text().await.expect("text");
        let overloaded = format!("auth_login_failures_total{{reason=\"overloaded\"}} {EXTRA}");
        assert!(text.lines().any(|l| l == overloaded), "{backend:?}: {overloaded} in\n{text}");
        assert_eq!(app.post_login(&target, PASSWORD).await.status(), 200, "{backend:?}");
    }

    async fn register_password_change_and_password_grant_are_refused_while_the_queue_is_full(backend: Backend) {
        let app = spawn_limited_app(backend).await;
        let pool = db::connect(&app.db.url).expect("pool");
        let doc = OpenApiDoc::fetch(&app.address).await;
        let target = slow_account(&app).await;
        let owner_email = email();
        let owner = app.create_admin_and_login(&owner_email).await;

        let admitted = fill_the_queue(&app, &pool, &target).await;
        let newcomer = email();
        let (registered, changed, granted) = tokio::join!(
            app.post_register(&newcomer, "a new password for overload"),
            post_password(&app, &owner.access, PASSWORD, "a new password for overload"),
            password_grant(&app, &owner_email, PASSWORD),
        );
        assert_overloaded(&doc, "/auth/register", registered).await;
        assert_overloaded(&doc, "/auth/password", changed).await;
        assert_overloaded(&doc, "/oauth/token", granted).await;

        assert!(answers(admitted).await.iter().all(|a| a.status == 401), "{backend:?}");
        // Nothing happened: no account, the old password still works, and
        // no refusal counted as a failure of the owner.
        assert!(!app.stored_emails().contains(&newcomer), "{backend:?}");
        assert_eq!(reserved(&pool, &owner_email), 0, "{backend:?}");
        assert_eq!(app.post_login(&owner_email, PASSWORD).await.status(), 200, "{backend:?}");
    }
}
