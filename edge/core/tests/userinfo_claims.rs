//! Claims only at userinfo: a provider whose ID token carries just `sub` (oidc-provider's
//! default, django-oauth-toolkit configured so, many enterprise IdPs) gives the profile claims at
//! its userinfo endpoint. `login/end` asks it once, with the new access token, when the ID token
//! lacks a claim the granted scopes stand for; the answer's `sub` must be the ID token's.

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{call, code, cookie_header, json, login_with, request, set_cookies, FakePorts, Login};
use edgeward_core::{Edge, LogLevel};
use serde_json::{json, Value};

const USERINFO: &str = "http://idp.test/userinfo";

fn edge_with_userinfo(mode: &str) -> Edge<FakePorts> {
    edge_configured(&[("EDGEWARD_SESSION_MODE", mode)])
}

/// The fake IdP with a userinfo endpoint, and the registry; `vars` on top of the test config.
fn edge_configured(vars: &[(&str, &str)]) -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(1_700_000_000);
    let ports = ports
        .with_idp(json!({ "userinfo_endpoint": USERINFO }))
        .with_registry();
    Edge::new(common::config_with(vars), ports)
}

fn session_claims(edge: &Edge<FakePorts>, cookies: &str) -> Value {
    let res = call(
        edge,
        request("GET", "/auth/session", &[("cookie", cookies)], ""),
    );
    assert_eq!(res.status(), 200);
    let body = json(&res);
    assert_eq!(body["isLoggedIn"], true, "{body}");
    body["claims"].clone()
}

fn userinfo_calls(edge: &Edge<FakePorts>) -> Vec<String> {
    let ports = edge.ports();
    let sent = ports.sent.borrow();
    let auth = ports.authorizations.borrow();
    sent.iter()
        .zip(auth.iter())
        .filter(|((_, url, _), _)| url == USERINFO)
        .map(|((method, _, _), a)| format!("{method} {a}"))
        .collect()
}

#[test]
fn claims_missing_from_the_id_token_come_from_userinfo_once() {
    for mode in ["stateless", "server"] {
        let edge = edge_with_userinfo(mode);
        edge.ports().route(
            USERINFO,
            200,
            json!({
                "sub": "demo", "name": "Demo User", "email": "demo@example.com",
                "preferred_username": "demo", "email_verified": true,
            })
            .to_string(),
        );
        let res = login_with(&edge, &Login::default());
        assert_eq!(
            res.status(),
            200,
            "{mode}: {}",
            String::from_utf8_lossy(res.body())
        );
        assert_eq!(
            userinfo_calls(&edge),
            ["GET Bearer opaque-at"],
            "{mode}: once, with the new access token"
        );
        let claims = session_claims(&edge, &cookie_header(res.headers()));
        assert_eq!(
            claims,
            json!({
                "sub": "demo", "name": "Demo User", "email": "demo@example.com",
                "preferred_username": "demo",
            }),
            "{mode}"
        );
        // Showing the session asks nobody.
        assert_eq!(userinfo_calls(&edge).len(), 1, "{mode}");
    }
}

#[test]
fn the_id_token_wins_and_userinfo_only_fills_gaps() {
    let edge = edge_with_userinfo("stateless");
    edge.ports().route(
        USERINFO,
        200,
        json!({"sub": "demo", "name": "Someone Else", "email": "demo@example.com"}).to_string(),
    );
    let res = login_with(
        &edge,
        &Login {
            claims: json!({"name": "Demo User", "preferred_username": "demo"}),
            ..Login::default()
        },
    );
    assert_eq!(res.status(), 200);
    let claims = session_claims(&edge, &cookie_header(res.headers()));
    assert_eq!(claims["name"], "Demo User");
    assert_eq!(claims["email"], "demo@example.com");
    assert_eq!(claims["preferred_username"], "demo");
}

#[test]
fn a_complete_id_token_asks_no_userinfo() {
    let edge = edge_with_userinfo("stateless");
    let res = login_with(
        &edge,
        &Login {
            claims: json!({
                "name": "Demo User", "email": "demo@example.com", "preferred_username": "demo",
            }),
            ..Login::default()
        },
    );
    assert_eq!(res.status(), 200);
    assert!(userinfo_calls(&edge).is_empty());
}

#[test]
fn claims_the_scopes_do_not_ask_for_are_not_looked_for() {
    let edge = edge_configured(&[("OIDC_SCOPES", "openid email")]);
    edge.ports().route(
        USERINFO,
        200,
        json!({"sub": "demo", "name": "Demo User"}).to_string(),
    );
    // `email` is in the ID token; `name` and `preferred_username` are `profile`'s, not asked for.
    let res = login_with(
        &edge,
        &Login {
            claims: json!({"email": "demo@example.com"}),
            ..Login::default()
        },
    );
    assert_eq!(res.status(), 200);
    assert!(userinfo_calls(&edge).is_empty());
}

/// The attack: a userinfo answer about another user (a provider mixed up, a token substituted,
/// an endpoint that is not the provider's) must not lend its claims to this session.
#[test]
fn a_userinfo_answer_for_another_subject_refuses_the_login() {
    for mode in ["stateless", "server"] {
        let edge = edge_with_userinfo(mode);
        edge.ports().route(
            USERINFO,
            200,
            json!({"sub": "alice", "name": "Alice Example", "email": "alice@example.com"})
                .to_string(),
        );
        let res = login_with(&edge, &Login::default());
        assert_eq!(code(&res), (400, "login_failed".into()), "{mode}");
        let set: Vec<(String, String)> = set_cookies(&res)
            .into_iter()
            .map(|(n, v, _)| (n, v))
            .collect();
        assert!(
            set.iter().all(|(_, v)| v.is_empty()),
            "{mode}: no session cookie is set: {set:?}"
        );
        if mode == "server" {
            assert!(
                edge.ports().shards().keys().is_empty(),
                "no session stored: {:?}",
                edge.ports().shards().keys()
            );
        }
        let body = String::from_utf8_lossy(res.body()).into_owned();
        assert!(!body.contains("alice"), "the browser is not told: {body}");
        assert!(
            edge.ports().log_text().contains("userinfo"),
            "{}",
            edge.ports().log_text()
        );
    }
}

/// Userinfo that cannot be used: the login goes on with the ID token's claims, and the log says
/// why the others are missing.
#[test]
fn an_unusable_userinfo_answer_signs_in_without_its_claims() {
    let cases: Vec<(&str, Option<(u16, &str, String)>)> = vec![
        ("unreachable", None),
        ("HTTP 500", Some((500, "application/json", "{}".to_owned()))),
        (
            "HTTP 401",
            Some((
                401,
                "application/json",
                r#"{"error":"invalid_token"}"#.to_owned(),
            )),
        ),
        (
            "a signed JWT",
            Some((
                200,
                "application/jwt",
                common::idp_sign(&json!({"sub": "demo", "name": "Demo User"}), None),
            )),
        ),
        ("not JSON", Some((200, "text/html", "<html>".to_owned()))),
        (
            "no sub",
            Some((
                200,
                "application/json",
                json!({"name": "Demo User"}).to_string(),
            )),
        ),
        (
            "a name that is not a string",
            Some((
                200,
                "application/json",
                json!({"sub": "demo", "name": 7}).to_string(),
            )),
        ),
    ];
    for (what, answer) in cases {
        let edge = edge_with_userinfo("stateless");
        if let Some((status, ct, body)) = answer {
            edge.ports().route_typed(USERINFO, status, ct, body);
        }
        let res = login_with(&edge, &Login::default());
        assert_eq!(
            res.status(),
            200,
            "{what}: {}",
            String::from_utf8_lossy(res.body())
        );
        let claims = session_claims(&edge, &cookie_header(res.headers()));
        assert_eq!(claims, json!({"sub": "demo"}), "{what}");
        let logs = edge.ports().logs.borrow();
        assert!(
            logs.iter()
                .any(|(level, line)| *level == LogLevel::Warn && line.contains("userinfo")),
            "{what}: {logs:?}"
        );
    }
}

#[test]
fn overlong_userinfo_values_are_left_out() {
    let edge = edge_with_userinfo("stateless");
    edge.ports().route(
        USERINFO,
        200,
        json!({"sub": "demo", "name": "x".repeat(5000), "email": "demo@example.com"}).to_string(),
    );
    let res = login_with(&edge, &Login::default());
    assert_eq!(res.status(), 200);
    let claims = session_claims(&edge, &cookie_header(res.headers()));
    assert_eq!(claims, json!({"sub": "demo", "email": "demo@example.com"}));
}
