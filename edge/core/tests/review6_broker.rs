//! Review 6 (outside review of issues 17 and 18, as merged): the token broker and the guards,
//! attacked. Each test performs one attack; those marked HELD passed on the merged code, the
//! others failed there (the failure line is in the test's comment) and pass with the fix.

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::broker::*;
use common::{
    call, code, config_with, edge_in_mode, json, refresh, request, signed_in, signed_in_as,
    FakePorts, Login, ORIGIN,
};
use edgeward_core::Edge;
use serde_json::json;

const DECOY_SID: &str = "__Host-edgeward-sid";

/// `GET /api/orders` with `headers`.
fn api(edge: &Edge<FakePorts>, headers: &[(&str, &str)]) -> edgeward_core::Response {
    call(edge, request("GET", "/api/orders", headers, ""))
}

// ---- rate limits ----

/// Attack: a signed-in browser (or a script holding its cookies) floods `/api/*` past its
/// session's limit by adding `Authorization: Bearer <anything new>` to each call. The proxy
/// never reads that header when a cookie of ours is there (the session decides), but the
/// limiter counted the call under the bearer's hash: a fresh key every time. Both modes.
/// Before the fix: `left: 404, right: 429` (the 2nd call, over a limit of 1, was not limited;
/// `/api/orders` is not a route of this configuration, so a call let through is 404).
#[test]
fn a_session_does_not_escape_its_limit_with_a_made_up_bearer() {
    for mode in ["stateless", "server"] {
        let edge = edge_in_mode(mode, NOW);
        let (jar, _) = signed_in(&edge, &Login::default());
        edge.ports().rate_limit.set(Some(1));
        assert_ne!(
            api(&edge, &[("cookie", &jar), ("authorization", "Bearer x1")]).status(),
            429
        );
        let res = api(&edge, &[("cookie", &jar), ("authorization", "Bearer x2")]);
        assert_eq!(res.status(), 429, "{mode}");
        assert!(edge
            .ports()
            .rate_counts
            .borrow()
            .iter()
            .all(|(l, _)| l == "session"));
    }
}

/// Attack: in stateless mode, the same session adds a made-up server-session cookie
/// (`__Host-edgeward-sid=<new each time>`), which the stateless proxy and refresh never read,
/// but which the limiter took first for the session's key.
/// Before the fix: `left: 404, right: 429` on `/api/*`; `left: 204, right: 429` on refresh
/// (the 2nd refresh, over a limit of 1, went through to the provider).
#[test]
fn a_stateless_session_does_not_escape_its_limit_with_a_decoy_server_session_cookie() {
    let edge = edge_in_mode("stateless", NOW);
    let (jar, csrf) = signed_in(&edge, &Login::default());
    edge.ports().rate_limit.set(Some(1));
    let with = |n: u32| format!("{jar}; {DECOY_SID}=decoy-{n}");
    assert_ne!(api(&edge, &[("cookie", &with(1))]).status(), 429);
    assert_eq!(api(&edge, &[("cookie", &with(2))]).status(), 429);

    edge.ports().route(
        &format!("{}/token", common::ISSUER),
        200,
        json!({"access_token": "new-at", "expires_in": 300, "refresh_token": "new-rt"}).to_string(),
    );
    assert_eq!(refresh(&edge, &with(3), &csrf).status(), 204);
    assert_eq!(refresh(&edge, &with(4), &csrf).status(), 429);
}

/// HELD: in server mode the session cookie is `-sid` and a decoy stateless `-at` does not move
/// the count elsewhere.
#[test]
fn held_a_server_session_is_counted_under_its_own_cookie_whatever_else_comes() {
    let edge = edge_in_mode("server", NOW);
    let (jar, _) = signed_in(&edge, &Login::default());
    edge.ports().rate_limit.set(Some(1));
    assert_ne!(api(&edge, &[("cookie", &jar)]).status(), 429);
    let decoy = format!("{jar}; __Host-edgeward-at=decoy");
    assert_eq!(api(&edge, &[("cookie", &decoy)]).status(), 429);
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

/// Attack: an IPv6 client starts logins in a loop from a new address of its own /64 each time
/// (every IPv6 home line or cloud host has at least a /64: 2^64 addresses). The `ip` limiter
/// counted each address apart, so it never limited anything over IPv6. Counted per /64 now;
/// another /64 is not affected, and IPv4 stays per address.
/// Before the fix: `left: 200, right: 429`.
#[test]
fn an_ipv6_client_does_not_escape_the_ip_limit_by_rotating_its_64() {
    let edge = edge_in_mode("stateless", NOW);
    edge.ports().rate_limit.set(Some(1));
    assert_eq!(login_start_from(&edge, "2001:db8:1:2::1").status(), 200);
    assert_eq!(
        login_start_from(&edge, "2001:db8:1:2:a:b:c:d").status(),
        429
    );
    assert_eq!(login_start_from(&edge, "2001:DB8:1:2::99").status(), 429);
    assert_eq!(login_start_from(&edge, "2001:db8:1:3::1").status(), 200);
    assert_eq!(login_start_from(&edge, "203.0.113.7").status(), 200);
    assert_eq!(login_start_from(&edge, "203.0.113.8").status(), 200);
    assert_eq!(login_start_from(&edge, "203.0.113.8").status(), 429);
}

/// Attack: a service client in a loop (or a stolen secret) asks `POST /broker/token` without
/// end: each call is a store round trip and may be a refresh at the provider. The endpoint was
/// counted by no limiter. Now by the `client` limiter, under the hash of the credentials
/// presented (so nobody without the secret can use up a client's count), and a call without
/// credentials by its address.
/// Before the fix: `left: 200, right: 429`.
#[test]
fn the_broker_token_endpoint_is_limited_per_client_credentials() {
    let edge = broker_edge();
    let (alice, csrf) = signed_in_as(&edge, "alice");
    connect(&edge, &alice, &csrf, &["mcp"]);
    edge.ports().rate_limit.set(Some(1));
    let ask = |auth: &str| {
        broker_token(
            &edge,
            auth,
            &json!({"connection": "jira", "subject": "alice"}),
        )
    };
    assert_eq!(ask(&basic("mcp", MCP_SECRET)).status(), 200);
    assert_eq!(ask(&basic("mcp", MCP_SECRET)).status(), 429);
    // Someone without the secret does not use up the client's count: a wrong secret is its
    // own key (401), and the other client is not affected.
    assert_eq!(ask(&basic("other", "other-secret")).status(), 403);
    let counted = edge.ports().rate_counts.borrow().clone();
    assert!(counted.iter().all(|(l, k)| l == "client"
        && !k.contains(MCP_SECRET)
        && !k.contains(&basic("mcp", MCP_SECRET))));
}

/// FIXED (reported as not fixed in review 6): a caller without a session sends a made-up
/// session cookie, new every time: each was counted under its own hash by the `session`
/// limiter, so the `ip` limiter never saw these calls, and the worker opened (HKDF + AES-GCM)
/// each cookie. Failed with `left: 401, right: 429`. Now a 401 to a session request counts
/// against the address, and an address over the limit is refused before anything is opened.
#[test]
fn made_up_session_cookies_do_not_escape_the_ip_limiter() {
    // A real route: the proxy opens the access cookie (an unknown path is 404 before that).
    let routes = r#"[{"prefix": "/api/orders/", "upstream": "https://api.example/orders/", "methods": ["GET"]}]"#;
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({})).with_registry();
    let edge = Edge::new(
        config_with(&[
            ("EDGEWARD_SESSION_MODE", "stateless"),
            ("EDGEWARD_API_ROUTES", routes),
            (
                "EDGEWARD_MINT_KEY",
                "m1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
            ),
        ]),
        ports,
    );
    edge.ports().rate_limit.set(Some(1));
    let from = |n: u32, address: &str| {
        let cookie = format!("__Host-edgeward-at=made-up-{n}");
        call(
            &edge,
            request(
                "GET",
                "/api/orders/1",
                &[("cookie", &cookie), ("cf-connecting-ip", address)],
                "",
            ),
        )
    };
    assert_eq!(from(1, "203.0.113.9").status(), 401);
    assert_eq!(
        from(2, "203.0.113.9").status(),
        429,
        "the second made-up cookie from one address"
    );
    // Refused before the cookie is opened from then on, whatever cookie it makes up next.
    let counted = edge.ports().rate_counts.borrow().len();
    assert_eq!(from(3, "203.0.113.9").status(), 429);
    assert_eq!(
        edge.ports().rate_counts.borrow().len(),
        counted,
        "nothing counted or opened"
    );
    // Another address is not affected.
    assert_eq!(from(4, "198.51.100.7").status(), 401);
    // Once the period has passed, the address is counted again.
    edge.ports().now.set(NOW + 61);
    edge.ports().rate_counts.borrow_mut().clear();
    assert_eq!(from(5, "203.0.113.9").status(), 401);
}

// ---- the broker ----

/// HELD: a client the user did not grant learns nothing more from a connection the provider
/// refused (`reauthorization_required`): still 403 `not_granted`, as for a user who does not
/// exist; a subject that spells another provider's scoped user (`<id>U+001F<sub>`) or an
/// unknown provider is the same answer.
#[test]
fn held_an_ungranted_client_cannot_tell_an_expired_connection_or_a_spelled_subject() {
    let edge = broker_edge();
    let (bob, bob_csrf) = signed_in_as(&edge, "bob");
    connect(&edge, &bob, &bob_csrf, &["other"]);
    // The provider refuses the refresh: Bob's record is reauthorization_required.
    edge.ports().now.set(NOW + 3600);
    edge.ports().route(
        &format!("{THIRD}/token"),
        400,
        json!({"error": "invalid_grant"}).to_string(),
    );
    let res = broker_token(
        &edge,
        &basic("other", "other-secret"),
        &json!({"connection": "jira", "subject": "bob"}),
    );
    assert_eq!(code(&res), (401, "connection_expired".into()));

    let answers: Vec<_> = [
        json!({"connection": "jira", "subject": "bob"}),
        json!({"connection": "jira", "subject": "nobody"}),
        json!({"connection": "jira", "subject": "second\u{1f}bob"}),
        json!({"connection": "jira", "subject": "bob", "provider": "no-such-idp"}),
        json!({"connection": "jira", "subject": ""}),
    ]
    .iter()
    .map(|b| {
        let res = broker_token(&edge, &basic("mcp", MCP_SECRET), b);
        (res.status().as_u16(), json(&res))
    })
    .collect();
    for a in &answers {
        assert_eq!(a, &answers[0]);
    }
    assert_eq!(answers[0].0, 403);
}

/// HELD: a refresh token never leaves the store, even when the provider echoes it in an
/// error: not in any answer, not in the log.
#[test]
fn held_a_refresh_token_echoed_by_the_provider_stays_out_of_answers_and_logs() {
    let edge = broker_edge();
    let (alice, csrf) = signed_in_as(&edge, "alice");
    connect(&edge, &alice, &csrf, &["mcp"]);
    edge.ports().now.set(NOW + 3600);
    let mut bodies = Vec::new();
    for (status, body) in [
        (500, "internal error for refresh_token=jira-rt-1".to_owned()),
        (
            400,
            json!({"error": "invalid_request", "error_description": "bad token jira-rt-1"})
                .to_string(),
        ),
        (200, "jira-rt-1 is not json".to_owned()),
    ] {
        edge.ports().route(&format!("{THIRD}/token"), status, body);
        let res = broker_token(
            &edge,
            &basic("mcp", MCP_SECRET),
            &json!({"connection": "jira", "subject": "alice"}),
        );
        bodies.push(String::from_utf8_lossy(res.body()).into_owned());
        let via_proxy = through_proxy(&edge, "GET", &alice, &csrf);
        bodies.push(format!("{via_proxy:?}"));
    }
    let list = call(
        &edge,
        request("GET", "/auth/connections", &[("cookie", &alice)], ""),
    );
    bodies.push(String::from_utf8_lossy(list.body()).into_owned());
    let logs = edge.ports().log_text();
    for text in bodies.iter().chain([&logs]) {
        assert!(!text.contains("jira-rt-1"), "{text}");
    }
}

/// HELD: a listed origin's preflight on `/broker/token` does not allow `Authorization` (a
/// page cannot send a service's Basic credentials), and origins that differ from the listed
/// one by case, a trailing slash, an explicit default port or an IDN spelt in Unicode are not
/// listed; a list written with those is normalised (the browser's serialisation).
#[test]
fn held_cors_origin_matching_and_the_broker_preflight() {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({})).with_registry();
    let edge = Edge::new(
        config_with(&[
            (
                "EDGEWARD_ALLOWED_ORIGINS",
                "https://app.example.com,https://xn--bcher-kva.example",
            ),
            (
                "EDGEWARD_CORS_ORIGINS",
                "https://APP.example.com:443,https://bücher.example",
            ),
        ]),
        ports,
    );
    let preflight = |origin: &str, path: &str, asked: &str| {
        call(
            &edge,
            request(
                "OPTIONS",
                path,
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", asked),
                ],
                "",
            ),
        )
    };
    let res = preflight(
        "https://app.example.com",
        "/broker/token",
        "authorization,content-type",
    );
    assert_eq!(res.status(), 204);
    let allowed = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(!allowed.contains("authorization"), "{allowed}");
    assert_eq!(
        preflight("https://xn--bcher-kva.example", "/auth/refresh", "").status(),
        204
    );
    for origin in [
        "https://APP.example.com",
        "https://app.example.com/",
        "https://app.example.com:443",
        "https://bücher.example",
        "https://app.example.com.",
        "null",
    ] {
        let res = preflight(origin, "/auth/refresh", "");
        assert_eq!(code(&res), (403, "origin_rejected".into()), "{origin}");
        assert!(res.headers().get("access-control-allow-origin").is_none());
    }
    let _ = ORIGIN;
}

/// Attack (configuration): a connection's `extraParams` names a parameter that overrides what
/// edgeward sets or must never travel in the browser's URL: a request object (`request`: RFC
/// 9101 has the provider take the authorization request from it alone, so `state`, PKCE and
/// `redirect_uri` would be its), `response_mode`, or client credentials (`client_secret`,
/// `client_assertion*`, which would be put in the authorization URL). The login's providers
/// refuse all of these; connections refused only a shorter list.
/// Before the fix: `extraParams {"request": …} was accepted`.
#[test]
fn a_connection_may_not_set_a_request_object_response_mode_or_client_credentials() {
    for param in [
        "request",
        "response_mode",
        "client_secret",
        "client_assertion",
        "client_assertion_type",
    ] {
        let connections = json!([{
            "name": "jira", "issuer": THIRD, "clientId": "edgeward-at-jira",
            "clientSecretVar": "EDGEWARD_CONNECTION_SECRET_JIRA", "scopes": "api",
            "extraParams": {param: "x"},
        }])
        .to_string();
        let result = common::config_result(&[
            ("EDGEWARD_CONNECTIONS", &connections),
            ("EDGEWARD_CONNECTION_SECRET_JIRA", "jira-client-secret"),
            ("EDGEWARD_BROKER_KEYS", BROKER_KEYS),
        ]);
        let err = match result {
            Ok(_) => panic!("extraParams {{{param:?}: …}} was accepted"),
            Err(e) => e,
        };
        assert_eq!(err.variable, "EDGEWARD_CONNECTIONS", "{param}");
        assert!(err.to_string().contains(param), "{err}");
    }
}

/// HELD: after connecting, the grants can be changed only to service clients configured for
/// that connection (`mcp` serves `jira` only; `nobody` is no client), and a grant taken back
/// ends that client's access at once.
#[test]
fn held_grants_changed_later_name_only_clients_of_the_connection() {
    let edge = broker_edge();
    let (alice, csrf) = signed_in_as(&edge, "alice");
    connect(&edge, &alice, &csrf, &["mcp"]);
    let put = |name: &str, grants: serde_json::Value| {
        json_call(
            &edge,
            "PUT",
            &format!("/auth/connections/{name}/grants"),
            &alice,
            &csrf,
            &json!({ "grants": grants }),
        )
    };
    for (name, grants) in [
        ("jira", json!(["nobody"])),
        ("jira", json!(["mcp", "nobody"])),
        ("drive", json!(["mcp"])),
    ] {
        assert_eq!(
            code(&put(name, grants.clone())),
            (400, "invalid_request".into()),
            "{name} {grants}"
        );
    }
    assert_eq!(put("jira", json!(["other"])).status(), 204);
    let ask = |auth: &str| {
        broker_token(
            &edge,
            auth,
            &json!({"connection": "jira", "subject": "alice"}),
        )
    };
    assert_eq!(
        code(&ask(&basic("mcp", MCP_SECRET))),
        (403, "not_granted".into())
    );
    assert_eq!(ask(&basic("other", "other-secret")).status(), 200);
}

/// Attack (the same finding, for credentials): someone guesses a broker client's secret, a new
/// guess per call. Each guess was counted by the `client` limiter under its own hash, so the
/// guesses were never limited. Now a 401 to a request counted by presented credentials counts
/// against the address too, and an address over the limit is refused before the next guess is
/// checked. Before the fix: `left: 401, right: 429`.
#[test]
fn guessed_client_secrets_do_not_escape_the_ip_limiter() {
    let edge = broker_edge();
    edge.ports().rate_limit.set(Some(1));
    let guess = |n: u32| {
        call(
            &edge,
            request(
                "POST",
                "/broker/token",
                &[
                    ("authorization", &basic("mcp", &format!("guess-{n}"))),
                    ("content-type", "application/json"),
                    ("cf-connecting-ip", "203.0.113.9"),
                ],
                &json!({"connection": "jira", "subject": "alice"}).to_string(),
            ),
        )
    };
    assert_eq!(guess(1).status(), 401);
    assert_eq!(guess(2).status(), 429, "the second guess from one address");
    assert_eq!(guess(3).status(), 429);
}

/// Attack (issue 18, left from the broker's landing): a signed-in session loops the token
/// broker's connect routes — each `start` seals a cookie, each `end` is a code exchange at the
/// third-party provider, each `DELETE` a revocation there — and no limiter counted them. Now
/// they are counted by the `session` limiter like `/auth/refresh`.
/// Before the fix: `left: 200, right: 429`.
#[test]
fn the_connect_routes_are_limited_per_session() {
    let edge = broker_edge();
    let (alice, csrf) = signed_in_as(&edge, "alice");
    edge.ports().rate_limit.set(Some(1));
    let start = || {
        json_call(
            &edge,
            "POST",
            "/auth/connections/jira/start",
            &alice,
            &csrf,
            &json!({}),
        )
    };
    assert_eq!(start().status(), 200);
    assert_eq!(start().status(), 429);
    let counted = edge.ports().rate_counts.borrow().clone();
    assert!(
        counted
            .iter()
            .all(|(l, k)| l == "session" && !k.contains(&alice)),
        "{counted:?}"
    );
}
