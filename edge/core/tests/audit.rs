//! Issue 18's audit trail, through the edge: each request that is a security event writes one
//! JSON line with the right name and fields, the others none; and a run whose requests carry
//! tokens, codes and cookie values in every place a caller controls writes none of them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use edgeward_core::{Edge, LogLevel};
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000;
const ADMIN: &str = "an-admin-token-of-at-least-32-characters";

fn audit_edge(rate_limit: Option<u32>) -> Edge<FakePorts> {
    let ports = FakePorts::default().with_idp(json!({})).with_registry();
    ports.now.set(NOW);
    ports.rate_limit.set(rate_limit);
    let routes =
        r#"[{"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET"]}]"#;
    Edge::new(
        config_with(&[
            ("EDGEWARD_ADMIN_TOKEN", ADMIN),
            ("EDGEWARD_API_ROUTES", routes),
            (
                "EDGEWARD_MINT_KEY",
                "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
            ),
        ]),
        ports,
    )
}

/// The audit lines written so far (every log line that is a JSON object with an `event`).
fn events(edge: &Edge<FakePorts>) -> Vec<Value> {
    edge.ports()
        .logs
        .borrow()
        .iter()
        .filter_map(|(level, line)| {
            let v: Value = serde_json::from_str(line).ok()?;
            v.get("event")?;
            assert_eq!(*level, LogLevel::Info, "{line}");
            Some(v)
        })
        .collect()
}

/// The audit lines `f` made.
fn during(edge: &Edge<FakePorts>, f: impl FnOnce()) -> Vec<Value> {
    let before = events(edge).len();
    f();
    events(edge).split_off(before)
}

fn one(lines: &[Value]) -> &Value {
    assert_eq!(lines.len(), 1, "{lines:?}");
    &lines[0]
}

#[test]
fn each_event_is_written_where_it_happens_with_its_fields() {
    let edge = audit_edge(None);
    let ip = ("cf-connecting-ip", "203.0.113.7");
    let ray = ("cf-ray", "8f1b2c3d4e5f6a7b-AMS");

    // (what happens, the request, the expected event, reason, route, status)
    let (jar, csrf) = signed_in(&edge, &Login::default());
    let logged_in = events(&edge);
    let names: Vec<_> = logged_in.iter().map(|l| l["event"].clone()).collect();
    assert_eq!(names, [json!("login.started"), json!("login.succeeded")]);
    assert_eq!(logged_in[1]["route"], "/auth/login/end");
    assert_eq!(logged_in[1]["status"], 200);

    let cases: Vec<(
        &str,
        edgeward_core::Request,
        Option<(&str, &str, &str, u16)>,
    )> = vec![
        (
            "a refresh",
            request(
                "POST",
                "/auth/refresh",
                &[
                    ("origin", ORIGIN),
                    ("x-edgeward-csrf", &csrf),
                    ("cookie", &jar),
                    ip,
                    ray,
                ],
                "",
            ),
            Some(("refresh.succeeded", "", "/auth/refresh", 204)),
        ),
        (
            "a refresh without the CSRF header",
            request(
                "POST",
                "/auth/refresh",
                &[("origin", ORIGIN), ("cookie", &jar), ip],
                "",
            ),
            Some(("csrf.rejected", "csrf_rejected", "/auth/refresh", 403)),
        ),
        (
            "a login from another origin",
            request(
                "POST",
                "/auth/login/start",
                &[
                    ("origin", "https://evil.example"),
                    ("content-type", "application/json"),
                    ip,
                ],
                "{}",
            ),
            Some((
                "origin.rejected",
                "origin_rejected",
                "/auth/login/start",
                403,
            )),
        ),
        (
            "a login end with no login cookie",
            request(
                "POST",
                "/auth/login/end",
                &[("origin", ORIGIN), ("content-type", "application/json"), ip],
                &json!({"pageUrl": format!("{ORIGIN}/callback?code=c&state=s")}).to_string(),
            ),
            Some(("login.failed", "invalid_state", "/auth/login/end", 400)),
        ),
        (
            "an API call without a session",
            request("GET", "/api/orders/1", &[ip], ""),
            Some(("proxy.denied", "unauthorized", "/api/*", 401)),
        ),
        (
            "an admin listing",
            request(
                "GET",
                "/auth/admin/sessions?sub=demo",
                &[("authorization", &format!("Bearer {ADMIN}")), ip],
                "",
            ),
            Some(("admin.action", "GET", "/auth/admin/sessions", 200)),
        ),
        (
            "an admin call with a wrong token",
            request(
                "GET",
                "/auth/admin/sessions?sub=demo",
                &[("authorization", "Bearer wrong"), ip],
                "",
            ),
            Some(("admin.action", "unauthorized", "/auth/admin/sessions", 401)),
        ),
        (
            "an admin revocation",
            request(
                "DELETE",
                "/auth/admin/sessions?sub=demo",
                &[("authorization", &format!("Bearer {ADMIN}")), ip],
                "",
            ),
            Some(("session.ended", "admin", "/auth/admin/sessions", 200)),
        ),
        (
            "reading the session (not an event)",
            request("GET", "/auth/session", &[("cookie", &jar), ip], ""),
            None,
        ),
        (
            "an unknown route (not an event)",
            request("GET", "/auth/nothing", &[ip], ""),
            None,
        ),
        (
            "a logout",
            request(
                "POST",
                "/auth/logout",
                &[
                    ("origin", ORIGIN),
                    ("x-edgeward-csrf", &csrf),
                    ("cookie", &jar),
                    ip,
                    ray,
                ],
                "",
            ),
            Some(("session.ended", "logout", "/auth/logout", 200)),
        ),
    ];
    for (what, req, want) in cases {
        let lines = during(&edge, || {
            call(&edge, req);
        });
        match want {
            None => assert!(lines.is_empty(), "{what}: {lines:?}"),
            Some((event, reason, route, status)) => {
                assert_eq!(lines.len(), 1, "{what}: {lines:?}");
                let line = &lines[0];
                assert_eq!(line["event"], event, "{what}: {line}");
                assert_eq!(line["reason"], reason, "{what}: {line}");
                assert_eq!(line["route"], route, "{what}: {line}");
                assert_eq!(line["status"], status, "{what}: {line}");
                assert_eq!(line["ip"], "203.0.113.7", "{what}: {line}");
            }
        }
    }
    // The request id and the session's handle: a hash, the same for the session's requests.
    let with_session: Vec<_> = events(&edge)
        .into_iter()
        .filter(|l| l["event"] == "refresh.succeeded" || l["reason"] == "logout")
        .collect();
    assert_eq!(with_session.len(), 2);
    for line in &with_session {
        assert_eq!(line["request_id"], "8f1b2c3d4e5f6a7b-AMS");
        let handle = line["session"].as_str().unwrap();
        assert_eq!(handle.len(), 16);
        assert!(handle.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}

#[test]
fn a_refresh_the_provider_refuses_is_refresh_refused() {
    let edge = audit_edge(None);
    let (jar, csrf) = signed_in(&edge, &Login::default());
    edge.ports().route(
        &format!("{ISSUER}/token"),
        400,
        json!({"error": "invalid_grant"}).to_string(),
    );
    let lines = during(&edge, || {
        refresh(&edge, &jar, &csrf);
    });
    let line = one(&lines);
    assert_eq!(line["event"], "refresh.refused");
    assert_eq!(line["status"], 401);
    assert_eq!(line["reason"], "session_expired");
}

#[test]
fn a_request_over_the_limit_is_rate_limited() {
    let edge = audit_edge(Some(1));
    let start = || {
        request(
            "POST",
            "/auth/login/start",
            &[
                ("origin", ORIGIN),
                ("content-type", "application/json"),
                ("cf-connecting-ip", "198.51.100.1"),
            ],
            "{}",
        )
    };
    call(&edge, start());
    let lines = during(&edge, || {
        call(&edge, start());
    });
    let line = one(&lines);
    assert_eq!(line["event"], "rate.limited");
    assert_eq!(line["reason"], "ip");
    assert_eq!(
        (line["status"].as_u64(), line["route"].as_str()),
        (Some(429), Some("/auth/login/start"))
    );
}

/// The attack: every place a caller controls (the path, the query, cookies, the bearer token,
/// `cf-ray`, `CF-Connecting-IP`, the body) carries a secret-looking value, and so does what
/// the provider answers (tokens, the code). None of them may appear in the log.
#[test]
fn no_token_code_or_cookie_value_reaches_the_log() {
    let edge = audit_edge(None);
    let login = Login {
        access: "AT-SECRET-0001",
        refresh: Some("RT-SECRET-0002"),
        ..Login::default()
    };
    let (jar, csrf) = signed_in(&edge, &login);
    let mut secrets: Vec<String> = vec![
        "AT-SECRET-0001".into(),
        "RT-SECRET-0002".into(),
        "the-code".into(),
        "PATH-SECRET-0003".into(),
        "QUERY-SECRET-0004".into(),
        "BEARER-SECRET-0005".into(),
        "RAY-SECRET-0006".into(),
        "IP-SECRET-0007".into(),
        "COOKIE-SECRET-0008".into(),
        "BODY-SECRET-0009".into(),
        csrf.clone(),
    ];
    for part in jar.split("; ") {
        secrets.push(part.split_once('=').unwrap().1.to_owned());
    }
    let forged = format!("{}=COOKIE-SECRET-0008", edgeward_shared::names::COOKIE_ID);
    let requests = [
        request("GET", "/api/orders/PATH-SECRET-0003?q=QUERY-SECRET-0004", &[("authorization", "Bearer BEARER-SECRET-0005")], ""),
        request("GET", "/api/orders/x", &[("cookie", &forged), ("cf-ray", "RAY-SECRET-0006\"}{"), ("cf-connecting-ip", "IP-SECRET-0007")], ""),
        request(
            "POST",
            "/auth/refresh",
            &[("origin", ORIGIN), ("x-edgeward-csrf", "RAY-SECRET-0006"), ("cookie", &jar), ("cf-ray", "RAY-SECRET-0006")],
            "",
        ),
        request(
            "POST",
            "/auth/login/end",
            &[("origin", ORIGIN), ("content-type", "application/json"), ("cookie", &forged)],
            &json!({"pageUrl": format!("{ORIGIN}/callback?code=BODY-SECRET-0009&state=PATH-SECRET-0003")}).to_string(),
        ),
        request("POST", "/auth/PATH-SECRET-0003", &[("origin", ORIGIN), ("cookie", &jar)], ""),
        request(
            "POST",
            "/auth/refresh",
            &[("origin", ORIGIN), ("x-edgeward-csrf", &csrf), ("cookie", &jar), ("cf-ray", "RAY-SECRET-0006")],
            "",
        ),
        request("DELETE", "/auth/admin/sessions?sub=QUERY-SECRET-0004", &[("authorization", "Bearer BEARER-SECRET-0005")], ""),
    ];
    for req in requests {
        call(&edge, req);
    }
    assert!(events(&edge).len() >= 7, "{:?}", events(&edge));
    let log = edge.ports().log_text();
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "the log holds {secret:?}:\n{log}"
        );
    }
}
