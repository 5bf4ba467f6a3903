//! How long a signing key stays published and kept: the rule each serving
//! instance applies to what it loads, and the lease it records in the
//! database so that pruning goes by the database, not by the settings of
//! whoever prunes.

use super::keys::StoredKey;

/// How long a key must stay published, as one serving instance sees it.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// This instance's `ACCESS_TOKEN_TTL`.
    pub access_ttl: chrono::Duration,
    /// Covers clock skew between services and instances that reload late.
    pub margin: chrono::Duration,
    /// How often this instance reloads its keys: it may sign with a key
    /// for that long after another replaced it.
    pub reload: chrono::Duration,
}

impl Lifetimes {
    /// The last moment a token of a key replaced at `replaced` may be alive.
    fn replaced(&self, replaced: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
        replaced + self.margin + self.access_ttl
    }
}

/// The stored keys that may still verify live tokens, newest first.
///
/// The newest key signs, so it is always kept. An older one stays until the
/// later of its recorded `retire_after` (the instances that signed with it
/// raised it while they did) and, for keys no instance has recorded yet,
/// `successor.created_at + margin + access_ttl`.
pub fn published(
    rows: &[StoredKey],
    now: chrono::NaiveDateTime,
    lifetimes: &Lifetimes,
) -> Vec<StoredKey> {
    let mut kept = Vec::with_capacity(rows.len());
    let mut successor_created: Option<chrono::NaiveDateTime> = None;
    for row in rows {
        let alive = successor_created.is_none_or(|replaced| {
            now < lifetimes.replaced(replaced) || row.retire_after.is_some_and(|end| now < end)
        });
        if alive {
            kept.push(row.clone());
        }
        successor_created = Some(row.created_at);
    }
    kept
}

/// The `retire_after` values this instance must record before it signs with
/// `rows` (newest first): those that are missing or too early, by kid.
///
/// The newest key is leased: this instance may sign with it until it
/// reloads, and those tokens live `access_ttl` more, so it must stay
/// published at least `reload + access_ttl + margin` from now. Raised by two
/// reloads' worth when it falls below that, so one write covers about one
/// reload interval. An older key gets the bound of [`published`], so keys
/// stored before any instance recorded a lease are known to the database
/// too.
pub fn retirements(
    rows: &[StoredKey],
    now: chrono::NaiveDateTime,
    lifetimes: &Lifetimes,
) -> Vec<(String, chrono::NaiveDateTime)> {
    let mut raised = Vec::new();
    let mut successor_created: Option<chrono::NaiveDateTime> = None;
    for row in rows {
        let (needed, raise_to) = match successor_created {
            None => {
                let needed = now + lifetimes.reload + lifetimes.access_ttl + lifetimes.margin;
                (needed, needed + lifetimes.reload)
            }
            Some(replaced) => {
                let needed = lifetimes.replaced(replaced);
                (needed, needed)
            }
        };
        if row.retire_after.is_none_or(|at| at < needed) {
            raised.push((row.kid.clone(), raise_to));
        }
        successor_created = Some(row.created_at);
    }
    raised
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::SigningKey;

    #[test]
    fn a_replaced_key_stays_published_until_its_last_token_expires() {
        let t0 = chrono::Utc::now().naive_utc();
        let minute = chrono::Duration::minutes(1);
        let mut old = SigningKey::generate(t0).expect("key");
        old.created_at = t0;
        let mut new = SigningKey::generate(t0).expect("key");
        new.created_at = t0 + minute;
        let rows = [new.clone(), old.clone()];
        let ttl = chrono::Duration::minutes(15);
        let margin = chrono::Duration::minutes(2);
        let lifetimes = Lifetimes {
            access_ttl: ttl,
            margin,
            reload: chrono::Duration::seconds(30),
        };

        let kids = |now| -> Vec<String> {
            published(&rows, now, &lifetimes)
                .into_iter()
                .map(|r| r.kid)
                .collect()
        };
        // Still published just before new.created_at + margin + ttl ...
        let last_moment = new.created_at + margin + ttl - chrono::Duration::seconds(1);
        assert_eq!(kids(last_moment), [new.kid.clone(), old.kid.clone()]);
        // ... and gone after; the newest key always stays.
        assert_eq!(kids(new.created_at + margin + ttl), [new.kid.clone()]);
        assert_eq!(kids(t0 + chrono::Duration::days(365)), [new.kid]);
    }

    #[test]
    fn a_recorded_retirement_keeps_a_key_published_longer() {
        let t0 = chrono::Utc::now().naive_utc();
        let mut old = SigningKey::generate(t0).expect("key");
        let mut new = SigningKey::generate(t0).expect("key");
        new.created_at = t0 + chrono::Duration::minutes(1);
        // Another instance signs with a day-long TTL.
        old.retire_after = Some(new.created_at + chrono::Duration::days(1));
        let lifetimes = Lifetimes {
            access_ttl: chrono::Duration::minutes(15),
            margin: chrono::Duration::minutes(2),
            reload: chrono::Duration::seconds(30),
        };
        let rows = [new.clone(), old.clone()];
        let kids = |now| -> Vec<String> {
            published(&rows, now, &lifetimes)
                .into_iter()
                .map(|r| r.kid)
                .collect()
        };
        assert_eq!(kids(new.created_at + chrono::Duration::hours(23)).len(), 2);
        assert_eq!(kids(new.created_at + chrono::Duration::days(1)), [new.kid]);
    }

    #[test]
    fn the_signing_key_is_leased_and_older_keys_get_their_bound() {
        let now = chrono::Utc::now().naive_utc();
        let lifetimes = Lifetimes {
            access_ttl: chrono::Duration::minutes(15),
            margin: chrono::Duration::minutes(2),
            reload: chrono::Duration::seconds(30),
        };
        let mut old = SigningKey::generate(now).expect("key");
        old.created_at = now - chrono::Duration::hours(1);
        let mut new = SigningKey::generate(now).expect("key");
        new.created_at = now - chrono::Duration::minutes(1);
        let rows = [new.clone(), old.clone()];

        let raised = retirements(&rows, now, &lifetimes);
        let lease = now + chrono::Duration::seconds(60) + chrono::Duration::minutes(17);
        let bound = new.created_at + chrono::Duration::minutes(17);
        assert_eq!(raised, [(new.kid.clone(), lease), (old.kid.clone(), bound)]);

        // Once recorded, nothing is written again until the lease runs low.
        new.retire_after = Some(lease);
        old.retire_after = Some(bound);
        let rows = [new.clone(), old.clone()];
        assert!(retirements(&rows, now, &lifetimes).is_empty());
        assert!(retirements(&rows, now + chrono::Duration::seconds(29), &lifetimes).is_empty());
        let later = now + chrono::Duration::seconds(31);
        assert_eq!(retirements(&rows, later, &lifetimes).len(), 1);
    }
}
