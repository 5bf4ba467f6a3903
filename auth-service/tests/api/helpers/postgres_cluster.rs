//! PostgreSQL clusters of the tests' own, started from PostgreSQL's binaries:
//! one per test that stops and starts its server, and one for the whole run
//! when no server answers where the tests look for one.

use std::io::Write as _;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// What to do when the tests find neither a server nor the binaries.
const INSTALL_HINT: &str =
    "install PostgreSQL's server binaries (Debian: apt-get install postgresql), \
     set PG_BIN_DIR to the folder holding initdb, or set TEST_DATABASE_URL to a server";

/// A PostgreSQL cluster of one test's own: `initdb` into a temporary folder,
/// served on a free port of 127.0.0.1, so the test can stop and start it
/// without disturbing the shared server other tests use. Removed on drop.
///
/// The binaries are taken from `PG_BIN_DIR`, else the newest
/// `/usr/lib/postgresql/*/bin`, else `PATH` (see [`postgres_bin_dir`]).
/// PostgreSQL refuses to run as
/// root, so under root its tools run as the `postgres` user.
pub struct PrivatePostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    run_as_postgres: bool,
}

impl PrivatePostgres {
    /// Creates and starts a cluster that trusts user `postgres` on 127.0.0.1.
    pub fn start() -> PrivatePostgres {
        let run_as_postgres = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let cluster = PrivatePostgres {
            dir: std::env::temp_dir()
                .join(format!("auth-test-pg-{}", uuid::Uuid::new_v4().simple())),
            bin: postgres_bin_dir().unwrap_or_else(|| {
                panic!("a private PostgreSQL cluster needs initdb: {INSTALL_HINT}")
            }),
            port,
            run_as_postgres,
        };
        let dir = cluster.dir.to_string_lossy().into_owned();
        cluster.tool(
            "initdb",
            &[
                "-D",
                &dir,
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "--no-locale",
                "-E",
                "UTF8",
            ],
        );
        cluster.start_again();
        cluster
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server: `fast` ends every session at once, rolling back
    /// the transactions in flight; `immediate` is a crash.
    pub fn stop(&self, mode: &str) {
        let dir = self.dir.to_string_lossy().into_owned();
        self.tool("pg_ctl", &["-D", &dir, "-m", mode, "-w", "stop"]);
    }

    /// Starts the (stopped) server again on the same port.
    pub fn start_again(&self) {
        let dir = self.dir.to_string_lossy().into_owned();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {dir} -c fsync=off",
            self.port
        );
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        self.tool(
            "pg_ctl",
            &[
                "-D", &dir, "-l", &log, "-o", &options, "-w", "-t", "30", "start",
            ],
        );
    }

    fn tool(&self, name: &str, args: &[&str]) {
        let program = self.bin.join(name);
        let mut command = if self.run_as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            std::process::Command::new(&program)
        };
        let output = command
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        assert!(
            output.status.success(),
            "{name} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let dir = self.dir.to_string_lossy().into_owned();
        let program = self.bin.join("pg_ctl");
        let args = ["-D", dir.as_str(), "-m", "immediate", "-w", "stop"];
        let _ = if self.run_as_postgres {
            std::process::Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&program)
                .args(args)
                .output()
        } else {
            std::process::Command::new(&program).args(args).output()
        };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The folder holding `initdb` and `pg_ctl`: `PG_BIN_DIR` when set, else the
/// newest `/usr/lib/postgresql/*/bin` (Debian keeps them off `PATH`), else
/// the `PATH` entry that has them.
pub fn postgres_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        return dir.join("initdb").is_file().then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?).find(|dir| dir.join("initdb").is_file())
    })
}

/// The `host:port` of a `postgres://` URL, without the credentials; empty
/// for a URL that names no host (a Unix socket).
pub fn postgres_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let has_port = !host.ends_with(']')
        && host
            .rsplit_once(':')
            .is_some_and(|(_, port)| port.parse::<u16>().is_ok());
    if host.is_empty() || has_port {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// Whether anything accepts TCP connections where a `postgres://` URL
/// points. A URL without a host counts as answering: the connection itself
/// will say whether it does.
pub fn postgres_answers(url: &str) -> bool {
    let host = postgres_host(url);
    host.is_empty()
        || host
            .to_socket_addrs()
            .into_iter()
            .flatten()
            .any(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok())
}

impl PrivatePostgres {
    /// Starts a cluster that outlives every test of this binary: `None`
    /// when PostgreSQL's binaries cannot be found.
    ///
    /// A static is never dropped, so the cluster cannot be stopped by
    /// [`Drop`]. A watchdog shell, in a process group of its own so that a
    /// Ctrl-C to the test run does not end it first, waits for this process
    /// to end (however it ends) and then stops the server and removes its
    /// folder. Each run gets a fresh folder and port, so even a cluster left
    /// behind by a killed watchdog does not disturb the next run.
    #[expect(
        clippy::zombie_processes,
        reason = "the watchdog exits only after this process has, so it never lingers as a zombie"
    )]
    pub fn start_for_this_process() -> Option<String> {
        postgres_bin_dir()?;
        let cluster = PrivatePostgres::start();
        let url = cluster.url();
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; \
             if [ -n \"$3\" ]; then runuser -u postgres -- \"$2\" -D \"$1\" -m immediate -w stop; \
             else \"$2\" -D \"$1\" -m immediate -w stop; fi; \
             rm -rf \"$1\"",
            std::process::id(),
        );
        Command::new("sh")
            .args(["-c", &script, "postgres-watchdog"])
            .arg(&cluster.dir)
            .arg(cluster.bin.join("pg_ctl"))
            .arg(if cluster.run_as_postgres {
                "postgres"
            } else {
                ""
            })
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the watchdog of the private cluster: {e}"));
        let _ = writeln!(
            std::io::stderr(),
            "PostgreSQL tests: using a private cluster on 127.0.0.1:{} from {}",
            cluster.port,
            cluster.bin.display()
        );
        // The watchdog owns the cluster from here on.
        std::mem::forget(cluster);
        Some(url)
    }
}

/// The one line the PostgreSQL tests fail with when there is neither a
/// server nor a way to start one.
pub fn no_postgres(looked_at: &str) -> String {
    format!(
        "the PostgreSQL tests need a server, and nothing answers at {looked_at}: {INSTALL_HINT}"
    )
}
