//! Validated types and the values the flows return. Parsing is the only way
//! in, so a value of these types has already passed the rules of API.md §1
//! and §3. No I/O here, and nothing of storage or HTTP.

mod client_address;
mod email;
mod history;
mod ids;
mod password;
mod user;

pub use client_address::{client_address, lockout_key};
pub use email::{Email, InvalidEmail};
pub use history::{EndReason, EventKind, SessionEvent};
pub use ids::{InvalidId, SessionId, UserId};
pub use password::{Password, WeakPassword};
pub use shared_claims::Role;
pub use user::{Session, User};
