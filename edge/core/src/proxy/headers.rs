//! What a forwarded request and its answer may carry. Headers are allow-listed both ways: the
//! upstream gets [`DEFAULT_REQUEST_HEADERS`], the route's extras and our `Authorization:
//! Bearer`; the browser gets [`DEFAULT_RESPONSE_HEADERS`], the route's extras, a `Location` only
//! when it points under the route (rewritten to our path), and headers that keep an upstream's
//! answer from acting on the SPA's origin ([`PROXIED_RESPONSE_CSP`], `nosniff`,
//! `Cross-Origin-Resource-Policy`). Some names can never be allowed, not even per route:
//! configuring one is a configuration error.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use url::Url;

use super::routes::{path_is_safe, Route};
use crate::platform::Error;

/// Request headers every route forwards: content negotiation, the body's description,
/// conditional and range requests, and tracing. Anything else needs the route's
/// `requestHeaders`. (`Content-Length` is not here: the runtime frames the body it sends.)
pub const DEFAULT_REQUEST_HEADERS: [&str; 17] = [
    "accept",
    "accept-language",
    "cache-control",
    "content-encoding",
    "content-language",
    "content-type",
    "idempotency-key",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "range",
    "traceparent",
    "tracestate",
    "user-agent",
    "x-request-id",
];

/// Response headers every route passes back: the body's description, caching and validators,
/// ranges, `Allow`, `Retry-After`, a Bearer `WWW-Authenticate`, and tracing. Anything else
/// needs the route's `responseHeaders`.
pub const DEFAULT_RESPONSE_HEADERS: [&str; 19] = [
    "accept-ranges",
    "age",
    "allow",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-length",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expires",
    "last-modified",
    "retry-after",
    "traceparent",
    "vary",
    "www-authenticate",
    "x-request-id",
];

/// Hop-by-hop headers (RFC 9110 §7.6.1, and the legacy `Proxy-Connection`): never forwarded.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Names a route may never forward upstream, as exact names and as prefixes: credentials
/// (ours is the only `Authorization`), what routes or identifies the request (host, client
/// address, forwarding chains, method and URL overrides that would defeat the route's method
/// list and prefix), our own `x-edgeward-*` headers, Cloudflare's `cf-*`, message framing.
pub(super) const NEVER_REQUEST: Never = Never {
    exact: &[
        "authorization",
        "cookie",
        "cookie2",
        "host",
        "content-length",
        "forwarded",
        "via",
        "x-real-ip",
        "true-client-ip",
        "client-ip",
        "x-client-ip",
        "x-cluster-client-ip",
        "x-host",
        "x-http-method",
        "x-http-method-override",
        "x-method-override",
        "x-original-method",
        "x-original-url",
        "x-original-uri",
        "x-rewrite-url",
        "x-override-url",
    ],
    prefixes: &["x-forwarded-", "x-edgeward-", "cf-", "proxy-"],
};

/// Names a route may never pass back to the browser: cookies, CORS (the API is reached
/// same-origin; an upstream's `Access-Control-*` would open it to other sites), origin-wide
/// state and policy that belong to the site, not to one API (`Clear-Site-Data`, `Refresh`,
/// `Service-Worker-Allowed`, HSTS, `NEL` and reporting, `Alt-Svc`, the document policies and
/// the ones this proxy sets itself), `Location` (rewritten by its own rule), framing.
pub(super) const NEVER_RESPONSE: Never = Never {
    exact: &[
        "set-cookie",
        "set-cookie2",
        "location",
        "content-location",
        "clear-site-data",
        "refresh",
        "service-worker-allowed",
        "content-security-policy",
        "content-security-policy-report-only",
        "x-content-type-options",
        "x-frame-options",
        "cross-origin-resource-policy",
        "cross-origin-opener-policy",
        "cross-origin-opener-policy-report-only",
        "cross-origin-embedder-policy",
        "cross-origin-embedder-policy-report-only",
        "origin-agent-cluster",
        "permissions-policy",
        "feature-policy",
        "document-policy",
        "strict-transport-security",
        "public-key-pins",
        "public-key-pins-report-only",
        "expect-ct",
        "nel",
        "report-to",
        "reporting-endpoints",
        "alt-svc",
        "timing-allow-origin",
        "x-permitted-cross-domain-policies",
        "supports-loading-mode",
        "speculation-rules",
        "x-dns-prefetch-control",
    ],
    prefixes: &["access-control-", "x-edgeward-"],
};

/// A set of header names, exact and by prefix (lowercase).
#[derive(Debug)]
pub(super) struct Never {
    exact: &'static [&'static str],
    prefixes: &'static [&'static str],
}

impl Never {
    fn contains(&self, name: &str) -> bool {
        HOP_BY_HOP.contains(&name)
            || self.exact.contains(&name)
            || self.prefixes.iter().any(|p| name.starts_with(p))
    }
}

/// Validates a route's extra header names: real header names, none of `never`.
pub(super) fn header_names(
    prefix: &str,
    field: &str,
    names: &[String],
    never: &Never,
) -> Result<Vec<HeaderName>, String> {
    names
        .iter()
        .map(|raw| {
            let name = HeaderName::from_bytes(raw.trim().as_bytes())
                .map_err(|_| format!("route {prefix}: {field}: {raw:?} is not a header name"))?;
            if never.contains(name.as_str()) {
                return Err(format!(
                    "route {prefix}: {field} may not name {:?}: the proxy never passes it",
                    name.as_str()
                ));
            }
            Ok(name)
        })
        .collect()
}

/// The names a message's `Connection` header lists: hop-by-hop for this message.
fn connection_listed(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect()
}

/// The headers an upstream gets: of the browser's, only the allowed ones
/// ([`DEFAULT_REQUEST_HEADERS`] and the route's `requestHeaders`) and none its `Connection`
/// names; then `Authorization: Bearer <jwt>`.
pub fn forward_request_headers(
    incoming: &HeaderMap,
    route: &Route,
    jwt: &str,
) -> Result<HeaderMap, Error> {
    let listed = connection_listed(incoming);
    // The browser's, at most, and the token: sized once.
    let mut headers = HeaderMap::with_capacity(incoming.len() + 1);
    for (name, value) in incoming {
        let allowed = DEFAULT_REQUEST_HEADERS.contains(&name.as_str())
            || route.request_headers.contains(name);
        if allowed && !listed.contains(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let bearer = HeaderValue::from_str(&format!("Bearer {jwt}"))
        .map_err(|_| Error::Internal("the token is not header-safe"))?;
    headers.insert(header::AUTHORIZATION, bearer);
    Ok(headers)
}

/// The `Content-Security-Policy` of every proxied answer. It does nothing to a `fetch()` of
/// the answer (JSON APIs are unaffected), and everything to the answer opened as a document:
/// HTML or SVG from an upstream loads nothing, runs no script, gets an opaque origin (no
/// cookies, storage or same-origin access to the SPA) and cannot be framed.
pub const PROXIED_RESPONSE_CSP: &str = "default-src 'none'; sandbox; frame-ancestors 'none'";

/// The headers the browser gets back: of the upstream's, only the allowed ones
/// ([`DEFAULT_RESPONSE_HEADERS`] and the route's `responseHeaders`) and none its `Connection`
/// names; `WWW-Authenticate` only with Bearer challenges (no browser login prompt on our
/// origin); `Location` rewritten onto the route or dropped ([`rewrite_location`]); plus
/// `X-Content-Type-Options: nosniff`, [`PROXIED_RESPONSE_CSP`] and
/// `Cross-Origin-Resource-Policy: same-origin` (no other site embeds an API answer).
/// `request_url` is the upstream URL the request went to.
pub fn forward_response_headers(
    upstream: &HeaderMap,
    route: &Route,
    request_url: &Url,
) -> HeaderMap {
    let listed = connection_listed(upstream);
    // The upstream's, at most, and the three added below: sized once.
    let mut headers = HeaderMap::with_capacity(upstream.len() + 3);
    for (name, value) in upstream {
        let allowed = DEFAULT_RESPONSE_HEADERS.contains(&name.as_str())
            || route.response_headers.contains(name);
        if !allowed || listed.contains(name) {
            continue;
        }
        if name == header::WWW_AUTHENTICATE && !bearer_challenges_only(value) {
            continue;
        }
        if name == header::CONTENT_TYPE {
            // The SPA's own CSP allows scripts from its origin, and a proxied answer is on
            // it: an answer typed as a script could be loaded as one by an injected tag. It
            // is passed as text (with nosniff, a browser will not run it).
            headers.append(header::CONTENT_TYPE, content_type_as_sent(value));
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    // One Location, or none: two would be ambiguous.
    let mut locations = upstream.get_all(header::LOCATION).iter();
    if let (Some(location), None) = (locations.next(), locations.next()) {
        if let Some(rewritten) = rewrite_location(location, route, request_url) {
            headers.insert(header::LOCATION, rewritten);
        }
    }
    for (name, value) in added_response_headers() {
        headers.insert(name, value);
    }
    headers
}

/// What every proxied answer carries, in place of the upstream's headers of those names:
/// `nosniff`, [`PROXIED_RESPONSE_CSP`], `Cross-Origin-Resource-Policy: same-origin`.
fn added_response_headers() -> [(HeaderName, HeaderValue); 3] {
    [
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PROXIED_RESPONSE_CSP),
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ]
}

/// Upstream answer headers that [`forward_response_headers`] judges by more than their name
/// and its rules by name cannot: a `Location` is rewritten, a `WWW-Authenticate` passes only with
/// Bearer challenges.
pub const JUDGED_RESPONSE_HEADERS: [&str; 2] = ["location", "www-authenticate"];

/// What a script `Content-Type` is passed as (see [`content_type_as_sent`]).
pub const SCRIPT_TYPE_AS_SENT: &str = "text/plain; charset=utf-8";

/// The `Content-Type` the browser gets for an upstream's `value`: the value itself, or
/// `text/plain; charset=utf-8` for a script type (and for a value that is not text).
pub fn content_type_as_sent(value: &HeaderValue) -> HeaderValue {
    if is_script_type(value) {
        HeaderValue::from_static(SCRIPT_TYPE_AS_SENT)
    } else {
        value.clone()
    }
}

/// A route's rules for a proxied answer's headers, in a form an adapter can apply by header
/// name (the worker does so in JavaScript, without entering wasm a second time per proxied
/// call): the names passed back, the headers added to every answer, and the names
/// ([`JUDGED_RESPONSE_HEADERS`]) that need [`forward_response_headers`] itself.
/// [`AnswerRules::apply`] is that function on every answer it takes (a test holds it to that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRules {
    /// The names passed back as they are (lower case; [`DEFAULT_RESPONSE_HEADERS`] and the
    /// route's `responseHeaders`, without the judged and the added ones). `Content-Type`'s
    /// value goes through [`content_type_as_sent`].
    pub passed: Vec<String>,
    /// Added to every answer after the upstream's.
    pub added: Vec<(HeaderName, HeaderValue)>,
}

impl AnswerRules {
    /// The rules of `route`.
    pub fn of(route: &Route) -> Self {
        let added = added_response_headers().to_vec();
        let passed = DEFAULT_RESPONSE_HEADERS
            .iter()
            .copied()
            .chain(route.response_headers.iter().map(HeaderName::as_str))
            .filter(|name| !JUDGED_RESPONSE_HEADERS.contains(name))
            .filter(|name| added.iter().all(|(a, _)| a.as_str() != *name))
            .map(str::to_owned)
            .collect();
        Self { passed, added }
    }

    /// The headers the browser gets of `upstream` (name, value pairs in their order, names in
    /// lower case), or `None` when the answer needs [`forward_response_headers`]: a judged
    /// header, or a value with a character outside visible ASCII (which the headers' crossing
    /// into the core leaves out). Names a `Connection` header lists (comma-separated, any case)
    /// are dropped. The adapter's fast path does exactly this.
    pub fn apply(&self, upstream: &[(&str, &str)]) -> Option<HeaderMap> {
        let visible = |v: &str| v.bytes().all(|b| b == b'\t' || (32..127).contains(&b));
        let listed: Vec<String> = upstream
            .iter()
            .filter(|(name, _)| *name == "connection")
            .flat_map(|(_, value)| value.split(','))
            .map(|name| name.trim().to_ascii_lowercase())
            .collect();
        let mut headers = HeaderMap::with_capacity(upstream.len() + self.added.len());
        for (name, value) in upstream {
            if JUDGED_RESPONSE_HEADERS.contains(name) || !visible(value) {
                return None;
            }
            if !self.passed.iter().any(|p| p == name) || listed.iter().any(|l| l == name) {
                continue;
            }
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return None;
            };
            let value = if name == header::CONTENT_TYPE {
                content_type_as_sent(&value)
            } else {
                value
            };
            headers.append(name, value);
        }
        for (name, value) in &self.added {
            headers.append(name.clone(), value.clone());
        }
        Some(headers)
    }
}

/// Whether a `Content-Type` is one a browser runs as a script (the JavaScript MIME types of the
/// WHATWG MIME Sniffing standard), or is unreadable. Every type of a comma-separated list counts:
/// a browser takes the last one (Fetch's "extract a MIME type"), and the runtime joins an
/// upstream's several `Content-Type` headers into one such list.
fn is_script_type(value: &HeaderValue) -> bool {
    let Ok(value) = value.to_str() else {
        return true;
    };
    value.split(',').any(|part| {
        let essence = part.split(';').next().unwrap_or("").trim();
        is_script_essence(&essence.to_ascii_lowercase())
    })
}

/// Whether a MIME type's essence (lowercase) is a JavaScript MIME type.
fn is_script_essence(essence: &str) -> bool {
    matches!(
        essence,
        "application/ecmascript"
            | "application/javascript"
            | "application/x-ecmascript"
            | "application/x-javascript"
            | "text/ecmascript"
            | "text/javascript"
            | "text/javascript1.0"
            | "text/javascript1.1"
            | "text/javascript1.2"
            | "text/javascript1.3"
            | "text/javascript1.4"
            | "text/javascript1.5"
            | "text/jscript"
            | "text/livescript"
            | "text/x-ecmascript"
            | "text/x-javascript"
    )
}

/// Whether a `WWW-Authenticate` value names no scheme a browser answers with its own login
/// dialog (Basic, Digest, NTLM, Negotiate): only Bearer challenges pass.
fn bearer_challenges_only(value: &HeaderValue) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    let lower = value.trim_start().to_ascii_lowercase();
    lower.starts_with("bearer")
        && !["basic", "digest", "ntlm", "negotiate"]
            .iter()
            .any(|scheme| lower.contains(scheme))
}

/// An upstream's `Location`, resolved against the URL the request went to: under the route's
/// upstream base it becomes the same path under the route's prefix (an absolute path on our
/// origin, so it works from any origin the SPA is served on); anywhere else (another host, an
/// internal address, outside the base path, a scheme that is not the upstream's) it is dropped.
/// So is a rewritten path our own routing would refuse.
pub fn rewrite_location(
    value: &HeaderValue,
    route: &Route,
    request_url: &Url,
) -> Option<HeaderValue> {
    let target = request_url.join(value.to_str().ok()?.trim()).ok()?;
    let rest = target.as_str().strip_prefix(route.upstream.as_str())?;
    let rewritten = format!("{}{rest}", route.prefix);
    let path = rewritten
        .split(['?', '#'])
        .next()
        .unwrap_or(rewritten.as_str());
    if !path_is_safe(path) {
        return None;
    }
    HeaderValue::from_str(&rewritten).ok()
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;
    use crate::proxy::routes::tests::routes;

    #[test]
    fn the_defaults_never_hold_a_name_that_must_never_cross() {
        for name in DEFAULT_REQUEST_HEADERS {
            assert!(!NEVER_REQUEST.contains(name), "{name}");
            assert!(HeaderName::from_static(name).as_str() == name);
        }
        for name in DEFAULT_RESPONSE_HEADERS {
            assert!(!NEVER_RESPONSE.contains(name), "{name}");
            assert!(HeaderName::from_static(name).as_str() == name);
        }
        assert!(!DEFAULT_RESPONSE_HEADERS.contains(&"location"));
    }

    #[test]
    fn login_prompts_and_connection_listed_headers_stay_upstream() {
        let routes = routes();
        let target = routes
            .resolve(&Method::GET, &"/api/orders/1".parse().unwrap())
            .unwrap();
        let pass = |value: &'static str| {
            let out = forward_response_headers(
                &headers(&[("www-authenticate", value)]),
                target.route,
                &target.url,
            );
            out.get("www-authenticate").is_some()
        };
        assert!(pass(r#"Bearer error="insufficient_scope", scope="admin""#));
        assert!(pass("bearer"));
        assert!(!pass(r#"Basic realm="orders""#));
        assert!(!pass(r#"Bearer realm="a", Basic realm="b""#));
        assert!(!pass("Negotiate"));
        assert!(!pass(r#"Digest realm="a", nonce="b""#));

        let out = forward_response_headers(
            &headers(&[
                ("connection", "etag"),
                ("etag", "\"1\""),
                ("vary", "accept"),
            ]),
            target.route,
            &target.url,
        );
        assert!(out.get("etag").is_none() && out.get("connection").is_none());
        assert_eq!(out["vary"], "accept");
    }

    /// The adapter's fast path (`AnswerRules::apply`) against `forward_response_headers` on
    /// 20,000 answers drawn from headers of every kind: passed, dropped, judged, added, script
    /// and other types, repeated names, values outside visible ASCII. Where it takes an answer it
    /// gives the same headers; it leaves exactly the answers with a judged header or such a value.
    #[test]
    fn the_answer_rules_are_forward_response_headers_where_they_apply() {
        let routes = crate::proxy::Routes::parse(
            r#"[{"prefix":"/api/orders/","upstream":"https://orders.internal/v1/","methods":["GET"],"responseHeaders":["x-custom"]}]"#,
            crate::platform::settings::Profile::Production,
        )
        .unwrap();
        let target = routes
            .resolve(&Method::GET, &"/api/orders/1".parse().unwrap())
            .unwrap();
        let rules = AnswerRules::of(target.route);
        let pool: &[(&str, &str)] = &[
            ("content-type", "application/json"),
            ("content-type", "text/javascript"),
            ("content-type", "application/json, text/javascript"),
            ("content-type", "TEXT/JavaScript; charset=utf-8"),
            ("content-type", ""),
            ("content-length", "12"),
            ("date", "Tue, 01 Dec 2026 10:00:00 GMT"),
            ("etag", "\"x\""),
            ("vary", "Accept"),
            ("cache-control", "no-store"),
            ("set-cookie", "a=b"),
            ("x-custom", "1"),
            ("x-custom", "two\tvalues"),
            ("x-other", "2"),
            ("server", "upstream"),
            ("access-control-allow-origin", "*"),
            ("x-content-type-options", "none"),
            ("content-security-policy", "default-src *"),
            ("cross-origin-resource-policy", "cross-origin"),
            ("location", "/v1/next"),
            ("www-authenticate", "Bearer"),
            ("www-authenticate", "Basic realm=x"),
            ("connection", "x-custom"),
            ("connection", "keep-alive"),
            ("connection", " Vary , ETag"),
            ("connection", "close"),
            ("keep-alive", "timeout=5"),
            ("x-custom", "caf\u{e9}"),
            ("etag", "\u{7f}"),
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut taken, mut left) = (0, 0);
        for _ in 0..20_000 {
            let count = (next() % 9) as usize;
            let upstream: Vec<(&str, &str)> = (0..count)
                .map(|_| pool[(next() % pool.len() as u64) as usize])
                .collect();
            // As the worker's crossing reads them: a value `http` refuses is left out.
            let mut map = HeaderMap::new();
            for (name, value) in &upstream {
                if let Ok(value) = HeaderValue::from_str(value) {
                    map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), value);
                }
            }
            let needs_core = upstream.iter().any(|(name, value)| {
                JUDGED_RESPONSE_HEADERS.contains(name)
                    || value.bytes().any(|b| b != b'\t' && !(32..127).contains(&b))
            });
            match rules.apply(&upstream) {
                Some(fast) => {
                    taken += 1;
                    assert!(!needs_core, "{upstream:?}");
                    assert_eq!(
                        fast,
                        forward_response_headers(&map, target.route, &target.url),
                        "{upstream:?}"
                    );
                }
                None => {
                    left += 1;
                    assert!(needs_core, "{upstream:?}");
                }
            }
        }
        assert!(taken > 5_000 && left > 5_000, "{taken} taken, {left} left");
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn forwarded_requests_lose_cookies_and_our_headers_and_gain_the_bearer() {
        let incoming = headers(&[
            ("cookie", "__Host-edgeward-at=1.k1.secret"),
            ("x-edgeward-csrf", "c"),
            ("x-edgeward-anything", "v"),
            ("authorization", "Bearer spoofed"),
            ("connection", "keep-alive, x-drop-me"),
            ("x-drop-me", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("host", "localhost:8787"),
            ("content-type", "application/json"),
            ("accept", "application/json"),
            ("x-request-id", "r-1"),
        ]);
        let routes = routes();
        let route = &routes.routes()[0];
        let out = forward_request_headers(&incoming, route, "eyJ.jwt.sig").unwrap();
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(out["authorization"], "Bearer eyJ.jwt.sig");
        assert_eq!(out.get_all("authorization").iter().count(), 1);
        for kept in ["content-type", "accept", "x-request-id"] {
            assert!(names.contains(&kept), "{kept} kept: {names:?}");
        }
        for dropped in [
            "cookie",
            "x-edgeward-csrf",
            "x-edgeward-anything",
            "connection",
            "x-drop-me",
            "keep-alive",
            "transfer-encoding",
            "upgrade",
            "host",
        ] {
            assert!(!names.contains(&dropped), "{dropped} dropped: {names:?}");
        }
    }

    #[test]
    fn upstream_responses_lose_set_cookie_and_hop_by_hop() {
        let upstream = headers(&[
            ("set-cookie", "session=evil; Path=/"),
            ("set-cookie", "other=1"),
            ("content-type", "application/json"),
            ("cache-control", "private"),
            ("transfer-encoding", "chunked"),
        ]);
        let routes = routes();
        let target = routes
            .resolve(&Method::GET, &"/api/orders/1".parse().unwrap())
            .unwrap();
        let out = forward_response_headers(&upstream, target.route, &target.url);
        assert!(out.get("set-cookie").is_none());
        assert!(out.get("transfer-encoding").is_none());
        assert_eq!(out["content-type"], "application/json");
        assert_eq!(out["cache-control"], "private");
    }
}
