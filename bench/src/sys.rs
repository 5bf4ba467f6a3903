//! What the harness reads from the machine: per-process CPU time and peak
//! RSS from /proc, the machine's description, and a few small helpers.

use std::fs;
use std::path::Path;
use std::process::Command;

/// Clock ticks per second of /proc/PID/stat's utime and stime.
pub fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// `utime + stime` of a process (all its threads), in ticks, and for
/// convenience `cutime + cstime` (its waited-for children).
pub fn cpu_ticks(pid: u32) -> Option<(u64, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name, field 3 (state) is index 0, so utime (14) is index 11.
    let num = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    Some((num(11)? + num(12)?, num(13)? + num(14)?))
}

/// `utime + stime` of a server and of the processes it started and still
/// runs (the auth-service's bcrypt process), in ticks: the server's CPU.
pub fn server_ticks(pid: u32) -> Option<u64> {
    let own = cpu_ticks(pid)?.0;
    let children: u64 = children(pid)
        .into_iter()
        .filter_map(|child| cpu_ticks(child).map(|(own, _)| own))
        .sum();
    Some(own + children)
}

/// The children of every thread of `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A line of /proc/PID/status in kB (`VmHWM`, `VmRSS`).
pub fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets the process's peak RSS (`VmHWM`) to its current RSS, so the next
/// reading is the peak of what follows (Linux ≥ 4.0, `clear_refs` value 5).
pub fn reset_peak_rss(pid: u32) -> bool {
    fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// CPU ticks of every PostgreSQL server process (backends, walwriter, …)
/// by pid, plus the postmaster's reaped children, so a window's database CPU
/// includes backends that came and went.
pub fn postgres_ticks() -> std::collections::HashMap<u32, u64> {
    let mut out = std::collections::HashMap::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() != "postgres" {
            continue;
        }
        if let Some((own, children)) = cpu_ticks(pid) {
            out.insert(pid, own + children);
        }
    }
    out
}

/// Database CPU between two [`postgres_ticks`] readings, in ticks.
pub fn postgres_delta(
    before: &std::collections::HashMap<u32, u64>,
    after: &std::collections::HashMap<u32, u64>,
) -> u64 {
    after
        .iter()
        .map(|(pid, t)| t.saturating_sub(*before.get(pid).unwrap_or(&0)))
        .sum()
}

/// CPU ticks the whole machine spent busy (all CPUs; /proc/stat's first
/// line without idle and iowait).
pub fn machine_busy_ticks() -> u64 {
    let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return 0;
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is within user)
    [0usize, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|i| v.get(*i))
        .sum()
}

/// The 1-, 5- and 15-minute load averages.
pub fn loadavg() -> (f64, f64, f64) {
    let raw = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let v: Vec<f64> = raw
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    (
        v.first().copied().unwrap_or(0.0),
        v.get(1).copied().unwrap_or(0.0),
        v.get(2).copied().unwrap_or(0.0),
    )
}

/// Output of a command, trimmed, or `None` if it could not run or failed.
pub fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The machine, as RESULTS.md describes it.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(test, derive(serde::Deserialize))]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub memory: String,
    pub kernel: String,
    pub rustc: String,
    pub postgresql: String,
    pub wrk: String,
    pub perf_counters: bool,
}

pub fn describe_machine(psql_version: Option<String>) -> Machine {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    let wrk = Command::new("wrk")
        .arg("--version")
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .split(" Copyright")
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|| "not found".into());
    let perf_counters = Command::new("perf")
        .args(["stat", "-x,", "-e", "instructions", "true"])
        .output()
        .map(|o| {
            let err = String::from_utf8_lossy(&o.stderr);
            o.status.success() && !err.contains("not supported")
        })
        .unwrap_or(false);
    Machine {
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model,
        memory,
        kernel: command_output("uname", &["-srm"]).unwrap_or_else(|| "unknown".into()),
        rustc: command_output("rustc", &["-V"]).unwrap_or_else(|| "unknown".into()),
        postgresql: psql_version.unwrap_or_else(|| "unknown".into()),
        wrk,
        perf_counters,
    }
}

/// Newline characters in total over the files `prefix.0`, `prefix.1`, …
/// (the refresh script's per-thread outputs); a missing file counts none.
pub fn count_lines(prefix: &Path, threads: u32) -> usize {
    (0..threads)
        .map(|t| {
            let p = format!("{}.{t}", prefix.display());
            fs::read(&p)
                .map(|b| b.iter().filter(|c| **c == b'\n').count())
                .unwrap_or(0)
        })
        .sum()
}

/// Sends a signal to a process we started.
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status();
}

pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
