//! Routing and error shape, exercised through `Edge::handle` with fake ports (no server).

mod common;

use common::{call, edge, request, FakePorts};
use edgeward_shared::api::SessionResponse;
use edgeward_shared::ErrorBody;

#[test]
fn session_without_cookies_is_signed_out() {
    let res = call(
        &edge(FakePorts::default()),
        request("GET", "/auth/session", &[], ""),
    );
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: SessionResponse = serde_json::from_slice(res.body()).unwrap();
    assert_eq!(body, SessionResponse::signed_out());
    assert_eq!(res.body(), br#"{"isLoggedIn":false}"#);
}

#[test]
fn errors_are_json_with_the_status_of_their_code() {
    let edge = edge(FakePorts::default());
    let table = [
        ("GET", "/auth/nope", 404, "route_not_found"),
        ("GET", "/api/anything", 404, "route_not_found"),
        ("GET", "/auth/session/extra", 404, "route_not_found"),
        ("POST", "/auth/session", 405, "method_not_allowed"),
        ("DELETE", "/auth/session", 405, "method_not_allowed"),
        ("GET", "/auth/login/start", 405, "method_not_allowed"),
    ];
    for (method, path, status, code) in table {
        let res = call(&edge, request(method, path, &[], ""));
        assert_eq!(res.status(), status, "{method} {path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/json",
            "{method} {path}"
        );
        let body: ErrorBody = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(
            serde_json::to_value(body.code).unwrap(),
            code,
            "{method} {path}"
        );
        assert!(!body.message.is_empty());
    }
    let res = call(&edge, request("POST", "/auth/session", &[], ""));
    assert_eq!(res.headers()["allow"], "GET, HEAD");
}

#[test]
fn logout_without_a_session_clears_cookies_and_needs_no_csrf() {
    let edge = edge(FakePorts::default());
    let res = call(
        &edge,
        request("POST", "/auth/logout", &[("origin", common::ORIGIN)], ""),
    );
    assert_eq!(res.status(), 200);
    assert_eq!(res.body(), b"{}");
    let cleared: Vec<_> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(cleared.len(), edgeward_shared::names::ALL_COOKIES.len());
    assert!(
        cleared.iter().all(|c| c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    // Still a state-changing request: a foreign Origin is refused.
    let foreign = call(
        &edge,
        request(
            "POST",
            "/auth/logout",
            &[("origin", "https://evil.example")],
            "",
        ),
    );
    assert_eq!(foreign.status(), 403);
}

#[test]
fn no_minting_key_means_no_jwks_endpoint() {
    // The test configuration has no routes and no mint key: passthrough, nothing to publish.
    let res = call(
        &edge(FakePorts::default()),
        request("GET", "/.well-known/jwks.json", &[], ""),
    );
    assert_eq!(res.status(), 404);
    let body: ErrorBody = serde_json::from_slice(res.body()).unwrap();
    assert_eq!(serde_json::to_value(body.code).unwrap(), "route_not_found");
}
