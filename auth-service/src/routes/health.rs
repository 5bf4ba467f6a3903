//! What ready means for the auth-service: the database answers. The probes
//! themselves (`/healthz`, `/readyz`) are the kit's.

use diesel::RunQueryDsl;
use service_kit::health::Probes;
use service_kit::Readiness;

use crate::db::{self, DbPool};
use crate::error::Error;

/// Ready when the database answers a query; a login could not work before.
#[derive(Debug, Clone)]
pub struct DatabaseAnswers(pub DbPool);

impl Readiness for DatabaseAnswers {
    type Error = Error;

    async fn check(&self) -> Result<(), Error> {
        db::run(&self.0, |conn| diesel::sql_query("SELECT 1").execute(conn))
            .await
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        Ok(())
    }
}

/// The probes in the OpenAPI document; the 503 is [`Error::Unavailable`]'s,
/// with its `Retry-After`.
pub const PROBES: Probes = Probes {
    ready: "The database answers.",
    not_ready: "`not_ready`: the database cannot be reached.",
    retry_after: true,
};
