//! The real binaries as child processes: started with an environment, their
//! port read from their log, everything they print kept, and stopped as a
//! container runtime or a crash would stop them.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

pub struct Process {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Process {
    /// Starts a binary and waits for the log line naming its port.
    pub fn start(program: &str, env: &[(&str, String)], port_after: &str) -> (Process, u16) {
        let mut command = Command::new(program);
        command
            .env("RUST_LOG", "trace")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        let stdout = child.stdout.take().expect("stdout");
        for stream in [
            Box::new(stderr) as Box<dyn std::io::Read + Send>,
            Box::new(stdout),
        ] {
            let lines = lines.clone();
            let port_tx = port_tx.clone();
            let marker = port_after.to_owned();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split(&marker).nth(1) {
                        // "127.0.0.1:PORT (…)" or "PORT": the first word, after any colon.
                        let word = rest.split_whitespace().next().unwrap_or_default();
                        let digits: String = word
                            .rsplit(':')
                            .next()
                            .unwrap_or(word)
                            .chars()
                            .take_while(char::is_ascii_digit)
                            .collect();
                        if let Ok(port) = digits.parse::<u16>() {
                            let _ = port_tx.send(port);
                        }
                    }
                    lines.lock().expect("lock").push(line);
                }
            });
        }
        let port = port_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "{program} printed no port: {:?}",
                    lines.lock().expect("lock")
                )
            });
        (Process { child, lines }, port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, as a container runtime does on stop.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Kills the process with SIGKILL, a crash: no shutdown, nothing
    /// flushed, connections cut. Returns what it printed.
    pub fn kill(mut self) -> Vec<String> {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(200));
        let lines = self.lines.lock().expect("lock").clone();
        lines
    }

    pub fn output(&self) -> Vec<String> {
        self.lines.lock().expect("lock").clone()
    }

    pub fn stop(mut self) -> Vec<String> {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        // Let the reader threads drain what was printed last.
        std::thread::sleep(Duration::from_millis(200));
        let lines = self.lines.lock().expect("lock").clone();
        lines
    }
}

/// The resource-service binary, which `cargo test --workspace` builds for its
/// own integration tests.
pub fn resource_service_binary() -> String {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/resource-service");
    assert!(
        path.exists(),
        "build the resource-service binary first ({})",
        path.display()
    );
    path.to_string_lossy().into_owned()
}
