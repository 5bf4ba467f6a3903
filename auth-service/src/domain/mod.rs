//! Validated input types. Parsing is the only way in, so a value of these
//! types has already passed the rules of API.md §1 and §3.

mod email;
mod password;

pub use email::{Email, InvalidEmail};
pub use password::{Password, WeakPassword};
pub use shared_claims::Role;
