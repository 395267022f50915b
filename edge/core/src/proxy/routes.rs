//! The route table (`EDGEWARD_API_ROUTES`): which upstream a `/api/*` path goes to, with which
//! methods, and the path rule — a path that could mean something else to a server behind us
//! than to us matches no route (see [`path_is_safe`]).
//!
//! Routes come from a JSON list of
//! `{"prefix": "/api/orders/", "upstream": "https://orders.internal/", "methods": ["GET"]}`,
//! optionally with `"requestHeaders"` and `"responseHeaders"` (header names this route passes
//! on top of the defaults) and `"providers"` (the ids of the identity providers whose sessions
//! it serves; the configuration checks they exist), `"clients"` (which kinds of caller the
//! route serves: `browser`, `pop`, `service`; default `["browser"]`) and `"scope"` (the scope a
//! service token must hold and a proof-of-possession client's minted token carries). The
//! longest matching prefix wins.

use std::rc::Rc;

use http::header::HeaderName;
use http::{Method, Uri};
use serde::Deserialize;
use url::Url;

use super::headers::{header_names, NEVER_REQUEST, NEVER_RESPONSE};
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
    #[serde(default)]
    providers: Option<Vec<String>>,
    #[serde(default)]
    clients: Option<Vec<String>>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    credential: Option<CredentialSpec>,
}

/// What a route forwards instead of the session's token (`credential`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialSpec {
    /// A token broker connection: the user's access token of that connected account.
    connection: String,
}

/// The kinds of caller a route serves (`clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clients {
    /// A signed-in browser: the session's cookies (the default).
    pub browser: bool,
    /// A machine client proving possession of a key certified by `EDGEWARD_CLIENT_CA`.
    pub pop: bool,
    /// A service with an access token of the identity provider (`Authorization: Bearer`).
    pub service: bool,
}

impl Default for Clients {
    fn default() -> Self {
        Self {
            browser: true,
            pop: false,
            service: false,
        }
    }
}

impl Clients {
    fn parse(prefix: &str, list: &[String]) -> Result<Self, String> {
        if list.is_empty() {
            return Err(format!(
                "route {prefix}: clients must list browser, pop or service"
            ));
        }
        let mut clients = Self {
            browser: false,
            pop: false,
            service: false,
        };
        for kind in list {
            let slot = match kind.as_str() {
                "browser" => &mut clients.browser,
                "pop" => &mut clients.pop,
                "service" => &mut clients.service,
                other => {
                    return Err(format!(
                        "route {prefix}: client kind {other:?} is not browser, pop or service"
                    ))
                }
            };
            if *slot {
                return Err(format!(
                    "route {prefix}: client kind {kind:?} appears twice"
                ));
            }
            *slot = true;
        }
        Ok(clients)
    }
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
    /// Request headers forwarded on this route besides
    /// [`DEFAULT_REQUEST_HEADERS`](super::DEFAULT_REQUEST_HEADERS).
    pub request_headers: Vec<HeaderName>,
    /// Response headers passed back on this route besides
    /// [`DEFAULT_RESPONSE_HEADERS`](super::DEFAULT_RESPONSE_HEADERS).
    pub response_headers: Vec<HeaderName>,
    /// Audiences besides [`Route::audience`] an introspected token may name to be exchanged
    /// for this route (`acceptAudiences`); `None`: the worker's own client id.
    pub accept_audiences: Option<Vec<String>>,
    /// The identity providers (ids) whose sessions this route serves (`providers`); `None`:
    /// every provider's. A bearer client's token on a restricted route is introspected at the
    /// first provider listed; elsewhere at the first configured.
    pub providers: Option<Vec<String>>,
    /// The kinds of caller this route serves (`clients`).
    pub clients: Clients,
    /// The scope (space-separated) a service token must hold on this route, and that the token
    /// minted for a proof-of-possession client carries (`scope`).
    pub scope: Option<String>,
    /// The token broker connection whose access token this route forwards (`credential:
    /// {connection}`), instead of a phantom token of the session; browser sessions only.
    pub connection: Option<String>,
    /// The upstream as a lenient server reads it (`canonical`), made once when the routes are
    /// read: every request compares against every route's.
    canonical_upstream: String,
    /// Whether another route's upstream lies on this one's origin with a longer base (set once
    /// the routes are read): only then can a request on this route be read as going there, so
    /// only then is its URL read as a lenient server would.
    confusable: bool,
}

/// The route table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    /// Shared with the [`Forward`](super::Forward) plans made on them (a plan outlives the
    /// request's borrow of the configuration in the adapter).
    routes: Vec<Rc<Route>>,
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    /// The route it matched.
    pub route: &'a Rc<Route>,
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
            if let Some(list) = &spec.providers {
                if list.is_empty() {
                    return Err(format!("route {prefix}: providers must list provider ids"));
                }
            }
            let clients = match &spec.clients {
                Some(list) => Clients::parse(&prefix, list)?,
                None => Clients::default(),
            };
            if let Some(scope) = &spec.scope {
                if scope.split(' ').any(|s| {
                    s.is_empty()
                        || !s
                            .bytes()
                            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
                }) {
                    return Err(format!(
                        "route {prefix}: scope must be scope tokens separated by single spaces"
                    ));
                }
            }
            let connection = spec.credential.map(|c| c.connection);
            if connection.is_some() && (clients.pop || clients.service || !clients.browser) {
                return Err(format!(
                    "route {prefix}: a connection's credential is forwarded for browser sessions only (clients: [\"browser\"])"
                ));
            }
            routes.push(Route {
                connection,
                providers: spec.providers,
                clients,
                scope: spec.scope,
                prefix,
                canonical_upstream: canonical(upstream.as_str()),
                confusable: false,
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
        let confusable: Vec<bool> = routes
            .iter()
            .map(|route| {
                let own = &route.canonical_upstream;
                routes.iter().any(|other| {
                    let theirs = &other.canonical_upstream;
                    theirs.len() > own.len() && origin_part(theirs) == origin_part(own)
                })
            })
            .collect();
        for (route, confusable) in routes.iter_mut().zip(confusable) {
            route.confusable = confusable;
        }
        Ok(Self {
            routes: routes.into_iter().map(Rc::new).collect(),
        })
    }

    /// The routes, most specific first.
    pub fn routes(&self) -> &[Rc<Route>] {
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
        // `./` first: the rest is always a path below the base. Alone, a rest like `http:x`
        // parses as a reference with a scheme (same as the base's, so `x` relative to it: the
        // segment checked above, `http:…`, is not the one sent) and `//host` as another host
        // (found by the `path` fuzz target; RFC 3986 §4.2).
        let mut url = route
            .upstream
            .join(&format!("./{rest}"))
            .map_err(|_| Error::RouteNotFound)?;
        // join() must not have left the upstream's base (it cannot, given the checks above).
        if !url.as_str().starts_with(route.upstream.as_str()) {
            return Err(Error::RouteNotFound);
        }
        // Route confusion: servers read `%61` as `a` (RFC 3986 §6.2.2.2), and many ignore case
        // or trailing dots and spaces. If the upstream would read this URL as lying under
        // another route's upstream base, a more specific one, the request would reach that
        // route's upstream with this route's methods: refused.
        // (A URL on this route keeps its upstream's origin, which `canonical` reads as it reads
        // the upstream's: only a longer upstream on the same origin can be a prefix of it.)
        if route.confusable {
            let reads_as = canonical(url.as_str());
            let own = &route.canonical_upstream;
            let elsewhere = self.routes.iter().any(|other| {
                let theirs = &other.canonical_upstream;
                theirs.len() > own.len() && reads_as.starts_with(theirs.as_str())
            });
            if elsewhere {
                return Err(Error::RouteNotFound);
            }
        }
        url.set_query(uri.query());
        Ok(Target { route, url })
    }
}

/// The `scheme://authority` of a URL as [`canonical`] writes it: up to the first `/` after `://`.
fn origin_part(canonical: &str) -> &str {
    let after = canonical.find("://").map_or(0, |at| at + 3);
    match canonical.get(after..).and_then(|rest| rest.find('/')) {
        Some(slash) => canonical.get(..after + slash).unwrap_or(canonical),
        None => canonical,
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

#[cfg(test)]
pub(crate) mod tests {
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

    #[test]
    fn only_routes_with_a_longer_upstream_on_their_origin_are_read_leniently() {
        assert_eq!(origin_part("http://o.test:81/v1/"), "http://o.test:81");
        assert_eq!(origin_part("http://o.test"), "http://o.test");
        let parsed = Routes::parse(
            r#"[{"prefix": "/api/a/", "upstream": "https://o.test/v1/", "methods": ["GET"]},
                {"prefix": "/api/b/", "upstream": "https://o.test/v1/admin/", "methods": ["GET"]},
                {"prefix": "/api/c/", "upstream": "https://o.test:8443/v1/admin/x/", "methods": ["GET"]},
                {"prefix": "/api/d/", "upstream": "https://p.test/", "methods": ["GET"]}]"#,
            Profile::Production,
        )
        .unwrap();
        let flag = |prefix: &str| {
            parsed
                .routes()
                .iter()
                .find(|r| r.prefix == prefix)
                .unwrap()
                .confusable
        };
        assert!(flag("/api/a/"), "b's upstream lies under a's");
        assert!(!flag("/api/b/"), "c is on another port");
        assert!(!flag("/api/c/") && !flag("/api/d/"));
    }

    const ROUTES: &str = r#"[
        {"prefix": "/api/orders/", "upstream": "https://orders.internal/v1/", "methods": ["GET", "post"]},
        {"prefix": "/api/orders/admin/", "upstream": "https://admin.internal/", "methods": ["GET"]},
        {"prefix": "/api/echo/", "upstream": "https://echo.internal/", "methods": ["GET", "POST", "PUT", "PATCH", "DELETE"]}
    ]"#;

    pub(crate) fn routes() -> Routes {
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
    fn client_kinds_and_scopes_are_validated() {
        let route = |extra: &str| {
            Routes::parse(
                &format!(
                    r#"[{{"prefix": "/api/a/", "upstream": "https://a/", "methods": ["GET"]{extra}}}]"#
                ),
                Profile::Production,
            )
        };
        for (extra, why) in [
            (r#", "clients": []"#, "must list"),
            (
                r#", "clients": ["robot"]"#,
                "is not browser, pop or service",
            ),
            (r#", "clients": ["pop", "pop"]"#, "twice"),
            (r#", "clients": "pop""#, "JSON list"),
            (r#", "scope": """#, "scope tokens"),
            (r#", "scope": "a  b""#, "scope tokens"),
            (r#", "scope": "a\"b""#, "scope tokens"),
            (r#", "scope": "caf\u00e9""#, "scope tokens"),
        ] {
            let err = route(extra).unwrap_err();
            assert!(err.contains(why), "{extra}: {err}");
        }
        let plain = route("").unwrap();
        assert_eq!(plain.routes()[0].clients, Clients::default());
        assert!(plain.routes()[0].clients.browser && !plain.routes()[0].clients.pop);
        let machines =
            route(r#", "clients": ["service", "pop"], "scope": "orders:read orders:write""#)
                .unwrap();
        let r = &machines.routes()[0];
        assert_eq!(
            r.clients,
            Clients {
                browser: false,
                pop: true,
                service: true
            }
        );
        assert_eq!(r.scope.as_deref(), Some("orders:read orders:write"));
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
}
