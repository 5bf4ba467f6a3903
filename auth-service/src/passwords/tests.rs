//! The hasher's rules, on its own threads: the gate, the queue bound,
//! the priority.

use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use super::*;

#[tokio::test]
async fn hashes_verify_and_long_input_never_matches_its_prefix() {
    let hasher = Hasher::new();
    let password = Password::parse("p".repeat(72)).expect("valid");
    let hash = hasher.hash(password, 4).await.expect("hash");
    let verify = |p: String| hasher.verify(p, hash.clone());
    assert!(verify("p".repeat(72)).await.expect("verify"));
    assert!(!verify("p".repeat(73)).await.expect("verify"));
    assert!(!verify("q".repeat(72)).await.expect("verify"));
}

/// Runs `jobs` jobs of 100 ms on `hasher` at once; the most that ran
/// together.
async fn most_at_once(hasher: &Hasher, jobs: usize) -> usize {
    let now = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let runs = (0..jobs).map(|_| {
        let (now, most) = (now.clone(), most.clone());
        hasher.run(move || {
            let here = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(here, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(100));
            now.fetch_sub(1, Ordering::SeqCst);
        })
    });
    for outcome in futures_util::future::join_all(runs).await {
        outcome.expect("ran");
    }
    most.load(Ordering::SeqCst)
}

#[tokio::test]
async fn while_a_refresh_is_in_flight_hashing_leaves_a_core_free() {
    let hasher = Hasher::with_cores(4, usize::MAX);
    assert_eq!(most_at_once(&hasher, 8).await, 4, "every core hashes");

    let guard = hasher.latency_sensitive();
    let limited = most_at_once(&hasher, 8).await;
    drop(guard);

    assert_eq!(limited, 3);
    assert_eq!(most_at_once(&hasher, 8).await, 4, "and again after it");
}

#[tokio::test]
async fn a_single_core_still_hashes_during_a_refresh() {
    let hasher = Hasher::with_cores(1, usize::MAX);
    let _guard = hasher.latency_sensitive();
    assert_eq!(most_at_once(&hasher, 2).await, 1);
}

#[tokio::test]
async fn a_waiting_hash_starts_when_the_last_refresh_ends() {
    let hasher = Hasher::with_cores(2, usize::MAX);
    let refresh = hasher.latency_sensitive();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let (started_tx, started_rx) = oneshot::channel();
    // Takes the one place a refresh leaves, and keeps it.
    let holder = hasher.run(move || {
        let _ = started_tx.send(());
        let _ = release_rx.recv();
    });
    let waiter = async {
        started_rx.await.expect("the first job started");
        let second = hasher.run(|| ());
        let ended = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(refresh);
        };
        // Woken by the refresh's end, not by the first job's: that one
        // is still holding its place.
        let (outcome, ()) =
            tokio::join!(tokio::time::timeout(Duration::from_secs(10), second), ended);
        release_tx.send(()).expect("release");
        outcome
    };
    let (held, waited) = tokio::join!(holder, waiter);
    held.expect("the first job ran");
    waited
        .expect("woken before the first job ended")
        .expect("ran");
}

#[tokio::test]
async fn two_hashers_share_nothing() {
    let busy = Hasher::with_cores(4, usize::MAX);
    let other = Hasher::with_cores(4, usize::MAX);
    let _refresh = busy.latency_sensitive();

    let (busy_most, other_most) = tokio::join!(most_at_once(&busy, 8), most_at_once(&other, 8));

    assert_eq!(busy_most, 3, "the refresh holds back its own hasher");
    assert_eq!(
        other_most, 4,
        "and not the other one, which has its own threads"
    );
    assert_eq!(other.gate.counts().latency_sensitive, 0);
}

#[tokio::test]
async fn waiting_work_is_counted_until_admitted() {
    let hasher = Hasher::with_cores(1, usize::MAX);
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let (started_tx, started_rx) = oneshot::channel();
    let first = hasher.run(move || {
        let _ = started_tx.send(());
        let _ = release_rx.recv();
    });
    let second = hasher.run(|| ());
    let check = async {
        started_rx.await.expect("the first job started");
        // The second is queued behind the first on the only thread.
        let counts = hasher.gate.counts();
        assert_eq!((counts.running, counts.waiting), (1, 1));
        release_tx.send(()).expect("release");
    };
    let (a, b, ()) = tokio::join!(first, second, check);
    a.expect("first");
    b.expect("second");
    let counts = hasher.gate.counts();
    assert_eq!((counts.running, counts.waiting), (0, 0));
}

#[test]
fn a_job_that_panics_gives_its_place_back() {
    let gate = Gate::new(2, usize::MAX);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        gate.pass(None, None, || panic!("a failing hash"))
    }));

    assert!(outcome.is_err());
    assert_eq!(gate.counts().running, 0);
}

#[tokio::test]
async fn hashing_runs_on_low_priority_threads_of_its_own() {
    let (name, stat) = Hasher::new()
        .run(|| {
            let name = std::thread::current().name().map(str::to_owned);
            (name, std::fs::read_to_string("/proc/thread-self/stat").ok())
        })
        .await
        .expect("ran");
    assert!(name.is_some_and(|n| n.starts_with("bcrypt-")));
    if let Some(stat) = stat {
        // proc(5): after the ")" closing the name, field 19 (nice) is the 17th.
        let nice: i32 = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(16))
            .and_then(|v| v.parse().ok())
            .expect("nice field");
        assert_eq!(nice, 19, "bcrypt threads run at the lowest priority");
    }
}

#[tokio::test]
async fn past_the_queue_limit_work_is_refused_at_once_until_the_queue_drains() {
    let hasher = Hasher::with_cores(1, 2);
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let (started_tx, started_rx) = oneshot::channel();
    let holder = hasher.run(move || {
        let _ = started_tx.send(());
        let _ = release_rx.recv();
    });
    let check = async {
        started_rx.await.expect("the first job started");
        // Two wait behind the one running: the queue is full.
        let waiting = [hasher.admit(), hasher.admit()].map(|a| a.expect("room for two"));
        let refused = hasher.admit().expect_err("a third may not wait");
        assert!(
            matches!(refused, Error::Overloaded { retry_after } if retry_after >= 1),
            "{refused:?}"
        );
        release_tx.send(()).expect("release");
        let [first, second] = waiting;
        let password = || Password::parse("p".repeat(9)).expect("valid");
        first
            .hash(password(), 4)
            .await
            .expect("the first waiting job ran");
        second
            .hash(password(), 4)
            .await
            .expect("the second waiting job ran");
    };
    let (held, ()) = tokio::join!(holder, check);
    held.expect("the first job ran");
    assert_eq!(hasher.gate.counts().waiting, 0);
    assert!(hasher.run(|| ()).await.is_ok(), "admitted again");
}

#[tokio::test]
async fn racing_admissions_never_overfill_the_queue() {
    let hasher = Hasher::with_cores(1, 5);
    let admitted: Vec<_> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..32)
            .map(|_| scope.spawn(|| hasher.admit().ok().map(|a| a.ticket)))
            .collect();
        racers
            .into_iter()
            .filter_map(|racer| racer.join().expect("no panic"))
            .collect()
    });
    assert_eq!(admitted.len(), 5);
    assert_eq!(hasher.gate.counts().waiting, 5);
    drop(admitted);
    assert_eq!(hasher.gate.counts().waiting, 0, "places are given back");
}

#[tokio::test]
async fn a_follow_up_of_an_admitted_request_is_never_refused() {
    let hasher = Hasher::with_cores(1, 1);
    let first = hasher.admit().expect("an empty queue admits");
    assert!(hasher.admit().is_err(), "the queue is full");

    let second = hasher.admit_follow_up(&first);

    assert!(first
        .verify("p".repeat(8), "not a hash".into())
        .await
        .is_err());
    let hash = second
        .hash(Password::parse("p".repeat(9)).expect("valid"), 4)
        .await
        .expect("the follow-up hashes");
    assert!(hash.starts_with("$2"));
}

#[test]
fn retry_after_is_the_work_ahead_shared_among_the_cores() {
    let gate = Arc::new(Gate::new(2, usize::MAX));
    assert_eq!(gate.retry_after_secs(), 1, "at least a second");

    let _ = gate.pass(None, None, || std::thread::sleep(Duration::from_millis(20)));
    let fast = gate.retry_after_secs();
    let queue: Vec<_> = (0..400).map(|_| Queued::enter(&gate)).collect();
    let long = gate.retry_after_secs();

    assert_eq!(fast, 1);
    // 402 jobs of at least 20 ms on 2 cores: at least 4 s.
    assert!(long >= 5, "{long}");
    drop(queue);
}

/// Records `n` jobs of `cost` that took `millis` each.
fn timed(gate: &Gate, n: usize, millis: u64, cost: u32) {
    for _ in 0..n {
        gate.record(Duration::from_millis(millis), Some(cost));
    }
}

/// A refresh in flight, as [`Hasher::latency_sensitive`] marks one.
fn refresh_in_flight(gate: &Arc<Gate>) -> LatencySensitive {
    gate.latency_sensitive.fetch_add(1, Ordering::SeqCst);
    gate.mark_latency_sensitive();
    LatencySensitive(Arc::clone(gate))
}

/// Places taken until the gate refuses one.
fn places(gate: &Arc<Gate>) -> Vec<Queued> {
    std::iter::from_fn(|| Queued::try_enter(gate))
        .take(1000)
        .collect()
}

#[test]
fn while_a_core_is_left_to_refreshes_the_queue_shrinks_with_the_hashing_rate() {
    let mut gate = Gate::new(2, 8);
    gate.linger = Duration::from_millis(50);
    let gate = Arc::new(gate);
    // Hashing alone: 300 ms per check at cost 12, so a full queue of 8 on
    // 2 cores drains in 1.2 s.
    timed(&gate, 4, 300, 12);
    assert_eq!(places(&gate).len(), 8, "the whole queue with every core");

    let refresh = refresh_in_flight(&gate);
    // Nothing timed beside refreshes yet: one core of two, assumed shared
    // half and half with them, drains a quarter as fast.
    assert_eq!(places(&gate).len(), 2);
    // Checks beside refreshes at the pace they had alone: half the rate,
    // half the queue.
    timed(&gate, 16, 300, 12);
    assert_eq!(places(&gate).len(), 4);
    // At four times that, an eighth.
    timed(&gate, 16, 1_200, 12);
    assert_eq!(places(&gate).len(), 1);
    // Far slower still: one place is left, so checks still run.
    timed(&gate, 16, 20_000, 12);
    assert_eq!(places(&gate).len(), 1);

    drop(refresh);
    // Refreshes come back to back under load: the moment between two is
    // no sign that they have stopped.
    assert_eq!(places(&gate).len(), 1, "just after the last refresh");
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(
        places(&gate).len(),
        8,
        "the refreshes ended: the whole queue again"
    );
}

#[test]
fn without_refreshes_in_flight_slow_checks_keep_the_whole_queue() {
    // The limit of API.md is exact while hashing has every core, however
    // busy the machine is otherwise.
    let gate = Arc::new(Gate::new(2, 3));
    timed(&gate, 4, 300, 12);
    timed(&gate, 16, 5_000, 12);
    assert_eq!(places(&gate).len(), 3);
}

#[test]
fn checks_of_hashes_made_at_other_costs_are_paced_alike() {
    let gate = Arc::new(Gate::new(2, 8));
    // 300 ms at cost 12 and 1.2 s at cost 14 are the same pace: a login
    // with an older, cheaper hash does not make the usual checks look slow.
    timed(&gate, 4, 300, 12);
    let _refresh = refresh_in_flight(&gate);
    timed(&gate, 16, 1_200, 14);
    assert_eq!(places(&gate).len(), 4);
}

#[test]
fn cheap_checks_keep_what_drains_in_a_second_whatever_their_pace() {
    // At cost 4 a check takes a millisecond: scheduling delays beside
    // refreshes make it fifty times slower, and the queue still drains in
    // well under a second.
    let gate = Arc::new(Gate::new(2, 8));
    timed(&gate, 4, 1, 4);
    let _refresh = refresh_in_flight(&gate);
    timed(&gate, 16, 50, 4);
    assert_eq!(places(&gate).len(), 8);
}

/// A gate of `cores`, one hash running until the returned sender is
/// dropped, and what it has timed: checks quick enough that the promised
/// wait is the one-second floor.
fn gate_with_a_running_hash(
    cores: usize,
) -> (
    Arc<Gate>,
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let gate = Arc::new(Gate::new(cores, 4));
    timed(&gate, 1, 1, 4);
    let (release, hold) = std::sync::mpsc::channel::<()>();
    let running = {
        let gate = Arc::clone(&gate);
        std::thread::spawn(move || {
            gate.pass(None, None, || {
                let _ = hold.recv();
            })
            .expect("the first hash runs");
        })
    };
    while gate.counts().running == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    (gate, release, running)
}

#[test]
fn a_check_still_waiting_past_its_promised_wait_beside_refreshes_is_shed() {
    let (gate, release, running) = gate_with_a_running_hash(2);
    // A refresh in flight leaves the one hash running all the places.
    let _refresh = refresh_in_flight(&gate);
    let admitted = Queued::try_enter(&gate).expect("admitted");
    let ran = AtomicUsize::new(0);

    let outcome = admitted.pass(None, || ran.fetch_add(1, Ordering::SeqCst));

    assert_eq!(outcome, Err(gate::Shed));
    assert_eq!(ran.load(Ordering::SeqCst), 0, "a shed check never runs");
    assert_eq!(gate.counts().waiting, 0, "its place is given back");
    drop(release);
    running.join().expect("join");
}

#[test]
fn a_follow_up_beside_refreshes_waits_as_long_as_it_takes() {
    let (gate, release, running) = gate_with_a_running_hash(2);
    let _refresh = refresh_in_flight(&gate);
    let follow_up = Queued::enter(&gate);
    let follow_up = std::thread::spawn(move || follow_up.pass(None, || "followed up"));
    // Well past the one-second promise of a first check.
    std::thread::sleep(Duration::from_millis(1_500));
    drop(release);

    assert_eq!(follow_up.join().expect("join"), Ok("followed up"));
    running.join().expect("join");
}

#[test]
fn without_refreshes_a_check_waits_as_long_as_it_takes() {
    // One core: the running hash holds the only place.
    let (gate, release, running) = gate_with_a_running_hash(1);
    let admitted = Queued::try_enter(&gate).expect("admitted");
    let check = std::thread::spawn(move || admitted.pass(None, || "checked"));
    std::thread::sleep(Duration::from_millis(1_500));
    drop(release);

    assert_eq!(check.join().expect("join"), Ok("checked"));
    running.join().expect("join");
}

#[test]
fn jobs_run_here_when_the_bcrypt_process_cannot_start_or_dies_at_once() {
    let hash = bcrypt::hash("a password", 4).expect("hash");
    let verify = || Job::Verify {
        password: "a password".into(),
        hash: hash.clone(),
    };
    // Exits at once without reading a job: every answer comes from here.
    let dies = Worker::new(std::path::PathBuf::from("true"), 1);
    for _ in 0..3 {
        assert!(matches!(dies.run(verify()), Outcome::Matches(true)));
    }
    assert_eq!(dies.pid(), None);
    let missing = Worker::new(std::path::PathBuf::from("/nonexistent/auth-service"), 1);
    assert!(matches!(missing.run(verify()), Outcome::Matches(true)));
    let hashed = missing.run(Job::Hash {
        password: "a password".into(),
        cost: 4,
    });
    assert!(
        matches!(hashed, Outcome::Hashed(h) if bcrypt::verify("a password", &h).unwrap_or(false))
    );
}
