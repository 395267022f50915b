//! `/auth/admin/sessions` through `Edge::handle` with fake ports and an in-memory registry:
//! off without an admin token, the bearer checked, and every malformed call a clear JSON error.

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{call, config_with, json, request, FakePorts};
use edgeward_core::Edge;

const ADMIN: &str = "an-admin-token-of-at-least-32-characters";

fn edge(admin: bool) -> Edge<FakePorts> {
    let ports = FakePorts::default().with_registry();
    ports.now.set(1_700_000_000);
    let vars: &[(&str, &str)] = if admin {
        &[("EDGEWARD_ADMIN_TOKEN", ADMIN)]
    } else {
        &[]
    };
    Edge::new(config_with(vars), ports)
}

fn admin_call(
    edge: &Edge<FakePorts>,
    method: &str,
    query: &str,
    bearer: &str,
) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {bearer}");
    let res = call(
        edge,
        request(
            method,
            &format!("/auth/admin/sessions{query}"),
            &[("authorization", &auth)],
            "",
        ),
    );
    (res.status().as_u16(), json(&res))
}

#[test]
fn without_an_admin_token_the_endpoint_does_not_exist() {
    let (status, body) = admin_call(&edge(false), "GET", "?sub=demo", ADMIN);
    assert_eq!(status, 404);
    assert_eq!(body["code"], "route_not_found");
}

#[test]
fn a_wrong_or_missing_bearer_is_401() {
    let edge = edge(true);
    for bearer in ["", "an-admin-token-of-at-least-32-characterz", &ADMIN[..20]] {
        let (status, body) = admin_call(&edge, "GET", "?sub=demo", bearer);
        assert_eq!(status, 401, "{bearer:?}");
        assert_eq!(body["code"], "unauthorized");
    }
}

#[test]
fn a_call_without_a_user_or_with_another_method_is_refused_clearly() {
    let edge = edge(true);
    for query in ["", "?sub=", "?session=abc"] {
        let (status, body) = admin_call(&edge, "GET", query, ADMIN);
        assert_eq!(status, 400, "{query:?}");
        assert_eq!(body["code"], "invalid_request");
        assert!(body["message"].as_str().unwrap().contains("sub="), "{body}");
    }
    let (status, body) = admin_call(&edge, "POST", "?sub=demo", ADMIN);
    assert_eq!(status, 405);
    assert_eq!(body["code"], "method_not_allowed");
}

#[test]
fn listing_and_revoking_answer_from_the_store() {
    let edge = edge(true);
    let (status, body) = admin_call(&edge, "GET", "?sub=demo", ADMIN);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sub"], "demo");
    assert_eq!(body["sessions"].as_array().unwrap().len(), 0);
    let (status, body) = admin_call(&edge, "DELETE", "?sub=demo&session=no-such-handle", ADMIN);
    assert_eq!((status, body["revoked"].as_u64()), (200, Some(0)));
}
