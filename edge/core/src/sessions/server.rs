//! Server-side sessions (`EDGEWARD_SESSION_MODE=server`): the tokens live in the session
//! Durable Object; the browser holds only a random 128-bit session id, sealed in the
//! `__Host-edgeward-sid` cookie with the user's `sub` (which names the registry shard the
//! session is kept in). The store knows a session by the SHA-256 of its id (its *handle*), never
//! by the id itself, so reading the store does not give anyone a cookie.

use edgeward_shared::api::UserClaims;
use serde::{Deserialize, Serialize};

use crate::cookie::session::{AccessToken, Binding, Session};
use crate::platform::crypto::token_key;

/// The sealed content of the session-id cookie.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SidCookie {
    /// The session id: 16 random bytes, base64url.
    pub id: String,
    /// The user, which names the registry shard that keeps the session.
    pub sub: String,
    /// The provider that signed the user in (`None`: the default one; see
    /// [`Binding::provider`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl SidCookie {
    /// The registry shard's name for the user ([`super::registry::scoped`]).
    pub fn registry_sub(&self) -> String {
        super::registry::scoped(self.provider.as_deref(), &self.sub)
    }
}

/// The store's name for a session: the SHA-256 of its id, hex.
pub fn handle_of(id: &str) -> String {
    token_key(id)
}

/// A session as the store keeps it. `Debug` shows no token.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The user.
    pub claims: UserClaims,
    /// The IdP's session id, from the ID token.
    #[serde(default)]
    pub sid: Option<String>,
    /// The issuer that signed the user in.
    #[serde(default)]
    pub issuer: String,
    /// The provider that signed the user in (`None`: the default one; see
    /// [`Binding::provider`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The raw ID token (for `id_token_hint` at logout).
    pub id_token: String,
    /// The access token and its expiry.
    pub access_token: String,
    /// When the access token expires.
    pub access_expires_at: u64,
    /// The refresh token, if any.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// The CSRF value the SPA must echo.
    pub csrf: String,
    /// When the session began.
    pub created_at: u64,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: u64,
    /// When it ends.
    pub expires_at: u64,
    /// When its tokens were last refreshed (0: never).
    #[serde(default)]
    pub refreshed_at: u64,
    /// The browser's `User-Agent` at login, cut to 200 characters.
    #[serde(default)]
    pub user_agent: Option<String>,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("sub", &self.claims.sub)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl SessionRecord {
    /// What the registry knows the user by ([`super::registry::scoped`]).
    pub fn registry_sub(&self) -> String {
        super::registry::scoped(self.provider.as_deref(), &self.claims.sub)
    }

    /// What the registry knows the IdP session by.
    pub fn registry_sid(&self) -> Option<String> {
        let sid = self.sid.as_deref()?;
        Some(super::registry::scoped(self.provider.as_deref(), sid))
    }

    /// The session as the agent and the proxy use it; its binding id is the store's handle.
    pub fn to_session(&self, handle: &str) -> Session {
        Session {
            binding: Binding {
                id: handle.to_owned(),
                sub: self.claims.sub.clone(),
                sid: self.sid.clone(),
                issuer: self.issuer.clone(),
                provider: self.provider.clone(),
                started_at: self.created_at,
                ends_at: self.expires_at,
            },
            claims: self.claims.clone(),
            csrf: self.csrf.clone(),
            id_token: self.id_token.clone(),
            access: Some(AccessToken {
                token: self.access_token.clone(),
                exp: self.access_expires_at,
            }),
            refresh: self.refresh_token.clone(),
        }
    }

    /// What an administrator may see of it.
    pub fn summary(&self, handle: &str) -> SessionSummary {
        SessionSummary {
            handle: handle.to_owned(),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            expires_at: self.expires_at,
            user_agent: self.user_agent.clone(),
        }
    }
}

/// A session as the admin endpoint lists it: never a token, never the session id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    /// The store's name for it (the SHA-256 of its id), to revoke it by.
    pub handle: String,
    /// When it began.
    pub created_at: u64,
    /// When it was last used (to the minute).
    pub last_used_at: u64,
    /// When it ends.
    pub expires_at: u64,
    /// The browser's `User-Agent` at login.
    pub user_agent: Option<String>,
}
