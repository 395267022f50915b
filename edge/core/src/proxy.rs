//! The API proxy's pure parts: the route table, strict path checks, and what a forwarded
//! request and its response may carry.
//!
//! Routes come from `EDGEWARD_API_ROUTES`, a JSON list of
//! `{"prefix": "/api/orders/", "upstream": "https://orders.internal/", "methods": ["GET"]}`,
//! optionally with `"requestHeaders"` and `"responseHeaders"` (header names this route passes
//! on top of the defaults). The longest matching prefix wins.
//!
//! Paths: a path that could mean something else to the upstream than to us matches no route
//! (404 `route_not_found`, never a forward); see [`path_is_safe`].
//!
//! Headers are allow-listed both ways: the upstream gets [`DEFAULT_REQUEST_HEADERS`], the
//! route's extras and our `Authorization: Bearer`; the browser gets
//! [`DEFAULT_RESPONSE_HEADERS`], the route's extras, a `Location` only when it points under the
//! route (rewritten to our path), and headers that keep an upstream's answer from acting on the
//! SPA's origin ([`PROXIED_RESPONSE_CSP`], `nosniff`, `Cross-Origin-Resource-Policy`). Some
//! names can never be allowed, not even per route: configuring one is a configuration error.
//!
//! [`forward`] is the proxy's request handler: route, Origin/CSRF rules for state-changing
//! methods, the access-token cookie, the phantom token, and the [`Forward`] plan the platform
//! adapter carries out (streaming the body both ways, rewriting the answer's headers with
//! [`Forward::response_headers`]).

use edgeward_shared::names;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Uri};
use serde::Deserialize;
use url::Url;

use crate::platform::settings::Profile;
use crate::platform::Error;

/// One route as written in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RouteSpec {
    prefix: String,
    upstream: String,
    methods: Vec<String>,
    #[serde(default)]
    audience: Option<String>,
    #[serde(default)]
    request_headers: Vec<String>,
    #[serde(default)]
    response_headers: Vec<String>,
    #[serde(default, rename = "acceptAudiences")]
    accept_audiences: Option<Vec<String>>,
}

/// One validated route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Path prefix under `/api/`, with a trailing slash.
    pub prefix: String,
    /// Base URL the rest of the path is appended to, with a trailing slash.
    pub upstream: Url,
    /// Methods allowed on this route.
    pub methods: Vec<Method>,
    /// `aud` of the tokens minted for this API (default: the upstream's origin).
    pub audience: String,
    /// Request headers forwarded on this route besides [`DEFAULT_REQUEST_HEADERS`].
    pub request_headers: Vec<HeaderName>,
    /// Response headers passed back on this route besides [`DEFAULT_RESPONSE_HEADERS`].
    pub response_headers: Vec<HeaderName>,
    /// Audiences besides [`Route::audience`] an introspected token may name to be exchanged
    /// for this route (`acceptAudiences`); `None`: the worker's own client id.
    pub accept_audiences: Option<Vec<String>>,
}

/// The route table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    routes: Vec<Route>,
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    /// The route it matched.
    pub route: &'a Route,
    /// The upstream URL, query included.
    pub url: Url,
}

impl Routes {
    /// Parses and validates the JSON route list; the error names the offending route.
    pub fn parse(json: &str, profile: Profile) -> Result<Self, String> {
        let specs: Vec<RouteSpec> = serde_json::from_str(json)
            .map_err(|e| format!("must be a JSON list of {{prefix, upstream, methods}} ({e})"))?;
        let mut routes: Vec<Route> = Vec::with_capacity(specs.len());
        for spec in specs {
            let prefix = spec.prefix;
            // Written plainly: letters, digits, `-._~` and single slashes, and safe as a path.
            if !prefix.starts_with(edgeward_shared::paths::API_PREFIX)
                || !prefix.ends_with('/')
                || prefix.len() <= edgeward_shared::paths::API_PREFIX.len()
                || prefix.contains("//")
                || !prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b))
                || !path_is_safe(&prefix)
            {
                return Err(format!(
                    "prefix {prefix:?} must look like /api/<name>/ (a trailing slash, only \
                     letters, digits, - . _ ~ and single slashes, no dot segments)"
                ));
            }
            if routes.iter().any(|r| r.prefix == prefix) {
                return Err(format!("prefix {prefix:?} appears twice"));
            }
            let upstream = Url::parse(&spec.upstream).map_err(|e| {
                format!(
                    "upstream {:?} of {prefix} is not a URL ({e})",
                    spec.upstream
                )
            })?;
            let scheme_ok = upstream.scheme() == "https"
                || (upstream.scheme() == "http" && profile == Profile::Local);
            if !scheme_ok {
                return Err(format!(
                    "upstream {upstream} of {prefix} must be https (http only in the local profile)"
                ));
            }
            if !upstream.path().ends_with('/')
                || upstream.query().is_some()
                || upstream.fragment().is_some()
            {
                return Err(format!(
                    "upstream {upstream} of {prefix} must end with / and have no query or fragment"
                ));
            }
            if !path_is_safe(upstream.path()) {
                return Err(format!(
                    "upstream {upstream} of {prefix} has a path a server could read two ways \
                     (;, %, dot segments, control characters)"
                ));
            }
            if spec.methods.is_empty() {
                return Err(format!("route {prefix} allows no method"));
            }
            let methods = spec
                .methods
                .iter()
                .map(|m| match m.to_ascii_uppercase().as_str() {
                    "GET" => Ok(Method::GET),
                    "HEAD" => Ok(Method::HEAD),
                    "POST" => Ok(Method::POST),
                    "PUT" => Ok(Method::PUT),
                    "PATCH" => Ok(Method::PATCH),
                    "DELETE" => Ok(Method::DELETE),
                    "OPTIONS" => Ok(Method::OPTIONS),
                    other => Err(format!("route {prefix}: method {other:?} is not supported")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let request_headers = header_names(
                &prefix,
                "requestHeaders",
                &spec.request_headers,
                &NEVER_REQUEST,
            )?;
            let response_headers = header_names(
                &prefix,
                "responseHeaders",
                &spec.response_headers,
                &NEVER_RESPONSE,
            )?;
            let audience = spec
                .audience
                .unwrap_or_else(|| upstream.origin().ascii_serialization());
            if let Some(list) = &spec.accept_audiences {
                if list.is_empty() || list.iter().any(|a| a.trim().is_empty()) {
                    return Err(format!(
                        "route {prefix}: acceptAudiences must list audiences (no empty ones)"
                    ));
                }
            }
            routes.push(Route {
                prefix,
                upstream,
                methods,
                audience,
                request_headers,
                response_headers,
                accept_audiences: spec.accept_audiences,
            });
        }
        // Longest prefix first, so the most specific route wins.
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        Ok(Self { routes })
    }

    /// The routes, most specific first.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Where `method uri` goes: 404 when no route matches or the path is unsafe, 405 when the
    /// route does not allow the method. Only the path is checked; the query goes as it is.
    pub fn resolve(&self, method: &Method, uri: &Uri) -> Result<Target<'_>, Error> {
        let path = uri.path();
        if !path_is_safe(path) {
            return Err(Error::RouteNotFound);
        }
        let (route, rest) = self
            .routes
            .iter()
            .find_map(|r| {
                if let Some(rest) = path.strip_prefix(r.prefix.as_str()) {
                    Some((r, rest))
                } else if path == r.prefix.trim_end_matches('/') {
                    Some((r, ""))
                } else {
                    None
                }
            })
            .ok_or(Error::RouteNotFound)?;
        if !route.methods.contains(method) {
            return Err(Error::MethodNotAllowed {
                allowed: route
                    .methods
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let mut url = route
            .upstream
            .join(rest)
            .map_err(|_| Error::RouteNotFound)?;
        // join() must not have left the upstream's base (it cannot, given the checks above).
        if !url.as_str().starts_with(route.upstream.as_str()) {
            return Err(Error::RouteNotFound);
        }
        // Route confusion: servers read `%61` as `a` (RFC 3986 §6.2.2.2), and many ignore case
        // or trailing dots and spaces. If the upstream would read this URL as lying under
        // another route's upstream base, a more specific one, the request would reach that
        // route's upstream with this route's methods: refused.
        let reads_as = canonical(url.as_str());
        let own = canonical(route.upstream.as_str());
        let elsewhere = self.routes.iter().any(|other| {
            let theirs = canonical(other.upstream.as_str());
            theirs.len() > own.len() && reads_as.starts_with(&theirs)
        });
        if elsewhere {
            return Err(Error::RouteNotFound);
        }
        url.set_query(uri.query());
        Ok(Target { route, url })
    }
}

/// A URL (without query) as a lenient server may read it: unreserved characters and spaces
/// decoded (`%61` → `a`), ASCII letters in lower case, and each path segment without trailing
/// dots and spaces. Used only to compare where two URLs lead.
fn canonical(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    let mut out = String::with_capacity(url.len());
    let bytes = url.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b' '));
        match decoded {
            Some(b) => {
                out.push(char::from(b.to_ascii_lowercase()));
                i += 3;
            }
            None => {
                out.push(char::from(bytes[i].to_ascii_lowercase()));
                i += 1;
            }
        }
    }
    out.split('/')
        .map(|segment| segment.trim_end_matches(['.', ' ']))
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a raw (still percent-encoded) path means one thing to every server behind us.
///
/// Each segment is decoded once, and refused when the raw form has an encoded dot (`%2e`), or
/// the decoded form is not UTF-8 (overlong forms of `.` and `/`), or holds `/`, `\`, `;` (a
/// path parameter: Tomcat, Jetty and Spring read `..;` as `..`), `%` (double encoding: one more
/// decode upstream), `?`, `#`, a control character (NUL, CR, LF, tab, DEL, C1), or a character
/// that Unicode compatibility mapping turns into one of `. / \ ; % ? #` (fullwidth forms and
/// the like); or when the segment is made only of dots, or of dots and whitespace (`.`, `..`,
/// `...`, `. .`, `.. `), which some servers trim or resolve.
pub fn path_is_safe(path: &str) -> bool {
    path.strip_prefix('/')
        .is_some_and(|rest| rest.split('/').all(segment_is_safe))
}

/// Compatibility forms of `. / \ ; % ? #`: what Unicode's NFKC mapping turns into them, and
/// what Windows' "best fit" conversion to a code page does (the division slash, the set minus,
/// and the yen and won signs, which are `\` in the Japanese and Korean code pages).
const LOOKALIKES: [char; 56] = [
    // Every character outside ASCII whose NFKC or NFKD form holds one of `. / \ ; % ? #`
    // (Unicode 14, from Python's `unicodedata`: `…` → `...`, `︰` → `..`, `︔` → `;`, `℀` →
    // `a/c`, `⒈` → `1.`, fullwidth forms, …), plus what code-page "best fit" conversions turn
    // into `\` or `/` (`¥`, `₩`, `∕`, `∖`). Sorted: looked up by binary search.
    '\u{00A5}',
    '\u{037E}',
    '\u{2024}',
    '\u{2025}',
    '\u{2026}',
    '\u{2047}',
    '\u{2048}',
    '\u{2049}',
    '\u{20A9}',
    '\u{2100}',
    '\u{2101}',
    '\u{2105}',
    '\u{2106}',
    '\u{2215}',
    '\u{2216}',
    '\u{2488}',
    '\u{2489}',
    '\u{248A}',
    '\u{248B}',
    '\u{248C}',
    '\u{248D}',
    '\u{248E}',
    '\u{248F}',
    '\u{2490}',
    '\u{2491}',
    '\u{2492}',
    '\u{2493}',
    '\u{2494}',
    '\u{2495}',
    '\u{2496}',
    '\u{2497}',
    '\u{2498}',
    '\u{2499}',
    '\u{249A}',
    '\u{249B}',
    '\u{33C2}',
    '\u{33C7}',
    '\u{33D8}',
    '\u{FE14}',
    '\u{FE16}',
    '\u{FE19}',
    '\u{FE30}',
    '\u{FE52}',
    '\u{FE54}',
    '\u{FE56}',
    '\u{FE5F}',
    '\u{FE68}',
    '\u{FE6A}',
    '\u{FF03}',
    '\u{FF05}',
    '\u{FF0E}',
    '\u{FF0F}',
    '\u{FF1B}',
    '\u{FF1F}',
    '\u{FF3C}',
    '\u{1F100}',
];

/// Whitespace, or an invisible character a server might drop next to a dot.
fn is_blank(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

fn segment_is_safe(raw: &str) -> bool {
    if raw.to_ascii_lowercase().contains("%2e") {
        return false;
    }
    let Ok(decoded) = percent_encoding::percent_decode_str(raw).decode_utf8() else {
        return false;
    };
    let refused = |c: char| {
        c.is_control()
            || matches!(c, '/' | '\\' | ';' | '%' | '?' | '#')
            || LOOKALIKES.binary_search(&c).is_ok()
    };
    if decoded.chars().any(refused) {
        return false;
    }
    let dots_only = decoded.contains('.') && decoded.chars().all(|c| c == '.' || is_blank(c));
    !dots_only
}

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
const NEVER_REQUEST: Never = Never {
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
const NEVER_RESPONSE: Never = Never {
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
struct Never {
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
fn header_names(
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
    let mut headers = HeaderMap::new();
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
    let mut headers = HeaderMap::new();
    for (name, value) in upstream {
        let allowed = DEFAULT_RESPONSE_HEADERS.contains(&name.as_str())
            || route.response_headers.contains(name);
        if !allowed || listed.contains(name) {
            continue;
        }
        if name == header::WWW_AUTHENTICATE && !bearer_challenges_only(value) {
            continue;
        }
        if name == header::CONTENT_TYPE && is_script_type(value) {
            // The SPA's own CSP allows scripts from its origin, and a proxied answer is on
            // it: an answer typed as a script could be loaded as one by an injected tag. It
            // is passed as text (with nosniff, a browser will not run it).
            headers.append(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
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
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PROXIED_RESPONSE_CSP),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers
}

/// Whether a `Content-Type` is one a browser runs as a script (the JavaScript MIME types of the
/// WHATWG MIME Sniffing standard), or is unreadable.
fn is_script_type(value: &HeaderValue) -> bool {
    let Ok(value) = value.to_str() else {
        return true;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
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
    use super::*;

    #[test]
    fn the_lookalike_table_is_sorted_for_binary_search() {
        assert!(LOOKALIKES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn canonical_urls_read_as_lenient_servers_do() {
        for (url, reads_as) in [
            ("http://o.test/v1/%61dmin/x", "http://o.test/v1/admin/x"),
            ("http://o.test/v1/ADMIN./x", "http://o.test/v1/admin/x"),
            ("http://o.test/v1/admin%20/x", "http://o.test/v1/admin/x"),
            ("http://o.test/v1/a%2Fb?q=%61", "http://o.test/v1/a%2fb"),
            ("http://o.test/v1/%", "http://o.test/v1/%"),
        ] {
            assert_eq!(canonical(url), reads_as, "{url}");
        }
    }

    const ROUTES: &str = r#"[
        {"prefix": "/api/orders/", "upstream": "https://orders.internal/v1/", "methods": ["GET", "post"]},
        {"prefix": "/api/orders/admin/", "upstream": "https://admin.internal/", "methods": ["GET"]},
        {"prefix": "/api/echo/", "upstream": "https://echo.internal/", "methods": ["GET", "POST", "PUT", "PATCH", "DELETE"]}
    ]"#;

    fn routes() -> Routes {
        Routes::parse(ROUTES, Profile::Production).unwrap()
    }

    fn resolve(method: &str, path: &str) -> Result<String, Error> {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let uri: Uri = path.parse().unwrap();
        routes().resolve(&method, &uri).map(|t| t.url.to_string())
    }

    #[test]
    fn routing_and_path_safety() {
        let table: &[(&str, &str, Result<&str, &str>)] = &[
            ("GET", "/api/orders/42", Ok("https://orders.internal/v1/42")),
            (
                "POST",
                "/api/orders/42/items?x=1&y=%20",
                Ok("https://orders.internal/v1/42/items?x=1&y=%20"),
            ),
            ("GET", "/api/orders", Ok("https://orders.internal/v1/")),
            ("GET", "/api/orders/", Ok("https://orders.internal/v1/")),
            (
                "GET",
                "/api/orders/admin/users",
                Ok("https://admin.internal/users"),
            ),
            (
                "GET",
                "/api/orders/a%20b",
                Ok("https://orders.internal/v1/a%20b"),
            ),
            ("DELETE", "/api/orders/42", Err("method_not_allowed")),
            ("POST", "/api/orders/admin/users", Err("method_not_allowed")),
            ("GET", "/api/other/1", Err("route_not_found")),
            ("GET", "/api/ordersX/1", Err("route_not_found")),
            ("GET", "/api/", Err("route_not_found")),
            ("GET", "/api/orders/../admin/users", Err("route_not_found")),
            ("GET", "/api/orders/./42", Err("route_not_found")),
            ("GET", "/api/orders/..", Err("route_not_found")),
            ("GET", "/api/orders/%2e%2e/admin", Err("route_not_found")),
            ("GET", "/api/orders/%2E%2E/admin", Err("route_not_found")),
            ("GET", "/api/orders/.%2e/admin", Err("route_not_found")),
            ("GET", "/api/orders/a%2fb", Err("route_not_found")),
            ("GET", "/api/orders/a%2Fb", Err("route_not_found")),
            ("GET", "/api/orders/a%5cb", Err("route_not_found")),
            ("GET", "/api/orders/a%00", Err("route_not_found")),
        ];
        for (method, path, expected) in table {
            let got = resolve(method, path);
            match expected {
                Ok(url) => assert_eq!(got.as_deref(), Ok(*url), "{method} {path}"),
                Err(code) => {
                    let err = got.unwrap_err();
                    assert_eq!(
                        serde_json::to_value(err.code()).unwrap(),
                        *code,
                        "{method} {path}"
                    );
                }
            }
        }
        // Backslashes cannot be written in a Uri; the raw check refuses them anyway.
        assert!(!path_is_safe("/api/orders/a\\b"));
        assert!(path_is_safe("/api/orders/a.b/c..d"));
    }

    #[test]
    fn route_lists_are_validated() {
        let bad = [
            ("not json", "JSON list"),
            (
                r#"[{"prefix": "/orders/", "upstream": "https://a/", "methods": ["GET"]}]"#,
                "/api/<name>/",
            ),
            (
                r#"[{"prefix": "/api/orders", "upstream": "https://a/", "methods": ["GET"]}]"#,
                "/api/<name>/",
            ),
            (
                r#"[{"prefix": "/api/", "upstream": "https://a/", "methods": ["GET"]}]"#,
                "/api/<name>/",
            ),
            (
                r#"[{"prefix": "/api/../x/", "upstream": "https://a/", "methods": ["GET"]}]"#,
                "/api/<name>/",
            ),
            (
                r#"[{"prefix": "/api/a/", "upstream": "http://a/", "methods": ["GET"]}]"#,
                "must be https",
            ),
            (
                r#"[{"prefix": "/api/a/", "upstream": "https://a/v1", "methods": ["GET"]}]"#,
                "must end with /",
            ),
            (
                r#"[{"prefix": "/api/a/", "upstream": "https://a/?k=1", "methods": ["GET"]}]"#,
                "no query",
            ),
            (
                r#"[{"prefix": "/api/a/", "upstream": "https://a/", "methods": []}]"#,
                "no method",
            ),
            (
                r#"[{"prefix": "/api/a/", "upstream": "https://a/", "methods": ["TRACE"]}]"#,
                "not supported",
            ),
            (
                r#"[{"prefix": "/api/a/", "upstream": "https://a/", "methods": ["GET"], "x": 1}]"#,
                "JSON list",
            ),
            (
                r#"[{"prefix": "/api/a/", "upstream": "https://a/", "methods": ["GET"], "acceptAudiences": []}]"#,
                "acceptAudiences",
            ),
            (
                r#"[{"prefix": "/api/a/", "upstream": "https://a/", "methods": ["GET"], "acceptAudiences": [" "]}]"#,
                "acceptAudiences",
            ),
            (
                r#"[{"prefix": "/api/a/", "upstream": "https://a/", "methods": ["GET"]},
                    {"prefix": "/api/a/", "upstream": "https://b/", "methods": ["GET"]}]"#,
                "twice",
            ),
        ];
        for (json, why) in bad {
            let err = Routes::parse(json, Profile::Production).unwrap_err();
            assert!(err.contains(why), "{json}: {err}");
        }
        let local =
            r#"[{"prefix": "/api/a/", "upstream": "http://localhost:8081/", "methods": ["GET"]}]"#;
        let parsed = Routes::parse(local, Profile::Local).unwrap();
        assert_eq!(parsed.routes()[0].accept_audiences, None);
        let listed = r#"[{"prefix": "/api/a/", "upstream": "https://a/", "methods": ["GET"],
            "acceptAudiences": ["https://a.example", "partner"]}]"#;
        let parsed = Routes::parse(listed, Profile::Production).unwrap();
        assert_eq!(
            parsed.routes()[0].accept_audiences.as_deref(),
            Some(&["https://a.example".to_owned(), "partner".to_owned()][..])
        );
        assert!(Routes::parse("[]", Profile::Production)
            .unwrap()
            .routes()
            .is_empty());
    }

    #[test]
    fn prefixes_and_upstream_paths_follow_the_path_rule() {
        let route = |prefix: &str, upstream: &str| {
            format!(r#"[{{"prefix": "{prefix}", "upstream": "{upstream}", "methods": ["GET"]}}]"#)
        };
        let bad = [
            (route("/api/a;b/", "https://a/"), "/api/<name>/"),
            (route("/api/..;/", "https://a/"), "/api/<name>/"),
            (route("/api/a%2fb/", "https://a/"), "/api/<name>/"),
            (route("/api/a%20b/", "https://a/"), "/api/<name>/"),
            (route("/api/.../", "https://a/"), "/api/<name>/"),
            (route("/api/a//b/", "https://a/"), "/api/<name>/"),
            (route("/api/a b/", "https://a/"), "/api/<name>/"),
            (route("/api/a/", "https://a/v1/..;/"), "two ways"),
            (route("/api/a/", "https://a/%252e%252e/"), "two ways"),
            (route("/api/a/", "https://a/v1;x/"), "two ways"),
        ];
        for (json, why) in bad {
            let err = Routes::parse(&json, Profile::Production).unwrap_err();
            assert!(err.contains(why), "{json}: {err}");
        }
        let good = route("/api/orders.v2/a-b_c~d/", "https://a/v1.2/x/");
        assert!(Routes::parse(&good, Profile::Production).is_ok());
    }

    #[test]
    fn the_path_rule_itself() {
        for path in [
            "/",
            "/api/a.b",
            "/api/c..d",
            "/api/a%20b",
            "/api/.x",
            "/api/x.",
            "/api/caf%C3%A9",
            "/api/%7Eme",
            "/api/a+b=c&d",
            "/api/a:b@c",
            "/api//x",
        ] {
            assert!(path_is_safe(path), "{path}");
        }
        for path in [
            "",
            "api/a",
            "/api/..",
            "/api/.",
            "/api/...",
            "/api/a\\b",
            "/api/a;b",
            "/api/%3B",
            "/api/%25",
            "/api/%2e",
            "/api/%2F",
            "/api/%5c",
            "/api/%00",
            "/api/..%20",
            "/api/.%09",
            "/api/%e2%80%8b..",
            "/api/%ff",
            "/api/%c0%ae",
            "/api/%ef%bc%8f",
            "/api/%cd%be",
            "/api/%zz",
            "/api/a%",
            "/api/\u{7f}",
            "/api/..%c2%a5admin",
            "/api/..%e2%82%a9x",
        ] {
            assert!(!path_is_safe(path), "{path}");
        }
    }

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

/// What the adapter must send upstream. The request body is the browser's, streamed as it is.
#[derive(Debug, Clone)]
pub struct Forward {
    /// The method.
    pub method: Method,
    /// The upstream URL.
    pub url: Url,
    /// The headers, already rewritten ([`forward_request_headers`]).
    pub headers: HeaderMap,
    /// The route it matched (what the answer's headers are rewritten for).
    pub route: Box<Route>,
}

impl Forward {
    /// What the browser gets of the upstream's answer headers ([`forward_response_headers`]).
    pub fn response_headers(&self, upstream: &HeaderMap) -> HeaderMap {
        forward_response_headers(upstream, &self.route, &self.url)
    }
}

/// `/api/*`: the plan for forwarding `req` upstream with a phantom token, or why not.
pub(crate) async fn forward<P: crate::Platform>(
    edge: &crate::Edge<P>,
    req: &crate::Request,
) -> Result<Forward, Error> {
    let config = edge.config();
    let target = config.proxy.routes.resolve(req.method(), req.uri())?;
    let now = crate::Clock::now(edge.ports());
    let headers = req.headers();
    let token = match bearer_client_token(config, headers) {
        // No cookie of ours, so no ambient credential to protect with Origin and CSRF checks.
        Some(token) => token,
        None => {
            let state_changing = crate::request::guard::is_state_changing(req.method());
            if state_changing {
                crate::request::guard::check_origin(headers, &config.allowed_origins)?;
            }
            let (access, csrf) = match config.sessions.mode {
                crate::sessions::SessionMode::Server => {
                    // The session lives in the store (which refuses an ended one).
                    let loaded = crate::sessions::load_session(edge, headers)
                        .await?
                        .ok_or(Error::Unauthorized)?;
                    let access = loaded.session.access.ok_or(Error::Unauthorized)?;
                    (access, loaded.session.csrf)
                }
                crate::sessions::SessionMode::Stateless => {
                    // One cookie: the access cookie carries its session's binding and CSRF
                    // value, and is judged by them alone (a jar that mixes sessions gains
                    // nothing here that the access cookie alone would not give).
                    let cookie = crate::cookie::session::read_access(
                        headers,
                        &config.cookie_keys,
                        &config.oidc.issuer,
                        now,
                    )?
                    .ok_or(Error::Unauthorized)?;
                    crate::sessions::ensure_live(edge, headers, &cookie.b).await?;
                    let access = crate::cookie::session::AccessToken {
                        token: cookie.token,
                        exp: cookie.exp,
                    };
                    (access, cookie.csrf)
                }
            };
            if state_changing {
                crate::request::guard::check_csrf(headers, &csrf)?;
            }
            // An expired access token is 401 at once (the SPA refreshes), not a useless
            // introspection.
            if access.exp <= now {
                return Err(Error::Unauthorized);
            }
            access.token
        }
    };
    let jwt = phantom_token(edge, target.route, &token, now).await?;
    Ok(Forward {
        method: req.method().clone(),
        headers: forward_request_headers(headers, target.route, &jwt)?,
        route: Box::new(target.route.clone()),
        url: target.url,
    })
}

/// A non-browser client's token: `Authorization: Bearer <token>` on a request with none of our
/// cookies, when `EDGEWARD_BEARER_PASSTHROUGH` allows it. A request with our cookies is a
/// browser's, and its `Authorization` header is dropped as always.
fn bearer_client_token(config: &crate::Config, headers: &HeaderMap) -> Option<String> {
    if !config.proxy.bearer_passthrough
        || names::ALL_COOKIES
            .iter()
            .any(|name| crate::platform::cookies::present(headers, name))
    {
        return None;
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Drops the phantom tokens made from `token` (at logout): from this isolate's memory and from
/// the location's shared tier, for every route. Other isolates' memories keep theirs until they
/// expire (at most `EDGEWARD_PHANTOM_MAX_TTL` seconds); with the session registry bound they
/// refuse the logged-out session before they look (within `backchannel::CHECK_TTL` seconds).
pub(crate) async fn forget_token<P: crate::Platform>(edge: &crate::Edge<P>, token: &str) {
    use crate::platform::ports::SharedCache;

    let proxy = &edge.config().proxy;
    if let crate::config::PhantomMode::Passthrough = proxy.mode {
        return;
    }
    let mut keys: Vec<crate::phantom::CacheKey> = proxy
        .routes
        .routes()
        .iter()
        .map(|route| cache_key(edge.config(), route, token))
        .collect();
    keys.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    keys.dedup();
    for key in keys {
        edge.phantom_cache().remove(&key);
        if proxy.shared_cache {
            SharedCache::delete(edge.ports(), key.as_str()).await;
        }
    }
}

/// The audiences an introspected token may name for `route`: its own, and the others it
/// accepts (by default the worker's client id).
fn accepted_audiences(config: &crate::Config, route: &Route) -> Vec<String> {
    let mut audiences = vec![route.audience.clone()];
    match &route.accept_audiences {
        Some(list) => audiences.extend(list.iter().cloned()),
        None => audiences.push(config.oidc.client_id.clone()),
    }
    audiences
}

/// Where the phantom token for `token` on `route` is cached: keyed by everything the checks
/// depend on, so that no entry is served under other rules.
fn cache_key(config: &crate::Config, route: &Route, token: &str) -> crate::phantom::CacheKey {
    let proxy = &config.proxy;
    let rules_tag = format!(
        "{}\n{}\n{}\n{}",
        accepted_audiences(config, route).join(" "),
        proxy.tokens.fingerprint(),
        config.oidc.client_id,
        config.oidc.issuer
    );
    crate::phantom::CacheKey::new(&proxy.mode.cache_tag(), &route.audience, &rules_tag, token)
}

/// The JWT for `token` on `route`: from the isolate's memory, else from the location's shared
/// cache, else from the IdP (introspection, the answer checked against the route's rules: see
/// [`crate::phantom::TokenFacts::check`]), then remembered in both tiers until min(token expiry,
/// now + max TTL). Failures and refusals are never cached.
async fn phantom_token<P: crate::Platform>(
    edge: &crate::Edge<P>,
    route: &Route,
    token: &str,
    now: u64,
) -> Result<String, Error> {
    use crate::config::PhantomMode;
    use crate::phantom::{self, IntrospectionJwtError, Minted, TokenRules};
    use crate::platform::ports::SharedCache;

    let (config, ports) = (edge.config(), edge.ports());
    let proxy = &config.proxy;
    if let PhantomMode::Passthrough = proxy.mode {
        return Ok(token.to_owned());
    }
    let audience = route.audience.as_str();
    let audiences = accepted_audiences(config, route);
    let key = cache_key(config, route, token);
    if let Some(hit) = edge.phantom_cache().get(&key, now) {
        return Ok(hit.jwt);
    }
    if proxy.shared_cache {
        let shared = SharedCache::get(ports, key.as_str())
            .await
            .and_then(|bytes| serde_json::from_slice::<Minted>(&bytes).ok())
            // Never trust an entry beyond what this configuration allows.
            .filter(|m| m.expires_at > now && m.expires_at <= now + proxy.max_ttl);
        if let Some(hit) = shared {
            edge.phantom_cache().put(&key, hit.clone(), now);
            return Ok(hit.jwt);
        }
    }

    let discovery = edge.idp().discovery(&config.oidc, ports).await?;
    let endpoint = discovery.introspection_endpoint.as_deref().ok_or_else(|| {
        Error::IdpUnavailable("the provider has no introspection endpoint".into())
    })?;
    let minting = matches!(proxy.mode, PhantomMode::IntrospectMint { .. });
    let rules = TokenRules {
        policy: &proxy.tokens,
        issuer: &config.oidc.issuer,
        own_client_id: &config.oidc.client_id,
        audiences: &audiences,
        // A minted token needs its client (RFC 9068); an IdP's JWT need not name it unless
        // the deployment lists clients.
        client_id_required: minting || proxy.tokens.client_ids.is_some(),
        now,
    };
    let fresh = match &proxy.mode {
        PhantomMode::Passthrough => return Ok(token.to_owned()),
        PhantomMode::IntrospectMint { key } => {
            let introspection = phantom::introspect(&config.oidc, ports, endpoint, token).await?;
            introspection
                .token
                .check(&rules)
                .map_err(Error::TokenRefused)?;
            key.mint(
                &introspection,
                &config.origin,
                audience,
                now,
                proxy.max_ttl,
                ports,
            )?
        }
        PhantomMode::IntrospectJwt => {
            let jwt = phantom::introspect_jwt(&config.oidc, ports, endpoint, token).await?;
            let (jwks, fetched) = edge.idp().jwks(&discovery, ports, false).await?;
            let read =
                |jwks| phantom::read_introspection_jwt(&jwt, jwks, &rules, proxy.max_ttl, ports);
            match read(&jwks).await {
                Err(IntrospectionJwtError::UnknownKey) if !fetched => {
                    // The provider may have rolled its keys: look once more.
                    let (jwks, _) = edge.idp().jwks(&discovery, ports, true).await?;
                    read(&jwks).await
                }
                other => other,
            }
            .map_err(|e| match e {
                IntrospectionJwtError::Inactive => Error::Unauthorized,
                IntrospectionJwtError::Refused(why) => Error::TokenRefused(why),
                IntrospectionJwtError::UnknownKey => Error::IdpUnavailable(
                    "the introspection JWT is signed with a key the provider does not publish"
                        .into(),
                ),
                IntrospectionJwtError::Invalid(why) => Error::IdpUnavailable(why),
            })?
        }
    };
    edge.phantom_cache().put(&key, fresh.clone(), now);
    if proxy.shared_cache {
        if let Ok(bytes) = serde_json::to_vec(&fresh) {
            SharedCache::put(ports, key.as_str(), bytes, fresh.expires_at - now).await;
        }
    }
    Ok(fresh.jwt)
}
