//! The session as it lives in the browser (stateless mode): three sealed `__Host-` cookies that
//! belong together.
//!
//! | cookie | holds | lives |
//! | --- | --- | --- |
//! | `…-id` | the session's [`Binding`], the user's claims, the CSRF value, the raw ID token (for `id_token_hint` at logout) | until the session ends |
//! | `…-at` | the [`Binding`], the access token and its expiry, the CSRF value | until the access token expires |
//! | `…-rt` | the [`Binding`] and the refresh token | until the session ends |
//!
//! Every cookie of a session carries the same [`Binding`]: a random 128-bit id made at login,
//! the user (`sub`), the IdP's session id (`sid`), the issuer (and the provider's id, unless it
//! is the default provider), and when the session began and
//! ends. The binding is sealed with each cookie (AES-GCM authenticates it), so nobody can make a
//! cookie of one session claim another. Reading a session opens its cookies and requires their
//! bindings to be equal: cookies of two sessions in one jar (a copy of someone's token cookies
//! beside one's own ID cookie) are refused as a whole ([`Broken`]), never combined. What decides
//! whether a token may still be used — the deny-list of ended sessions, the session's end —
//! is read from the binding of the very cookie that carries the token. A refresh keeps the
//! binding (and so the end) of the refresh cookie it used: a session never outlives the 24 hours
//! it began with.
//!
//! A cookie that does not open because it expired counts as absent; one that does not open for
//! any other reason (tampered, another key, another deployment, another cookie's value) or
//! whose binding differs makes the whole jar [`Broken`]. The format-1 CSRF cookie
//! (`__Host-edgeward-csrf`) of earlier releases is no longer set (the CSRF value travels in the
//! ID and access cookies) and is cleared with the others.
//!
//! Every cookie of a session also carries its binding's [tag](Binding::tag) in clear, in the
//! sealed value's label ([`Label`](super::seal::Label), bound into the associated data with the
//! expiry). So the cookies' agreement is seen without opening them, and an endpoint opens only
//! the cookie it needs: `GET /auth/session` opens the ID cookie ([`read_identity`]), the proxy
//! the access cookie ([`read_access`]), and only refresh and logout open the refresh cookie
//! ([`Session::read`]). A cookie whose clear tag was changed to agree does not open when it is
//! opened; until then it grants nothing. Cookies sealed by the release before (format 2) carry
//! no label: a jar with one is read by opening every cookie, as that release did.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use edgeward_shared::api::{SessionResponse, UserClaims};
use edgeward_shared::names;
use http::header::SET_COOKIE;
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::seal::{CookieKeys, OpenError, Peeked, SealError};
use crate::platform::cookies::{self, Jar};
use crate::platform::ports::{AeadCipher, Random};
use crate::platform::Error;

/// How long a session lasts when the provider does not say how long its refresh token lives,
/// in seconds (24 hours).
pub const DEFAULT_SESSION_TTL: u64 = 24 * 3600;

/// What ties the cookies of one session together, sealed into each of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The session's own id: 16 random bytes, base64url, made at login.
    #[serde(rename = "i")]
    pub id: String,
    /// The user.
    #[serde(rename = "u")]
    pub sub: String,
    /// The IdP's session id, when the ID token had one.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The issuer that signed the user in.
    #[serde(rename = "p")]
    pub issuer: String,
    /// The provider that signed the user in, by id; `None` for the default (first) provider,
    /// and in every cookie sealed before there were several.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// When the session began, seconds since the epoch.
    #[serde(rename = "b")]
    pub started_at: u64,
    /// When it ends, seconds since the epoch.
    #[serde(rename = "e")]
    pub ends_at: u64,
}

impl Binding {
    /// What the session's cookies carry in clear to show they belong together: the first 128
    /// bits of SHA-256(`edgeward/binding/` ‖ id), base64url. Not the id itself, which the
    /// deny-list and the refresh coordinator know the session by.
    pub fn tag(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"edgeward/binding/")
            .chain_update(self.id.as_bytes())
            .finalize();
        URL_SAFE_NO_PAD.encode(&digest[..16])
    }
}

/// `…-id`: who the user is, and the session's CSRF value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdCookie {
    /// The session.
    pub b: Binding,
    /// The claims the SPA may see.
    pub claims: UserClaims,
    /// The value the SPA must echo in `x-edgeward-csrf`.
    pub csrf: String,
    /// The raw ID token, for `id_token_hint` at logout.
    pub id_token: String,
}

/// `…-at`: the access token, with what the proxy needs beside it (the session, the CSRF value),
/// so a proxied call opens this one cookie.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessCookie {
    /// The session.
    pub b: Binding,
    /// The access token.
    pub token: String,
    /// When it expires (seconds since the epoch).
    pub exp: u64,
    /// The session's CSRF value.
    pub csrf: String,
}

/// `…-rt`: the refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshCookie {
    /// The session.
    pub b: Binding,
    /// The refresh token.
    pub token: String,
}

/// An access token and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The token.
    pub token: String,
    /// Its expiry, seconds since the epoch.
    pub exp: u64,
}

/// The session read from a request (its cookies in stateless mode, the store in server mode).
#[derive(Debug, Clone)]
pub struct Session {
    /// Which session this is; all of its cookies agreed on it.
    pub binding: Binding,
    /// What the SPA may see of the user.
    pub claims: UserClaims,
    /// The CSRF value.
    pub csrf: String,
    /// The raw ID token.
    pub id_token: String,
    /// The access token, if its cookie is still there.
    pub access: Option<AccessToken>,
    /// The refresh token, if any.
    pub refresh: Option<String>,
}

/// The request's session cookies do not belong together (or one was forged): the jar is refused
/// as a whole and its cookies are cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broken(pub &'static str);

impl From<Broken> for Error {
    fn from(b: Broken) -> Self {
        Error::SessionExpired(format!("the session cookies were refused: {}", b.0))
    }
}

/// The value of the sealed cookie `name`, if it is present, opens, and has not expired.
pub async fn open_cookie<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    keys: &CookieKeys,
    ports: &(impl AeadCipher + ?Sized),
    name: &str,
    now: u64,
) -> Option<T> {
    let value = cookies::read(headers, name)?;
    keys.open_json(ports, name, &value, now)
        .await
        .ok()
        .map(|o| o.value)
}

/// Cookie `name`: absent (or expired) → `None`; present and opened → `Some`; present but not
/// opening for any other reason → [`Broken`].
async fn open_part<T: serde::de::DeserializeOwned>(
    jar: &Jar<'_>,
    keys: &CookieKeys,
    ports: &(impl AeadCipher + ?Sized),
    name: &str,
    now: u64,
) -> Result<Option<T>, Broken> {
    let Some(value) = jar.get(name) else {
        return Ok(None);
    };
    match keys.open_json(ports, name, value, now).await {
        Ok(opened) => Ok(Some(opened.value)),
        Err(OpenError::Expired) => Ok(None),
        Err(_) => Err(Broken("a session cookie did not open")),
    }
}

/// Whether a session's binding belongs to this deployment: its provider is configured and has
/// the binding's issuer. The caller knows the providers; the cookies only carry the binding.
pub type Accepts<'a> = &'a dyn Fn(&Binding) -> bool;

/// Checks a binding against the configuration and the time.
fn current(b: &Binding, accepts: Accepts<'_>, now: u64) -> Result<bool, Broken> {
    if !accepts(b) {
        return Err(Broken("the session is from another identity provider"));
    }
    Ok(b.ends_at > now)
}

impl Session {
    /// Reads the session from the request's cookies: `Ok(None)` when there is none (or it has
    /// ended), [`Broken`] when cookies are present that do not belong together.
    pub async fn read(
        headers: &HeaderMap,
        keys: &CookieKeys,
        ports: &(impl AeadCipher + ?Sized),
        accepts: Accepts<'_>,
        now: u64,
    ) -> Result<Option<Session>, Broken> {
        let jar = Jar::of(headers);
        let id: Option<IdCookie> = open_part(&jar, keys, ports, names::COOKIE_ID, now).await?;
        let access: Option<AccessCookie> =
            open_part(&jar, keys, ports, names::COOKIE_ACCESS, now).await?;
        let refresh: Option<RefreshCookie> =
            open_part(&jar, keys, ports, names::COOKIE_REFRESH, now).await?;
        let Some(id) = id else {
            return if access.is_some() || refresh.is_some() {
                Err(Broken("token cookies without their session's ID cookie"))
            } else {
                Ok(None)
            };
        };
        if access.as_ref().is_some_and(|a| a.b != id.b)
            || refresh.as_ref().is_some_and(|r| r.b != id.b)
        {
            return Err(Broken("cookies of different sessions"));
        }
        if access.as_ref().is_some_and(|a| a.csrf != id.csrf) {
            return Err(Broken("cookies of different sessions"));
        }
        if !current(&id.b, accepts, now)? || (access.is_none() && refresh.is_none()) {
            return Ok(None);
        }
        Ok(Some(Session {
            binding: id.b,
            claims: id.claims,
            csrf: id.csrf,
            id_token: id.id_token,
            access: access.map(|a| AccessToken {
                token: a.token,
                exp: a.exp,
            }),
            refresh: refresh.map(|r| r.token),
        }))
    }
}

/// What `GET /auth/session` answers with: the ID cookie opened; the access and refresh cookies
/// only looked at.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Which session this is.
    pub binding: Binding,
    /// What the SPA may see of the user.
    pub claims: UserClaims,
    /// The CSRF value.
    pub csrf: String,
    /// When the access cookie says its token expires, if there is one (read from its clear
    /// label: only the holder of the cookie can change it, and it then misleads only their own
    /// SPA's refresh timer; the proxy opens the cookie, and a changed label does not open).
    pub access_expires_at: Option<u64>,
}

impl Identity {
    /// What `/auth/session` answers for this session, signed in with the provider of id
    /// `provider`.
    pub fn to_response(&self, provider: &str) -> SessionResponse {
        SessionResponse {
            is_logged_in: true,
            claims: Some(self.claims.clone()),
            access_token_expires_at: self.access_expires_at,
            csrf: Some(self.csrf.clone()),
            session_expires_at: Some(self.binding.ends_at),
            provider: Some(provider.to_owned()),
            ..SessionResponse::default()
        }
    }
}

impl Session {
    /// The part of the session `/auth/session` answers with.
    pub fn identity(&self) -> Identity {
        Identity {
            binding: self.binding.clone(),
            claims: self.claims.clone(),
            csrf: self.csrf.clone(),
            access_expires_at: self.access.as_ref().map(|a| a.exp),
        }
    }
}

/// A session cookie looked at without opening it.
enum Glance<'a> {
    /// Absent, or expired as its label says.
    Absent,
    /// Present, with this tag and expiry in its label.
    Tagged(&'a str, u64),
    /// Present, sealed by the release before (no label).
    Unlabelled,
}

fn glance<'a>(keys: &CookieKeys, value: Option<&'a str>, now: u64) -> Result<Glance<'a>, Broken> {
    let Some(value) = value else {
        return Ok(Glance::Absent);
    };
    match keys.peek(value) {
        Ok(Peeked::Labelled(label)) if label.expires_at <= now => Ok(Glance::Absent),
        Ok(Peeked::Labelled(label)) => Ok(Glance::Tagged(label.tag, label.expires_at)),
        Ok(Peeked::Unlabelled) => Ok(Glance::Unlabelled),
        Err(_) => Err(Broken("a session cookie did not open")),
    }
}

/// The session as `/auth/session` needs it, opening the ID cookie only: the access and refresh
/// cookies must carry the ID cookie's tag in clear (else the jar is [`Broken`], as
/// [`Session::read`] would find it) and are not opened. `Ok(None)` when there is no session, it
/// has ended, or neither token cookie is left. A jar holding a cookie of the release before
/// (no label) is read by [`Session::read`].
pub async fn read_identity(
    headers: &HeaderMap,
    keys: &CookieKeys,
    ports: &(impl AeadCipher + ?Sized),
    accepts: Accepts<'_>,
    now: u64,
) -> Result<Option<Identity>, Broken> {
    let jar = Jar::of(headers);
    let id_value = jar.get(names::COOKIE_ID);
    let id = glance(keys, id_value, now)?;
    let access = glance(keys, jar.get(names::COOKIE_ACCESS), now)?;
    let refresh = glance(keys, jar.get(names::COOKIE_REFRESH), now)?;
    if [&id, &access, &refresh]
        .iter()
        .any(|g| matches!(g, Glance::Unlabelled))
    {
        return Ok(Session::read(headers, keys, ports, accepts, now)
            .await?
            .map(|s| s.identity()));
    }
    let (Glance::Tagged(tag, _), Some(id_value)) = (&id, &id_value) else {
        return if matches!(access, Glance::Absent) && matches!(refresh, Glance::Absent) {
            Ok(None)
        } else {
            Err(Broken("token cookies without their session's ID cookie"))
        };
    };
    let agrees = |g: &Glance<'_>| match g {
        Glance::Tagged(t, _) => t == tag,
        _ => true,
    };
    if !agrees(&access) || !agrees(&refresh) {
        return Err(Broken("cookies of different sessions"));
    }
    // The ID cookie without its raw ID token (skipped by the parser, never copied).
    #[derive(Clone, Deserialize)]
    struct IdView {
        b: Binding,
        claims: UserClaims,
        csrf: String,
    }
    let opened = match keys
        .open_json_remembered::<IdView>(ports, names::COOKIE_ID, id_value, now)
        .await
    {
        Ok(opened) => opened.value,
        Err(_) => return Err(Broken("a session cookie did not open")),
    };
    if !current(&opened.b, accepts, now)?
        || (matches!(access, Glance::Absent) && matches!(refresh, Glance::Absent))
    {
        return Ok(None);
    }
    let access_expires_at = match access {
        Glance::Tagged(_, exp) => Some(exp),
        _ => None,
    };
    Ok(Some(Identity {
        binding: opened.b,
        claims: opened.claims,
        csrf: opened.csrf,
        access_expires_at,
    }))
}

/// The access cookie alone (the proxy's read): `Ok(None)` when absent, expired, or its session
/// has ended; [`Broken`] when it does not open or names another provider.
pub async fn read_access(
    headers: &HeaderMap,
    keys: &CookieKeys,
    ports: &(impl AeadCipher + ?Sized),
    accepts: Accepts<'_>,
    now: u64,
) -> Result<Option<AccessCookie>, Broken> {
    let Some(value) = cookies::read(headers, names::COOKIE_ACCESS) else {
        return Ok(None);
    };
    // The proxy opens the same access cookie on every call: remembered once opened.
    match keys
        .open_json_remembered::<AccessCookie>(ports, names::COOKIE_ACCESS, &value, now)
        .await
    {
        Ok(opened) if current(&opened.value.b, accepts, now)? => Ok(Some(opened.value)),
        Ok(_) | Err(OpenError::Expired) => Ok(None),
        Err(_) => Err(Broken("a session cookie did not open")),
    }
}

/// The refresh cookie alone, if it opens and belongs to `binding` (to revoke it when its
/// session turned out to have ended).
pub async fn read_refresh_of(
    headers: &HeaderMap,
    keys: &CookieKeys,
    ports: &(impl AeadCipher + ?Sized),
    binding: &Binding,
    now: u64,
) -> Option<String> {
    open_cookie::<RefreshCookie>(headers, keys, ports, names::COOKIE_REFRESH, now)
        .await
        .filter(|r| &r.b == binding)
        .map(|r| r.token)
}

/// What to write into the cookies.
#[derive(Debug)]
pub struct Write<'a> {
    /// The session.
    pub binding: &'a Binding,
    /// Its CSRF value.
    pub csrf: &'a str,
    /// The (new) access token.
    pub access: &'a AccessToken,
    /// A new refresh token; `None` leaves the refresh cookie as it is (or, with `login`,
    /// clears it).
    pub refresh: Option<&'a str>,
    /// At login: the claims and the raw ID token. Every cookie is then replaced or cleared.
    pub login: Option<(&'a UserClaims, &'a str)>,
}

/// Appends the `Set-Cookie` headers that store `write`. Fails only when sealing fails.
pub async fn store(
    headers: &mut HeaderMap,
    keys: &CookieKeys,
    ports: &(impl Random + AeadCipher + ?Sized),
    now: u64,
    write: &Write<'_>,
) -> Result<(), SealError> {
    let b = write.binding;
    let session_ttl = b.ends_at.saturating_sub(now);
    let mut put = |name: &str, sealed: String, ttl: u64| {
        headers.append(SET_COOKIE, cookies::set(name, &sealed, ttl));
    };
    let access_exp = write.access.exp.min(b.ends_at);
    let tag = b.tag();
    let at = keys
        .seal_json_tagged(
            ports,
            names::COOKIE_ACCESS,
            &tag,
            &AccessCookie {
                b: b.clone(),
                token: write.access.token.clone(),
                exp: access_exp,
                csrf: write.csrf.to_owned(),
            },
            access_exp,
        )
        .await?;
    put(names::COOKIE_ACCESS, at, access_exp.saturating_sub(now));
    if let Some(rt) = write.refresh {
        let sealed = keys
            .seal_json_tagged(
                ports,
                names::COOKIE_REFRESH,
                &tag,
                &RefreshCookie {
                    b: b.clone(),
                    token: rt.to_owned(),
                },
                b.ends_at,
            )
            .await?;
        put(names::COOKIE_REFRESH, sealed, session_ttl);
    }
    if let Some((claims, id_token)) = write.login {
        let sealed = keys
            .seal_json_tagged(
                ports,
                names::COOKIE_ID,
                &tag,
                &IdCookie {
                    b: b.clone(),
                    claims: claims.clone(),
                    csrf: write.csrf.to_owned(),
                    id_token: id_token.to_owned(),
                },
                b.ends_at,
            )
            .await?;
        put(names::COOKIE_ID, sealed, session_ttl);
        // Everything else of an earlier session in this browser goes.
        let mut gone = vec![names::COOKIE_CSRF, names::COOKIE_SESSION];
        if write.refresh.is_none() {
            gone.push(names::COOKIE_REFRESH);
        }
        for name in gone {
            headers.append(SET_COOKIE, cookies::clear(name));
        }
    }
    Ok(())
}

/// Appends `Set-Cookie` headers that delete every session cookie but keep a pending login.
pub fn clear_session(headers: &mut HeaderMap) {
    for name in names::ALL_COOKIES
        .into_iter()
        .filter(|n| *n != names::COOKIE_LOGIN)
    {
        headers.append(SET_COOKIE, cookies::clear(name));
    }
}
