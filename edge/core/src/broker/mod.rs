//! The token broker: connected accounts. A signed-in user connects an account at a
//! third-party OAuth provider (a *connection* of the configuration: [`settings`]); the worker
//! keeps that account's tokens server-side, sealed ([`store`]), and hands out only short-lived
//! access tokens — to the proxy, for the user's own calls through a route whose credential is
//! the connection, and to service clients the user granted it (`POST /broker/token`,
//! [`token`]). The endpoints that connect, list and disconnect are in [`connect`].
//!
//! The connect flow is the login's machinery for another provider: PKCE and `state` from
//! `oidc` and `platform`, a single-use sealed cookie (`cookie`), the Origin and CSRF guards
//! (`request`), the session it is bound to (`sessions`). The store is the session registry's
//! (the user's shard, `sessions::ask`); refreshes go through the refresh coordinator.
//!
//! May use: `platform`, `request`, `cookie`, `oidc`, `sessions`.

pub mod connect;
pub mod settings;
pub mod store;
pub mod token;

pub(crate) use connect::{connect_end, connect_start, connections, disconnect, set_grants};
pub use settings::{BrokerConfig, ConnectionConfig, ServiceClient};
pub(crate) use token::broker_token;

use crate::oidc::Provider;

/// What the broker needs of the isolate's state besides what sessions need and the origins;
/// the dispatcher's `Edge` implements it.
pub trait Context: crate::sessions::Context + crate::request::Origins {
    /// The broker's settings.
    fn broker(&self) -> &BrokerConfig;
    /// The connection called `name` as a provider (its client and this isolate's cache of it).
    fn connection(&self, name: &str) -> Option<Provider<'_>>;
}

/// The prefix of a refresh coordinator's provider id that names a connection rather than an
/// identity provider (`connection:<name>`): provider ids and connection names hold no `:`.
pub const COORDINATOR_PREFIX: &str = "connection:";
