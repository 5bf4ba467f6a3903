//! The signing keys under `KEY_ENCRYPTION_KEY` (API.md §6 "Signing keys at
//! rest"): no command touches keys it cannot open, and keys found in
//! plaintext are sealed in place without leaving their old bytes behind.

use zeroize::Zeroizing;

use crate::db::models::SigningKeyRow;
use crate::db::{self, signing_keys, AnyConnection};
use crate::tokens::{self, KeyEncryptionKey};

/// Refuses to go on unless every sealed key opens with `kek`, so that no
/// command adds a key sealed with another key (or none) beside them, or
/// replaces keys it cannot read. The refusal is one line naming
/// `KEY_ENCRYPTION_KEY`.
pub(super) fn check_kek(
    rows: &[SigningKeyRow],
    kek: Option<&KeyEncryptionKey>,
) -> Result<(), String> {
    for row in rows
        .iter()
        .filter(|row| tokens::is_sealed(&row.private_key))
    {
        // Opened only to prove that it opens: wiped at once.
        Zeroizing::new(tokens::open_private_key(kek, &row.kid, &row.private_key)?);
    }
    Ok(())
}

/// Seals the keys still stored in plaintext, in place: one transaction under
/// the key lock, so replicas starting together seal each key once, and
/// nothing is written if a key sealed meanwhile does not open with `kek`
/// (the inner error). Then the plaintext's old versions are purged.
pub(super) fn seal_plaintext_keys(
    conn: &mut AnyConnection,
    kek: &KeyEncryptionKey,
) -> diesel::QueryResult<Result<(), String>> {
    let sealed = db::write_transaction(conn, |conn| {
        signing_keys::lock(conn)?;
        let rows = signing_keys::all(conn)?;
        if let Err(refused) = check_kek(&rows, Some(kek)) {
            return Ok(Err(refused));
        }
        let mut sealed = 0;
        for row in rows
            .iter()
            .filter(|row| !tokens::is_sealed(&row.private_key))
        {
            let private_key = match tokens::seal_private_key(kek, &row.kid, &row.private_key) {
                Ok(private_key) => private_key,
                Err(e) => return Ok(Err(e)),
            };
            sealed += signing_keys::set_private_key(conn, &row.kid, &private_key)?;
        }
        Ok(Ok(sealed))
    })?;
    let sealed = match sealed {
        Ok(sealed) => sealed,
        Err(refused) => return Ok(Err(refused)),
    };
    if sealed > 0 {
        log::info!(
            "{sealed} signing key(s) found unencrypted are now sealed with KEY_ENCRYPTION_KEY"
        );
        // After the commit: VACUUM cannot run inside a transaction. Best
        // effort, as the keys are sealed either way; copies made before
        // (backups, PostgreSQL's WAL) are why the README says to rotate.
        if let Err(e) = signing_keys::purge_old_versions(conn) {
            log::warn!(
                "the unencrypted signing keys' old copies may remain in the database files \
                 until it compacts them: {e}"
            );
        }
    }
    Ok(Ok(()))
}
