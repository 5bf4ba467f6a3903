//! Start and stop. [`Plumbing`] is what every worker's `App` shares, built
//! once per server; [`Listener`] binds (port 0 picks a free port, read back
//! before serving, which is what lets tests start many servers), and
//! [`Server`] owns the running server and its background tasks until it
//! stops.
//!
//! ```no_run
//! use actix_web::{HttpResponse, HttpServer, ResponseError};
//! use service_kit::errors::BodyError;
//! use service_kit::server::Listener;
//! use service_kit::{Plumbing, Readiness};
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("{0:?}")]
//! struct Error(BodyError);
//! impl ResponseError for Error {}
//! impl From<BodyError> for Error {
//!     fn from(e: BodyError) -> Self {
//!         Error(e)
//!     }
//! }
//!
//! struct Ready;
//! impl Readiness for Ready {
//!     type Error = Error;
//!     async fn check(&self) -> Result<(), Error> {
//!         Ok(())
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let plumbing = Plumbing::new(prometheus::Registry::new(), Vec::new(), Ready, Default::default())
//!     .map_err(std::io::Error::other)?;
//! let listener = Listener::bind("127.0.0.1:0")?;
//! println!("listening on port {}", listener.port());
//! let server = listener.serve(|socket| {
//!     Ok(HttpServer::new(move || {
//!         plumbing.app::<Error>(|routes| {
//!             routes.route("/hello", actix_web::web::get().to(HttpResponse::Ok));
//!         })
//!     })
//!     .listen(socket)?
//!     .run())
//! })?;
//! server.run_until_stopped().await
//! # }
//! ```

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App};
use prometheus::Registry;
use tokio::task::JoinHandle;
use utoipa::openapi::OpenApi;

use crate::access_log::request_logger;
use crate::cors::cors;
use crate::errors::{json_config, json_errors, BodyError};
use crate::{health, metrics, openapi, Readiness, MAX_BODY_BYTES};

/// What every worker's `App` shares: the metrics registry and its HTTP
/// middleware, the CORS origins, the readiness check and the OpenAPI
/// document. Built once per server, outside the worker factory, so the
/// workers count in one registry. Clones share it.
pub struct Plumbing<R> {
    registry: web::Data<Registry>,
    http_metrics: metrics::HttpMetrics,
    cors_origins: Arc<[String]>,
    readiness: web::Data<R>,
    doc: OpenApi,
}

impl<R> Clone for Plumbing<R> {
    fn clone(&self) -> Self {
        Self {
            registry: self.registry.clone(),
            http_metrics: self.http_metrics.clone(),
            cors_origins: self.cors_origins.clone(),
            readiness: self.readiness.clone(),
            doc: self.doc.clone(),
        }
    }
}

impl<R> std::fmt::Debug for Plumbing<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plumbing")
            .field("cors_origins", &self.cors_origins)
            .finish_non_exhaustive()
    }
}

impl<R: Readiness> Plumbing<R> {
    /// The plumbing of a server that counts in `registry` (where the
    /// service has registered its own series), lets browsers at
    /// `cors_origins` call it (normalised with
    /// [`normalize_origin`](crate::cors::normalize_origin)), is ready when
    /// `readiness` passes, and serves `doc` at `/openapi.json`.
    pub fn new(
        registry: Registry,
        cors_origins: Vec<String>,
        readiness: R,
        doc: OpenApi,
    ) -> Result<Self, String> {
        let http_metrics = metrics::http_middleware(&registry)?;
        Ok(Self {
            registry: web::Data::new(registry),
            http_metrics,
            cors_origins: cors_origins.into(),
            readiness: web::Data::new(readiness),
            doc,
        })
    }

    /// A worker's `App`, before the service's own data: the shared
    /// middleware, the body limits with bad JSON bodies answered as the
    /// service's error `E`, the service's `routes`, then the routes every
    /// service has (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`,
    /// `/docs`). `routes` owns what it captures (a `move` closure), since
    /// the `App`'s type names it.
    ///
    /// The service's routes come first because the router tries each
    /// resource in turn (a regex for `/docs/{file:.*}`): the requests a
    /// service exists for should not pay for the probes' and the
    /// documentation's paths, which no service route shares.
    ///
    /// The middleware, outermost first: the request id and the access log
    /// (so it sees the final status), the HTTP metrics (which label invented
    /// methods as one), the JSON error bodies, then CORS.
    pub fn app<E>(
        &self,
        routes: impl FnOnce(&mut web::ServiceConfig) + 'static,
    ) -> App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<impl MessageBody>,
            Error = actix_web::Error,
            InitError = (),
        >,
    >
    where
        E: From<BodyError> + Into<actix_web::Error> + 'static,
    {
        let registry = self.registry.clone();
        let readiness = self.readiness.clone();
        let doc = self.doc.clone();
        App::new()
            .wrap(cors(&self.cors_origins))
            .wrap(json_errors())
            .wrap(self.http_metrics.clone())
            .wrap(request_logger())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .app_data(json_config::<E>())
            .configure(routes)
            .configure(move |cfg| {
                health::configure(cfg, readiness);
                metrics::configure(cfg, registry);
                openapi::configure(cfg, doc);
            })
    }
}

/// A bound socket, not yet serving.
#[derive(Debug)]
pub struct Listener {
    socket: TcpListener,
    port: u16,
}

impl Listener {
    /// Binds `addr` (`host:port`; port 0 lets the OS pick a free one).
    pub fn bind(addr: &str) -> io::Result<Self> {
        let socket = TcpListener::bind(addr)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))?;
        let port = socket.local_addr()?.port();
        Ok(Self { socket, port })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Starts serving: `start` builds the actix server on the socket (its
    /// worker count, shutdown timeout and `App` are the service's).
    pub fn serve(
        self,
        start: impl FnOnce(TcpListener) -> io::Result<actix_web::dev::Server>,
    ) -> io::Result<Server> {
        Ok(Server {
            port: self.port,
            server: start(self.socket)?,
            tasks: Vec::new(),
        })
    }
}

/// A server that runs until stopped (SIGINT, SIGTERM or
/// [`ServerHandle::stop`]), with the background tasks that live as long as
/// it does.
pub struct Server {
    port: u16,
    server: actix_web::dev::Server,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Ties `task` to this server: it is stopped when the server stops.
    pub fn with_task(mut self, task: JoinHandle<()>) -> Self {
        self.tasks.push(task);
        self
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped; the requests in flight finish first (within
    /// the server's shutdown timeout), then the background tasks are
    /// stopped.
    pub async fn run_until_stopped(self) -> io::Result<()> {
        let outcome = self.server.await;
        for task in self.tasks {
            task.abort();
        }
        outcome
    }
}
