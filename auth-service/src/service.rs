//! The flows of API.md §3: register, login, refresh, logout. Handlers parse
//! input, call one of these, and map the result; the rules live here.

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use shared_claims::{AccessClaims, Role};

use crate::config::Settings;
use crate::db::models::{NewRefreshToken, NewSession, NewUser, UserRow};
use crate::db::sessions::Rotation;
use crate::db::{self, DbPool};
use crate::domain::{Email, Password};
use crate::error::Error;
use crate::metrics::{LoginFailure, Metrics, RefreshOutcome};
use crate::passwords;
use crate::tokens::{self, mint_access_token, KeyRing, RefreshToken, SigningKey};
use diesel::Connection;

/// Longest `User-Agent` kept with a session.
const USER_AGENT_MAX: usize = 512;

/// What every flow needs: the pool, the settings, the signing keys, and the
/// metrics the flows count their outcomes in.
#[derive(Debug)]
pub struct AppState {
    /// The database.
    pub pool: DbPool,
    /// The settings the service started with.
    pub settings: Settings,
    /// The signing keys.
    pub keys: KeyRing,
    /// This instance's metrics.
    pub metrics: Metrics,
    dummy_hash: OnceLock<String>,
}

impl AppState {
    /// Bundles the parts.
    pub fn new(pool: DbPool, settings: Settings, keys: KeyRing, metrics: Metrics) -> Self {
        metrics.set_signing_keys(keys.store().snapshot().len());
        Self {
            pool,
            settings,
            keys,
            metrics,
            dummy_hash: OnceLock::new(),
        }
    }
}

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    /// The user's id.
    #[schema(format = Uuid)]
    pub id: String,
    /// The normalised email.
    pub email: String,
    /// The role.
    pub role: Role,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = Error;

    fn try_from(row: UserRow) -> Result<Self, Error> {
        let role = row
            .role
            .parse()
            .map_err(|e| Error::Internal(format!("user {}: {e}", row.id)))?;
        Ok(User {
            id: row.id,
            email: row.email,
            role,
            created_at: utc(row.created_at),
        })
    }
}

fn utc(naive: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(naive, Utc)
}

/// Who is logging in, as far as the connection tells.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The peer address.
    pub ip: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// A new token pair, the outcome of login and refresh.
#[derive(Debug)]
pub struct TokenGrant {
    /// The signed access token.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The new refresh token.
    pub refresh_token: RefreshToken,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
    /// The user the tokens are for.
    pub user: User,
}

/// Self-service registration (`POST /auth/register`).
pub async fn register(state: &AppState, email: &str, password: String) -> Result<User, Error> {
    if !state.settings.allow_registration {
        return Err(Error::RegistrationDisabled);
    }
    let email = Email::parse(email)?;
    let password = Password::parse(password)?;
    let user = create_user(
        &state.pool,
        state.settings.bcrypt_cost,
        email,
        password,
        Role::User,
    )
    .await?;
    state.metrics.registered();
    Ok(user)
}

/// Creates a user with `role`; also the `user create` command.
pub async fn create_user(
    pool: &DbPool,
    cost: u32,
    email: Email,
    password: Password,
    role: Role,
) -> Result<User, Error> {
    let password_hash = passwords::hash(password, cost).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let row = db::run(pool, move |conn| {
        db::users::insert(
            conn,
            &NewUser {
                id: &id,
                email: email.as_str(),
                password_hash: &password_hash,
                role: role.as_str(),
                created_at: db::now(),
            },
        )
    })
    .await?
    .ok_or(Error::EmailTaken)?;
    User::try_from(row)
}

/// Checks credentials and opens a session (`POST /auth/login`), subject to
/// the per-(email, client address) lockout of API.md §3.
pub async fn login(
    state: &AppState,
    email: &str,
    password: String,
    client: ClientInfo,
) -> Result<TokenGrant, Error> {
    let throttle = Throttle::new(state, email, &client);
    let parsed = Email::parse(email).ok();
    let (user, failures) = {
        let throttle = throttle.clone();
        db::run(&state.pool, move |conn| {
            let user = match &parsed {
                Some(email) => db::users::find_by_email(conn, email.as_str())?,
                None => None,
            };
            let failures = db::login_failures::since(
                conn,
                &throttle.email,
                &throttle.client_ip,
                throttle.window_start,
            )?;
            Ok::<_, diesel::result::Error>((user, failures))
        })
        .await?
    };
    if let Err(locked) = throttle.check(&failures) {
        state.metrics.login_failed(LoginFailure::Locked);
        return Err(locked);
    }
    let user = match verify_password(state, password, user).await {
        Ok(user) => user,
        Err(Error::InvalidCredentials) => {
            let throttle = throttle.clone();
            db::run(&state.pool, move |conn| {
                db::login_failures::record(
                    conn,
                    &throttle.email,
                    &throttle.client_ip,
                    throttle.now,
                    throttle.window_start,
                )
            })
            .await?;
            state.metrics.login_failed(LoginFailure::InvalidCredentials);
            return Err(Error::InvalidCredentials);
        }
        Err(other) => return Err(other),
    };
    if !failures.is_empty() {
        db::run(&state.pool, move |conn| {
            db::login_failures::clear(conn, &throttle.email, &throttle.client_ip)
        })
        .await?;
    }

    let now = db::now();
    let session_id = uuid::Uuid::new_v4().to_string();
    let session_expires = now + chrono_duration(state.settings.session_max_ttl);
    let refresh_expires =
        (now + chrono_duration(state.settings.refresh_token_ttl)).min(session_expires);
    let refresh_token = RefreshToken::generate();
    let token_hash = refresh_token.hash();
    let user_id = user.id.clone();
    {
        let session_id = session_id.clone();
        db::run(&state.pool, move |conn| {
            let user_agent = client
                .user_agent
                .as_deref()
                .map(|ua| truncate(ua, USER_AGENT_MAX));
            db::sessions::open(
                conn,
                &NewSession {
                    id: &session_id,
                    user_id: &user_id,
                    created_at: now,
                    last_used_at: now,
                    expires_at: session_expires,
                    user_agent,
                    ip: client.ip.as_deref(),
                },
                &NewRefreshToken {
                    token_hash: token_hash.as_str(),
                    session_id: &session_id,
                    issued_at: now,
                    expires_at: refresh_expires,
                },
            )
        })
        .await?;
    }
    let granted = grant(
        state,
        User::try_from(user)?,
        &session_id,
        refresh_token,
        now,
        refresh_expires,
    )?;
    state.metrics.login_succeeded();
    Ok(granted)
}

/// The lockout key and window of one login attempt.
#[derive(Debug, Clone)]
struct Throttle {
    /// The normalised email; for input that is no email at all, the SHA-256
    /// of it, so malformed logins are throttled too while arbitrary bytes
    /// (NUL, 8 KB of junk) never reach a TEXT column.
    email: String,
    client_ip: String,
    now: NaiveDateTime,
    window_start: NaiveDateTime,
    window: chrono::Duration,
    max_failures: usize,
}

impl Throttle {
    fn new(state: &AppState, email: &str, client: &ClientInfo) -> Self {
        let now = db::now();
        let window = chrono_duration(state.settings.login_failure_window);
        let key = match Email::parse(email) {
            Ok(email) => email.as_str().to_owned(),
            Err(_) => format!(
                "sha256:{}",
                tokens::sha256_hex(email.trim().to_lowercase().as_bytes())
            ),
        };
        Throttle {
            email: key,
            client_ip: client.ip.clone().unwrap_or_else(|| "unknown".into()),
            now,
            window_start: now - window,
            window,
            max_failures: usize::try_from(state.settings.login_max_failures).unwrap_or(usize::MAX),
        }
    }

    /// Refuses while the key has `max_failures` failures inside the window;
    /// `Retry-After` is when enough of them will have aged out.
    fn check(&self, failures: &[NaiveDateTime]) -> Result<(), Error> {
        if failures.len() < self.max_failures {
            return Ok(());
        }
        let oldest_that_counts = failures[failures.len() - self.max_failures];
        let remaining = (oldest_that_counts + self.window - self.now).num_milliseconds();
        // Whole seconds, rounded up, and at least 1: a client told to retry
        // after 0 s would retry at once.
        let retry_after = u64::try_from((remaining + 999) / 1000).unwrap_or(0).max(1);
        Err(Error::TooManyAttempts { retry_after })
    }
}

/// Verifies `password` against the user's hash, or against a dummy hash when
/// there is no such user, so both failures cost the same bcrypt time.
async fn verify_password(
    state: &AppState,
    password: String,
    user: Option<UserRow>,
) -> Result<UserRow, Error> {
    let dummy = match state.dummy_hash.get() {
        Some(hash) => hash.clone(),
        None => {
            let placeholder = Password::parse("not a real password".to_owned())?;
            let hash = passwords::hash(placeholder, state.settings.bcrypt_cost).await?;
            state.dummy_hash.get_or_init(|| hash).clone()
        }
    };
    let hash = user.as_ref().map_or(dummy, |u| u.password_hash.clone());
    let matches = passwords::verify(password, hash).await?;
    match user {
        Some(user) if matches => Ok(user),
        _ => Err(Error::InvalidCredentials),
    }
}

/// Rotates a refresh token (`POST /auth/refresh`), per API.md §2.
pub async fn refresh(state: &AppState, presented: RefreshToken) -> Result<TokenGrant, Error> {
    let _in_flight = crate::passwords::latency_sensitive();
    let now = db::now();
    let successor = RefreshToken::generate();
    let presented_hash = presented.hash();
    let successor_hash = successor.hash();
    let refresh_ttl = chrono_duration(state.settings.refresh_token_ttl);
    let grace = chrono_duration(state.settings.refresh_reuse_grace);
    let rotation = db::run(&state.pool, move |conn| {
        db::sessions::rotate(
            conn,
            presented_hash.as_str(),
            successor_hash.as_str(),
            now,
            refresh_ttl,
            grace,
        )
    })
    .await?;
    match rotation {
        Rotation::Rotated {
            user,
            session_id,
            expires_at,
        } => {
            let granted = grant(
                state,
                User::try_from(user)?,
                &session_id,
                successor,
                now,
                expires_at,
            )?;
            state.metrics.refreshed(RefreshOutcome::Ok);
            Ok(granted)
        }
        Rotation::Reused => {
            log::warn!("refresh token reuse detected: session revoked");
            state.metrics.refreshed(RefreshOutcome::Reuse);
            Err(Error::InvalidGrant)
        }
        Rotation::Invalid => {
            state.metrics.refreshed(RefreshOutcome::Invalid);
            Err(Error::InvalidGrant)
        }
    }
}

/// Ends the session a refresh token belongs to (`POST /auth/logout`).
/// Unknown tokens are fine: logging out twice is not an error.
pub async fn logout(state: &AppState, presented: RefreshToken) -> Result<(), Error> {
    let hash = presented.hash();
    db::run(&state.pool, move |conn| {
        db::sessions::revoke_by_token(conn, hash.as_str(), db::now())
    })
    .await?;
    Ok(())
}

/// Ends every session of a user (`POST /auth/logout-all`).
pub async fn logout_all(state: &AppState, user_id: String) -> Result<(), Error> {
    db::run(&state.pool, move |conn| {
        db::sessions::revoke_all_for_user(conn, &user_id, db::now())
    })
    .await?;
    Ok(())
}

/// The caller's account (`GET /auth/me`).
pub async fn me(state: &AppState, user_id: String) -> Result<User, Error> {
    let row = db::run(&state.pool, move |conn| {
        db::users::find_by_id(conn, &user_id)
    })
    .await?;
    User::try_from(row.ok_or(Error::UnknownUser)?)
}

/// A session as `GET /auth/sessions` shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Session)]
pub struct SessionView {
    /// The session id (the `sid` of its access tokens).
    #[schema(format = Uuid)]
    pub id: String,
    /// The login time.
    pub created_at: DateTime<Utc>,
    /// The last login or refresh.
    pub last_used_at: DateTime<Utc>,
    /// When its current refresh token expires.
    pub expires_at: DateTime<Utc>,
    /// The `User-Agent` of the login.
    pub user_agent: Option<String>,
    /// The client address of the login.
    pub ip: Option<String>,
    /// Whether the caller's own token belongs to it.
    pub current: bool,
}

/// The caller's active sessions (`GET /auth/sessions`).
pub async fn list_sessions(
    state: &AppState,
    user_id: String,
    current_sid: String,
) -> Result<Vec<SessionView>, Error> {
    let rows = db::run(&state.pool, move |conn| {
        db::sessions::active_for_user(conn, &user_id, db::now())
    })
    .await?;
    Ok(rows
        .into_iter()
        .map(|(session, expires_at)| SessionView {
            current: session.id == current_sid,
            id: session.id,
            created_at: utc(session.created_at),
            last_used_at: utc(session.last_used_at),
            expires_at: utc(expires_at),
            user_agent: session.user_agent,
            ip: session.ip,
        })
        .collect())
}

/// An id from a path: ids are UUIDs (API.md §1), so anything else names
/// nothing, and arbitrary bytes never reach a query.
fn parse_id(raw: &str) -> Result<String, Error> {
    uuid::Uuid::parse_str(raw)
        .map(|id| id.to_string())
        .map_err(|_| Error::NotFound)
}

/// Ends one of the caller's sessions (`DELETE /auth/sessions/{id}`). Another
/// user's session is "not found", so ids cannot be probed.
pub async fn revoke_session(
    state: &AppState,
    user_id: String,
    session_id: String,
) -> Result<(), Error> {
    let session_id = parse_id(&session_id)?;
    let revoked = db::run(&state.pool, move |conn| {
        db::sessions::revoke_own(conn, &user_id, &session_id, db::now())
    })
    .await?;
    if revoked == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// Changes the caller's password (`POST /auth/password`) and revokes every
/// other session: whoever knew the old password is logged out everywhere.
pub async fn change_password(
    state: &AppState,
    user_id: String,
    current_sid: String,
    current_password: String,
    new_password: String,
) -> Result<(), Error> {
    let new_password = Password::parse(new_password)?;
    let user = {
        let user_id = user_id.clone();
        db::run(&state.pool, move |conn| {
            db::users::find_by_id(conn, &user_id)
        })
        .await?
    };
    if user.is_none() {
        return Err(Error::UnknownUser);
    }
    verify_password(state, current_password, user).await?;
    let hash = passwords::hash(new_password, state.settings.bcrypt_cost).await?;
    db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            db::users::set_password_hash(conn, &user_id, &hash)?;
            db::sessions::revoke_all_but(conn, &user_id, &current_sid, db::now())
        })
    })
    .await?;
    Ok(())
}

/// Sets a user's role (`PUT /admin/users/{id}/role`). Access tokens already
/// issued keep the old role until they expire; the next refresh carries the new one.
pub async fn set_role(state: &AppState, user_id: String, role: Role) -> Result<User, Error> {
    let user_id = parse_id(&user_id)?;
    let row = db::run(&state.pool, move |conn| {
        db::users::set_role(conn, &user_id, role.as_str())
    })
    .await?;
    User::try_from(row.ok_or(Error::NotFound)?)
}

/// The keys to load into a [`KeyRing`]: those that may still verify live tokens.
pub fn published_keys(
    settings: &Settings,
    rows: &[crate::db::models::SigningKeyRow],
) -> Vec<crate::db::models::SigningKeyRow> {
    tokens::published(
        rows,
        db::now(),
        chrono_duration(settings.access_token_ttl),
        chrono_duration(settings.key_retirement_margin),
    )
}

/// Reloads the signing keys from the database, so this instance signs with
/// the newest and publishes exactly the keys whose tokens may still be alive.
pub async fn reload_keys(state: &AppState) -> Result<(), Error> {
    let rows = db::run(&state.pool, db::signing_keys::all).await?;
    state
        .keys
        .reload(&published_keys(&state.settings, &rows))
        .map_err(Error::Internal)?;
    state
        .metrics
        .set_signing_keys(state.keys.store().snapshot().len());
    Ok(())
}

/// Adds a new signing key (`keys rotate`) and deletes keys that can no longer
/// have live tokens. Returns the new key's id and how many were deleted.
pub async fn rotate_keys(pool: &DbPool, settings: &Settings) -> Result<(String, usize), Error> {
    let row = SigningKey::generate(db::now()).map_err(Error::Internal)?;
    let kid = row.kid.clone();
    let settings = settings.clone();
    let pruned = db::run(pool, move |conn| {
        conn.transaction(|conn| {
            db::signing_keys::insert(conn, &row)?;
            let rows = db::signing_keys::all(conn)?;
            let keep: Vec<String> = published_keys(&settings, &rows)
                .into_iter()
                .map(|r| r.kid)
                .collect();
            db::signing_keys::delete_all_but(conn, &keep)
        })
    })
    .await?;
    Ok((kid, pruned))
}

/// Finds a user by email for the command line.
async fn user_by_email(pool: &DbPool, email: &str) -> Result<UserRow, Error> {
    let email = Email::parse(email)?;
    db::run(pool, move |conn| {
        db::users::find_by_email(conn, email.as_str())
    })
    .await?
    .ok_or(Error::NotFound)
}

/// `user set-role`: sets the role of the user with this email.
pub async fn set_role_by_email(pool: &DbPool, email: &str, role: Role) -> Result<User, Error> {
    let user = user_by_email(pool, email).await?;
    let row = db::run(pool, move |conn| {
        db::users::set_role(conn, &user.id, role.as_str())
    })
    .await?;
    User::try_from(row.ok_or(Error::NotFound)?)
}

/// `user delete`: deletes the user with this email; their sessions and
/// refresh tokens go with them, so they cannot refresh.
pub async fn delete_user_by_email(pool: &DbPool, email: &str) -> Result<User, Error> {
    let user = user_by_email(pool, email).await?;
    let id = user.id.clone();
    db::run(pool, move |conn| db::users::delete(conn, &id)).await?;
    User::try_from(user)
}

fn grant(
    state: &AppState,
    user: User,
    session_id: &str,
    refresh_token: RefreshToken,
    now: NaiveDateTime,
    refresh_expires: NaiveDateTime,
) -> Result<TokenGrant, Error> {
    let settings = &state.settings;
    let iat = now.and_utc().timestamp();
    let expires_in = settings.access_token_ttl.as_secs();
    let claims = AccessClaims {
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
        sub: user.id.clone(),
        exp: iat + i64::try_from(expires_in).unwrap_or(i64::MAX / 2),
        iat,
        nbf: None,
        jti: uuid::Uuid::new_v4().to_string(),
        sid: session_id.to_owned(),
        role: user.role,
        email: user.email.clone(),
    };
    let key = state
        .keys
        .signer()
        .ok_or_else(|| Error::Internal("no signing key loaded".into()))?;
    let access_token = mint_access_token(&key, &claims)?;
    let refresh_expires_in = u64::try_from((refresh_expires - now).num_seconds()).unwrap_or(0);
    Ok(TokenGrant {
        access_token,
        expires_in,
        refresh_token,
        refresh_expires_in,
        user,
    })
}

/// A std duration as chrono's; durations from the settings always fit.
pub fn chrono_duration(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn truncate(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
