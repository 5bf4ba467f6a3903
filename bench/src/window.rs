//! A measurement window: the CPU and peak memory of the watched processes,
//! of PostgreSQL, of the load generator and of everything else, between
//! [`begin`] and [`end`].

use std::collections::HashMap;
use std::time::Instant;

use crate::sys;

/// CPU and memory of one measurement window.
pub struct Window {
    start: Instant,
    pids: Vec<u32>,
    ticks: Vec<u64>,
    pg: HashMap<u32, u64>,
    harness_children: u64,
    harness_own: u64,
    machine: u64,
}

#[derive(Debug, Clone, Default)]
pub struct WindowResult {
    /// Cores used by each watched process (CPU seconds / wall seconds).
    pub cores: Vec<f64>,
    /// Peak RSS of each watched process during the window, in kB.
    pub peak_rss_kb: Vec<u64>,
    pub db_cores: f64,
    pub client_cores: f64,
    /// Busy CPU of everything else on the machine (other people's work,
    /// idle services, the harness's own sampling): interference.
    pub other_cores: f64,
}

pub fn begin(pids: &[u32]) -> Window {
    for pid in pids {
        sys::reset_peak_rss(*pid);
    }
    Window {
        start: Instant::now(),
        pids: pids.to_vec(),
        ticks: pids
            .iter()
            .map(|p| sys::server_ticks(*p).unwrap_or(0))
            .collect(),
        pg: sys::postgres_ticks(),
        harness_children: sys::cpu_ticks(std::process::id()).map_or(0, |(_, c)| c),
        harness_own: sys::cpu_ticks(std::process::id()).map_or(0, |(own, _)| own),
        machine: sys::machine_busy_ticks(),
    }
}

pub fn end(w: Window, ticks_per_s: u64) -> WindowResult {
    let wall_s = w.start.elapsed().as_secs_f64();
    let tps = ticks_per_s as f64;
    let cores: Vec<f64> = w
        .pids
        .iter()
        .zip(&w.ticks)
        .map(|(pid, t0)| {
            let t1 = sys::server_ticks(*pid).unwrap_or(*t0);
            (t1.saturating_sub(*t0)) as f64 / tps / wall_s
        })
        .collect();
    let peak_rss_kb = w
        .pids
        .iter()
        .map(|pid| sys::status_kb(*pid, "VmHWM").unwrap_or(0))
        .collect();
    let pg = sys::postgres_delta(&w.pg, &sys::postgres_ticks());
    let (own, children) = sys::cpu_ticks(std::process::id()).unwrap_or((0, 0));
    let client = children.saturating_sub(w.harness_children);
    let machine = sys::machine_busy_ticks().saturating_sub(w.machine);
    let watched: f64 = cores.iter().sum::<f64>() * tps * wall_s;
    let other = machine as f64
        - watched
        - pg as f64
        - client as f64
        - own.saturating_sub(w.harness_own) as f64;
    WindowResult {
        cores,
        peak_rss_kb,
        db_cores: pg as f64 / tps / wall_s,
        client_cores: client as f64 / tps / wall_s,
        other_cores: (other / tps / wall_s).max(0.0),
    }
}
