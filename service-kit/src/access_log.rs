//! The access log: one line per request with client address, method, path,
//! status, size, latency and the request id. Only the path: a query string
//! could carry a token (RFC 6750 §2.3), and no other header is logged.
//!
//! It is kept off the request path: a request hands a small record
//! to a channel, and one background thread formats the records and writes
//! them to stderr in batches, as web servers buffer their access logs.
//! Formatting a line through `log` and writing it with one `write` per
//! request cost the services more than routing and the handler together.

use std::fmt::Write as _;
use std::future::{ready, Future, Ready};
use std::io::Write as _;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::Method;

use crate::request_id::REQUEST_ID_HEADER;

/// The `log` target whose level decides whether requests are logged:
/// `RUST_LOG=info` (the default) logs them, `RUST_LOG=info,access=off` not.
pub const ACCESS_LOG_TARGET: &str = "access";

/// How long a line may wait before it is written.
const FLUSH_INTERVAL: Duration = Duration::from_millis(20);

struct Entry {
    at: SystemTime,
    peer: Option<IpAddr>,
    method: Method,
    path: String,
    status: u16,
    size: Option<u64>,
    elapsed: Duration,
    request_id: String,
}

enum Message {
    Entry(Entry),
    /// Write everything sent before this, then answer.
    Flush(SyncSender<()>),
}

// One writer for the process, like the stderr it writes to: every server in
// the process shares the stream, so they share its batching too.
fn sender() -> &'static Sender<Message> {
    static SENDER: OnceLock<Sender<Message>> = OnceLock::new();
    SENDER.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        // If the thread cannot start, sends fail and lines are dropped: the
        // service must not stop serving for want of a log line.
        let _ = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_batches(&rx));
        tx
    })
}

/// The writer: wakes every [`FLUSH_INTERVAL`], takes whatever arrived and
/// writes it with one call. Senders never wake it, so a request pays no
/// system call for its line.
fn write_batches(rx: &Receiver<Message>) {
    let mut text = String::new();
    loop {
        std::thread::sleep(FLUSH_INTERVAL);
        let mut waiting = Vec::new();
        let disconnected = loop {
            match rx.try_recv() {
                Ok(Message::Entry(entry)) => format_line(&mut text, &entry),
                Ok(Message::Flush(done)) => waiting.push(done),
                Err(TryRecvError::Empty) => break false,
                Err(TryRecvError::Disconnected) => break true,
            }
        };
        if !text.is_empty() {
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
            text.clear();
        }
        for done in waiting {
            let _ = done.send(());
        }
        if disconnected {
            return;
        }
    }
}

/// env_logger's default layout, so access lines read like the others.
fn format_line(out: &mut String, e: &Entry) {
    let peer = e.peer.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    let size = e.size.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let _ = writeln!(
        out,
        "[{} INFO  {ACCESS_LOG_TARGET}] {peer} \"{} {}\" {} {size} {:.6}ms request_id={}",
        humantime::format_rfc3339_seconds(e.at),
        e.method,
        e.path,
        e.status,
        e.elapsed.as_secs_f64() * 1000.0,
        e.request_id,
    );
}

/// Writes out every access-log line recorded so far; call it before the
/// process exits, or the last lines may be lost.
///
/// ```
/// service_kit::access_log::flush_access_log();
/// ```
pub fn flush_access_log() {
    let (done, wait) = mpsc::sync_channel(1);
    if sender().send(Message::Flush(done)).is_ok() {
        let _ = wait.recv_timeout(Duration::from_secs(1));
    }
}

/// The access-log middleware. Wrap it outside
/// [`request_id`](crate::request_id::request_id), whose response header it
/// prints:
///
/// ```
/// use actix_web::middleware::from_fn;
/// use service_kit::access_log::request_logger;
/// use service_kit::request_id::request_id;
///
/// let app = actix_web::App::new()
///     .wrap(from_fn(request_id))
///     .wrap(request_logger());
/// # let _ = app;
/// ```
///
/// The line is written by a background thread, at most a few milliseconds
/// later; the `log` target [`ACCESS_LOG_TARGET`] switches it on and off with
/// `RUST_LOG`, and [`flush_access_log`] writes what is pending before exit.
pub fn request_logger() -> AccessLog {
    AccessLog
}

/// The access-log middleware; see [`request_logger`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessLog;

impl<S, B> Transform<S, ServiceRequest> for AccessLog
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: MessageBody,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = AccessLogService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AccessLogService { service }))
    }
}

/// [`AccessLog`] wrapped around a service.
#[derive(Debug)]
pub struct AccessLogService<S> {
    service: S,
}

type Pending<B> = Pin<Box<dyn Future<Output = Result<ServiceResponse<B>, actix_web::Error>>>>;

impl<S, B> Service<ServiceRequest> for AccessLogService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: MessageBody,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Pending<B>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.service.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if !log::log_enabled!(target: ACCESS_LOG_TARGET, log::Level::Info) {
            return Box::pin(self.service.call(req));
        }
        let started = Instant::now();
        let at = SystemTime::now();
        let peer = req.peer_addr().map(|addr| addr.ip());
        let method = req.method().clone();
        // The path only: a query string could carry a token (RFC 6750 §2.3).
        let path = req.path().to_owned();
        let response = self.service.call(req);
        Box::pin(async move {
            let response = response.await?;
            let size = match response.response().body().size() {
                BodySize::Sized(n) => Some(n),
                BodySize::None => Some(0),
                BodySize::Stream => None,
            };
            let request_id = response
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned();
            let _ = sender().send(Message::Entry(Entry {
                at,
                peer,
                method,
                path,
                status: response.status().as_u16(),
                size,
                elapsed: started.elapsed(),
                request_id,
            }));
            Ok(response)
        })
    }
}
