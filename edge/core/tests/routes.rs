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
