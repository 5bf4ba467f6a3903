//! What ready means for the resource-service: the auth-service's keys are
//! held, since until then every token would be refused. The probes
//! themselves (`/healthz`, `/readyz`) are the kit's.

use service_kit::health::Probes;
use service_kit::Readiness;
use shared_claims::KeyStore;

use crate::error::Error;

/// Ready once the JWKS has been fetched.
#[derive(Debug, Clone)]
pub struct KeysHeld(pub KeyStore);

impl Readiness for KeysHeld {
    type Error = Error;

    // Its probes have always answered `ok`; clients may compare the body.
    const READY: &'static str = "ok";

    async fn check(&self) -> Result<(), Error> {
        if self.0.snapshot().is_empty() {
            Err(Error::NotReady)
        } else {
            Ok(())
        }
    }
}

/// The probes in the OpenAPI document.
pub const PROBES: Probes = Probes {
    ready: "The auth-service's keys are held.",
    not_ready: "`not_ready`: the keys have not been fetched yet.",
    retry_after: false,
};
