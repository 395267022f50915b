//! Routing and error shape, exercised through `Edge::handle` with fake ports (no server).

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edgeward_core::{
    Clock, Config, Edge, HttpClient, Random, RandomUnavailable, Request, TransportError,
};
use edgeward_shared::api::SessionResponse;
use edgeward_shared::ErrorBody;

/// Deterministic ports: a fixed clock, counting "randomness", and an HTTP client that refuses
/// every call (no route here may reach the network).
struct FakePorts;

impl Clock for FakePorts {
    fn now(&self) -> u64 {
        1_700_000_000
    }
}

impl Random for FakePorts {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
        for (i, b) in dest.iter_mut().enumerate() {
            *b = i as u8;
        }
        Ok(())
    }
}

impl HttpClient for FakePorts {
    async fn send(
        &self,
        _request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        Err(TransportError {
            reason: "no network in this test".into(),
        })
    }
}

fn edge() -> Edge<FakePorts> {
    let config = Config::from_vars(|name| match name {
        "EDGEWARD_PROFILE" => Some("local".into()),
        "EDGEWARD_ORIGIN" => Some("http://localhost:8787".into()),
        _ => None,
    })
    .unwrap();
    Edge::new(config, FakePorts)
}

fn call(method: &str, path: &str) -> edgeward_core::Response {
    let req: Request = http::Request::builder()
        .method(method)
        .uri(format!("http://localhost:8787{path}"))
        .body(Vec::new())
        .unwrap();
    futures_executor::block_on(edge().handle(req))
}

#[test]
fn session_without_cookies_is_signed_out() {
    let res = call("GET", "/auth/session");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: SessionResponse = serde_json::from_slice(res.body()).unwrap();
    assert_eq!(body, SessionResponse::signed_out());
    assert_eq!(res.body(), br#"{"isLoggedIn":false}"#);
}

#[test]
fn errors_are_json_with_the_status_of_their_code() {
    let table = [
        ("GET", "/auth/nope", 404, "route_not_found"),
        ("GET", "/api/anything", 404, "route_not_found"),
        ("GET", "/auth/session/extra", 404, "route_not_found"),
        ("POST", "/auth/session", 405, "method_not_allowed"),
        ("DELETE", "/auth/session", 405, "method_not_allowed"),
    ];
    for (method, path, status, code) in table {
        let res = call(method, path);
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
    assert_eq!(
        call("POST", "/auth/session").headers()["allow"],
        "GET, HEAD"
    );
}
