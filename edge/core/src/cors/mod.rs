//! CORS, for a deployment whose SPA is on another origin of the same site (`app.example.com`
//! calling the worker on `api.example.com`): which origins may read the worker's answers
//! ([`CorsConfig`], from `EDGEWARD_CORS_ORIGINS`), the answer to a preflight, and the headers
//! every other answer carries ([`Cors::decide`]). Off by default: then no CORS header is sent
//! at all and a preflight is answered as any other request.
//!
//! An allow-list of exact origins: no wildcard, never `null`, `https://` only in production
//! (`http://localhost:<port>` too in the local profile). Every listed origin must also be one
//! the state-changing calls accept (`EDGEWARD_ORIGIN`, `EDGEWARD_ALLOWED_ORIGINS`): CORS lets a
//! page read answers, the Origin check decides what it may change, and one list must not
//! allow what the other refuses.
//!
//! May use: `platform`.

use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use url::Url;

use crate::platform::settings::{invalid, ConfigError, Profile, Vars};
use crate::platform::{Error, Request, Response};

/// The origins that may read the worker's answers from another origin, comma-separated.
pub const CORS_ORIGINS: &str = "EDGEWARD_CORS_ORIGINS";

/// The methods a preflight may ask for.
pub const ALLOWED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE";

/// The request headers a preflight may ask for (lower case): the body's type, the CSRF header,
/// and the non-safelisted headers the proxy forwards by default. Anything else is left out of
/// the answer, and the browser then refuses the request.
pub const ALLOWED_HEADERS: [&str; 12] = [
    "content-type",
    "x-edgeward-csrf",
    "cache-control",
    "idempotency-key",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "traceparent",
    "tracestate",
    "x-request-id",
];

/// How long a browser may keep a preflight's answer (seconds).
pub const MAX_AGE: &str = "600";

/// The answer headers a cross-origin page may read besides the safelisted ones.
const EXPOSED_HEADERS: &str = "retry-after, www-authenticate";

/// Which origins may read the worker's answers; empty: CORS is off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsConfig {
    origins: Vec<String>,
}

impl CorsConfig {
    /// Reads [`CORS_ORIGINS`]. Each entry must be an origin (`scheme://host[:port]`, nothing
    /// else), `https` (or, in the local profile, `http` on `localhost`, `127.0.0.1` or
    /// `[::1]`), without a wildcard, and among `accepted` (the origins state-changing calls
    /// accept).
    pub fn from_vars(
        vars: &Vars<'_>,
        profile: Profile,
        accepted: &[String],
    ) -> Result<Self, ConfigError> {
        let mut origins = Vec::new();
        let Some(list) = vars.get(CORS_ORIGINS) else {
            return Ok(Self { origins });
        };
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let origin = parse(item, profile)?;
            if !accepted.contains(&origin) {
                return Err(invalid(
                    CORS_ORIGINS,
                    format!(
                        "{origin} is not an accepted origin: list it in EDGEWARD_ORIGIN or \
                         EDGEWARD_ALLOWED_ORIGINS too"
                    ),
                ));
            }
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
        Ok(Self { origins })
    }

    /// Whether CORS is on.
    pub fn is_on(&self) -> bool {
        !self.origins.is_empty()
    }

    /// The listed origins.
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// What CORS does with `req`: nothing when it is off; else the preflight's answer, or the
    /// headers the answer gets.
    pub fn decide(&self, req: &Request) -> Cors {
        if !self.is_on() {
            return Cors::Off;
        }
        let headers = req.headers();
        // Exact, byte for byte: `Origin` is serialised by the browser, never rewritten here.
        let listed = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .filter(|o| self.origins.iter().any(|listed| listed == o))
            .map(str::to_owned);
        let preflight = req.method() == Method::OPTIONS
            && headers.contains_key(header::ORIGIN)
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if preflight {
            return Cors::Preflight(preflight_answer(listed.as_deref(), headers));
        }
        Cors::Answer { origin: listed }
    }
}

/// What CORS does with one request.
#[derive(Debug)]
pub enum Cors {
    /// CORS is off: nothing is added.
    Off,
    /// A preflight: answer with this, and nothing else runs.
    Preflight(Response),
    /// Any other request: its answer gets `Vary: Origin`, and the CORS headers when `origin`
    /// (the request's `Origin`) is listed.
    Answer {
        /// The request's `Origin`, when it is listed.
        origin: Option<String>,
    },
}

impl Cors {
    /// Adds the answer's CORS headers to `headers` (those of an answer, errors included).
    pub fn add_to(&self, headers: &mut HeaderMap) {
        let Cors::Answer { origin } = self else {
            return;
        };
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(value) = origin
            .as_deref()
            .and_then(|o| HeaderValue::from_str(o).ok())
        {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED_HEADERS),
            );
        }
    }
}

/// The answer to a preflight: 204 with the CORS headers for a listed origin, 403
/// `origin_rejected` without any for another one.
fn preflight_answer(origin: Option<&str>, headers: &HeaderMap) -> Response {
    let origin_value = origin.and_then(|o| HeaderValue::from_str(o).ok());
    let mut response = match origin_value {
        Some(_) => {
            let mut r = Response::new(Vec::new());
            *r.status_mut() = StatusCode::NO_CONTENT;
            r
        }
        None => Error::OriginRejected("this origin may not call the worker".into()).into_response(),
    };
    let out = response.headers_mut();
    out.insert(
        header::VARY,
        HeaderValue::from_static("Origin, Access-Control-Request-Headers"),
    );
    let Some(origin_value) = origin_value else {
        return response;
    };
    out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin_value);
    out.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    out.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    out.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE),
    );
    let accepted = requested_headers(headers);
    if !accepted.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&accepted.join(", ")) {
            out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
        }
    }
    response
}

/// The headers a preflight asks for that are on [`ALLOWED_HEADERS`], lower case; the others
/// are left out.
fn requested_headers(headers: &HeaderMap) -> Vec<&'static str> {
    let mut accepted = Vec::new();
    for value in headers.get_all(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        let Ok(list) = value.to_str() else { continue };
        for name in list.split(',').map(str::trim) {
            if let Some(known) = ALLOWED_HEADERS
                .iter()
                .find(|a| a.eq_ignore_ascii_case(name))
            {
                if !accepted.contains(known) {
                    accepted.push(*known);
                }
            }
        }
    }
    accepted
}

/// One entry of [`CORS_ORIGINS`], serialised as the browser sends it in `Origin`.
fn parse(value: &str, profile: Profile) -> Result<String, ConfigError> {
    let bad = |why: &str| invalid(CORS_ORIGINS, format!("{value:?}: {why}"));
    if value.contains('*') {
        return Err(bad("a wildcard is not allowed: list each origin"));
    }
    if value.eq_ignore_ascii_case("null") {
        return Err(bad("the null origin is never allowed"));
    }
    let url = Url::parse(value).map_err(|_| bad("not an origin (scheme://host[:port])"))?;
    let only_origin = (url.path() == "/" || url.path().is_empty())
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none()
        && !value.ends_with('/');
    if !only_origin {
        return Err(bad(
            "must be an origin only (scheme://host[:port]), nothing after it",
        ));
    }
    let local_host = matches!(
        url.host_str(),
        Some("localhost") | Some("127.0.0.1") | Some("[::1]")
    );
    match (url.scheme(), profile) {
        ("https", _) => {}
        ("http", Profile::Local) if local_host => {}
        ("http", Profile::Local) => {
            return Err(bad(
                "http:// is allowed only for localhost in the local profile",
            ))
        }
        _ => return Err(bad("must be https://")),
    }
    let origin = url.origin().ascii_serialization();
    if origin == "null" {
        return Err(bad("not an origin (scheme://host[:port])"));
    }
    Ok(origin)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn config(value: &str, profile: Profile, accepted: &[&str]) -> Result<CorsConfig, ConfigError> {
        let lookup = |name: &str| (name == CORS_ORIGINS).then(|| value.to_owned());
        let vars = Vars::new(&lookup);
        let accepted: Vec<String> = accepted.iter().map(|s| (*s).to_owned()).collect();
        CorsConfig::from_vars(&vars, profile, &accepted)
    }

    #[test]
    fn bad_values_name_the_variable() {
        let app = "https://app.example.com";
        let table = [
            ("*", Profile::Production),
            ("https://*.example.com", Profile::Production),
            ("null", Profile::Production),
            ("null", Profile::Local),
            ("http://app.example.com", Profile::Production),
            ("http://localhost:8080", Profile::Production),
            ("http://app.example.com", Profile::Local),
            ("https://app.example.com/", Profile::Production),
            ("https://app.example.com/path", Profile::Production),
            ("https://user@app.example.com", Profile::Production),
            ("app.example.com", Profile::Production),
            ("https://other.example.com", Profile::Production),
        ];
        for (value, profile) in table {
            let e = config(
                value,
                profile,
                &[app, "http://localhost:8080", "http://app.example.com"],
            )
            .unwrap_err();
            assert_eq!(e.variable, CORS_ORIGINS, "{value}");
        }
    }

    #[test]
    fn good_values() {
        let c = config(
            " https://app.example.com , http://localhost:8080",
            Profile::Local,
            &["https://app.example.com", "http://localhost:8080"],
        )
        .unwrap();
        assert_eq!(
            c.origins(),
            ["https://app.example.com", "http://localhost:8080"]
        );
        assert!(!config("", Profile::Production, &[]).unwrap().is_on());
    }
}
