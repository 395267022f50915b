//! The session as it lives in the browser: four sealed `__Host-` cookies.
//!
//! | cookie | holds | lives |
//! | --- | --- | --- |
//! | `…-at` | the access token and its expiry | until the access token expires |
//! | `…-rt` | the refresh token | the session's lifetime |
//! | `…-id` | the user's claims and the raw ID token (for `id_token_hint` at logout) | the session's lifetime |
//! | `…-csrf` | the session's CSRF value | the session's lifetime |
//!
//! A cookie that does not open (tampered, other key, expired, another cookie's value) counts as
//! absent. A session exists while its ID cookie opens and it has a refresh or access token.

use edgeward_shared::api::{SessionResponse, UserClaims};
use edgeward_shared::names;
use http::header::SET_COOKIE;
use http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::cookies;
use crate::idtoken::IdTokenClaims;
use crate::ports::Random;
use crate::seal::CookieKeys;

/// How long a session lasts when the provider does not say how long its refresh token lives,
/// in seconds (24 hours).
pub const DEFAULT_SESSION_TTL: u64 = 24 * 3600;

/// `…-at`: the access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessCookie {
    /// The access token.
    pub token: String,
    /// When it expires (seconds since the epoch).
    pub exp: u64,
}

/// `…-rt`: the refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshCookie {
    /// The refresh token.
    pub token: String,
}

/// `…-id`: who the user is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdCookie {
    /// The claims the SPA may see.
    pub claims: UserClaims,
    /// The IdP session id, when the ID token had one.
    #[serde(default)]
    pub sid: Option<String>,
    /// The raw ID token, for `id_token_hint` at logout.
    pub id_token: String,
}

/// `…-csrf`: the value the SPA must echo in `x-edgeward-csrf`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CsrfCookie {
    /// The CSRF value.
    pub value: String,
}

/// The session read from a request's cookies.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who.
    pub id: IdCookie,
    /// The CSRF value.
    pub csrf: String,
    /// The access token, if its cookie is still there.
    pub access: Option<AccessCookie>,
    /// The refresh token, if any.
    pub refresh: Option<String>,
    /// When the session ends (the ID cookie's expiry).
    pub expires_at: u64,
}

/// The value of the sealed cookie `name`, if it is present, opens, and has not expired.
pub fn open_cookie<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    keys: &CookieKeys,
    name: &str,
    now: u64,
) -> Option<T> {
    open_with_expiry(headers, keys, name, now).map(|o| o.value)
}

fn open_with_expiry<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    keys: &CookieKeys,
    name: &str,
    now: u64,
) -> Option<crate::seal::Opened<T>> {
    let value = cookies::read(headers, name)?;
    keys.open_json(name, &value, now).ok()
}

impl Session {
    /// Reads the session from the request's cookies, if there is one.
    pub fn read(headers: &HeaderMap, keys: &CookieKeys, now: u64) -> Option<Session> {
        let id = open_with_expiry::<IdCookie>(headers, keys, names::COOKIE_ID, now)?;
        let csrf: CsrfCookie = open_cookie(headers, keys, names::COOKIE_CSRF, now)?;
        let access: Option<AccessCookie> = open_cookie(headers, keys, names::COOKIE_ACCESS, now);
        let refresh = open_cookie::<RefreshCookie>(headers, keys, names::COOKIE_REFRESH, now)
            .map(|r| r.token);
        if access.is_none() && refresh.is_none() {
            return None;
        }
        Some(Session {
            id: id.value,
            csrf: csrf.value,
            access,
            refresh,
            expires_at: id.expires_at,
        })
    }

    /// What `/auth/session` answers for this session.
    pub fn to_response(&self) -> SessionResponse {
        SessionResponse {
            is_logged_in: true,
            claims: Some(self.id.claims.clone()),
            access_token_expires_at: self.access.as_ref().map(|a| a.exp),
            csrf: Some(self.csrf.clone()),
            session_expires_at: Some(self.expires_at),
        }
    }
}

/// What the SPA may see of the ID token's claims.
pub fn user_claims(c: &IdTokenClaims) -> UserClaims {
    UserClaims {
        sub: c.sub.clone(),
        name: c.name.clone(),
        email: c.email.clone(),
        preferred_username: c.preferred_username.clone(),
        auth_time: c.auth_time,
    }
}

/// Tokens from a code exchange or a refresh, ready to be stored.
#[derive(Debug)]
pub struct NewTokens<'a> {
    /// The access token and when it expires.
    pub access: AccessCookie,
    /// The refresh token, if the provider issued one.
    pub refresh: Option<&'a str>,
    /// The ID cookie, if there is a (new) ID token.
    pub id: Option<IdCookie>,
    /// The CSRF value, when a new session starts.
    pub csrf: Option<&'a str>,
    /// When the session ends.
    pub session_expires_at: u64,
}

/// Appends `Set-Cookie` headers that store `tokens`. Fails only when sealing fails.
pub fn store(
    headers: &mut HeaderMap,
    keys: &CookieKeys,
    random: &impl Random,
    now: u64,
    tokens: &NewTokens<'_>,
) -> Result<(), crate::seal::SealError> {
    let session_ttl = tokens.session_expires_at.saturating_sub(now);
    let mut put = |name: &str, sealed: String, ttl: u64| {
        headers.append(SET_COOKIE, cookies::set(name, &sealed, ttl));
    };
    let at = keys.seal_json(
        names::COOKIE_ACCESS,
        &tokens.access,
        tokens.access.exp,
        random,
    )?;
    put(
        names::COOKIE_ACCESS,
        at,
        tokens.access.exp.saturating_sub(now),
    );
    if let Some(rt) = tokens.refresh {
        let sealed = keys.seal_json(
            names::COOKIE_REFRESH,
            &RefreshCookie {
                token: rt.to_owned(),
            },
            tokens.session_expires_at,
            random,
        )?;
        put(names::COOKIE_REFRESH, sealed, session_ttl);
    }
    if let Some(id) = &tokens.id {
        let sealed = keys.seal_json(names::COOKIE_ID, id, tokens.session_expires_at, random)?;
        put(names::COOKIE_ID, sealed, session_ttl);
    }
    if let Some(csrf) = tokens.csrf {
        let sealed = keys.seal_json(
            names::COOKIE_CSRF,
            &CsrfCookie {
                value: csrf.to_owned(),
            },
            tokens.session_expires_at,
            random,
        )?;
        put(names::COOKIE_CSRF, sealed, session_ttl);
    }
    Ok(())
}

/// Appends `Set-Cookie` headers that delete every session cookie (and a pending login).
pub fn clear(headers: &mut HeaderMap) {
    for name in names::ALL_COOKIES {
        headers.append(SET_COOKIE, cookies::clear(name));
    }
}
