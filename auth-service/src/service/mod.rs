//! The flows of API.md §3, one file per flow. Handlers parse input, call one
//! of these, and map the result; the rules live here. The flows return
//! domain values ([`crate::domain`]); how the API shows them is the routes'.

mod admin;
mod clients;
mod history;
mod introspection;
mod key_check;
mod keys;
mod keys_at_rest;
mod login;
mod password;
mod purge;
mod refresh;
mod register;
mod sessions;
mod throttle;
mod users;

pub use admin::{delete_user_by_email, set_role, set_role_by_email};
pub use clients::{
    authenticate_client, client_credentials, create_client, delete_client, list_clients,
    ClientSecret, ServiceGrant,
};
pub use history::{end_user_sessions, session_events, user_sessions};
pub use introspection::{introspect, ClientCredentials, Introspection};
pub use key_check::{check_keys_for_jwks, KeyCheck};
pub use keys::{
    load_or_create_keys, published_keys, reload_keys, revoke_key, rotate_keys, rotate_keys_if_due,
    signing_key_is_live,
};
pub use login::login;
pub use password::change_password;
pub use purge::purge_expired;
pub use refresh::refresh;
pub use register::register;
pub use sessions::{list_sessions, live_caller, logout, logout_all, revoke_session};
pub use users::create_user;

use chrono::NaiveDateTime;
use shared_claims::{AccessClaims, Confirmation, Subject, FIRST_PARTY_CLIENT};

use crate::domain::{SessionId, User};
use crate::error::Error;
use crate::state::AppState;
use crate::tokens::{mint_access_token, RefreshToken};

/// Who is logging in, as far as the connection tells.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The client address (API.md §1), as sessions show it.
    pub ip: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The confidential client that authenticated the request (API.md §8);
    /// `None` for a first-party client. A session opened by a client is
    /// bound to it: only it may refresh or revoke the session's tokens.
    pub client_id: Option<String>,
    /// The RFC 7638 thumbprint of the key whose DPoP proof this request
    /// carried, once the routes have verified the proof (API.md §7).
    pub dpop_jkt: Option<String>,
}

impl ClientInfo {
    /// The request behind a session event.
    pub fn origin(&self) -> crate::db::history::Origin<'_> {
        crate::db::history::Origin {
            ip: self.ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
        }
    }

    /// What the lockout counts this client as: its address, an IPv6
    /// address by its /64.
    pub fn lockout_address(&self) -> String {
        match self.ip.as_deref() {
            Some(ip) => ip
                .parse()
                .map_or_else(|_| ip.to_owned(), crate::domain::lockout_key),
            None => "unknown".to_owned(),
        }
    }
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
    /// Whether the tokens are bound to a DPoP key.
    pub token_type: TokenType,
}

/// How an access token is presented (RFC 9449 §5): as it stands, or only
/// with a DPoP proof by the key its `cnf.jkt` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// `Authorization: Bearer`.
    Bearer,
    /// `Authorization: DPoP`, with a proof.
    DPoP,
}

impl TokenType {
    /// What a token response's `token_type` says.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Bearer => "Bearer",
            TokenType::DPoP => "DPoP",
        }
    }

    fn of(dpop_jkt: Option<&str>) -> Self {
        if dpop_jkt.is_some() {
            TokenType::DPoP
        } else {
            TokenType::Bearer
        }
    }
}

/// The session a grant is for: its id, the client it was opened by
/// (`None`: first-party) and the DPoP key it is bound to.
struct GrantedSession<'a> {
    id: &'a SessionId,
    client_id: Option<&'a str>,
    dpop_jkt: Option<&'a str>,
}

/// Signs an access token for `user` in `session` (bound to the session's
/// key, if it has one) and pairs it with `refresh_token`.
fn grant(
    state: &AppState,
    user: User,
    session: GrantedSession<'_>,
    refresh_token: RefreshToken,
    now: NaiveDateTime,
    refresh_expires: NaiveDateTime,
) -> Result<TokenGrant, Error> {
    let subject = Subject::User {
        sid: session.id.to_string(),
        role: user.role,
        email: user.email.to_string(),
    };
    let (access_token, expires_in) = sign(
        state,
        user.id.to_string(),
        session.client_id.unwrap_or(FIRST_PARTY_CLIENT).to_owned(),
        subject,
        session.dpop_jkt,
        now,
    )?;
    let refresh_expires_in = u64::try_from((refresh_expires - now).num_seconds()).unwrap_or(0);
    Ok(TokenGrant {
        access_token,
        expires_in,
        refresh_token,
        refresh_expires_in,
        user,
        token_type: TokenType::of(session.dpop_jkt),
    })
}

/// Signs an access token of `ACCESS_TOKEN_TTL` for `subject`, bound to the
/// DPoP key of thumbprint `dpop_jkt` if there is one; returns it with its
/// lifetime in seconds.
fn sign(
    state: &AppState,
    sub: String,
    client_id: String,
    subject: Subject,
    dpop_jkt: Option<&str>,
    now: NaiveDateTime,
) -> Result<(String, u64), Error> {
    let settings = &state.settings;
    let iat = now.and_utc().timestamp();
    let expires_in = settings.access_token_ttl.as_secs();
    let claims = AccessClaims {
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
        sub,
        exp: iat + i64::try_from(expires_in).unwrap_or(i64::MAX / 2),
        iat,
        nbf: None,
        jti: uuid::Uuid::new_v4().to_string(),
        client_id,
        subject,
        // RFC 9449 §6.1: the key the token is bound to.
        cnf: dpop_jkt.map(|jkt| Confirmation {
            jkt: jkt.to_owned(),
        }),
    };
    let key = state
        .keys
        .signer()
        .ok_or_else(|| Error::Internal("no signing key loaded".into()))?;
    Ok((mint_access_token(&key, &claims)?, expires_in))
}

/// A std duration as chrono's; durations from the settings always fit.
pub fn chrono_duration(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
