//! `perf record` of a server during a measured run (`--perf`), and the
//! report of where its CPU went.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::ctx::Ctx;
use crate::sys;

/// One line of `perf report`: padding squeezed, empty trailing columns
/// dropped, very long (generic) symbol names cut.
fn tidy_perf_line(line: &str) -> String {
    let mut parts: Vec<&str> = line
        .split("  ")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    while parts
        .last()
        .is_some_and(|p| p.chars().all(|c| c == '-' || c == ' '))
    {
        parts.pop();
    }
    let joined = parts.join("  ");
    if joined.chars().count() > 160 {
        joined.chars().take(157).collect::<String>() + "..."
    } else {
        joined
    }
}

/// `perf record` of one server during one run (with `--perf`).
pub struct Perf {
    child: Child,
    data: PathBuf,
    report: PathBuf,
}

impl Perf {
    pub fn start(ctx: &Ctx, name: &str, pid: u32) -> Option<Self> {
        if !ctx.opts.perf {
            return None;
        }
        let dir = ctx.out.join("perf");
        fs::create_dir_all(&dir).ok()?;
        let data = dir.join(format!("{name}.data"));
        let child = Command::new("perf")
            .args(["record", "-e", "cpu-clock", "-F", "499", "-g", "-p"])
            .arg(pid.to_string())
            .arg("-o")
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // perf needs a moment to attach to every thread.
        std::thread::sleep(Duration::from_millis(300));
        Some(Perf {
            child,
            data,
            report: dir.join(format!("{name}.txt")),
        })
    }

    pub fn finish(mut self) {
        sys::signal(self.child.id(), "INT");
        let _ = self.child.wait();
        let mut text = String::new();
        for (title, args) in [
            ("by shared object", vec!["--sort", "dso"]),
            ("by symbol (self time)", vec!["--sort", "dso,symbol"]),
        ] {
            let out = Command::new("perf")
                .arg("report")
                .arg("-i")
                .arg(&self.data)
                .args([
                    "--stdio",
                    "--no-children",
                    "-g",
                    "none",
                    "--percent-limit",
                    "0.7",
                ])
                .args(&args)
                .output();
            if let Ok(out) = out {
                text.push_str(&format!("## {title}\n\n"));
                text.push_str(
                    &String::from_utf8_lossy(&out.stdout)
                        .lines()
                        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                        .map(tidy_perf_line)
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
                text.push_str("\n\n");
            }
        }
        let _ = fs::write(&self.report, text);
    }
}
