//! The command line of `bench/run`.

use std::path::PathBuf;

use serde::Serialize;

/// Command-line options (see `bench/run --help`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(serde::Deserialize))]
pub struct Opts {
    pub sqlite: bool,
    pub quick: bool,
    pub duration_s: u64,
    pub threads: u32,
    pub connections: u32,
    pub refresh_connections: u32,
    pub login_connections: u32,
    pub cold_tokens: usize,
    pub bcrypt_cost: u32,
    pub rust_log: String,
    pub wait_quiet_min: u64,
    pub quiet_load: f64,
    pub skip_criterion: bool,
    pub perf: bool,
    #[serde(skip)]
    pub root: PathBuf,
    #[serde(skip)]
    pub bin_dir: PathBuf,
    #[serde(skip)]
    pub bench_bin_dir: PathBuf,
    #[serde(skip)]
    pub target_dir: PathBuf,
}

const USAGE: &str = "usage: bench/run [--sqlite] [--quick] [--duration S] [--connections N]
       [--refresh-connections N] [--login-connections N] [--threads N]
       [--cold-tokens N] [--bcrypt-cost C] [--rust-log LEVEL]
       [--wait-quiet MINUTES] [--quiet-load L] [--skip-criterion]

  --sqlite                also run the auth-service scenarios on SQLite
  --quick                 smoke test: 2 s runs, few tokens, quick criterion
  --duration S            seconds per measured wrk run (default 10)
  --connections N         connections for hello and GET /api/me (default 32)
  --refresh-connections N refresh chains, and pgbench clients (default 8)
  --login-connections N   concurrent logins (default 8)
  --threads N             wrk threads (default: the number of cores)
  --cold-tokens N         distinct access tokens for cold verification (default 160000)
  --bcrypt-cost C         BCRYPT_COST of the auth-service (default 12)
  --rust-log LEVEL        RUST_LOG of the services (default info, their default)
  --wait-quiet MINUTES    first wait (at most this long) until the 1-minute
                          load average is below --quiet-load (default 0.6)
  --skip-criterion        reuse the last criterion estimates under bench/out
  --perf                  also sample each server with `perf record -e cpu-clock`
                          during every measured run and write bench/PROFILES.md
                          (the numbers of such a run go to bench/out/, not
                          RESULTS.md: the sampling costs a little CPU)";

/// Reads the options from the command line, the repository's root from
/// `BENCH_ROOT` and the build folder from `CARGO_TARGET_DIR`.
pub fn parse() -> Result<Opts, String> {
    let root = std::env::var("BENCH_ROOT")
        .map(PathBuf::from)
        .map_err(|_| "BENCH_ROOT is not set: run bench/run".to_owned())?;
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    from_args(root, target_dir, cores, std::env::args().skip(1))
}

/// The options `args` (the command line without the program's name) ask
/// for, on a machine of `cores` cores.
fn from_args(
    root: PathBuf,
    target_dir: PathBuf,
    cores: u32,
    args: impl IntoIterator<Item = String>,
) -> Result<Opts, String> {
    let mut o = Opts {
        sqlite: false,
        quick: false,
        duration_s: 10,
        threads: cores.max(1),
        connections: 32,
        refresh_connections: 8,
        login_connections: 8,
        cold_tokens: 160_000,
        bcrypt_cost: 12,
        rust_log: "info".into(),
        wait_quiet_min: 0,
        quiet_load: 0.6,
        skip_criterion: false,
        perf: false,
        bin_dir: target_dir.join("release"),
        bench_bin_dir: target_dir.join("release"),
        root,
        target_dir,
    };
    let mut args = args.into_iter();
    let mut explicit_duration = false;
    let mut explicit_tokens = false;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
            v.parse()
                .map_err(|_| format!("{name}: not a number: {v:?}"))
        }
        match arg.as_str() {
            "--sqlite" => o.sqlite = true,
            "--quick" => o.quick = true,
            "--skip-criterion" => o.skip_criterion = true,
            "--perf" => o.perf = true,
            "--duration" => {
                o.duration_s = num("--duration", value("--duration")?)?;
                explicit_duration = true;
            }
            "--connections" => o.connections = num("--connections", value("--connections")?)?,
            "--refresh-connections" => {
                o.refresh_connections =
                    num("--refresh-connections", value("--refresh-connections")?)?
            }
            "--login-connections" => {
                o.login_connections = num("--login-connections", value("--login-connections")?)?
            }
            "--threads" => o.threads = num("--threads", value("--threads")?)?,
            "--cold-tokens" => {
                o.cold_tokens = num("--cold-tokens", value("--cold-tokens")?)?;
                explicit_tokens = true;
            }
            "--bcrypt-cost" => o.bcrypt_cost = num("--bcrypt-cost", value("--bcrypt-cost")?)?,
            "--rust-log" => o.rust_log = value("--rust-log")?,
            "--wait-quiet" => o.wait_quiet_min = num("--wait-quiet", value("--wait-quiet")?)?,
            "--quiet-load" => o.quiet_load = num("--quiet-load", value("--quiet-load")?)?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other:?}\n{USAGE}")),
        }
    }
    if o.quick {
        if !explicit_duration {
            o.duration_s = 2;
        }
        if !explicit_tokens {
            o.cold_tokens = 4_000;
        }
    }
    if o.threads == 0 || o.connections < o.threads || o.refresh_connections < o.threads {
        return Err("connections must be at least the number of wrk threads".into());
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(args: &[&str]) -> Result<Opts, String> {
        from_args(
            PathBuf::from("/repo"),
            PathBuf::from("/repo/target"),
            2,
            args.iter().map(|a| a.to_string()),
        )
    }

    #[test]
    fn no_option_gives_the_full_run_on_every_core() {
        let o = opts(&[]).expect("parses");
        assert_eq!((o.duration_s, o.threads, o.cold_tokens), (10, 2, 160_000));
        assert_eq!(o.bin_dir, PathBuf::from("/repo/target/release"));
    }

    #[test]
    fn quick_shortens_runs_and_token_counts_not_given_explicitly() {
        let o = opts(&["--quick"]).expect("parses");
        assert_eq!((o.duration_s, o.cold_tokens), (2, 4_000));
        let o = opts(&["--quick", "--duration", "5", "--cold-tokens", "9"]).expect("parses");
        assert_eq!((o.duration_s, o.cold_tokens), (5, 9));
    }

    #[test]
    fn fewer_connections_than_wrk_threads_is_refused() {
        assert!(opts(&["--connections", "1"]).is_err());
        assert!(opts(&["--threads", "0"]).is_err());
    }

    #[test]
    fn an_unknown_option_or_a_missing_value_is_refused_with_the_usage() {
        assert!(opts(&["--fast"]).is_err_and(|e| e.contains("usage: bench/run")));
        assert!(opts(&["--duration"]).is_err_and(|e| e.contains("usage: bench/run")));
        assert!(opts(&["--duration", "ten"]).is_err_and(|e| e.contains("not a number")));
    }
}
