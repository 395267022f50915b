//! Sessions beyond one request: the session registry (the deny-list of ended sessions and the
//! server-side session store, split over shards by user: [`registry`], [`server`]), a request's
//! session read and checked against it and ended everywhere ([`live`]), and the single-flight
//! refresh a coordinator runs so that each refresh token is used once ([`flight`]).
//!
//! What the cookies hold and how they are sealed is `cookie`'s; the endpoints that start, show,
//! refresh and end sessions are the agent's. The functions here take a [`Context`]: what they
//! need of the isolate's state, which the dispatcher lends.
//!
//! May use: `platform`, `request`, `cookie`, `oidc`.

pub mod flight;
pub mod live;
pub mod registry;
pub mod server;

pub use flight::{coordinated_refresh, coordinator_body, RefreshFlight, RefreshFlights};
pub(crate) use live::{
    end_session, ensure_live, guarded_session, load_identity, load_session, provider_of,
    read_session, registry_ids, require_provider_of, require_registry, revoke_all, Loaded,
};
pub use registry::{
    all_shards, ask, scoped, shard_of, EndedCache, MemoryStore, Registry, RegistryAnswer,
    RegistryRequest, RegistryStore, CHECK_TTL,
};

use crate::cookie::CookieKeys;
use crate::oidc::{Provider, Providers};
use crate::platform::ports::Platform;
use crate::platform::settings::{invalid, ConfigError, Vars};

/// `stateless` (default: tokens in encrypted cookies) or `server` (tokens in the session
/// Durable Object, only a session id in the cookie).
pub const SESSION_MODE: &str = "EDGEWARD_SESSION_MODE";
/// Seconds after a refresh during which the same old refresh token gets that refresh's answer
/// instead of a new grant (0–300, default 30; needs the refresh coordinator).
pub const REFRESH_GRACE: &str = "EDGEWARD_REFRESH_GRACE";
/// How often the session registry's objects sweep, in seconds (1 to 86,400; default 3,600).
pub const REGISTRY_SWEEP: &str = "EDGEWARD_REGISTRY_SWEEP_SECONDS";
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
    /// How often each registry object sweeps while it holds anything, seconds.
    pub registry_sweep: u64,
}

impl SessionSettings {
    /// Reads [`SESSION_MODE`], [`REFRESH_GRACE`], [`SESSION_SHARDS`] and [`REGISTRY_SWEEP`].
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
        let registry_sweep = vars.number(REGISTRY_SWEEP, 1..=86_400, 3600)?;
        Ok(Self {
            mode,
            shards,
            refresh_grace,
            registry_sweep,
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
    /// The identity providers, the default first (a session belongs to one: its issuer, its
    /// refresh tokens granted and revoked as its client).
    fn providers(&self) -> &Providers;
    /// The provider at `index` in [`Context::providers`], with this isolate's cache of it.
    fn provider_at(&self, index: usize) -> Option<Provider<'_>>;
    /// The provider with this id.
    fn provider(&self, id: &str) -> Option<Provider<'_>> {
        self.provider_at(self.providers().position(id)?)
    }
    /// The default (first) provider.
    fn default_provider(&self) -> Option<Provider<'_>> {
        self.provider_at(0)
    }
    /// The provider a session records (`None`: the first, see [`Provider::session_tag`]);
    /// `None` when it is no longer configured.
    fn session_provider(&self, tag: Option<&str>) -> Option<Provider<'_>> {
        match tag {
            None => self.default_provider(),
            Some(id) => self.provider(id).filter(|p| !p.first),
        }
    }
    /// What this isolate knows about ended sessions.
    fn ended_sessions(&self) -> &EndedCache;
    /// The provider a refresh coordinator's request names ([`coordinator_body`]): a session's
    /// ([`Context::session_provider`]), or another kind of client the deployment has (the
    /// token broker's connections, named `connection:<name>`), which the dispatcher's `Edge`
    /// resolves.
    fn refresh_provider(&self, tag: Option<&str>) -> Option<Provider<'_>> {
        self.session_provider(tag)
    }
}
