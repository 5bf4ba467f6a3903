//! The client's background task, stopped when its owner says so or goes away.

use std::future::Future;

use tokio::task::JoinHandle;

/// The background fetching of a [`JwksClient`](super::JwksClient), from
/// [`JwksClient::start`](super::JwksClient::start). Dropping it stops the
/// task too.
///
/// ```no_run
/// # use std::sync::Arc;
/// # use shared_claims::{jwks::{JwksClient, JwksOptions}, KeyStore};
/// # #[tokio::main] async fn main() {
/// # let client = Arc::new(JwksClient::new("http://127.0.0.1:8080/.well-known/jwks.json", KeyStore::default(), JwksOptions::default()).unwrap());
/// let task = client.start();
/// assert!(!task.is_finished());
/// task.stop().await;
/// # }
/// ```
#[derive(Debug)]
#[must_use = "dropping the task stops the fetching"]
pub struct JwksTask {
    handle: Option<JoinHandle<()>>,
}

impl JwksTask {
    pub(super) fn spawn(run: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            handle: Some(tokio::spawn(run)),
        }
    }

    /// Whether the task has ended: the keys were fetched and no periodic
    /// refresh was asked for.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use shared_claims::{jwks::{JwksClient, JwksOptions}, KeyStore};
    /// # #[tokio::main] async fn main() {
    /// # let client = Arc::new(JwksClient::new("http://127.0.0.1:8080/.well-known/jwks.json", KeyStore::default(), JwksOptions::default()).unwrap());
    /// let task = client.start();
    /// while !task.is_finished() {
    ///     tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    /// }
    /// assert!(client.is_ready());
    /// # }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the task and waits until it has stopped: no fetch from it
    /// replaces the keys after this returns.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use shared_claims::{jwks::{JwksClient, JwksOptions}, KeyStore};
    /// # #[tokio::main] async fn main() {
    /// # let client = Arc::new(JwksClient::new("http://127.0.0.1:8080/.well-known/jwks.json", KeyStore::default(), JwksOptions::default()).unwrap());
    /// let task = client.start();
    /// task.stop().await;
    /// # }
    /// ```
    pub async fn stop(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
            // Its outcome is "cancelled", or "finished" if it ended first;
            // neither is an error here.
            let _ = handle.await;
        }
    }
}

impl Drop for JwksTask {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }
}
