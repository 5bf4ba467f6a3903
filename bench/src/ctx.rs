//! What every step of a run is given (the options, where the binaries, the
//! Lua scripts and the raw output are) and the progress line it prints.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::opts::Opts;
use crate::sys;

/// Where things live during a run.
pub struct Ctx {
    pub opts: Opts,
    pub out: PathBuf,
    pub lua: PathBuf,
    pub ticks: u64,
    pub auth_bin: PathBuf,
    pub resource_bin: PathBuf,
    pub hello_bin: PathBuf,
}

impl Ctx {
    /// Fails when a binary is missing: `bench/run` builds them first.
    pub fn new(opts: &Opts, bench_dir: &Path, out: &Path) -> Result<Self, String> {
        let ctx = Ctx {
            opts: opts.clone(),
            lua: bench_dir.join("lua"),
            ticks: sys::clock_ticks(),
            auth_bin: opts.bin_dir.join("auth-service"),
            resource_bin: opts.bin_dir.join("resource-service"),
            hello_bin: opts.bench_bin_dir.join("hello"),
            out: out.to_owned(),
        };
        for bin in [&ctx.auth_bin, &ctx.resource_bin, &ctx.hello_bin] {
            if !bin.exists() {
                return Err(format!("{} is missing: run bench/run", bin.display()));
            }
        }
        Ok(ctx)
    }
}

/// Prints a progress line.
pub fn say(msg: impl AsRef<str>) {
    println!("==> {}", msg.as_ref());
    let _ = std::io::stdout().flush();
}
