//! The promises kept when things go wrong, each proved by causing the fault:
//! the database stops, the auth-service is killed, the auth-service is down
//! while the resource-service serves, and the SQLite file is shared or cut
//! off mid-write.

mod auth_down;
mod crash;
mod database_outage;
mod sqlite;

use reqwest::Response;
use serde_json::Value;

use crate::helpers::*;

/// Asserts a 503 `not_ready` with a JSON error body and a `Retry-After` of
/// whole seconds.
pub async fn assert_unavailable(response: Response, what: &str) {
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let seconds: u64 = retry_after
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            panic!("{what}: a 503 needs Retry-After in seconds, got {retry_after:?}")
        });
    assert!(seconds >= 1, "{what}: Retry-After {seconds}");
    assert_error(response, 503, "not_ready").await;
}

/// The error body of a response that is neither success nor 503, for the
/// failure message.
pub async fn describe(response: Response) -> String {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    format!("{status} {body}")
}
