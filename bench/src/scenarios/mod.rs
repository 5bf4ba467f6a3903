//! The measured scenarios, one module per family.

/// Refresh chains, logins and the login storm against the auth-service.
pub mod auth;
/// A session-checked route against a stateless one, and introspection.
pub mod checked;
/// A flood of distinct DPoP proofs against the replay cache's memory.
pub mod dpop;
/// The actix-web hello server: the ceiling for any route.
pub mod hello;
/// Start to ready of both services.
pub mod startup;
/// Access-token verification in the resource-service.
pub mod verify;
