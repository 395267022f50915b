//! Rate limits: what the worker counts, under which key, and what an answer over the limit
//! looks like (429 `rate_limited` with `Retry-After`). The counting is the platform's
//! ([`RateLimiter`]: on Cloudflare the Workers Rate Limiting binding, one per limiter); this
//! module decides which limiter counts a request ([`subject`]) and asks it before any other
//! work is done for the request. Without a limiter (no binding), nothing is limited.
//!
//! What is counted, by [`Limiter`]:
//! - `ip`: per client IP (`CF-Connecting-IP`, set by Cloudflare; an IPv6 address by its /64): `POST /auth/login/start`,
//!   `/auth/login/end`, `/auth/backchannel-logout`, and `/api/*` calls that carry neither a
//!   session nor a bearer token (nor a proof over a certificate Cloudflare verified);
//! - `session`: per session, keyed by the SHA-256 of the cookie that names it (`-sid` in
//!   server mode; `-id` for `/auth/refresh` and `-at` for `/api/*` in stateless mode: a
//!   refresh renews `-at`, never `-id`): `/auth/refresh`, the token broker's connect routes
//!   (`POST`, `PUT`, `DELETE` under `/auth/connections/`, by the cookie refresh uses) and
//!   `/api/*`;
//! - `client`: per service client, keyed by the SHA-256 of its bearer token, and per machine
//!   client, keyed by its certificate's SHA-256 fingerprint: `/api/*`; per broker client, keyed
//!   by the SHA-256 of its `Authorization` value: `POST /broker/token`.
//!
//! Keys are hashes or addresses, never a token or a cookie value.
//!
//! A request counted by what the caller presents (a session cookie, a bearer token, a broker
//! client's credentials) that is answered 401 (the cookie did not open or named no live
//! session, the token or the secret was not good) is also counted against its address
//! ([`charge_refusal`]): otherwise a caller who makes up a new cookie, token or secret for
//! every request would be counted under a new key each time and never limited. An address over
//! the `ip` limit this way is remembered by the isolate ([`Penalties`]) and such requests from
//! it are refused before anything they present is opened or checked, until the period has
//! passed. A browser drops an expired cookie, so a signed-in user meets such a 401 rarely (an
//! ended session, a clock off by the cookie's last seconds); a service client whose token
//! expired meets one, then gets a new token.
//!
//! May use: `platform`, `machine`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;

use edgeward_shared::{names, paths};
use http::{header, HeaderMap, Method};

use crate::machine;
use crate::platform::cookies;
use crate::platform::crypto::{hex, token_key};
use crate::platform::ports::{Clock, RateLimiter, RateVerdict};
use crate::platform::settings::{ConfigError, Vars};
use crate::platform::{Error, Request};

/// The period of the platform's limiters in seconds (10 or 60): what `Retry-After` says.
pub const RATE_LIMIT_PERIOD: &str = "EDGEWARD_RATE_LIMIT_PERIOD";

/// How the answers over a limit are told to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSettings {
    /// Seconds until a window has surely passed (`Retry-After`).
    pub retry_after: u64,
    /// Sessions live server-side (`EDGEWARD_SESSION_MODE=server`): a session is named by its
    /// `-sid` cookie, else by `-id` (refresh) and `-at` (`/api/*`). Set from the session
    /// settings by the configuration, not from a variable of its own.
    pub server_sessions: bool,
}

impl Default for RateSettings {
    fn default() -> Self {
        Self {
            retry_after: 60,
            server_sessions: false,
        }
    }
}

impl RateSettings {
    /// Reads [`RATE_LIMIT_PERIOD`] (10 or 60, the periods the platform's limiter has; default
    /// 60). It must be the period of the `[[ratelimits]]` bindings.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        match vars.get(RATE_LIMIT_PERIOD).as_deref() {
            None | Some("60") => Ok(Self::default()),
            Some("10") => Ok(Self {
                retry_after: 10,
                ..Self::default()
            }),
            Some(other) => Err(crate::platform::settings::invalid(
                RATE_LIMIT_PERIOD,
                format!("must be 10 or 60 (the limiter's period), not {other:?}"),
            )),
        }
    }
}

/// Which of the platform's limiters counts a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limiter {
    /// Per client IP.
    Ip,
    /// Per session.
    Session,
    /// Per service client.
    Client,
}

impl Limiter {
    /// The limiter's name for the platform (`ip`, `session`, `client`).
    pub fn name(self) -> &'static str {
        match self {
            Limiter::Ip => "ip",
            Limiter::Session => "session",
            Limiter::Client => "client",
        }
    }
}

/// The header Cloudflare sets to the client's address.
const CLIENT_IP: &str = "cf-connecting-ip";

/// What a request is counted under, before it is written out ([`Subject::key`]): hashing a
/// session cookie is done only when the limiter is bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// The client's address.
    Ip(String),
    /// A session cookie's value (hashed in the key).
    Session(String),
    /// A service client's bearer token (hashed in the key).
    Token(String),
    /// A machine client's verified certificate fingerprint.
    Machine([u8; 32]),
}

impl Subject {
    /// The limiter that counts it.
    pub fn limiter(&self) -> Limiter {
        match self {
            Subject::Ip(_) => Limiter::Ip,
            Subject::Session(_) => Limiter::Session,
            Subject::Token(_) | Subject::Machine(_) => Limiter::Client,
        }
    }

    /// Whether the key is made of what the caller presents (a session cookie, a token, client
    /// credentials): a caller can make up a new one for every request, so a refusal of such a
    /// request also counts against the address ([`charge_refusal`]).
    pub fn presented(&self) -> bool {
        matches!(self, Subject::Session(_) | Subject::Token(_))
    }

    /// The key the limiter counts under: an address or a hash, never a token or a cookie.
    pub fn key(&self) -> String {
        match self {
            Subject::Ip(address) => format!("ip:{address}"),
            Subject::Session(cookie) => format!("session:{}", token_key(cookie)),
            Subject::Token(token) => format!("client:{}", token_key(token)),
            Subject::Machine(fingerprint) => format!("machine:{}", hex(fingerprint)),
        }
    }
}

/// What counts `req`; `None`: it is not counted. `server_sessions`: see
/// [`RateSettings::server_sessions`].
///
/// A request is counted under what the handler will take it for, and nothing else the caller
/// may add: on `/api/*` a request carrying any cookie of ours is a browser's, whose session
/// the proxy reads from the mode's cookie alone (an `Authorization` header beside it is never
/// read, so it must not move the count to a key of the caller's choosing); and the cookie
/// that names a session is the mode's (in stateless mode a `-sid` cookie is read by nobody).
pub fn subject(req: &Request, server_sessions: bool) -> Option<Subject> {
    let path = req.uri().path();
    let headers = req.headers();
    let api =
        path.starts_with(paths::API_PREFIX) || path == paths::API_PREFIX.trim_end_matches('/');
    if api {
        // A machine client: by the certificate Cloudflare verified, whatever its address.
        if machine::has_proof(headers) {
            let fingerprint = req
                .extensions()
                .get::<machine::TlsClientAuth>()
                .and_then(machine::TlsClientAuth::verified_fingerprint);
            return Some(match fingerprint {
                Some(fp) => Subject::Machine(fp),
                None => ip(headers),
            });
        }
        let jar = cookies::Jar::of(headers);
        let browser = names::ALL_COOKIES.iter().any(|name| jar.present(name));
        if !browser {
            if let Some(auth) = headers.get(header::AUTHORIZATION) {
                let bearer = auth
                    .to_str()
                    .ok()
                    .and_then(|v| v.split_once(' '))
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, token)| token.trim());
                return Some(match bearer {
                    Some(token) => Subject::Token(token.to_owned()),
                    None => ip(headers),
                });
            }
        }
        let name = if server_sessions {
            names::COOKIE_SESSION
        } else {
            names::COOKIE_ACCESS
        };
        return Some(session(headers, name).unwrap_or_else(|| ip(headers)));
    }
    // The token broker's connect routes (start, end, grants, disconnect: each may reach the
    // third-party provider), by the session like a refresh; the list (GET) is a read.
    let connections = path
        .strip_prefix(paths::CONNECTIONS)
        .is_some_and(|rest| rest.starts_with('/'));
    if connections && req.method() != Method::GET && req.method() != Method::HEAD {
        return Some(refreshing_session(headers, server_sessions));
    }
    if req.method() != Method::POST {
        return None;
    }
    match path {
        paths::LOGIN_START | paths::LOGIN_END | paths::BACKCHANNEL_LOGOUT => Some(ip(headers)),
        // A service client of the broker: by (the hash of) the credentials it presents, so no
        // one without its secret uses up its count; without credentials, by address.
        paths::BROKER_TOKEN => Some(
            match headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
            {
                Some(credentials) => Subject::Token(credentials.to_owned()),
                None => ip(headers),
            },
        ),
        paths::REFRESH => Some(refreshing_session(headers, server_sessions)),
        _ => None,
    }
}

/// A session's `/auth/*` call beside the proxy (a refresh, a connect route): by the cookie
/// that names the session (`-sid`; stateless: `-id`, which a refresh never renews), else by
/// address.
fn refreshing_session(headers: &HeaderMap, server_sessions: bool) -> Subject {
    let name = if server_sessions {
        names::COOKIE_SESSION
    } else {
        names::COOKIE_ID
    };
    session(headers, name).unwrap_or_else(|| ip(headers))
}

fn ip(headers: &HeaderMap) -> Subject {
    let address = headers
        .get(CLIENT_IP)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse::<IpAddr>().ok());
    Subject::Ip(match address {
        Some(address) => bucket(address),
        // Not behind Cloudflare (or not an address): every such request shares one bucket
        // (fails closed).
        None => "unknown".to_owned(),
    })
}

/// What one client is counted as: an IPv4 address, or an IPv6 address's /64 (the least a
/// line or host is given: counting each address would let one client use 2^64 of them).
fn bucket(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The session cookie `name`, when the request carries it (once).
fn session(headers: &HeaderMap, name: &str) -> Option<Subject> {
    cookies::read(headers, name).map(Subject::Session)
}

/// Addresses over the `ip` limit with refused requests ([`charge_refusal`]), with the second
/// until which their requests that present something are refused unopened. Per isolate;
/// at most [`PENALTY_ENTRIES`] addresses (then those whose time is up go, and if none has,
/// all: a forgotten address is counted again, never let through uncounted).
#[derive(Debug, Default)]
pub struct Penalties {
    until: RefCell<HashMap<String, u64>>,
}

/// How many addresses [`Penalties`] remembers.
const PENALTY_ENTRIES: usize = 4096;

impl Penalties {
    fn holds(&self, address: &str, now: u64) -> bool {
        self.until
            .borrow()
            .get(address)
            .is_some_and(|until| now < *until)
    }

    fn put(&self, address: String, until: u64, now: u64) {
        let mut map = self.until.borrow_mut();
        if map.len() >= PENALTY_ENTRIES {
            map.retain(|_, u| now < *u);
            if map.len() >= PENALTY_ENTRIES {
                map.clear();
            }
        }
        map.insert(address, until);
    }
}

/// Asks the platform's limiter for `req`: over the limit is 429 `rate_limited`; no limiter, or
/// one that could not answer, lets the request through. Returns what counted the request.
/// A request counted by what the caller presented, from an address in `penalties`, is refused
/// first, before anything it presents is opened or checked.
pub async fn check(
    ports: &(impl RateLimiter + Clock),
    settings: RateSettings,
    penalties: &Penalties,
    req: &Request,
) -> Result<Option<Subject>, Error> {
    // Without a limiter nothing is counted or remembered: not even the cookies are read.
    let bound = [Limiter::Ip, Limiter::Session, Limiter::Client];
    if !bound.iter().any(|l| ports.has_rate_limiter(l.name())) {
        return Ok(None);
    }
    let Some(subject) = subject(req, settings.server_sessions) else {
        return Ok(None);
    };
    let limiter = subject.limiter();
    if subject.presented() {
        if let Subject::Ip(address) = ip(req.headers()) {
            if penalties.holds(&address, ports.now()) {
                return Err(limited(settings, Limiter::Ip));
            }
        }
    }
    // The key (a hash of a cookie of up to 4 KiB) only when the limiter is bound.
    if !ports.has_rate_limiter(limiter.name()) {
        return Ok(Some(subject));
    }
    match ports.rate_limit(limiter.name(), &subject.key()).await {
        RateVerdict::Limited => Err(limited(settings, limiter)),
        RateVerdict::Allowed | RateVerdict::Unlimited => Ok(Some(subject)),
    }
}

/// After a request counted by what the caller presented (`subject`, [`Subject::presented`])
/// was answered `status`: a 401 counts against the caller's address too; over the `ip` limit,
/// the address goes into `penalties` for a period and the answer becomes 429.
pub async fn charge_refusal(
    ports: &(impl RateLimiter + Clock),
    settings: RateSettings,
    penalties: &Penalties,
    req: &Request,
    subject: Option<&Subject>,
    status: u16,
) -> Result<(), Error> {
    if status != 401 || !subject.is_some_and(Subject::presented) {
        return Ok(());
    }
    let Subject::Ip(address) = ip(req.headers()) else {
        return Ok(());
    };
    if !ports.has_rate_limiter(Limiter::Ip.name()) {
        return Ok(());
    }
    let key = Subject::Ip(address.clone()).key();
    match ports.rate_limit(Limiter::Ip.name(), &key).await {
        RateVerdict::Limited => {
            let now = ports.now();
            penalties.put(address, now + settings.retry_after, now);
            Err(limited(settings, Limiter::Ip))
        }
        RateVerdict::Allowed | RateVerdict::Unlimited => Ok(()),
    }
}

fn limited(settings: RateSettings, limiter: Limiter) -> Error {
    Error::RateLimited {
        retry_after: settings.retry_after,
        limiter: limiter.name(),
    }
}
