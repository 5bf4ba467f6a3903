//! The service's executable hashes in a process of its own, in a session of
//! its own (the kernel schedules each session apart, so a login storm's
//! hashes do not slow the service's other requests and PostgreSQL by
//! sharing their group). Logins go on when that process dies, and it never
//! outlives the service.
//!
//! These run the real binary: test binaries hash in their own threads.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cli::database_url;
use crate::helpers::*;

/// The auth-service binary on a SQLite file at `cost`, one account
/// registered (its hash made in the bcrypt process), and that process.
struct Started {
    _db: TestDb,
    service: Process,
    url: String,
    http: reqwest::Client,
    email: String,
    worker: u32,
}

async fn start(cost: u32) -> Started {
    let db = TestDb::new(Backend::Sqlite);
    let (service, port) = Process::start(
        env!("CARGO_BIN_EXE_auth-service"),
        &[
            ("DATABASE_URL", database_url(&db)),
            ("AUTH_BIND", "127.0.0.1:0".into()),
            ("BCRYPT_COST", cost.to_string()),
        ],
        "listening on ",
    );
    let url = format!("http://127.0.0.1:{port}");
    let http = client();
    let email = email();
    register(&http, &url, &email).await;
    let worker = the_worker(&service).await;
    Started {
        _db: db,
        service,
        url,
        http,
        email,
        worker,
    }
}

/// The processes `pid` started and still runs.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("tasks")
        .flatten()
    {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// The fields of /proc/PID/stat after the command name: state first.
fn stat(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// The session id of `pid`.
fn session(pid: u32) -> u32 {
    stat(pid).expect("stat")[3].parse().expect("session id")
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let fields = stat(pid).expect("stat");
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// The one process the service runs, once it runs one.
async fn the_worker(service: &Process) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match children(service.pid()).as_slice() {
            [one] => return *one,
            [] if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => panic!("expected one child process, found {other:?}"),
        }
    }
}

async fn register(http: &reqwest::Client, url: &str, email: &str) {
    let response = http
        .post(format!("{url}/auth/register"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .expect("register");
    assert_eq!(response.status(), 201);
}

async fn login(http: &reqwest::Client, url: &str, email: &str, password: &str) -> u16 {
    http.post(format!("{url}/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login")
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_service_hashes_in_a_process_of_its_own_session() {
    let Started {
        _db,
        service,
        url,
        http,
        email,
        worker,
    } = start(10).await;
    assert_ne!(
        session(worker),
        session(service.pid()),
        "the bcrypt process shares the service's session"
    );
    assert_eq!(
        session(worker),
        worker,
        "the bcrypt process leads its session"
    );
    // Where the kernel groups by session, that group has the lowest weight.
    if let Ok(group) = std::fs::read_to_string(format!("/proc/{worker}/autogroup")) {
        assert!(group.trim_end().ends_with("nice 19"), "{group}");
        let own = std::fs::read_to_string(format!("/proc/{}/autogroup", service.pid()))
            .expect("the service's autogroup");
        assert_ne!(
            group.split_whitespace().next(),
            own.split_whitespace().next()
        );
    }

    // The checks' CPU is the worker's: a handful of cost-10 checks take
    // tens of milliseconds each there, while the service only waits.
    let (worker_before, service_before) = (cpu_ticks(worker), cpu_ticks(service.pid()));
    for _ in 0..4 {
        assert_eq!(login(&http, &url, &email, PASSWORD).await, 200);
        assert_eq!(login(&http, &url, &email, "wrong password!").await, 401);
    }
    let worker_spent = cpu_ticks(worker) - worker_before;
    let service_spent = cpu_ticks(service.pid()) - service_before;
    assert!(
        worker_spent > service_spent,
        "the bcrypt process used {worker_spent} ticks, the service {service_spent}"
    );
    service.stop();
}

#[tokio::test]
async fn logins_go_on_when_the_bcrypt_process_is_killed() {
    let Started {
        _db,
        service,
        url,
        http,
        email,
        worker: first,
    } = start(4).await;
    let killed = Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());

    // Answered at once, in the service's own threads if need be, and a new
    // process takes over.
    let deadline = Instant::now() + Duration::from_secs(20);
    let second = loop {
        assert_eq!(login(&http, &url, &email, PASSWORD).await, 200);
        assert_eq!(login(&http, &url, &email, "wrong password!").await, 401);
        match children(service.pid()).as_slice() {
            [pid] if *pid != first => break *pid,
            _ if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => panic!("no new bcrypt process: {other:?}"),
        }
    };
    assert_eq!(session(second), second);
    let output = service.stop();
    assert!(
        output
            .iter()
            .any(|l| l.contains("the bcrypt process has ended")),
        "{output:?}"
    );
}

#[tokio::test]
async fn the_bcrypt_process_ends_with_the_service() {
    let Started {
        _db,
        service,
        worker,
        ..
    } = start(4).await;
    // A crash: no shutdown code runs; the worker's input closes all the same.
    service.kill();
    let deadline = Instant::now() + Duration::from_secs(20);
    // Gone, or a zombie left for whoever adopted it to reap.
    while stat(worker).is_some_and(|fields| fields[0] != "Z") {
        assert!(
            Instant::now() < deadline,
            "the bcrypt process {worker} outlived the service"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The worker's own protocol: one JSON job per line in, one answer per line
/// out, bcrypt's errors as answers, and an exit when its input closes.
#[test]
fn the_worker_answers_each_job_on_a_line_and_ends_with_its_input() {
    let mut worker = Command::new(env!("CARGO_BIN_EXE_auth-service"))
        .env("AUTH_SERVICE_BCRYPT_WORKER", "2")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let hash = bcrypt::hash(PASSWORD, 4).expect("hash");
    let jobs = [
        json!({ "id": 1, "job": { "op": "verify", "password": PASSWORD, "hash": hash } }),
        json!({ "id": 2, "job": { "op": "verify", "password": "wrong", "hash": hash } }),
        json!({ "id": 3, "job": { "op": "verify", "password": PASSWORD, "hash": "not a hash" } }),
        json!({ "id": 4, "job": { "op": "hash", "password": PASSWORD, "cost": 4 } }),
    ];
    let mut input = worker.stdin.take().expect("stdin");
    for job in &jobs {
        writeln!(input, "{job}").expect("write");
    }
    drop(input);
    let answers: Vec<Value> = BufReader::new(worker.stdout.take().expect("stdout"))
        .lines()
        .map(|line| serde_json::from_str(&line.expect("line")).expect("json"))
        .collect();
    let status = worker.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    let outcome = |id: u64| {
        answers
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("no answer {id}: {answers:?}"))["outcome"]
            .clone()
    };
    assert_eq!(outcome(1), json!({ "matches": true }));
    assert_eq!(outcome(2), json!({ "matches": false }));
    assert!(outcome(3)["failed"].is_string(), "{answers:?}");
    let new_hash = outcome(4)["hashed"].as_str().expect("a hash").to_owned();
    assert!(bcrypt::verify(PASSWORD, &new_hash).expect("verify"));
}
