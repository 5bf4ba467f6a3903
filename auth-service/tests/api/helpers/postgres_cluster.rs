//! PostgreSQL clusters of the tests' own, started from PostgreSQL's binaries.

use std::path::PathBuf;

/// A PostgreSQL cluster of one test's own: `initdb` into a temporary folder,
/// served on a free port of 127.0.0.1, so the test can stop and start it
/// without disturbing the shared server other tests use. Removed on drop.
///
/// The binaries are taken from `PG_BIN_DIR`, else the newest
/// `/usr/lib/postgresql/*/bin`, else `PATH`. PostgreSQL refuses to run as
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
            bin: postgres_bin_dir(),
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

fn postgres_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    // Empty: the tools are looked up on PATH.
    versions.pop().map(|(_, bin)| bin).unwrap_or_default()
}
