//! `POST /auth/login/start` through `Edge::handle`, with the IdP's discovery served by fakes.

mod common;

use common::{call, edge, json, request, set_cookies, FakePorts, ISSUER, ORIGIN};
use edgeward_core::oidc::pkce_challenge;
use edgeward_shared::names;
use url::Url;

const JSON: (&str, &str) = ("content-type", "application/json");
const SAME_ORIGIN: [(&str, &str); 2] = [("origin", ORIGIN), JSON];

#[test]
fn builds_a_pkce_authorization_request_and_seals_the_login_cookie() {
    let edge = edge(FakePorts::default().with_discovery());
    let res = call(
        &edge,
        request(
            "POST",
            "/auth/login/start",
            &SAME_ORIGIN,
            r#"{"returnTo":"/profile?tab=1","extraParams":{"prompt":"login"}}"#,
        ),
    );
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let url = Url::parse(json(&res)["authorizationUrl"].as_str().unwrap()).unwrap();
    assert_eq!(
        url.as_str().split('?').next(),
        Some(format!("{ISSUER}/auth").as_str())
    );
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "edgeward");
    assert_eq!(q["redirect_uri"], format!("{ORIGIN}/callback"));
    assert_eq!(q["scope"], "openid profile email");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["prompt"], "login");
    for p in ["state", "nonce", "code_challenge"] {
        assert_eq!(q[p].len(), 43, "{p} carries 256 bits");
    }
    assert_ne!(q["state"], q["nonce"]);

    let cookies = set_cookies(&res);
    assert_eq!(cookies.len(), 1);
    let (name, value, raw) = &cookies[0];
    assert_eq!(name, names::COOKIE_LOGIN);
    assert!(
        raw.contains("Max-Age=600") && raw.contains("HttpOnly") && raw.contains("Secure"),
        "{raw}"
    );
    // The sealed cookie holds what login/end needs, and nothing readable from outside.
    assert!(!value.contains(&q["state"]));
    let opened =
        futures_executor::block_on(edge.config().cookie_keys.open_json::<serde_json::Value>(
            edge.ports(),
            names::COOKIE_LOGIN,
            value,
            1_700_000_000,
        ))
        .unwrap();
    assert_eq!(opened.value["state"], q["state"].as_str());
    assert_eq!(opened.value["nonce"], q["nonce"].as_str());
    assert_eq!(opened.value["return_to"], "/profile?tab=1");
    assert_eq!(
        pkce_challenge(opened.value["verifier"].as_str().unwrap()),
        q["code_challenge"]
    );
    assert_eq!(opened.expires_at, 1_700_000_600);
}

#[test]
fn an_empty_body_is_an_empty_request() {
    let edge = edge(FakePorts::default().with_discovery());
    let res = call(
        &edge,
        request("POST", "/auth/login/start", &[("origin", ORIGIN)], ""),
    );
    assert_eq!(res.status(), 200);
}

#[test]
fn discovery_is_fetched_once_and_reused() {
    let edge = edge(FakePorts::default().with_discovery());
    for _ in 0..3 {
        let res = call(
            &edge,
            request("POST", "/auth/login/start", &SAME_ORIGIN, "{}"),
        );
        assert_eq!(res.status(), 200);
    }
    assert_eq!(edge.ports().sent.borrow().len(), 1);
    // After the TTL it is fetched again.
    edge.ports().now.set(1_700_000_000 + 3600);
    call(
        &edge,
        request("POST", "/auth/login/start", &SAME_ORIGIN, "{}"),
    );
    assert_eq!(edge.ports().sent.borrow().len(), 2);
}

#[test]
fn refusals_set_no_cookie() {
    // (headers, body, status, code)
    type Row<'a> = (&'a [(&'a str, &'a str)], &'a str, u16, &'a str);
    let table: &[Row] = &[
        (&[JSON], "{}", 403, "origin_rejected"),
        (
            &[("origin", "https://evil.example"), JSON],
            "{}",
            403,
            "origin_rejected",
        ),
        (
            &[("origin", ORIGIN), ("sec-fetch-site", "cross-site"), JSON],
            "{}",
            403,
            "origin_rejected",
        ),
        (&SAME_ORIGIN, "not json", 400, "invalid_request"),
        (
            &SAME_ORIGIN,
            r#"{"returnTo":"https://evil.example/"}"#,
            400,
            "invalid_request",
        ),
        (
            &SAME_ORIGIN,
            r#"{"returnTo":"//evil.example/"}"#,
            400,
            "invalid_request",
        ),
        // Paths that normalise into `//evil.example` (a host once the SPA navigates to it).
        (
            &SAME_ORIGIN,
            r#"{"returnTo":"/.//evil.example"}"#,
            400,
            "invalid_request",
        ),
        (
            &SAME_ORIGIN,
            r#"{"returnTo":"/a/..//evil.example"}"#,
            400,
            "invalid_request",
        ),
        (
            &SAME_ORIGIN,
            r#"{"returnTo":"/%2e%2e//evil.example"}"#,
            400,
            "invalid_request",
        ),
        (
            &SAME_ORIGIN,
            r#"{"extraParams":{"redirect_uri":"https://evil.example/"}}"#,
            400,
            "invalid_request",
        ),
    ];
    for (headers, body, status, code) in table {
        let edge = edge(FakePorts::default().with_discovery());
        let res = call(&edge, request("POST", "/auth/login/start", headers, body));
        assert_eq!(res.status(), *status, "{headers:?} {body}");
        assert_eq!(json(&res)["code"], *code, "{headers:?} {body}");
        assert!(set_cookies(&res).is_empty(), "{headers:?} {body}");
    }
}

#[test]
fn idp_trouble_is_502_and_sets_nothing() {
    let discovery_url = format!("{ISSUER}/.well-known/openid-configuration");
    let cases: Vec<(&str, Box<dyn Fn(&FakePorts)>)> = vec![
        ("unreachable", Box::new(|_| {})),
        (
            "5xx",
            Box::new(|p: &FakePorts| p.route(&discovery_url, 503, "busy")),
        ),
        (
            "not JSON",
            Box::new(|p: &FakePorts| p.route(&discovery_url, 200, "<html>")),
        ),
        (
            "another issuer",
            Box::new(|p: &FakePorts| {
                p.route(
                    &discovery_url,
                    200,
                    serde_json::json!({
                        "issuer": "http://evil.test",
                        "authorization_endpoint": "http://evil.test/auth",
                        "token_endpoint": "http://evil.test/token",
                        "jwks_uri": "http://evil.test/jwks",
                    })
                    .to_string(),
                )
            }),
        ),
    ];
    for (what, setup) in cases {
        let ports = FakePorts::default();
        setup(&ports);
        let edge = edge(ports);
        let res = call(
            &edge,
            request("POST", "/auth/login/start", &SAME_ORIGIN, "{}"),
        );
        assert_eq!(res.status(), 502, "{what}");
        assert_eq!(json(&res)["code"], "idp_unavailable", "{what}");
        assert!(set_cookies(&res).is_empty(), "{what}");
    }
}
