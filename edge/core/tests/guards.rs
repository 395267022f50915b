//! Issue 18's operational guards, attacked: CORS for a split-origin SPA (unlisted, `null`
//! and look-alike origins, headers a preflight may not ask for), what a request's head may
//! carry, a refresh refused for the worker's own misconfiguration, and rate limits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use edgeward_core::Edge;
use serde_json::json;

const NOW: u64 = 1_700_000_000;
const APP: &str = "https://app.example.com";

/// An edge whose SPA may also be on [`APP`], readable there through CORS.
fn cors_edge() -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({})).with_registry();
    Edge::new(
        config_with(&[
            ("EDGEWARD_ALLOWED_ORIGINS", APP),
            ("EDGEWARD_CORS_ORIGINS", APP),
        ]),
        ports,
    )
}

fn header<'a>(res: &'a edgeward_core::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

fn preflight(
    edge: &Edge<FakePorts>,
    origin: &str,
    path: &str,
    headers: &str,
) -> edgeward_core::Response {
    call(
        edge,
        request(
            "OPTIONS",
            path,
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", headers),
            ],
            "",
        ),
    )
}

#[test]
fn a_listed_origin_gets_its_preflight_answered() {
    let edge = cors_edge();
    let res = preflight(&edge, APP, "/auth/refresh", "content-type, X-Edgeward-Csrf");
    assert_eq!(res.status(), 204);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&res, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        header(&res, "access-control-allow-headers"),
        Some("content-type, x-edgeward-csrf")
    );
    assert!(header(&res, "access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    assert!(header(&res, "access-control-max-age").is_some());
    assert_eq!(
        header(&res, "vary"),
        Some("Origin, Access-Control-Request-Headers")
    );
}

/// Attack: a page on an origin that is not listed, the `null` origin (sandboxed frames,
/// `file:`), and look-alikes of the listed one (a suffix, a prefix, another scheme or port)
/// ask to read the worker's answers with the user's cookies.
#[test]
fn unlisted_null_and_look_alike_origins_get_no_cors_headers() {
    let edge = cors_edge();
    for origin in [
        "https://evil.example",
        "null",
        "https://app.example.com.evil.net",
        "https://app.example.co",
        "https://evilapp.example.com",
        "http://app.example.com",
        "https://app.example.com:8443",
        "HTTPS://APP.EXAMPLE.COM",
    ] {
        let res = preflight(&edge, origin, "/auth/refresh", "content-type");
        assert_eq!(
            header(&res, "access-control-allow-origin"),
            None,
            "{origin}: preflight"
        );
        assert_ne!(res.status(), 204, "{origin}: preflight");
        let res = call(
            &edge,
            request("GET", "/auth/session", &[("origin", origin)], ""),
        );
        assert_eq!(
            header(&res, "access-control-allow-origin"),
            None,
            "{origin}"
        );
        assert_eq!(
            header(&res, "access-control-allow-credentials"),
            None,
            "{origin}"
        );
        assert_eq!(
            header(&res, "vary"),
            Some("Origin"),
            "{origin}: Vary always"
        );
    }
}

/// Attack: a preflight asks for a header the worker does not accept (one that could change
/// what an upstream does); the answer never lists it, so the browser does not send it.
#[test]
fn a_preflight_never_allows_a_header_not_on_the_list() {
    let edge = cors_edge();
    let res = preflight(
        &edge,
        APP,
        "/api/orders",
        "x-evil, content-type, authorization, x-forwarded-host",
    );
    let allowed = header(&res, "access-control-allow-headers").unwrap_or("");
    assert_eq!(allowed, "content-type");
}

/// Actual answers to a listed origin carry ACAO and credentials, errors too.
#[test]
fn answers_and_errors_to_a_listed_origin_carry_cors_headers() {
    let edge = cors_edge();
    for (method, path) in [
        ("GET", "/auth/session"),
        ("GET", "/auth/nowhere"),
        ("POST", "/auth/refresh"),
        ("PUT", "/auth/session"),
    ] {
        let res = call(&edge, request(method, path, &[("origin", APP)], ""));
        assert_eq!(
            header(&res, "access-control-allow-origin"),
            Some(APP),
            "{method} {path}"
        );
        assert_eq!(
            header(&res, "access-control-allow-credentials"),
            Some("true"),
            "{method} {path}"
        );
        assert_eq!(header(&res, "vary"), Some("Origin"), "{method} {path}");
    }
}

/// Off by default: no CORS header at all, and a preflight is a request like any other.
#[test]
fn cors_is_off_by_default() {
    let edge = edge_in_mode("stateless", NOW);
    let res = preflight(&edge, ORIGIN, "/auth/refresh", "content-type");
    assert_eq!(res.status(), 405);
    assert_eq!(header(&res, "access-control-allow-origin"), None);
    let res = call(
        &edge,
        request("GET", "/auth/session", &[("origin", ORIGIN)], ""),
    );
    assert_eq!(header(&res, "vary"), None);
}

/// Attack on the configuration: a wildcard, `null`, plain http in production, an origin
/// the Origin check does not accept. Each names the variable.
#[test]
fn bad_cors_configuration_names_the_variable() {
    for (extra, why) in [
        (vec![("EDGEWARD_CORS_ORIGINS", "*")], "wildcard"),
        (
            vec![("EDGEWARD_CORS_ORIGINS", "https://*.example.com")],
            "wildcard host",
        ),
        (vec![("EDGEWARD_CORS_ORIGINS", "null")], "null"),
        (
            vec![("EDGEWARD_CORS_ORIGINS", "https://other.example")],
            "not accepted",
        ),
        (
            vec![
                ("EDGEWARD_ALLOWED_ORIGINS", "http://app.example.com"),
                ("EDGEWARD_CORS_ORIGINS", "http://app.example.com"),
            ],
            "http, not localhost",
        ),
    ] {
        let e = config_result(&extra).expect_err(why);
        assert_eq!(e.variable, "EDGEWARD_CORS_ORIGINS", "{why}");
    }
}

/// Attack: a request with very many cookies, one huge cookie, or a huge head on `/auth/*`
/// (work and memory for an unauthenticated caller): a clear 431 JSON, never a 500.
#[test]
fn too_many_or_too_large_cookies_and_heads_are_431() {
    let edge = edge_in_mode("stateless", NOW);
    let many = (0..200)
        .map(|i| format!("c{i}=v"))
        .collect::<Vec<_>>()
        .join("; ");
    let huge = format!("big={}", "x".repeat(8 * 1024));
    let padding = "y".repeat(8 * 1024);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/auth/session", vec![("cookie", many.as_str())]),
        ("/auth/session", vec![("cookie", huge.as_str())]),
        ("/api/orders", vec![("cookie", many.as_str())]),
        (
            "/auth/session",
            vec![
                ("x-a", padding.as_str()),
                ("x-b", padding.as_str()),
                ("x-c", padding.as_str()),
                ("x-d", padding.as_str()),
                ("x-e", padding.as_str()),
            ],
        ),
    ];
    for (path, headers) in cases {
        let res = call(&edge, request("GET", path, &headers, ""));
        assert_eq!(
            code(&res),
            (431, "request_headers_too_large".into()),
            "{path}"
        );
    }
}

/// Fault: the provider refuses the worker's own client authentication at refresh (a rotated
/// secret, a wrong key). That is the deployment's fault, not the user's: the session stays,
/// and the answer says what happened (502 `idp_rejected_client`); `invalid_grant` still ends
/// it.
#[test]
fn a_refresh_refused_with_invalid_client_keeps_the_session() {
    let edge = edge_in_mode("stateless", NOW);
    let (jar, csrf) = signed_in(&edge, &Login::default());
    edge.ports().route(
        &format!("{ISSUER}/token"),
        401,
        json!({"error": "invalid_client"}).to_string(),
    );
    let res = refresh(&edge, &jar, &csrf);
    assert_eq!(code(&res), (502, "idp_rejected_client".into()));
    assert!(res.headers().get_all("set-cookie").iter().next().is_none());
    edge.ports().route(
        &format!("{ISSUER}/token"),
        400,
        json!({"error": "invalid_grant"}).to_string(),
    );
    assert_eq!(
        code(&refresh(&edge, &jar, &csrf)),
        (401, "session_expired".into())
    );
}

fn login_start_from(edge: &Edge<FakePorts>, ip: &str) -> edgeward_core::Response {
    call(
        edge,
        request(
            "POST",
            "/auth/login/start",
            &[
                ("origin", ORIGIN),
                ("content-type", "application/json"),
                ("cf-connecting-ip", ip),
            ],
            "{}",
        ),
    )
}

/// Attack: one address starts logins in a loop (state cookies, PKCE, calls to the provider).
/// Over the limit: 429 `rate_limited` with `Retry-After`, before any of that work; another
/// address is not affected.
#[test]
fn login_start_is_limited_per_client_ip() {
    let edge = edge_in_mode("stateless", NOW);
    edge.ports().rate_limit.set(Some(3));
    for _ in 0..3 {
        assert_eq!(login_start_from(&edge, "203.0.113.7").status(), 200);
    }
    let res = login_start_from(&edge, "203.0.113.7");
    assert_eq!(code(&res), (429, "rate_limited".into()));
    assert_eq!(header(&res, "retry-after"), Some("60"));
    assert_eq!(login_start_from(&edge, "198.51.100.1").status(), 200);
    let counted = edge.ports().rate_counts.borrow().clone();
    assert!(counted
        .iter()
        .all(|(l, k)| l == "ip" && k.starts_with("ip:")));
}

/// Refresh and `/api/*` are counted per session, under a hash of the session's cookie (never
/// the cookie itself); a service client's bearer token per client, hashed.
#[test]
fn refresh_and_api_are_limited_per_session_under_a_hash() {
    let edge = edge_in_mode("stateless", NOW);
    let (jar, csrf) = signed_in(&edge, &Login::default());
    edge.ports().rate_limit.set(Some(1));
    edge.ports().route(
        &format!("{ISSUER}/token"),
        200,
        json!({"access_token": "new-at", "expires_in": 300, "refresh_token": "new-rt"}).to_string(),
    );
    assert_eq!(refresh(&edge, &jar, &csrf).status(), 204);
    assert_eq!(
        code(&refresh(&edge, &jar, &csrf)),
        (429, "rate_limited".into())
    );
    let api = |headers: &[(&str, &str)]| call(&edge, request("GET", "/api/orders", headers, ""));
    assert_ne!(api(&[("cookie", &jar)]).status(), 429);
    assert_eq!(
        code(&api(&[("cookie", &jar)])),
        (429, "rate_limited".into())
    );
    assert_ne!(api(&[("authorization", "Bearer svc-token")]).status(), 429);
    assert_eq!(
        code(&api(&[("authorization", "Bearer svc-token")])),
        (429, "rate_limited".into())
    );
    let counted = edge.ports().rate_counts.borrow().clone();
    let limiters: Vec<&str> = counted.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        limiters,
        ["session", "session", "session", "session", "client", "client"]
    );
    for (_, key) in &counted {
        assert!(!jar.contains(key.split(':').nth(1).unwrap()), "{key}");
        assert!(!key.contains("svc-token"), "{key}");
    }
}

/// Without a limiter (no binding) nothing is limited, and nothing fails.
#[test]
fn without_a_limiter_nothing_is_limited() {
    let edge = edge_in_mode("stateless", NOW);
    for _ in 0..20 {
        assert_eq!(login_start_from(&edge, "203.0.113.7").status(), 200);
    }
}

/// Every `/auth/*` answer, whatever its status and whoever answers it (handler, dispatcher,
/// CORS preflight, rate limit), says `Cache-Control: no-store`.
#[test]
fn every_auth_answer_is_no_store() {
    let edge = cors_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    let json_post = |path: &str, body: &str, extra: &[(&str, &str)]| {
        let mut headers = vec![("origin", ORIGIN), ("content-type", "application/json")];
        headers.extend_from_slice(extra);
        call(&edge, request("POST", path, &headers, body))
    };
    let mut answers = vec![
        (
            "session",
            call(
                &edge,
                request("GET", "/auth/session", &[("cookie", &jar)], ""),
            ),
        ),
        (
            "providers",
            call(&edge, request("GET", "/auth/providers", &[], "")),
        ),
        ("start", json_post("/auth/login/start", "{}", &[])),
        (
            "end",
            json_post(
                "/auth/login/end",
                r#"{"pageUrl":"http://localhost:8787/"}"#,
                &[],
            ),
        ),
        (
            "405",
            call(&edge, request("DELETE", "/auth/session", &[], "")),
        ),
        ("404", call(&edge, request("GET", "/auth/nowhere", &[], ""))),
        (
            "preflight",
            preflight(&edge, APP, "/auth/refresh", "content-type"),
        ),
        (
            "admin",
            call(&edge, request("GET", "/auth/admin/sessions", &[], "")),
        ),
    ];
    edge.ports().route(
        &format!("{ISSUER}/token"),
        200,
        json!({"access_token": "new-at", "expires_in": 300, "refresh_token": "new-rt"}).to_string(),
    );
    answers.push(("refresh", refresh(&edge, &jar, &csrf)));
    answers.push((
        "logout",
        json_post(
            "/auth/logout",
            "{}",
            &[("cookie", &jar), ("x-edgeward-csrf", &csrf)],
        ),
    ));
    for (what, res) in answers {
        assert_eq!(
            header(&res, "cache-control"),
            Some("no-store"),
            "{what}: {}",
            res.status()
        );
    }
}

/// The proxy's 401s carry an RFC 6750 challenge: `Bearer` when no credential came, with
/// `error="invalid_token"` when the session behind it is over.
#[test]
fn proxy_401s_carry_a_bearer_challenge() {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({})).with_registry();
    let routes = r#"[{"prefix": "/api/orders/", "upstream": "https://orders.example/", "methods": ["GET"]}]"#;
    let edge = Edge::new(
        config_with(&[
            ("EDGEWARD_API_ROUTES", routes),
            (
                "EDGEWARD_MINT_KEY",
                "m1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
            ),
        ]),
        ports,
    );
    let res = call(&edge, request("GET", "/api/orders/1", &[], ""));
    assert_eq!(res.status(), 401);
    assert_eq!(header(&res, "www-authenticate"), Some("Bearer"));
    // A forged or expired session cookie: no valid credential either.
    let mixed = "__Host-edgeward-at=forged.value".to_owned();
    let res = call(
        &edge,
        request("GET", "/api/orders/1", &[("cookie", &mixed)], ""),
    );
    assert_eq!(res.status(), 401, "{}", String::from_utf8_lossy(res.body()));
    assert!(
        header(&res, "www-authenticate").is_some_and(|v| v.starts_with("Bearer")),
        "{:?}",
        header(&res, "www-authenticate")
    );
}

/// The same fault inside the refresh coordinator (`EdgewardRefresh`, what the worker uses in
/// production): it answered `invalid_client` as a 502 of its own, so the worker could only say
/// `idp_unavailable`. Now it passes the provider's refusal on (not kept: the next caller asks
/// again), and the worker answers `idp_rejected_client`.
#[test]
fn the_coordinator_passes_invalid_client_on_without_keeping_it() {
    use edgeward_core::sessions::{coordinated_refresh, RefreshFlights};
    use std::rc::Rc;
    let edge = Rc::new(edge_in_mode("stateless", NOW));
    let flights = RefreshFlights::default();
    let ask = |token: &str| {
        futures_executor::block_on(coordinated_refresh(
            Rc::clone(&edge),
            &flights,
            token.to_owned(),
        ))
    };
    edge.ports().route(
        &format!("{ISSUER}/token"),
        401,
        json!({"error": "invalid_client"}).to_string(),
    );
    let res = ask("rt-1");
    assert_eq!(res.status(), 401, "{}", String::from_utf8_lossy(res.body()));
    assert_eq!(json(&res)["error"], "invalid_client");
    edge.ports().route(
        &format!("{ISSUER}/token"),
        200,
        json!({"access_token": "new-at", "expires_in": 300, "refresh_token": "new-rt"}).to_string(),
    );
    assert_eq!(ask("rt-1").status(), 200, "not kept: asked again");
}

/// A machine client (proof of possession over a certificate Cloudflare verified) is counted
/// per client, by its certificate's fingerprint, whatever address it calls from; without a
/// verified certificate, per address.
#[test]
fn machine_clients_are_limited_per_certificate() {
    use edgeward_core::machine::TlsClientAuth;
    let edge = edge_in_mode("stateless", NOW);
    edge.ports().rate_limit.set(Some(1));
    let call_from = |ip: &str, fingerprint: &str| {
        let mut req = request(
            "GET",
            "/api/orders/1",
            &[
                ("authorization", "PoP not-a-proof"),
                ("cf-connecting-ip", ip),
            ],
            "",
        );
        req.extensions_mut().insert(TlsClientAuth {
            cert_presented: "1".into(),
            cert_verified: "SUCCESS".into(),
            cert_fingerprint_sha256: fingerprint.into(),
        });
        call(&edge, req)
    };
    let a = "ab".repeat(32);
    let b = "cd".repeat(32);
    assert_ne!(call_from("192.0.2.1", &a).status(), 429);
    assert_eq!(
        code(&call_from("192.0.2.2", &a)),
        (429, "rate_limited".into()),
        "the same certificate from another address"
    );
    assert_ne!(
        call_from("192.0.2.1", &b).status(),
        429,
        "another certificate"
    );
    let counted = edge.ports().rate_counts.borrow().clone();
    assert_eq!(counted[0], ("client".to_owned(), format!("machine:{a}")));
}
