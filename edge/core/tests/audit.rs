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
    audit_edge_with(rate_limit, &[])
}

fn audit_edge_with(rate_limit: Option<u32>, extra: &[(&str, &str)]) -> Edge<FakePorts> {
    let ports = FakePorts::default().with_idp(json!({})).with_registry();
    ports.now.set(NOW);
    ports.rate_limit.set(rate_limit);
    let routes =
        r#"[{"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET"]}]"#;
    let mut vars = vec![
        ("EDGEWARD_ADMIN_TOKEN", ADMIN),
        ("EDGEWARD_API_ROUTES", routes),
        (
            "EDGEWARD_MINT_KEY",
            "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
        ),
    ];
    vars.extend_from_slice(extra);
    Edge::new(config_with(&vars), ports)
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

/// Whom an event concerns: the provider's id and the user's `sub`, which by default is a keyed
/// hash (the same user alike on every line, never the `sub` itself), `clear` on request, or
/// left out; from what the handler learned (the validated ID token, the session, the admin's
/// query), never from what the caller merely claims.
#[test]
fn lines_name_the_provider_and_the_user_as_configured() {
    let user = Login {
        sub: "user-4711",
        ..Login::default()
    };
    let mut hashes = Vec::new();
    for (mode, extra) in [
        ("hashed", vec![]),
        ("hashed", vec![("EDGEWARD_AUDIT_SUB", "hashed")]),
        ("clear", vec![("EDGEWARD_AUDIT_SUB", "clear")]),
        ("omit", vec![("EDGEWARD_AUDIT_SUB", "omit")]),
    ] {
        let edge = audit_edge_with(None, &extra);
        let provider = edge.config().oidc().id.clone();
        let (jar, csrf) = signed_in(&edge, &user);
        let lines = events(&edge);
        // login.started knows the provider, not yet the user.
        assert_eq!(lines[0]["provider"], provider.as_str(), "{mode}: {lines:?}");
        assert!(lines[0].get("sub").is_none(), "{mode}: {lines:?}");
        // A refresh refused for its CSRF header still names the session's user (its sealed
        // cookie proved it), as a logout or an API call refused so does.
        let csrfless = during(&edge, || {
            let req = request(
                "POST",
                "/auth/refresh",
                &[("origin", ORIGIN), ("cookie", &jar)],
                "",
            );
            assert_eq!(call(&edge, req).status(), 403);
        });
        let refreshed = during(&edge, || {
            assert_eq!(refresh(&edge, &jar, &csrf).status(), 204);
        });
        let admin = during(&edge, || {
            let req = request(
                "DELETE",
                "/auth/admin/sessions?sub=user-4711",
                &[("authorization", &format!("Bearer {ADMIN}"))],
                "",
            );
            assert_eq!(call(&edge, req).status(), 200);
        });
        let named: Vec<&Value> = [&lines[1], one(&csrfless), one(&refreshed), one(&admin)].into();
        for line in &named {
            assert_eq!(line["provider"], provider.as_str(), "{mode}: {line}");
        }
        let subs: Vec<Option<&str>> = named.iter().map(|l| l["sub"].as_str()).collect();
        match mode {
            "clear" => assert_eq!(subs, [Some("user-4711"); 4]),
            "omit" => assert_eq!(subs, [None; 4], "{named:?}"),
            _ => {
                let hash = subs[0].unwrap();
                assert_eq!(subs, [Some(hash); 4], "one user, one hash: {named:?}");
                assert_eq!(hash.len(), 16);
                assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()), "{hash}");
                hashes.push(hash.to_owned());
                assert!(!edge.ports().log_text().contains("user-4711"));
            }
        }
    }
    // One key, one hash: the default and `hashed` agree.
    assert_eq!(hashes[0], hashes[1]);
    // Another user of the same deployment: another hash.
    let edge = audit_edge(None);
    signed_in_as(&edge, "user-4712");
    assert_ne!(events(&edge)[1]["sub"].as_str(), Some(hashes[0].as_str()));

    // Another key hashes the same user otherwise (a guessed `sub` cannot be looked up in the
    // log without the deployment's key).
    let other = audit_edge_with(
        None,
        &[(
            "EDGEWARD_COOKIE_KEYS",
            "k9:0202020202020202020202020202020202020202020202020202020202020202",
        )],
    );
    signed_in(&other, &user);
    assert_ne!(events(&other)[1]["sub"].as_str(), Some(hashes[0].as_str()));

    let bad = config_result(&[("EDGEWARD_AUDIT_SUB", "sha1")]).unwrap_err();
    assert!(bad.to_string().contains("EDGEWARD_AUDIT_SUB"), "{bad}");
}

/// A login refused at its end that the handler answers itself (it clears the login cookie): the
/// line has the refusal's code, and the provider the login went to.
#[test]
fn a_refused_login_end_names_its_code_and_provider() {
    let edge = audit_edge(None);
    let lines = during(&edge, || {
        let res = login_with(
            &edge,
            &Login {
                iss: Some("https://mix-up.example"),
                ..Login::default()
            },
        );
        assert_eq!(code(&res), (400, "login_failed".into()));
    });
    let failed: Vec<_> = lines
        .iter()
        .filter(|l| l["event"] == "login.failed")
        .collect();
    assert_eq!(failed.len(), 1, "{lines:?}");
    assert_eq!(failed[0]["reason"], "login_failed");
    assert_eq!(failed[0]["provider"], edge.config().oidc().id.as_str());
    assert!(failed[0].get("sub").is_none(), "{lines:?}");
}
