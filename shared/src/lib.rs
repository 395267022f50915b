//! The contract between the edgeward worker and the SPA.
//!
//! Both sides compile against this crate, so a renamed field, cookie or error code is a compile
//! error rather than a runtime surprise. It holds only serde types and constants: no logic, no
//! platform code. JSON field names are camelCase on the wire.

#![forbid(unsafe_code)]

pub mod api;
pub mod error;

pub use error::{ErrorBody, ErrorCode};

/// Paths the worker answers. Everything under [`paths::AUTH_PREFIX`] and [`paths::API_PREFIX`]
/// reaches the worker first; every other path is a static asset or the SPA's `index.html`.
pub mod paths {
    /// Prefix of the OAuth agent's endpoints.
    pub const AUTH_PREFIX: &str = "/auth/";
    /// Prefix of the proxied APIs.
    pub const API_PREFIX: &str = "/api/";
    /// `GET`: the current session, see [`crate::api::SessionResponse`].
    pub const SESSION: &str = "/auth/session";
    /// `GET`: the identity providers to sign in with, see [`crate::api::ProvidersResponse`].
    pub const PROVIDERS: &str = "/auth/providers";
    /// `POST`: begin a login, see [`crate::api::LoginStartRequest`].
    pub const LOGIN_START: &str = "/auth/login/start";
    /// `POST`: finish a login from the callback page's URL, see [`crate::api::LoginEndRequest`].
    pub const LOGIN_END: &str = "/auth/login/end";
    /// `POST`: refresh the tokens behind the session cookies.
    pub const REFRESH: &str = "/auth/refresh";
    /// `POST`: end the session, see [`crate::api::LogoutResponse`].
    pub const LOGOUT: &str = "/auth/logout";
    /// `POST` from the identity provider: OpenID Connect Back-Channel Logout
    /// (`logout_token=<JWT>`, form-encoded).
    pub const BACKCHANNEL_LOGOUT: &str = "/auth/backchannel-logout";
    /// `GET`: the worker's public keys for the tokens it mints (phantom-token mode
    /// `introspect-mint`).
    pub const JWKS: &str = "/.well-known/jwks.json";
    /// `GET` / `DELETE` with the admin bearer token: a user's sessions (`?sub=`), one of them
    /// (`&session=<handle>`).
    pub const ADMIN_SESSIONS: &str = "/auth/admin/sessions";
    /// `GET` / `PUT` / `DELETE` with the admin bearer token: the machine clients' certificates
    /// revoked (`?certificate=<hex serial | sha256:<hex>>` to add or take back one).
    pub const ADMIN_CLIENT_REVOCATIONS: &str = "/auth/admin/clients/revoked";
    /// `GET`: the user's connected accounts (token broker), see
    /// [`crate::api::ConnectionsResponse`]; `POST …/{name}/start` and `POST …/{name}/end` connect
    /// one, `DELETE …/{name}` disconnects it.
    pub const CONNECTIONS: &str = "/auth/connections";
    /// `POST` by a service client (`client_secret_basic`): a connected account's access token
    /// for a user who granted it, see [`crate::api::BrokerTokenRequest`].
    pub const BROKER_TOKEN: &str = "/broker/token";
    /// The SPA route a connection's provider redirects back to (default).
    pub const CONNECTION_CALLBACK: &str = "/connections/callback";
    /// The SPA route the identity provider redirects back to.
    pub const CALLBACK: &str = "/callback";
}

/// Header and cookie names.
pub mod names {
    /// Request header that must carry the session's CSRF value on state-changing requests.
    pub const CSRF_HEADER: &str = "x-edgeward-csrf";
    /// Every header starting with this prefix is edgeward's own and never reaches an upstream API.
    pub const HEADER_PREFIX: &str = "x-edgeward-";
    /// Every cookie edgeward sets starts with this prefix. `__Host-` makes the browser insist on
    /// `Secure`, `Path=/` and no `Domain`.
    pub const COOKIE_PREFIX: &str = "__Host-edgeward-";
    /// Cookie holding the access token.
    pub const COOKIE_ACCESS: &str = "__Host-edgeward-at";
    /// Cookie holding the refresh token.
    pub const COOKIE_REFRESH: &str = "__Host-edgeward-rt";
    /// Cookie holding what logout and `/auth/session` need of the ID token.
    pub const COOKIE_ID: &str = "__Host-edgeward-id";
    /// Cookie holding the session's CSRF value.
    pub const COOKIE_CSRF: &str = "__Host-edgeward-csrf";
    /// Short-lived cookie holding the state of a login in progress.
    pub const COOKIE_LOGIN: &str = "__Host-edgeward-login";
    /// Server-side session mode: the session id (the tokens stay in the Durable Object).
    pub const COOKIE_SESSION: &str = "__Host-edgeward-sid";
    /// Sealed, between `/auth/connections/{name}/start` and `…/end`: the connection's state
    /// and PKCE verifier, bound to the session that started it.
    pub const COOKIE_CONNECT: &str = "__Host-edgeward-connect";
    /// Every cookie of a session (cleared when it ends).
    pub const ALL_COOKIES: [&str; 6] = [
        COOKIE_ACCESS,
        COOKIE_REFRESH,
        COOKIE_ID,
        COOKIE_CSRF,
        COOKIE_LOGIN,
        COOKIE_SESSION,
    ];
}

#[cfg(test)]
mod tests {
    use super::names;

    #[test]
    fn every_cookie_name_carries_the_host_prefix() {
        for name in names::ALL_COOKIES {
            assert!(name.starts_with(names::COOKIE_PREFIX), "{name}");
            assert!(name.starts_with("__Host-"), "{name}");
        }
        assert!(names::CSRF_HEADER.starts_with(names::HEADER_PREFIX));
    }
}
