//! Attacks on the proxy's path and header handling (issue 12, items 2 and 3), through
//! `Edge::handle` with fake ports: paths that mean something else to a Java upstream, headers
//! that would override the route's method list or prefix, and upstream answers that would act
//! on the SPA's origin.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{config_with, json, FakePorts, KEYS};
use edgeward_core::proxy::Forward;
use edgeward_core::{Edge, Outcome};
use edgeward_shared::names;
use http::header::{HeaderMap, HeaderName, HeaderValue};

const NOW: u64 = 1_700_000_000;
/// Two routes: one with a base path and per-route header extras, one with the defaults.
const ROUTES: &str = r#"[
    {"prefix": "/api/orders/", "upstream": "http://orders.test/v1/", "methods": ["GET", "POST"],
     "requestHeaders": ["X-Tenant"], "responseHeaders": ["x-ratelimit-remaining"]},
    {"prefix": "/api/plain/", "upstream": "http://plain.test/", "methods": ["GET"]}
]"#;

fn edge_with_routes(routes: &str) -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    Edge::new(
        config_with(&[
            ("EDGEWARD_API_ROUTES", routes),
            ("EDGEWARD_PHANTOM_MODE", "passthrough"),
        ]),
        ports,
    )
}

fn cookie() -> String {
    let b = common::binding("b-1", "demo", None, NOW);
    let all = common::session_cookies(&config_with(&[]), &b, "eyJ.a.b", None, NOW);
    let at = common::cookie_value(&all, names::COOKIE_ACCESS).unwrap();
    format!("{}={at}", names::COOKIE_ACCESS)
}

/// `GET path` with a session and `headers`: the plan, or the error code.
fn send(
    edge: &Edge<FakePorts>,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Forward, (u16, String)> {
    let cookie = cookie();
    let mut all = vec![("cookie", cookie.as_str())];
    all.extend_from_slice(headers);
    let req = common::request("GET", path, &all, "");
    match futures_executor::block_on(edge.handle(req)) {
        Outcome::Forward(plan) => Ok(plan),
        Outcome::Respond(r) => Err((
            r.status().as_u16(),
            json(&r)["code"].as_str().unwrap().to_owned(),
        )),
    }
}

#[test]
fn traversal_through_semicolons_double_encoding_and_dot_lookalikes_is_404() {
    let edge = edge_with_routes(ROUTES);
    let attacks = [
        // `..;` is `..` to Tomcat, Jetty and Spring.
        "/api/orders/..;/admin/users",
        "/api/orders/..;jsessionid=x/admin",
        "/api/orders/a/..;/..;/admin",
        "/api/orders/..%3b/admin/users",
        "/api/orders/..%3B/admin/users",
        "/api/orders/%3b",
        "/api/orders/a;b",
        "/api/orders;/x",
        // Double encoding: one more decode upstream turns these into `..` or `/`.
        "/api/orders/%252e%252e/admin",
        "/api/orders/%252E%252E/admin",
        "/api/orders/%252e%252e%252fadmin",
        "/api/orders/a%252fb",
        "/api/orders/%255c",
        "/api/orders/%25",
        "/api/orders/%2500",
        // Encoded dots, slashes, backslashes, NUL (refused before as well).
        "/api/orders/.%2e/admin",
        "/api/orders/%2e./admin",
        "/api/orders/%2e%2e/admin",
        "/api/orders/a%2fb",
        "/api/orders/a%5cb",
        "/api/orders/a%00",
        // Segments made only of dots, or of dots and whitespace.
        "/api/orders/...",
        "/api/orders/.../admin",
        "/api/orders/..%20/admin",
        "/api/orders/%20../admin",
        "/api/orders/.%20./admin",
        "/api/orders/..%09/admin",
        "/api/orders/..%c2%a0/admin",
        // Control characters.
        "/api/orders/a%0d%0ab",
        "/api/orders/a%7f",
        "/api/orders/a%1b",
        // What a second parser could split on.
        "/api/orders/a%3fb",
        "/api/orders/a%23b",
        // Overlong UTF-8 (old decoders read `.` and `/`) and compatibility forms that
        // Unicode normalisation turns into `.`, `/`, `\` or `;`.
        "/api/orders/%c0%ae%c0%ae/admin",
        "/api/orders/..%c0%af/admin",
        "/api/orders/%ef%bc%8e%ef%bc%8e/admin",
        "/api/orders/a%ef%bc%8fb",
        "/api/orders/a%ef%bc%bcb",
        "/api/orders/..%ef%bc%9b/admin",
        "/api/orders/%e2%80%a4%e2%80%a4/admin",
    ];
    for path in attacks {
        match send(&edge, path, &[]) {
            Ok(plan) => panic!("{path} was forwarded to {}", plan.url),
            Err(got) => assert_eq!(got, (404, "route_not_found".to_owned()), "{path}"),
        }
    }
}

#[test]
fn ordinary_paths_and_queries_still_route() {
    let edge = edge_with_routes(ROUTES);
    let table = [
        ("/api/orders/a.b", "http://orders.test/v1/a.b"),
        ("/api/orders/c..d/e...f", "http://orders.test/v1/c..d/e...f"),
        (
            "/api/orders/.well-known",
            "http://orders.test/v1/.well-known",
        ),
        ("/api/orders/v1.2.", "http://orders.test/v1/v1.2."),
        ("/api/orders/a%20b", "http://orders.test/v1/a%20b"),
        ("/api/orders/caf%C3%A9", "http://orders.test/v1/caf%C3%A9"),
        ("/api/orders/%40me/a+b", "http://orders.test/v1/%40me/a+b"),
        (
            "/api/orders/x?q=a;b&r=%252e%252e&s=..;/",
            "http://orders.test/v1/x?q=a;b&r=%252e%252e&s=..;/",
        ),
        ("/api/orders", "http://orders.test/v1/"),
    ];
    for (path, upstream) in table {
        let plan = send(&edge, path, &[]).unwrap_or_else(|e| panic!("{path}: {e:?}"));
        assert_eq!(plan.url.as_str(), upstream, "{path}");
    }
}

#[test]
fn only_allowed_request_headers_reach_the_api() {
    let edge = edge_with_routes(ROUTES);
    let browser = [
        ("accept", "application/json"),
        ("accept-language", "en"),
        ("content-type", "application/json"),
        ("if-none-match", "\"v1\""),
        ("range", "bytes=0-9"),
        ("user-agent", "test"),
        ("x-request-id", "r-1"),
        (
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ),
        ("x-tenant", "t-1"),
        // The attacks: method and URL overrides, spoofed forwarding and identity headers.
        ("x-http-method-override", "DELETE"),
        ("x-http-method", "DELETE"),
        ("x-method-override", "DELETE"),
        ("x-original-url", "/admin/users"),
        ("x-rewrite-url", "/admin/users"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-for", "10.0.0.1"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-prefix", "/admin"),
        ("forwarded", "for=10.0.0.1;host=evil.example"),
        ("x-real-ip", "10.0.0.1"),
        ("true-client-ip", "10.0.0.1"),
        ("x-user-id", "admin"),
        ("x-user", "admin"),
        ("x-roles", "admin"),
        ("origin", "http://localhost:8787"),
        ("referer", "http://localhost:8787/secret-page"),
        ("authorization", "Bearer forged"),
        ("x-edgeward-csrf", "c"),
    ];
    let plan = send(&edge, "/api/orders/1", &browser).unwrap();
    let mut got: Vec<&str> = plan.headers.keys().map(HeaderName::as_str).collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "accept",
            "accept-language",
            "authorization",
            "content-type",
            "if-none-match",
            "range",
            "traceparent",
            "user-agent",
            "x-request-id",
            "x-tenant",
        ],
    );
    assert_eq!(plan.headers["authorization"], "Bearer eyJ.a.b");
    assert_eq!(plan.headers.get_all("authorization").iter().count(), 1);

    // The per-route extra belongs to its route only.
    let plain = send(&edge, "/api/plain/1", &browser).unwrap();
    assert!(plain.headers.get("x-tenant").is_none());
    assert!(plain.headers.get("x-http-method-override").is_none());
    assert_eq!(plain.headers["accept"], "application/json");

    // A header the client names in `Connection` is hop-by-hop, even when allowed.
    let hop = send(
        &edge,
        "/api/orders/1",
        &[("connection", "x-tenant"), ("x-tenant", "t-1")],
    )
    .unwrap();
    assert!(hop.headers.get("x-tenant").is_none());
}

#[test]
fn headers_that_must_never_cross_are_refused_in_the_configuration() {
    let route = |field: &str, name: &str| {
        format!(
            r#"[{{"prefix": "/api/shop/", "upstream": "http://shop.test/", "methods": ["GET"], "{field}": ["{name}"]}}]"#
        )
    };
    let request_never = [
        "cookie",
        "Authorization",
        "host",
        "forwarded",
        "X-Forwarded-For",
        "x-forwarded-host",
        "x-forwarded-anything",
        "x-real-ip",
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
        "x-original-url",
        "x-rewrite-url",
        "x-edgeward-csrf",
        "connection",
        "transfer-encoding",
        "proxy-authorization",
        "cf-connecting-ip",
        "not a header",
    ];
    let response_never = [
        "set-cookie",
        "Access-Control-Allow-Origin",
        "access-control-allow-credentials",
        "clear-site-data",
        "refresh",
        "service-worker-allowed",
        "content-security-policy",
        "content-security-policy-report-only",
        "x-content-type-options",
        "location",
        "strict-transport-security",
        "nel",
        "alt-svc",
        "transfer-encoding",
        "x-edgeward-anything",
    ];
    let cases = request_never
        .iter()
        .map(|n| ("requestHeaders", *n))
        .chain(response_never.iter().map(|n| ("responseHeaders", *n)));
    for (field, name) in cases {
        let json = route(field, name);
        let vars = [
            ("EDGEWARD_PROFILE", "local"),
            ("EDGEWARD_ORIGIN", common::ORIGIN),
            ("EDGEWARD_COOKIE_KEYS", KEYS),
            ("OIDC_ISSUER", common::ISSUER),
            ("OIDC_CLIENT_ID", "edgeward"),
            ("OIDC_CLIENT_SECRET", "secret"),
            ("EDGEWARD_PHANTOM_MODE", "passthrough"),
            ("EDGEWARD_API_ROUTES", json.as_str()),
        ];
        let err = edgeward_core::Config::from_vars(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap_err();
        assert_eq!(err.variable, "EDGEWARD_API_ROUTES", "{field} {name}");
        assert!(
            err.reason.contains("/api/shop/") && err.reason.contains(field),
            "{field} {name}: {err}"
        );
    }
}

fn upstream(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

/// What the browser gets of the upstream's `headers`, for a request planned as `plan`.
fn to_browser(plan: &Forward, headers: &HeaderMap) -> HeaderMap {
    plan.response_headers(headers)
}

#[test]
fn upstream_answers_reach_the_browser_sanitised() {
    let edge = edge_with_routes(ROUTES);
    let plan = send(&edge, "/api/orders/1", &[]).unwrap();
    let answer = upstream(&[
        ("content-type", "text/html"),
        ("content-length", "42"),
        ("cache-control", "private"),
        ("etag", "\"v1\""),
        ("vary", "accept"),
        ("x-request-id", "r-1"),
        ("x-ratelimit-remaining", "9"),
        // The attacks.
        ("access-control-allow-origin", "*"),
        ("access-control-allow-credentials", "true"),
        ("access-control-expose-headers", "*"),
        ("set-cookie", "session=evil; Path=/"),
        ("clear-site-data", "\"*\""),
        ("refresh", "0;url=https://evil.example/"),
        ("service-worker-allowed", "/"),
        ("content-security-policy", "script-src *"),
        ("x-content-type-options", "sniff-away"),
        ("strict-transport-security", "max-age=0"),
        ("nel", "{\"report_to\":\"x\",\"max_age\":86400}"),
        ("report-to", "{\"group\":\"x\"}"),
        ("alt-svc", "h3=\"evil.example:443\""),
        ("x-powered-by", "internal-build-7"),
        ("server-timing", "db;dur=53"),
        ("transfer-encoding", "chunked"),
        ("location", "http://internal.corp:8080/secret"),
    ]);
    let out = to_browser(&plan, &answer);
    let mut got: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "cache-control",
            "content-length",
            "content-security-policy",
            "content-type",
            "cross-origin-resource-policy",
            "etag",
            "vary",
            "x-content-type-options",
            "x-ratelimit-remaining",
            "x-request-id",
        ],
    );
    assert_eq!(out["x-content-type-options"], "nosniff");
    assert_eq!(out.get_all("x-content-type-options").iter().count(), 1);
    let csp = out["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("sandbox") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(out.get_all("content-security-policy").iter().count(), 1);
    assert_eq!(out["content-type"], "text/html");

    // The per-route extra belongs to its route only; the defaults hold everywhere.
    let plain = send(&edge, "/api/plain/1", &[]).unwrap();
    let out = to_browser(&plain, &answer);
    assert!(out.get("x-ratelimit-remaining").is_none());
    assert!(out.get("access-control-allow-origin").is_none());
    assert_eq!(out["x-content-type-options"], "nosniff");
}

#[test]
fn locations_under_the_route_are_rewritten_and_others_dropped() {
    let edge = edge_with_routes(ROUTES);
    let plan = send(&edge, "/api/orders/items/7?x=1", &[]).unwrap();
    assert_eq!(plan.url.as_str(), "http://orders.test/v1/items/7?x=1");
    let table: [(&str, Option<&str>); 16] = [
        ("http://orders.test/v1/items/8", Some("/api/orders/items/8")),
        (
            "http://ORDERS.test:80/v1/items/8?y=2#top",
            Some("/api/orders/items/8?y=2#top"),
        ),
        ("/v1/items/9", Some("/api/orders/items/9")),
        ("10", Some("/api/orders/items/10")),
        ("../all", Some("/api/orders/all")),
        ("http://orders.test/v1/", Some("/api/orders/")),
        // Outside the route's base, or elsewhere altogether: dropped.
        ("http://orders.test/v2/items/8", None),
        ("/admin", None),
        ("../../admin", None),
        ("http://internal.corp:8080/secret", None),
        ("//evil.example/x", None),
        ("https://orders.test/v1/items/8", None),
        ("http://orders.test:8080/v1/items/8", None),
        ("javascript:alert(1)", None),
        // Under the base, but a path our own routing refuses: dropped, not rewritten.
        ("http://orders.test/v1/..;/admin", None),
        ("http://orders.test/v1/%252e%252e/admin", None),
    ];
    for (location, expected) in table {
        let out = to_browser(&plan, &upstream(&[("location", location)]));
        assert_eq!(
            out.get("location").map(|v| v.to_str().unwrap()),
            expected,
            "{location}"
        );
    }
}

/// An answer typed as a script could be loaded by a `<script src="/api/…">` that an HTML
/// injection puts into the SPA (its CSP allows scripts from its own origin): it reaches the
/// browser as plain text, which nosniff keeps from running. Other types pass as they are.
#[test]
fn answers_typed_as_scripts_arrive_as_text() {
    let edge = edge_with_routes(ROUTES);
    let plan = send(&edge, "/api/orders/1", &[]).unwrap();
    for script in [
        "text/javascript",
        "application/javascript; charset=utf-8",
        "Application/X-JavaScript",
        "text/ecmascript",
        "text/jscript",
    ] {
        let out = to_browser(&plan, &upstream(&[("content-type", script)]));
        assert_eq!(out["content-type"], "text/plain; charset=utf-8", "{script}");
        assert_eq!(out.get_all("content-type").iter().count(), 1);
    }
    for data in ["application/json", "text/csv", "image/png"] {
        let out = to_browser(&plan, &upstream(&[("content-type", data)]));
        assert_eq!(out["content-type"], data);
    }
}
