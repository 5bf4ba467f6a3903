//! [`super::sessions::rotate`]'s common case on PostgreSQL: a live token
//! presented by its client, rotated by one statement, because a round trip
//! is most of a refresh's cost there.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp, Untyped};

use super::history::{self, Origin};
use super::models::UserRow;
use super::sessions::Rotation;

/// What the one-statement rotation returns: the claimed token's session and,
/// if that session is live, its user and the successor's expiry.
#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    session_id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)]
    successor_expires_at: Option<NaiveDateTime>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    user_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    email: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    password_hash: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    role: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)]
    user_created_at: Option<NaiveDateTime>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    dpop_jkt: Option<String>,
}

/// What the one-statement rotation is asked to claim.
pub(super) struct Claim<'a> {
    pub(super) presented: &'a str,
    pub(super) successor: &'a str,
    pub(super) now: NaiveDateTime,
    /// When the successor expires, unless its session ends sooner.
    pub(super) expires_at: NaiveDateTime,
    /// The client presenting the token (`None`: first-party).
    pub(super) client: Option<&'a str>,
    /// The thumbprint of the key the request's DPoP proof was signed with.
    pub(super) proved_jkt: Option<&'a str>,
}

/// The statement; `$n` is the `n`th value of [`RotateLive::bind`].
const ROTATE_LIVE: &str = "WITH claimed AS ( \
         UPDATE refresh_tokens SET used_at = $1, successor_hash = $2 \
          WHERE token_hash = $3 AND used_at IS NULL AND superseded_at IS NULL \
            AND expires_at > $1 \
            AND EXISTS (SELECT 1 FROM sessions bound \
                         WHERE bound.id = refresh_tokens.session_id \
                           AND bound.client_id IS NOT DISTINCT FROM $8 \
                           AND (bound.dpop_jkt IS NULL OR bound.dpop_jkt = $9)) \
      RETURNING session_id \
     ), live AS ( \
         UPDATE sessions SET last_used_at = $1, event_count = event_count + 1 \
           FROM claimed \
          WHERE sessions.id = claimed.session_id AND sessions.revoked_at IS NULL \
            AND sessions.expires_at > $1 \
      RETURNING sessions.id, sessions.user_id, sessions.expires_at, sessions.dpop_jkt, \
                sessions.event_count \
     ), successor AS ( \
         INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) \
         SELECT $2, live.id, $1, LEAST($4, live.expires_at) FROM live \
      RETURNING expires_at \
     ), event AS ( \
         INSERT INTO session_events (session_id, at, type, ip, user_agent) \
         SELECT live.id, $1, 'refresh', $5, $6 FROM live \
     ), trimmed AS ( \
         DELETE FROM session_events \
          WHERE (SELECT event_count FROM live) > $7 \
            AND id = (SELECT id FROM session_events \
                       WHERE session_id = (SELECT id FROM live) \
                       ORDER BY id LIMIT 1) \
     ) \
     SELECT claimed.session_id, successor.expires_at AS successor_expires_at, \
            users.id AS user_id, users.email, users.password_hash, users.role, \
            users.created_at AS user_created_at, live.dpop_jkt \
       FROM claimed \
       LEFT JOIN live ON TRUE \
       LEFT JOIN users ON users.id = live.user_id \
       LEFT JOIN successor ON TRUE";

/// [`ROTATE_LIVE`] with its values, as a query Diesel keeps prepared.
///
/// `diesel::sql_query` sends its text to be parsed and planned afresh on
/// every call, and planning this statement cost PostgreSQL more than running
/// it. A query type with a static [`QueryId`] is prepared once per
/// connection and then only executed; after a few executions PostgreSQL
/// keeps one generic plan for it.
struct RotateLive<'a> {
    claim: &'a Claim<'a>,
    origin: Origin<'a>,
}

/// [`RotateLive`]'s key in each connection's cache of prepared statements.
struct RotateLiveId;

impl QueryId for RotateLive<'_> {
    type QueryId = RotateLiveId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for RotateLive<'_> {
    type SqlType = Untyped;
}

impl RunQueryDsl<diesel::PgConnection> for RotateLive<'_> {}

impl QueryFragment<Pg> for RotateLive<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // Diesel numbers placeholders in the order their values are pushed,
        // so a value used at several places is pushed at each of them.
        let mut rest = ROTATE_LIVE;
        while let Some(at) = rest.find('$') {
            out.push_sql(&rest[..at]);
            let digits = rest[at + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            let n = rest[at + 1..at + 1 + digits].parse().unwrap_or(0);
            self.bind(n, out.reborrow())?;
            rest = &rest[at + 1 + digits..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

impl RotateLive<'_> {
    fn bind<'b>(&'b self, n: u8, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let claim = self.claim;
        match n {
            1 => out.push_bind_param::<Timestamp, _>(&claim.now),
            2 => out.push_bind_param::<Text, _>(&claim.successor),
            3 => out.push_bind_param::<Text, _>(&claim.presented),
            4 => out.push_bind_param::<Timestamp, _>(&claim.expires_at),
            5 => out.push_bind_param::<Nullable<Text>, _>(&self.origin.ip),
            6 => out.push_bind_param::<Nullable<Text>, _>(&self.origin.user_agent),
            7 => out.push_bind_param::<BigInt, _>(&history::EVENTS_KEPT),
            8 => out.push_bind_param::<Nullable<Text>, _>(&claim.client),
            9 => out.push_bind_param::<Nullable<Text>, _>(&claim.proved_jkt),
            _ => Err(diesel::result::Error::QueryBuilderError(
                format!("no value ${n} in the rotation statement").into(),
            )),
        }
    }
}

/// [`super::sessions::rotate`]'s common case as one data-modifying CTE: claim the token if it
/// is live, and if its session is live too, touch the session, store the
/// successor, record the `refresh` event (and, once the session has recorded
/// more than [`history::EVENTS_KEPT`], drop its oldest) and return the user.
/// The same rows are locked in the same order as the general path (the
/// token, then the session). A token of another client's session, or of a
/// session bound to another key than `proved_jkt`, is not claimed. `None`
/// when nothing was claimed.
///
/// The trim reads one index entry: the session's `event_count` (counted by
/// the session's UPDATE, which every event's writer takes) says whether the
/// cap is passed, and then exactly the oldest event goes. Finding the cut
/// below the newest events instead read all hundred of them (through
/// bitmap scans, which also step over every event dropped before) on each
/// refresh of a busy session.
pub(super) fn rotate_live_in_one_statement(
    conn: &mut diesel::PgConnection,
    claim: &Claim<'_>,
    origin: Origin<'_>,
) -> QueryResult<Option<Rotation>> {
    let row: Option<ClaimedRow> = RotateLive { claim, origin }.get_result(conn).optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let live = (
        row.successor_expires_at,
        row.user_id,
        row.email,
        row.password_hash,
        row.role,
        row.user_created_at,
    );
    Ok(Some(match live {
        (
            Some(expires_at),
            Some(id),
            Some(email),
            Some(password_hash),
            Some(role),
            Some(created_at),
        ) => Rotation::Rotated {
            user: UserRow {
                id,
                email,
                password_hash,
                role,
                created_at,
            },
            session_id: row.session_id,
            expires_at,
            dpop_jkt: row.dpop_jkt,
        },
        // Claimed, but the session is revoked or over (or its user gone).
        _ => Rotation::Invalid,
    }))
}
