//! The HTTP plumbing the auth-service and the resource-service share, so
//! both answer, log, count and stop the same way (API.md §1):
//!
//! - [`server`]: one [`Plumbing`] per server wraps every worker's `App` in
//!   the shared middleware and routes, and [`Server`] owns the bound port,
//!   the running server and its background tasks until it stops;
//! - [`metrics`]: a Prometheus registry per instance, the HTTP middleware
//!   labelled by route pattern, and `GET /metrics`;
//! - [`health`]: `GET /healthz`, and `GET /readyz` answering from the
//!   [`Readiness`] check a service supplies;
//! - [`request_id`], [`access_log`], [`cors`]: the request's id, its log
//!   line, and the browser origins allowed to call;
//! - [`errors`]: the `{error, error_description}` body for answers the
//!   framework makes, and the mapping of refused JSON bodies;
//! - [`openapi`]: what every service's document shares, and the Swagger UI;
//! - [`config`]: reading variables, and the error naming the one at fault.
//!
//! What a resource server needs to accept tokens lives in `shared-claims`;
//! this crate depends on it, never the reverse.
#![forbid(unsafe_code)]

pub mod access_log;
pub mod config;
pub mod cors;
pub mod errors;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod request_id;
pub mod server;

pub use health::Readiness;
pub use server::{Plumbing, Server};

/// Request bodies above this are refused with 413 `payload_too_large` (API.md §1).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
