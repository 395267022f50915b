//! RFC 7662 introspection through the HTTP port, against fake answers.

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used)]

mod common;

use common::{config, FakePorts, ISSUER};
use edgeward_core::proxy::phantom::introspect;
use edgeward_shared::ErrorCode;

fn run(
    ports: &FakePorts,
) -> Result<edgeward_core::proxy::phantom::Introspection, edgeward_core::Error> {
    futures_executor::block_on(introspect(
        config().oidc(),
        ports,
        &serde_json::from_value(common::discovery()).unwrap(),
        &format!("{ISSUER}/token/introspection"),
        "opaque-at",
    ))
}

#[test]
fn introspection_answers() {
    let url = format!("{ISSUER}/token/introspection");
    let ports = FakePorts::default();
    ports.route(&url, 200, r#"{"active":true,"sub":"demo","scope":"orders:read","client_id":"edgeward","exp":1700000300}"#);
    let active = run(&ports).unwrap();
    assert_eq!(active.token.sub.as_deref(), Some("demo"));
    assert_eq!(active.token.exp, Some(1_700_000_300));
    let (method, _, body) = ports.sent.borrow()[0].clone();
    assert_eq!(method, "POST");
    assert!(
        body.contains("token=opaque-at") && body.contains("token_type_hint=access_token"),
        "{body}"
    );

    let table = [
        (200, r#"{"active":false}"#, ErrorCode::Unauthorized),
        (500, "oops", ErrorCode::IdpUnavailable),
        (
            401,
            r#"{"error":"invalid_client"}"#,
            ErrorCode::IdpUnavailable,
        ),
        (200, "<html>", ErrorCode::IdpUnavailable),
    ];
    for (status, answer, code) in table {
        let ports = FakePorts::default();
        ports.route(&url, status, answer);
        assert_eq!(run(&ports).unwrap_err().code(), code, "{status} {answer}");
    }
    // The members the proxy checks: aud as one string or a list, and the rest as RFC 7662 and
    // the providers name them.
    let ports = FakePorts::default();
    ports.route(&url, 200, r#"{"active":true,"aud":"https://api.example","nbf":1,"iss":"i","token_type":"Bearer","token_use":"access_token","purpose":"access_token","cnf":{"jkt":"x"}}"#);
    let t = run(&ports).unwrap().token;
    assert_eq!(t.aud, Some(vec!["https://api.example".to_owned()]));
    assert_eq!((t.nbf, t.iss.as_deref()), (Some(1), Some("i")));
    assert_eq!(t.token_type.as_deref(), Some("Bearer"));
    assert_eq!(t.token_use.as_deref(), t.purpose.as_deref());
    assert!(t.cnf.is_some());
    let ports = FakePorts::default();
    ports.route(&url, 200, r#"{"active":true,"aud":["a","b"]}"#);
    assert_eq!(
        run(&ports).unwrap().token.aud,
        Some(vec!["a".into(), "b".into()])
    );
    // An aud that is neither is not an answer we can read.
    let ports = FakePorts::default();
    ports.route(&url, 200, r#"{"active":true,"aud":7}"#);
    assert_eq!(run(&ports).unwrap_err().code(), ErrorCode::IdpUnavailable);

    // Unreachable.
    assert_eq!(
        run(&FakePorts::default()).unwrap_err().code(),
        ErrorCode::IdpUnavailable
    );
}
