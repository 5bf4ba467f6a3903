//! Sender-constrained tokens (API.md §7, RFC 9449) at the auth-service.

mod bearer_routes;
mod binding;
mod cross_service;
pub mod proofs;
mod token_requests;
