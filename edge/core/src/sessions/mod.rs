//! Sessions beyond one request: the session registry (the deny-list of ended sessions and the
//! server-side session store, split over shards by user: [`registry`], [`server`]), a request's
//! session read and checked against it and ended everywhere ([`live`]), and the single-flight
//! refresh a coordinator runs so that each refresh token is used once ([`flight`]).
//!
//! What the cookies hold and how they are sealed is `cookie`'s; the endpoints that start, show,
//! refresh and end sessions are the agent's. The functions here take a [`Context`]: what they
//! need of the isolate's state, which the dispatcher lends.
//!
//! May use: `platform`, `cookie`, `oidc`.

pub mod flight;
pub mod live;
pub mod registry;
pub mod server;

pub use flight::{coordinated_refresh, RefreshFlight, RefreshFlights};
pub(crate) use live::{
    end_session, ensure_live, load_identity, load_session, read_session, require_registry,
    revoke_all, Loaded,
};
pub use registry::{
    all_shards, ask, shard_of, EndedCache, MemoryStore, Registry, RegistryAnswer, RegistryRequest,
    RegistryStore, CHECK_TTL,
};

use crate::cookie::CookieKeys;
use crate::oidc::{IdpCache, OidcClient};
use crate::platform::ports::Platform;
use crate::platform::settings::{invalid, ConfigError, Vars};

/// `stateless` (default: tokens in encrypted cookies) or `server` (tokens in the session
/// Durable Object, only a session id in the cookie).
pub const SESSION_MODE: &str = "EDGEWARD_SESSION_MODE";
/// Seconds after a refresh during which the same old refresh token gets that refresh's answer
/// instead of a new grant (0–300, default 30; needs the refresh coordinator).
pub const REFRESH_GRACE: &str = "EDGEWARD_REFRESH_GRACE";
/// How many Durable Objects the session registry is split over, by user (1–256, default 16).
/// Changing it forgets the deny-list and the server-side sessions.
pub const SESSION_SHARDS: &str = "EDGEWARD_SESSION_SHARDS";

/// Where a session's tokens live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionMode {
    /// In encrypted cookies (nothing stored server-side).
    Stateless,
    /// In the session Durable Object; the cookie holds a random session id.
    Server,
}

/// Where sessions live, how the registry is split, how refreshes are shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// Where sessions live.
    pub mode: SessionMode,
    /// How many objects the session registry is split over.
    pub shards: u32,
    /// The single-flight refresh's grace window, seconds.
    pub refresh_grace: u64,
}

impl SessionSettings {
    /// Reads [`SESSION_MODE`], [`REFRESH_GRACE`] and [`SESSION_SHARDS`].
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let mode = match vars.get(SESSION_MODE).as_deref() {
            None | Some("stateless") => SessionMode::Stateless,
            Some("server") => SessionMode::Server,
            Some(other) => {
                return Err(invalid(
                    SESSION_MODE,
                    format!("must be stateless or server, not {other:?}"),
                ))
            }
        };
        let refresh_grace = vars.number(REFRESH_GRACE, 0..=300, 30)?;
        let shards = u32::try_from(vars.number(SESSION_SHARDS, 1..=256, 16)?).unwrap_or(16);
        Ok(Self {
            mode,
            shards,
            refresh_grace,
        })
    }
}

/// What reading, checking, ending and refreshing sessions needs of the isolate's state (the
/// dispatcher's `Edge` implements it).
pub trait Context {
    /// The platform.
    type Ports: Platform;
    /// The platform's ports.
    fn ports(&self) -> &Self::Ports;
    /// Where sessions live, how the registry is split, how refreshes are shared.
    fn session_settings(&self) -> &SessionSettings;
    /// The keys the session cookies are sealed with.
    fn cookie_keys(&self) -> &CookieKeys;
    /// The worker as the provider's client (sessions belong to its issuer; refresh tokens are
    /// granted and revoked as it).
    fn oidc(&self) -> &OidcClient;
    /// What this isolate knows about the provider.
    fn idp(&self) -> &IdpCache;
    /// What this isolate knows about ended sessions.
    fn ended_sessions(&self) -> &EndedCache;
}
