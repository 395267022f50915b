//! The API proxy's pure parts: the route table, strict path checks, and what a forwarded
//! request and its response may carry.
//!
//! Routes come from `EDGEWARD_API_ROUTES`, a JSON list of
//! `{"prefix": "/api/orders/", "upstream": "https://orders.internal/", "methods": ["GET"]}`.
//! The longest matching prefix wins. A path that could mean something else to the upstream than
//! to us (dot segments, encoded slashes or backslashes, backslashes, encoded NUL) matches no
//! route: 404 `route_not_found`, never a forward.
//!
//! [`forward`] is the proxy's request handler: route, Origin/CSRF rules for state-changing
//! methods, the access-token cookie, the phantom token, and the [`Forward`] plan the platform
//! adapter carries out (streaming the body both ways).

use edgeward_shared::names;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Uri};
use serde::Deserialize;
use url::Url;

use crate::config::Profile;
use crate::error::Error;
use crate::session::open_cookie;

/// One route as written in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSpec {
    prefix: String,
    upstream: String,
    methods: Vec<String>,
    #[serde(default)]
    audience: Option<String>,
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
            if !prefix.starts_with(edgeward_shared::paths::API_PREFIX)
                || !prefix.ends_with('/')
                || prefix.len() <= edgeward_shared::paths::API_PREFIX.len()
                || !path_is_safe(&prefix)
            {
                return Err(format!(
                    "prefix {prefix:?} must look like /api/<name>/ (a trailing slash, no dot segments)"
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
            let audience = spec
                .audience
                .unwrap_or_else(|| upstream.origin().ascii_serialization());
            routes.push(Route {
                prefix,
                upstream,
                methods,
                audience,
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
    /// route does not allow the method.
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
        url.set_query(uri.query());
        Ok(Target { route, url })
    }
}

/// Whether a raw (still percent-encoded) path is unambiguous: no `.`/`..` segments (plain or
/// encoded), no encoded `/` or `\`, no `\`, no encoded NUL.
pub fn path_is_safe(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    if lower.contains('\\')
        || ["%2f", "%5c", "%00", "%2e"]
            .iter()
            .any(|bad| lower.contains(bad))
    {
        return false;
    }
    path.starts_with('/')
        && !path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) and others that must not cross the proxy.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// The headers an upstream gets: the browser's, without cookies, without edgeward's own
/// `x-edgeward-*` headers, without hop-by-hop headers, with `Authorization: Bearer <jwt>`.
pub fn forward_request_headers(incoming: &HeaderMap, jwt: &str) -> Result<HeaderMap, Error> {
    let mut headers = incoming.clone();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::COOKIE);
    headers.remove(header::AUTHORIZATION);
    let ours: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with(names::HEADER_PREFIX))
        .cloned()
        .collect();
    for name in ours {
        headers.remove(name);
    }
    let bearer = HeaderValue::from_str(&format!("Bearer {jwt}"))
        .map_err(|_| Error::Internal("the token is not header-safe"))?;
    headers.insert(header::AUTHORIZATION, bearer);
    Ok(headers)
}

/// The headers the browser gets back: the upstream's, without `Set-Cookie` (an API must not
/// plant cookies on the SPA's origin) and without hop-by-hop headers.
pub fn forward_response_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut headers = upstream.clone();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::SET_COOKIE);
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(Routes::parse(local, Profile::Local).is_ok());
        assert!(Routes::parse("[]", Profile::Production)
            .unwrap()
            .routes()
            .is_empty());
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
        let out = forward_request_headers(&incoming, "eyJ.jwt.sig").unwrap();
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
        let out = forward_response_headers(&upstream);
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
}

/// `/api/*`: the plan for forwarding `req` upstream with a phantom token, or why not.
pub(crate) async fn forward<P: crate::Platform>(
    edge: &crate::Edge<P>,
    req: &crate::Request,
) -> Result<Forward, Error> {
    use crate::session::{AccessCookie, CsrfCookie};

    let config = edge.config();
    let target = config.proxy.routes.resolve(req.method(), req.uri())?;
    let now = crate::Clock::now(edge.ports());
    let (headers, keys) = (req.headers(), &config.cookie_keys);
    let token = match bearer_client_token(config, headers) {
        // No cookie of ours, so no ambient credential to protect with Origin and CSRF checks.
        Some(token) => token,
        None => {
            let state_changing = crate::guard::is_state_changing(req.method());
            if state_changing {
                crate::guard::check_origin(headers, &config.allowed_origins)?;
            }
            if edge.ports().has_registry()
                || config.session_mode == crate::config::SessionMode::Server
            {
                // The session may live in the store, or may have been ended by back-channel
                // logout: load it as the agent does (its CSRF value comes with it).
                let loaded = crate::agent::load_session(edge, headers)
                    .await?
                    .ok_or(Error::Unauthorized)?;
                if state_changing {
                    crate::guard::check_csrf(headers, &loaded.session.csrf)?;
                }
                // An expired access token is 401 at once (the SPA refreshes), not a useless
                // introspection.
                let access = loaded.session.access.ok_or(Error::Unauthorized)?;
                if access.exp <= now {
                    return Err(Error::Unauthorized);
                }
                access.token
            } else {
                if state_changing {
                    let csrf: CsrfCookie = open_cookie(headers, keys, names::COOKIE_CSRF, now)
                        .ok_or(Error::Unauthorized)?;
                    crate::guard::check_csrf(headers, &csrf.value)?;
                }
                let access: AccessCookie = open_cookie(headers, keys, names::COOKIE_ACCESS, now)
                    .ok_or(Error::Unauthorized)?;
                access.token
            }
        }
    };
    let jwt = phantom_token(edge, &target.route.audience, &token, now).await?;
    Ok(Forward {
        method: req.method().clone(),
        url: target.url,
        headers: forward_request_headers(headers, &jwt)?,
    })
}

/// A non-browser client's token: `Authorization: Bearer <token>` on a request with none of our
/// cookies, when `EDGEWARD_BEARER_PASSTHROUGH` allows it. A request with our cookies is a
/// browser's, and its `Authorization` header is dropped as always.
fn bearer_client_token(config: &crate::Config, headers: &HeaderMap) -> Option<String> {
    if !config.proxy.bearer_passthrough
        || names::ALL_COOKIES
            .iter()
            .any(|name| crate::cookies::present(headers, name))
    {
        return None;
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The JWT for `token` and `audience`: from the isolate's memory, else from the location's
/// shared cache, else from the IdP (introspection), then remembered in both tiers until
/// min(token expiry, now + max TTL). Failures are never cached.
async fn phantom_token<P: crate::Platform>(
    edge: &crate::Edge<P>,
    audience: &str,
    token: &str,
    now: u64,
) -> Result<String, Error> {
    use crate::config::PhantomMode;
    use crate::phantom::{self, CacheKey, IntrospectionJwtError, Minted};
    use crate::ports::SharedCache;

    let (config, ports) = (edge.config(), edge.ports());
    let proxy = &config.proxy;
    if let PhantomMode::Passthrough = proxy.mode {
        return Ok(token.to_owned());
    }
    let key = CacheKey::new(&proxy.mode.cache_tag(), audience, token);
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

    let discovery = edge.idp().discovery(config, ports).await?;
    let endpoint = discovery.introspection_endpoint.as_deref().ok_or_else(|| {
        Error::IdpUnavailable("the provider has no introspection endpoint".into())
    })?;
    let fresh = match &proxy.mode {
        PhantomMode::Passthrough => return Ok(token.to_owned()),
        PhantomMode::IntrospectMint { key } => {
            let introspection = phantom::introspect(config, ports, endpoint, token).await?;
            key.mint(&introspection, &config.origin, audience, now, proxy.max_ttl)?
        }
        PhantomMode::IntrospectJwt => {
            let jwt = phantom::introspect_jwt(config, ports, endpoint, token).await?;
            let issuer = &config.oidc.issuer;
            let (jwks, fetched) = edge.idp().jwks(&discovery, ports, false).await?;
            let read = |jwks| {
                phantom::read_introspection_jwt(&jwt, jwks, issuer, now, proxy.max_ttl, ports)
            };
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
