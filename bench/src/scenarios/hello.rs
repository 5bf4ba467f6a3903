//! The ceiling for any actix-web route on this machine: `GET /` on the
//! "hello" server (`src/bin/hello.rs`), which does nothing else.

use crate::ctx::{say, Ctx};
use crate::measure::{measure, row, spec, warmup};
use crate::results::Row;
use crate::services::HELLO;

/// A warm-up, then the measured run, of the server with pid `hello_pid`.
pub fn ceiling(ctx: &Ctx, hello_pid: u32) -> Result<Row, String> {
    let hello_spec = spec(
        ctx,
        "hello",
        format!("http://{HELLO}/"),
        "static.lua",
        ctx.opts.connections,
        ctx.opts.duration_s,
    );
    measure(ctx, &warmup(ctx, &hello_spec), &[hello_pid])?;
    say("hello server: GET /");
    let (sum, w) = measure(ctx, &hello_spec, &[hello_pid])?;
    let hello_row = row(
        "hello",
        "-",
        "GET / on the actix-web hello server (ceiling)",
        "hello",
        &hello_spec,
        &sum,
        &w,
    );
    println!("{}", hello_row.one_line());
    Ok(hello_row)
}
