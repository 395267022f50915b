//! The audit trail: which requests are security-relevant events, their stable names
//! ([`Event`]), and the one JSON line and metric each becomes ([`Record`], written through the
//! [`Log::audit`] port). The edge's dispatcher decides the event from the route and the outcome
//! ([`classify`]) and emits it once per request; nothing deeper in the core writes audit lines.
//!
//! What a line may hold is an allow-list: the event's name, a reason taken from a fixed set (an
//! [`ErrorCode`]'s wire name or the way a session ended, never an error's text, which can echo
//! the request), the route as a fixed label (never the request's path or query), the status,
//! the `cf-ray` request id and the client's address only when they parse as what they claim to
//! be, the SHA-256 of the cookie that names the session, and whom the request concerns as its
//! handler noted it ([`trail`](crate::platform::trail)): the provider's configured id and the
//! user's `sub`, keyed-hashed, in clear or left out as [`AUDIT_SUB`] says. Never a token, a
//! code, a cookie value or a secret.
//!
//! May use: `platform`.

use std::net::IpAddr;

use edgeward_shared::{names, paths, ErrorCode};
use http::{HeaderMap, Method};
use serde::Serialize;

use crate::platform::cookies;
use crate::platform::crypto::{hex, token_key};
use crate::platform::error::wire_name;
use crate::platform::ports::{Log, MetricPoint};
use crate::platform::settings::{invalid, ConfigError, Vars};
use crate::platform::trail::Noted;
use crate::platform::Error;

/// How the audit line shows a user's `sub`: `hashed` (the default: the first 16 hex digits of
/// an HMAC-SHA-256 of the provider's issuer, a zero byte and the `sub`, keyed by a key derived
/// from the cookie key that seals and the deployment, so the log alone cannot be searched for
/// a guessed user; the same user hashes alike until that key rotates), `clear`, or `omit`.
pub const AUDIT_SUB: &str = "EDGEWARD_AUDIT_SUB";

/// What the audit trail is configured to write.
#[derive(Clone)]
pub struct AuditSettings {
    sub: SubMode,
}

#[derive(Clone)]
enum SubMode {
    /// Keyed-hashed, with this key.
    Hashed(Box<[u8; 32]>),
    Clear,
    Omit,
}

impl std::fmt::Debug for AuditSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.sub {
            SubMode::Hashed(_) => "hashed",
            SubMode::Clear => "clear",
            SubMode::Omit => "omit",
        };
        f.debug_struct("AuditSettings").field("sub", &mode).finish()
    }
}

impl AuditSettings {
    /// Reads [`AUDIT_SUB`]; `hash_key` is the key a hashed `sub` is made with (a secret the
    /// deployment derives, never logged).
    pub fn from_vars(
        vars: &Vars<'_>,
        hash_key: [u8; 32],
    ) -> std::result::Result<Self, ConfigError> {
        let sub = match vars.get(AUDIT_SUB).as_deref() {
            None | Some("hashed") => SubMode::Hashed(Box::new(hash_key)),
            Some("clear") => SubMode::Clear,
            Some("omit") => SubMode::Omit,
            Some(other) => {
                return Err(invalid(
                    AUDIT_SUB,
                    format!("must be \"hashed\", \"clear\" or \"omit\", not {other:?}"),
                ))
            }
        };
        Ok(Self { sub })
    }

    /// How `sub` at `issuer` appears in a line, if at all.
    fn show_sub(&self, issuer: Option<&str>, sub: &str) -> Option<String> {
        match &self.sub {
            SubMode::Omit => None,
            SubMode::Clear => Some(sub.to_owned()),
            SubMode::Hashed(key) => {
                use hkdf::hmac::{Hmac, Mac};
                let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.as_slice()).ok()?;
                mac.update(issuer.unwrap_or("").as_bytes());
                mac.update(&[0]);
                mac.update(sub.as_bytes());
                Some(hex(&mac.finalize().into_bytes()[..8]))
            }
        }
    }
}

/// A security-relevant event, by its stable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `POST /auth/login/start` answered: the browser goes to the provider.
    LoginStarted,
    /// `POST /auth/login/end` made a session.
    LoginSucceeded,
    /// A login's start or end was refused (the reason: the error code).
    LoginFailed,
    /// `POST /auth/refresh` renewed the tokens.
    RefreshSucceeded,
    /// `POST /auth/refresh` was refused (the reason: the error code).
    RefreshRefused,
    /// A session ended: the reason is `logout`, `backchannel` or `admin`.
    SessionEnded,
    /// A state-changing request lacked the CSRF header or carried a wrong one.
    CsrfRejected,
    /// A state-changing request failed the Origin / `Sec-Fetch-Site` rules.
    OriginRejected,
    /// The proxy answered 401 or 403 (the reason: the error code).
    ProxyDenied,
    /// A request was over a rate limit (the reason: the limiter, `ip`, `session` or `client`).
    RateLimited,
    /// An admin endpoint was called (the reason: the method, or the error code it was refused with).
    AdminAction,
    /// The configuration is invalid (every request answers so until it is fixed).
    ConfigInvalid,
}

impl Event {
    /// The stable name, as it appears in the log and in the metrics.
    pub fn name(self) -> &'static str {
        match self {
            Event::LoginStarted => "login.started",
            Event::LoginSucceeded => "login.succeeded",
            Event::LoginFailed => "login.failed",
            Event::RefreshSucceeded => "refresh.succeeded",
            Event::RefreshRefused => "refresh.refused",
            Event::SessionEnded => "session.ended",
            Event::CsrfRejected => "csrf.rejected",
            Event::OriginRejected => "origin.rejected",
            Event::ProxyDenied => "proxy.denied",
            Event::RateLimited => "rate.limited",
            Event::AdminAction => "admin.action",
            Event::ConfigInvalid => "config.invalid",
        }
    }
}

/// How a request ended, as far as the audit trail cares.
#[derive(Debug, Clone, Copy)]
pub enum Result<'a> {
    /// Answered by its handler with this status (`None`: forwarded) and, when the handler
    /// answered an error itself (a login's end that clears its cookie), the error's code (the
    /// answer carries it).
    Answered(Option<u16>, Option<ErrorCode>),
    /// Refused with this error.
    Failed(&'a Error),
}

/// The event a request is, with its reason; `None`: not an event.
pub fn classify(method: &Method, path: &str, result: Result<'_>) -> Option<(Event, String)> {
    match result {
        Result::Failed(error) => {
            let code = error.code();
            let mut reason = wire_name(code);
            let event = match error {
                Error::RateLimited { limiter, .. } => {
                    // Which limiter: one of the core's own names.
                    reason = (*limiter).to_owned();
                    Event::RateLimited
                }
                Error::CsrfRejected(_) => Event::CsrfRejected,
                Error::OriginRejected(_) => Event::OriginRejected,
                Error::Config(_) => Event::ConfigInvalid,
                _ => match path {
                    paths::LOGIN_START | paths::LOGIN_END => Event::LoginFailed,
                    paths::REFRESH => Event::RefreshRefused,
                    paths::ADMIN_SESSIONS | paths::ADMIN_CLIENT_REVOCATIONS => Event::AdminAction,
                    _ if is_api(path) && matches!(code.status(), 401 | 403) => Event::ProxyDenied,
                    _ => return None,
                },
            };
            Some((event, reason))
        }
        Result::Answered(status, code) => {
            if status.is_some_and(|s| s >= 400) {
                let reason = code.map_or_else(|| "error".to_owned(), wire_name);
                let event = match path {
                    paths::LOGIN_START | paths::LOGIN_END => Event::LoginFailed,
                    paths::REFRESH => Event::RefreshRefused,
                    _ => return None,
                };
                return Some((event, reason));
            }
            match path {
                paths::LOGIN_START => Some((Event::LoginStarted, String::new())),
                paths::LOGIN_END => Some((Event::LoginSucceeded, String::new())),
                paths::REFRESH => Some((Event::RefreshSucceeded, String::new())),
                paths::LOGOUT => Some((Event::SessionEnded, "logout".to_owned())),
                paths::BACKCHANNEL_LOGOUT => Some((Event::SessionEnded, "backchannel".to_owned())),
                paths::ADMIN_SESSIONS if method == Method::DELETE => {
                    Some((Event::SessionEnded, "admin".to_owned()))
                }
                paths::ADMIN_SESSIONS | paths::ADMIN_CLIENT_REVOCATIONS => {
                    Some((Event::AdminAction, method_name(method).to_owned()))
                }
                _ => None,
            }
        }
    }
}

/// One audit line: what [`emit`] writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// The event's stable name.
    pub event: &'static str,
    /// Why (fixed vocabulary, see [`classify`]); empty when there is nothing to say.
    pub reason: String,
    /// The route as a fixed label ([`route_label`]).
    pub route: &'static str,
    /// The answer's HTTP status (200 for a forwarded request).
    pub status: u16,
    /// Cloudflare's request id (`cf-ray`), when it looks like one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The client's address (`CF-Connecting-IP`), when it parses as one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// SHA-256 (hex, first 16 digits) of the cookie that names the session, when one came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The configured id of the provider the request concerns, when its handler knew it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The user's `sub` at that provider as [`AUDIT_SUB`] says (by default keyed-hashed), when
    /// its handler knew it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

impl Record {
    /// The record of `event` for a request with `headers` to `path`, answered with `status`.
    pub fn new(
        (event, reason): (Event, String),
        path: &str,
        headers: &HeaderMap,
        status: u16,
    ) -> Self {
        Self {
            event: event.name(),
            reason,
            route: route_label(path),
            status,
            request_id: request_id(headers),
            ip: client_ip(headers),
            session: session_handle(headers),
            provider: None,
            sub: None,
        }
    }

    /// The record, with whom the request concerns as its handler `noted` it.
    pub fn concerning(mut self, noted: Noted, settings: &AuditSettings) -> Self {
        self.sub = noted
            .sub
            .and_then(|sub| settings.show_sub(noted.issuer.as_deref(), &sub));
        self.provider = noted.provider;
        self
    }

    /// Writes the record: one JSON line and one metric, through `log`.
    pub fn emit(&self, log: &impl Log) {
        let line = match serde_json::to_string(self) {
            Ok(line) => line,
            // A struct of strings and numbers always serialises; keep the event anyway.
            Err(_) => format!("{{\"event\":\"{}\"}}", self.event),
        };
        log.audit(
            &line,
            &MetricPoint {
                event: self.event,
                reason: &self.reason,
                route: self.route,
                status: self.status,
                ip: self.ip.as_deref().unwrap_or(""),
                provider: self.provider.as_deref().unwrap_or(""),
            },
        );
    }
}

/// The route as a fixed label: the path itself when it is one of ours, else its family. The
/// request's own path never reaches the log (it can carry anything the caller puts in it).
pub fn route_label(path: &str) -> &'static str {
    const KNOWN: [&str; 13] = [
        paths::SESSION,
        paths::PROVIDERS,
        paths::LOGIN_START,
        paths::LOGIN_END,
        paths::REFRESH,
        paths::LOGOUT,
        paths::ADMIN_SESSIONS,
        paths::ADMIN_CLIENT_REVOCATIONS,
        paths::BACKCHANNEL_LOGOUT,
        paths::BROKER_TOKEN,
        paths::CONNECTIONS,
        paths::JWKS,
        "/auth/",
    ];
    if let Some(known) = KNOWN.iter().find(|k| **k == path) {
        return known;
    }
    if is_api(path) {
        "/api/*"
    } else if path.starts_with(paths::CONNECTIONS) {
        "/auth/connections/*"
    } else if path.starts_with(paths::AUTH_PREFIX) {
        "/auth/*"
    } else {
        "other"
    }
}

fn is_api(path: &str) -> bool {
    path.starts_with(paths::API_PREFIX) || path == paths::API_PREFIX.trim_end_matches('/')
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::POST => "POST",
        _ => "other",
    }
}

/// `cf-ray` when it is what Cloudflare sends (16 hex digits, a dash, a location code in capitals,
/// `8f1b2c3d4e5f6a7b-AMS`), else nothing: a client can send any header.
fn request_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("cf-ray")?.to_str().ok()?.trim();
    let (id, colo) = value.split_once('-')?;
    let ok = id.len() == 16
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && (3..=4).contains(&colo.len())
        && colo.bytes().all(|b| b.is_ascii_uppercase());
    ok.then(|| value.to_owned())
}

/// `CF-Connecting-IP` when it parses as an address (written as parsed).
fn client_ip(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("cf-connecting-ip")?.to_str().ok()?.trim();
    value.parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

/// The first 16 hex digits of the SHA-256 of the cookie that names the session (`-sid` in
/// server mode, else `-id`): enough to follow one session through the log, never its value.
fn session_handle(headers: &HeaderMap) -> Option<String> {
    let jar = cookies::Jar::of(headers);
    let value = jar
        .get(names::COOKIE_SESSION)
        .or_else(|| jar.get(names::COOKIE_ID))?;
    let mut hash = token_key(value);
    hash.truncate(16);
    Some(hash)
}

/// The record of a request answered "configuration invalid" (the adapter answers those before
/// there is an edge to ask).
pub fn config_invalid(path: &str, headers: &HeaderMap) -> Record {
    Record::new(
        (Event::ConfigInvalid, wire_name(ErrorCode::ConfigInvalid)),
        path,
        headers,
        ErrorCode::ConfigInvalid.status(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_events() {
        let ok = |status| Result::Answered(Some(status), None);
        let logout_token = Error::LogoutTokenInvalid("x".into());
        let scope = Error::InsufficientScope("read".into());
        let upstream = Error::UpstreamUnavailable("x".into());
        let limited = Error::RateLimited {
            retry_after: 60,
            limiter: "ip",
        };
        let table: Vec<(Method, &str, Result<'_>, Option<(&str, &str)>)> = vec![
            (
                Method::POST,
                paths::BACKCHANNEL_LOGOUT,
                ok(200),
                Some(("session.ended", "backchannel")),
            ),
            (
                Method::POST,
                paths::LOGOUT,
                ok(200),
                Some(("session.ended", "logout")),
            ),
            (
                Method::DELETE,
                paths::ADMIN_SESSIONS,
                ok(200),
                Some(("session.ended", "admin")),
            ),
            (
                Method::PUT,
                paths::ADMIN_CLIENT_REVOCATIONS,
                ok(200),
                Some(("admin.action", "PUT")),
            ),
            (
                Method::POST,
                paths::LOGIN_END,
                Result::Answered(Some(400), Some(ErrorCode::InvalidState)),
                Some(("login.failed", "invalid_state")),
            ),
            (
                Method::GET,
                "/api/orders",
                Result::Answered(None, None),
                None,
            ),
            (Method::GET, paths::SESSION, ok(200), None),
            (
                Method::POST,
                paths::BACKCHANNEL_LOGOUT,
                Result::Failed(&logout_token),
                None,
            ),
            (
                Method::GET,
                "/api/x",
                Result::Failed(&scope),
                Some(("proxy.denied", "insufficient_scope")),
            ),
            (Method::GET, "/api/x", Result::Failed(&upstream), None),
            (
                Method::POST,
                paths::LOGIN_START,
                Result::Failed(&limited),
                Some(("rate.limited", "ip")),
            ),
        ];
        for (method, path, result, want) in table {
            let got = classify(&method, path, result);
            let got = got.as_ref().map(|(e, r)| (e.name(), r.as_str()));
            assert_eq!(got, want, "{method} {path}");
        }
    }

    #[test]
    fn a_hashed_sub_names_one_user_at_one_issuer() {
        let settings = |key: u8| AuditSettings {
            sub: SubMode::Hashed(Box::new([key; 32])),
        };
        let (a, b) = ("https://idp-a.example", "https://idp-b.example");
        let hash = |key, issuer, sub| settings(key).show_sub(Some(issuer), sub).unwrap();
        let alice = hash(1, a, "alice");
        assert_eq!(alice, hash(1, a, "alice"), "the same user, the same hash");
        assert_eq!(alice.len(), 16);
        assert!(alice.bytes().all(|b| b.is_ascii_hexdigit()), "{alice}");
        assert_ne!(alice, hash(1, a, "bob"), "another user");
        assert_ne!(alice, hash(1, b, "alice"), "the same sub at another issuer");
        assert_ne!(alice, hash(2, a, "alice"), "another key");
        // The zero byte between them: issuer and sub cannot trade characters.
        assert_ne!(
            hash(1, "https://x", "y"),
            settings(1).show_sub(Some("https://xy"), "").unwrap()
        );
    }

    #[test]
    fn a_request_id_or_address_that_is_not_one_is_left_out() {
        let mut headers = HeaderMap::new();
        for (ray, ip, want) in [
            ("8f1b2c3d4e5f6a7b-AMS", "2001:db8::1", true),
            ("eyJhbGciOi-JWT", "IP-SECRET", false),
            ("8f1b2c3d4e5f6a7b-AMS\"}", "x", false),
        ] {
            headers.insert("cf-ray", ray.parse().unwrap());
            headers.insert("cf-connecting-ip", ip.parse().unwrap());
            let record = config_invalid("/auth/PATH-SECRET", &headers);
            assert_eq!(record.request_id.is_some(), want, "{ray}");
            assert_eq!(record.ip.is_some(), want, "{ip}");
            assert_eq!(record.route, "/auth/*");
            assert_eq!(record.event, "config.invalid");
        }
    }
}
