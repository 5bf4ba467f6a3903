//! The smallest service a test can hand to `Plumbing`: an error type that
//! takes the kit's body errors, and a readiness check that always passes.

use actix_web::ResponseError;
use service_kit::errors::BodyError;
use service_kit::Readiness;

#[derive(Debug, thiserror::Error)]
#[error("{0:?}")]
pub struct Error(BodyError);

impl From<BodyError> for Error {
    fn from(e: BodyError) -> Self {
        Error(e)
    }
}

impl ResponseError for Error {}

pub struct Ready;

impl Readiness for Ready {
    type Error = Error;
    async fn check(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// The plumbing of a test service whose browser clients live at `origins`,
/// with a registry of its own.
pub fn plumbing(origins: &[&str]) -> service_kit::Plumbing<Ready> {
    service_kit::Plumbing::new(
        prometheus::Registry::new(),
        origins.iter().map(|origin| (*origin).to_owned()).collect(),
        Ready,
        Default::default(),
    )
    .expect("plumbing")
}
