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
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::HeaderValue;
use actix_web::http::Method;
use actix_web::HttpMessage;
use pin_project_lite::pin_project;

use crate::request_id::{RequestId, REQUEST_ID_NAME};

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
    let mut lines = LineFormatter::default();
    loop {
        std::thread::sleep(FLUSH_INTERVAL);
        let mut waiting = Vec::new();
        let disconnected = loop {
            match rx.try_recv() {
                Ok(Message::Entry(entry)) => lines.format(&mut text, &entry),
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

/// Formats lines in env_logger's default layout, so access lines read like
/// the others. The timestamp changes once a second and a client's address
/// seldom, yet printing them was a third of a line's cost: the last of each
/// is kept and reused while it still applies.
#[derive(Debug, Default)]
struct LineFormatter {
    second: Option<(u64, String)>,
    peer: Option<(Option<IpAddr>, String)>,
}

impl LineFormatter {
    fn format(&mut self, out: &mut String, e: &Entry) {
        let second = e.at.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs());
        match (&self.second, second) {
            (Some((cached, _)), Some(second)) if *cached == second => {}
            (_, Some(second)) => {
                let text = humantime::format_rfc3339_seconds(e.at).to_string();
                self.second = Some((second, text));
            }
            // Before the epoch: not worth a cache, and never seen.
            (_, None) => self.second = None,
        }
        if self.peer.as_ref().is_none_or(|(peer, _)| *peer != e.peer) {
            let text = e.peer.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
            self.peer = Some((e.peer, text));
        }
        out.push('[');
        match &self.second {
            Some((_, text)) => out.push_str(text),
            None => {
                let _ = write!(out, "{}", humantime::format_rfc3339_seconds(e.at));
            }
        }
        out.push_str(" INFO  ");
        out.push_str(ACCESS_LOG_TARGET);
        out.push_str("] ");
        if let Some((_, peer)) = &self.peer {
            out.push_str(peer);
        }
        out.push_str(" \"");
        out.push_str(e.method.as_str());
        out.push(' ');
        out.push_str(&e.path);
        out.push_str("\" ");
        push_decimal(out, u64::from(e.status));
        out.push(' ');
        match e.size {
            Some(n) => push_decimal(out, n),
            None => out.push('-'),
        }
        out.push(' ');
        push_milliseconds(out, e.elapsed);
        out.push_str("ms request_id=");
        out.push_str(&e.request_id);
        out.push('\n');
    }
}

/// Appends `n` in decimal, as `{}` prints it, without the formatting
/// machinery (most of a line's cost when every field went through it).
fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
}

/// Below this, [`push_milliseconds`] prints from the integer nanoseconds;
/// the float the line was always printed from is then within a fraction of
/// a nanosecond of them, so both print the same six decimals.
const EXACT_UP_TO: Duration = Duration::from_secs(3600);

/// Appends `elapsed` in milliseconds with six decimals, as
/// `{:.6}` of `elapsed.as_secs_f64() * 1000.0` prints it.
fn push_milliseconds(out: &mut String, elapsed: Duration) {
    if elapsed >= EXACT_UP_TO {
        let _ = write!(out, "{:.6}", elapsed.as_secs_f64() * 1000.0);
        return;
    }
    let nanos = elapsed.as_secs() * 1_000_000_000 + u64::from(elapsed.subsec_nanos());
    push_decimal(out, nanos / 1_000_000);
    out.push('.');
    let fraction = nanos % 1_000_000;
    let mut place = 100_000;
    while place > 0 {
        out.push(char::from(b'0' + (fraction / place % 10) as u8));
        place /= 10;
    }
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

/// The outermost middleware: gives every request a [`RequestId`] (the
/// client's `X-Request-Id` when it is sane, else a new one), stores it in
/// the request's extensions, sends it back in the response's
/// `X-Request-Id` (error responses included), and writes the request's
/// line in the access log, which names the id.
///
/// ```
/// let app = actix_web::App::new().wrap(service_kit::access_log::request_logger());
/// # let _ = app;
/// ```
///
/// The line is written by a background thread, at most a few milliseconds
/// later; the `log` target [`ACCESS_LOG_TARGET`] switches it on and off with
/// `RUST_LOG` (the ids are given either way), and [`flush_access_log`]
/// writes what is pending before exit.
pub fn request_logger() -> AccessLog {
    AccessLog
}

/// The request-id and access-log middleware; see [`request_logger`]. One
/// layer for both: the line needs the id, and each layer costs a request
/// a boxed future and a call.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessLog;

impl<S, B> Transform<S, ServiceRequest> for AccessLog
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
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

impl<S, B> Service<ServiceRequest> for AccessLogService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Logged<S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let line = log::log_enabled!(target: ACCESS_LOG_TARGET, log::Level::Info).then(|| {
            Line {
                started: Instant::now(),
                at: SystemTime::now(),
                peer: req.peer_addr().map(|addr| addr.ip()),
                method: req.method().clone(),
                // The path only: a query string could carry a token (RFC 6750 §2.3).
                path: req.path().to_owned(),
            }
        });
        let id = RequestId::from_header(req.headers().get(&REQUEST_ID_NAME));
        req.extensions_mut().insert(id.clone());
        Logged {
            response: self.service.call(req),
            id,
            line,
        }
    }
}

/// What is known of a request's line before its answer.
struct Line {
    started: Instant,
    at: SystemTime,
    peer: Option<IpAddr>,
    method: Method,
    path: String,
}

pin_project! {
    /// The response of a request through [`AccessLog`], on its way.
    pub struct Logged<F> {
        #[pin]
        response: F,
        id: RequestId,
        line: Option<Line>,
    }
}

impl<F, B> Future for Logged<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
    B: MessageBody,
{
    type Output = Result<ServiceResponse<B>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // Like actix's `DefaultHeaders`, an `Err` from inside passes through
        // untouched (and unlogged): the request cannot be kept aside to build
        // a response from it (routing needs it unshared), and handlers' and
        // middlewares' errors are responses by the time they get here anyway.
        let mut response = match std::task::ready!(this.response.poll(cx)) {
            Ok(response) => response,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let id = this.id.take();
        let sent = match HeaderValue::from_str(&id) {
            Ok(value) => {
                response
                    .headers_mut()
                    .insert(REQUEST_ID_NAME.clone(), value);
                true
            }
            Err(_) => false,
        };
        if let Some(line) = this.line.take() {
            let size = match response.response().body().size() {
                BodySize::Sized(n) => Some(n),
                BodySize::None => Some(0),
                BodySize::Stream => None,
            };
            // The line names the id the answer carries.
            let request_id = if sent {
                id
            } else {
                response
                    .headers()
                    .get(&REQUEST_ID_NAME)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_owned()
            };
            let _ = sender().send(Message::Entry(Entry {
                at: line.at,
                peer: line.peer,
                method: line.method,
                path: line.path,
                status: response.status().as_u16(),
                size,
                elapsed: line.started.elapsed(),
                request_id,
            }));
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line as the formatter printed it before it kept anything.
    fn reference(e: &Entry) -> String {
        let peer = e.peer.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        let size = e.size.map_or_else(|| "-".to_owned(), |n| n.to_string());
        format!(
            "[{} INFO  {ACCESS_LOG_TARGET}] {peer} \"{} {}\" {} {size} {:.6}ms request_id={}\n",
            humantime::format_rfc3339_seconds(e.at),
            e.method,
            e.path,
            e.status,
            e.elapsed.as_secs_f64() * 1000.0,
            e.request_id,
        )
    }

    fn entry(at_ms: u64, peer: Option<&str>, size: Option<u64>) -> Entry {
        Entry {
            at: UNIX_EPOCH + Duration::from_millis(at_ms),
            peer: peer.map(|p| p.parse().expect("an address")),
            method: Method::GET,
            path: "/api/me".to_owned(),
            status: 200,
            size,
            elapsed: Duration::from_micros(1234),
            request_id: "abc-123".to_owned(),
        }
    }

    #[test]
    fn lines_reusing_the_last_timestamp_and_address_read_as_if_printed_afresh() {
        let entries = [
            entry(1_700_000_000_100, Some("127.0.0.1"), Some(180)),
            entry(1_700_000_000_900, Some("127.0.0.1"), Some(0)),
            entry(1_700_000_001_000, Some("127.0.0.1"), None),
            entry(1_700_000_001_500, Some("::1"), Some(7)),
            entry(1_700_000_001_600, None, Some(7)),
            entry(1_699_999_999_000, Some("10.0.0.2"), Some(7)),
        ];
        let mut lines = LineFormatter::default();
        let mut out = String::new();
        for e in &entries {
            lines.format(&mut out, e);
        }

        let expected: String = entries.iter().map(reference).collect();
        assert_eq!(out, expected);
        assert_eq!(out.lines().count(), entries.len(), "one whole line each");
    }

    /// Durations from a fixed-seed generator, spread over `0..limit_ns`.
    fn durations(count: usize, limit_ns: u64) -> impl Iterator<Item = Duration> {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        (0..count).map(move |_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            Duration::from_nanos((state >> 11) % limit_ns)
        })
    }

    #[test]
    fn milliseconds_print_as_the_float_printed_them() {
        let hour = EXACT_UP_TO.as_nanos() as u64;
        let edges = [
            0,
            1,
            499,
            500,
            999_999,
            1_000_000,
            1_000_001,
            999_999_999,
            1_000_000_000,
        ]
        .into_iter()
        .chain([hour - 1, hour, hour + 1, 86_400_000_000_000, u64::MAX / 4])
        .map(Duration::from_nanos);
        let every_nanosecond_of_the_first_ms = (0..1_000_000).step_by(7).map(Duration::from_nanos);
        let spread = durations(200_000, hour)
            .chain(durations(20_000, 1_000_000_000))
            .chain(durations(2_000, 40 * hour));
        for elapsed in edges.chain(every_nanosecond_of_the_first_ms).chain(spread) {
            let mut out = String::new();
            push_milliseconds(&mut out, elapsed);
            assert_eq!(
                out,
                format!("{:.6}", elapsed.as_secs_f64() * 1000.0),
                "{elapsed:?}"
            );
        }
    }

    #[test]
    fn decimals_print_as_display_prints_them() {
        let numbers = [0, 9, 10, 99, 100, 404, 65_535, u64::MAX]
            .into_iter()
            .chain(durations(10_000, u64::MAX).map(|d| d.as_nanos() as u64));
        for n in numbers {
            let mut out = String::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn lines_with_every_status_size_and_duration_read_as_before() {
        let mut lines = LineFormatter::default();
        let mut out = String::new();
        let mut expected = String::new();
        for (i, elapsed) in durations(5_000, 3 * EXACT_UP_TO.as_nanos() as u64).enumerate() {
            let mut e = entry(1_700_000_000_000 + i as u64, Some("192.0.2.7"), None);
            e.status = [200, 201, 204, 301, 401, 404, 405, 413, 500, 503][i % 10];
            e.size = [None, Some(0), Some(7), Some(16_384), Some(u64::MAX)][i % 5];
            e.elapsed = elapsed;
            e.method = [
                Method::GET,
                Method::DELETE,
                Method::from_bytes(b"OTHER").expect("method"),
            ][i % 3]
                .clone();
            lines.format(&mut out, &e);
            expected.push_str(&reference(&e));
        }
        assert_eq!(out, expected);
    }
}
