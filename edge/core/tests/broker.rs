//! The token broker: connecting an account (bound to the session that started it), the sealed
//! store, listing and disconnecting, the refresh and its refusal, and `POST /broker/token`.
//! Attacks first.

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use base64::Engine;
use common::broker::*;
use common::{
    apply, call, code, config_result, config_with, json, request, set_cookies, signed_in,
    signed_in_as, FakePorts, Login, ORIGIN,
};
use edgeward_core::Edge;
use serde_json::json;
use sha2::{Digest, Sha256};

// ---- attacks ----

#[test]
fn a_connect_cookie_of_another_session_does_not_finish_the_connect() {
    // Alice's browser starts a connect; the attacker lures a victim (Bob, signed in) into
    // finishing it with the attacker's authorization code: the victim's session must not take it.
    let edge = broker_edge();
    let (alice, alice_csrf) = signed_in_as(&edge, "alice");
    let (q, alice_jar) = start(&edge, "jira", &alice, &alice_csrf, &[]);
    let (bob, bob_csrf) = signed_in_as(&edge, "bob");
    let connect_cookie = common::cookie_value(&alice_jar, "__Host-edgeward-connect").unwrap();
    let bob_jar = format!("{bob}; __Host-edgeward-connect={connect_cookie}");
    third_tokens(&edge, "attacker-at", Some("attacker-rt"), 3600);
    let res = end(
        &edge,
        "jira",
        &bob_jar,
        &bob_csrf,
        &format!("code=c&state={}", q["state"]),
    );
    assert_eq!(code(&res), (400, "invalid_state".into()));
    assert_eq!(edge.ports().calls_to(&format!("{THIRD}/token")), 0);
    assert!(!every_stored_value(&edge).contains("conn:"));
}

#[test]
fn a_connect_cookie_of_another_session_of_the_same_user_does_not_finish_it_either() {
    let edge = broker_edge();
    let (one, one_csrf) = signed_in(&edge, &Login::default());
    let (q, jar) = start(&edge, "jira", &one, &one_csrf, &[]);
    let (two, two_csrf) = signed_in(&edge, &Login::default());
    let cookie = common::cookie_value(&jar, "__Host-edgeward-connect").unwrap();
    let res = end(
        &edge,
        "jira",
        &format!("{two}; __Host-edgeward-connect={cookie}"),
        &two_csrf,
        &format!("code=c&state={}", q["state"]),
    );
    assert_eq!(code(&res), (400, "invalid_state".into()));
}

#[test]
fn connect_refuses_a_wrong_state_a_replay_another_connection_and_missing_guards() {
    let edge = broker_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    let (q, started) = start(&edge, "jira", &jar, &csrf, &[]);
    third_tokens(&edge, "jira-at-1", Some("jira-rt-1"), 3600);

    // Wrong state.
    let res = end(&edge, "jira", &started, &csrf, "code=c&state=forged");
    assert_eq!(code(&res), (400, "invalid_state".into()));
    // The cookie is single-use: cleared after the refusal, and the right state no longer works
    // without it.
    let after = apply(&started, &res);
    assert!(common::cookie_value(&after, "__Host-edgeward-connect").is_none());
    let res = end(
        &edge,
        "jira",
        &after,
        &csrf,
        &format!("code=c&state={}", q["state"]),
    );
    assert_eq!(code(&res), (400, "invalid_state".into()));

    // A cookie started for jira does not finish drive.
    let (q, started) = start(&edge, "jira", &jar, &csrf, &[]);
    let res = end(
        &edge,
        "drive",
        &started,
        &csrf,
        &format!("code=c&state={}", q["state"]),
    );
    assert_eq!(code(&res), (400, "invalid_state".into()));

    // No CSRF header, another origin, no session.
    let (q, started) = start(&edge, "jira", &jar, &csrf, &[]);
    let query = format!("code=c&state={}", q["state"]);
    let res = end(&edge, "jira", &started, "wrong", &query);
    assert_eq!(code(&res), (403, "csrf_rejected".into()));
    let res = call(
        &edge,
        request(
            "POST",
            "/auth/connections/jira/end",
            &[
                ("origin", "https://evil.example"),
                ("x-edgeward-csrf", &csrf),
                ("cookie", &started),
                ("content-type", "application/json"),
            ],
            &json!({"pageUrl": format!("{ORIGIN}/connections/callback?{query}")}).to_string(),
        ),
    );
    assert_eq!(code(&res), (403, "origin_rejected".into()));
    let only_connect = common::pick(&started, &["__Host-edgeward-connect"]);
    let res = end(&edge, "jira", &only_connect, &csrf, &query);
    assert_eq!(code(&res), (401, "unauthorized".into()));
    // start without CSRF
    let res = json_call(
        &edge,
        "POST",
        "/auth/connections/jira/start",
        &jar,
        "nope",
        &json!({}),
    );
    assert_eq!(code(&res), (403, "csrf_rejected".into()));
    assert_eq!(edge.ports().calls_to(&format!("{THIRD}/token")), 0);
}

#[test]
fn a_grant_to_a_service_not_configured_for_the_connection_is_refused_at_start() {
    let edge = broker_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    for grants in [json!(["nobody"]), json!(["mcp", "evil"])] {
        let res = json_call(
            &edge,
            "POST",
            "/auth/connections/drive/start",
            &jar,
            &csrf,
            &json!({ "grants": grants }),
        );
        // mcp is configured for jira only.
        assert_eq!(code(&res), (400, "invalid_request".into()), "{grants}");
    }
}

#[test]
fn the_store_holds_no_token_in_clear_and_a_record_moved_to_another_user_does_not_open() {
    let edge = broker_edge();
    let (alice, alice_csrf) = signed_in_as(&edge, "alice");
    let alice = connect(&edge, &alice, &alice_csrf, &["mcp"]);
    let stored = every_stored_value(&edge);
    assert!(stored.contains("conn:"), "{stored}");
    for secret in ["jira-at-1", "jira-rt-1", "alice"] {
        assert!(!stored.contains(secret), "{secret} in the store: {stored}");
    }

    // Copy Alice's record to Bob's key (a store the attacker can write): it does not open,
    // so Bob's listing says reauthorization_required and the service gets nothing for Bob.
    let (bob, bob_csrf) = signed_in_as(&edge, "bob");
    let shards = edge.ports().shards();
    let (alice_key, record) = {
        let stores = shards.stores.borrow();
        stores
            .values()
            .flat_map(|s| s.0.borrow().clone())
            .find(|(k, _)| k.starts_with("conn:"))
            .unwrap()
    };
    let bob_digest = hex_sha256("bob");
    let bob_shard = edgeward_core::sessions::shard_of("bob", 16);
    shards
        .store(&bob_shard)
        .0
        .borrow_mut()
        .insert(format!("conn:{bob_digest}:jira"), record.clone());
    assert_ne!(alice_key, format!("conn:{bob_digest}:jira"));
    let res = broker_token(
        &edge,
        &basic("mcp", MCP_SECRET),
        &json!({"connection": "jira", "subject": "bob"}),
    );
    assert_eq!(code(&res), (403, "not_granted".into()));
    let res = call(
        &edge,
        request("GET", "/auth/connections", &[("cookie", &bob)], ""),
    );
    let list = json(&res);
    assert_eq!(
        list["connections"][0]["status"], "reauthorization_required",
        "{list}"
    );
    let _ = (alice, bob_csrf);
}

#[test]
fn a_connection_secret_variable_must_be_a_connection_secret() {
    // Pointing a connection at the cookie keys would send them to a third party as its client
    // secret.
    for var in [
        "EDGEWARD_COOKIE_KEYS",
        "OIDC_CLIENT_SECRET",
        "EDGEWARD_CONNECTION_SECRET_",
        "edgeward_connection_secret_x",
    ] {
        let connections = json!([{
            "name": "jira", "issuer": THIRD, "clientId": "c", "clientSecretVar": var, "scopes": "api",
        }])
        .to_string();
        let err = config_result(&[
            ("EDGEWARD_CONNECTIONS", &connections),
            ("EDGEWARD_BROKER_KEYS", BROKER_KEYS),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "EDGEWARD_CONNECTIONS", "{var}");
        assert!(!err.to_string().contains("000102"), "{err}");
    }
}

#[test]
fn bad_broker_configuration_names_the_variable() {
    let ok = connections();
    let table: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![("EDGEWARD_CONNECTIONS", "{".into())], "EDGEWARD_CONNECTIONS"),
        (vec![("EDGEWARD_CONNECTIONS", json!([{"name": "Jira!", "issuer": THIRD, "clientId": "c", "clientSecretVar": "EDGEWARD_CONNECTION_SECRET_JIRA", "scopes": "a"}]).to_string())], "EDGEWARD_CONNECTIONS"),
        (vec![("EDGEWARD_CONNECTIONS", json!([{"name": "jira", "clientId": "c", "clientSecretVar": "EDGEWARD_CONNECTION_SECRET_JIRA", "scopes": "a"}]).to_string())], "EDGEWARD_CONNECTIONS"),
        (vec![("EDGEWARD_CONNECTIONS", json!([{"name": "jira", "issuer": THIRD, "clientId": "c", "clientSecretVar": "EDGEWARD_CONNECTION_SECRET_NOPE", "scopes": "a"}]).to_string())], "EDGEWARD_CONNECTIONS"),
        (vec![("EDGEWARD_CONNECTIONS", json!([{"name": "jira", "issuer": THIRD, "clientId": "c", "clientSecretVar": "EDGEWARD_CONNECTION_SECRET_JIRA", "scopes": "a", "extraParams": {"redirect_uri": "https://evil.example/"}}]).to_string())], "EDGEWARD_CONNECTIONS"),
        (vec![("EDGEWARD_CONNECTIONS", json!([{"name": "jira", "issuer": THIRD, "clientId": "c", "clientSecretVar": "EDGEWARD_CONNECTION_SECRET_JIRA", "scopes": "a", "redirectUri": "https://evil.example/cb"}]).to_string())], "EDGEWARD_CONNECTIONS"),
        (vec![("EDGEWARD_CONNECTIONS", json!([{"name": "jira", "issuer": "https://x", "clientId": "c", "clientSecretVar": "EDGEWARD_CONNECTION_SECRET_JIRA", "scopes": "a", "unknown": 1}]).to_string())], "EDGEWARD_CONNECTIONS"),
        (vec![("EDGEWARD_BROKER_KEYS", String::new())], "EDGEWARD_BROKER_KEYS"),
        (vec![("EDGEWARD_BROKER_KEYS", "b1:short".into())], "EDGEWARD_BROKER_KEYS"),
        (vec![("EDGEWARD_BROKER_CLIENTS", json!([{"clientId": "a", "secretSha256": "plain-secret", "connections": []}]).to_string())], "EDGEWARD_BROKER_CLIENTS"),
        (vec![("EDGEWARD_BROKER_CLIENTS", json!([{"clientId": "a:b", "secretSha256": hex_sha256("x"), "connections": []}]).to_string())], "EDGEWARD_BROKER_CLIENTS"),
        (vec![("EDGEWARD_BROKER_CLIENTS", json!([{"clientId": "a", "secretSha256": hex_sha256("x"), "connections": ["slack"]}]).to_string())], "EDGEWARD_BROKER_CLIENTS"),
    ];
    for (over, variable) in table {
        let mut v: Vec<(&str, String)> = vars();
        v.extend(over.iter().cloned());
        let pairs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let err = config_result(&pairs).unwrap_err();
        assert_eq!(err.variable, variable, "{over:?}: {err}");
        assert!(!err.to_string().contains("jira-client-secret"), "{err}");
    }
    let _ = ok;
}

#[test]
fn the_broker_refuses_wrong_secrets_unknown_clients_and_ungranted_subjects_alike() {
    let edge = broker_edge();
    let (alice, csrf) = signed_in_as(&edge, "alice");
    connect(&edge, &alice, &csrf, &["mcp"]);
    let (bob, bob_csrf) = signed_in_as(&edge, "bob");
    // Bob connects without granting mcp.
    connect(&edge, &bob, &bob_csrf, &[]);

    let body = |subject: &str| json!({"connection": "jira", "subject": subject});
    // Client authentication.
    for auth in [
        basic("mcp", "wrong"),
        basic("nobody", MCP_SECRET),
        "Bearer x".into(),
        "Basic !!!".into(),
        basic("mcp", ""),
    ] {
        let res = broker_token(&edge, &auth, &body("alice"));
        assert_eq!(code(&res), (401, "invalid_client".into()), "{auth}");
        assert!(res.headers().get("www-authenticate").is_some());
    }
    // Not granted, no such user, a connection the client is not configured for: one answer.
    let refused: Vec<_> = [
        (basic("mcp", MCP_SECRET), body("bob")),
        (basic("mcp", MCP_SECRET), body("carol")),
        (basic("other", "other-secret"), body("alice")),
        (
            basic("mcp", MCP_SECRET),
            json!({"connection": "drive", "subject": "alice"}),
        ),
        (
            basic("mcp", MCP_SECRET),
            json!({"connection": "nope", "subject": "alice"}),
        ),
    ]
    .into_iter()
    .map(|(auth, b)| {
        let res = broker_token(&edge, &auth, &b);
        (res.status().as_u16(), json(&res))
    })
    .collect();
    for r in &refused {
        assert_eq!(r, &refused[0], "every refusal reads the same");
    }
    assert_eq!(refused[0].0, 403);
    assert_eq!(refused[0].1["code"], "not_granted");

    // The granted one: an access token, never a refresh token; one audit line without it.
    let res = broker_token(&edge, &basic("mcp", MCP_SECRET), &body("alice"));
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let answer = json(&res);
    assert_eq!(answer["access_token"], "jira-at-1");
    assert_eq!(answer["token_type"], "Bearer");
    assert!(answer.get("refresh_token").is_none());
    assert_eq!(res.headers()["cache-control"], "no-store");
    let logs = edge.ports().log_text();
    assert_eq!(
        logs.matches("broker: issued client=mcp connection=jira")
            .count(),
        1,
        "{logs}"
    );
    for secret in ["jira-at-1", "jira-rt-1", MCP_SECRET, "alice"] {
        assert!(!logs.contains(secret), "{secret} in the log: {logs}");
    }
}

// ---- the flows ----

#[test]
fn connect_list_use_refresh_and_disconnect() {
    let edge = broker_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());

    // The authorization request: PKCE S256, state, the connection's client, scopes, extras.
    let (q, started) = start(&edge, "jira", &jar, &csrf, &["mcp"]);
    assert_eq!(q["client_id"], "edgeward-at-jira");
    assert_eq!(q["scope"], "api offline_access");
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["redirect_uri"], format!("{ORIGIN}/connections/callback"));
    assert_eq!(q["state"].len(), 43);
    third_tokens(&edge, "jira-at-1", Some("jira-rt-1"), 3600);
    let res = end(
        &edge,
        "jira",
        &started,
        &csrf,
        &format!("code=c1&state={}&iss={THIRD}", q["state"]),
    );
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    assert_eq!(json(&res)["connection"], "jira");
    let jar = apply(&started, &res);
    assert!(common::cookie_value(&jar, "__Host-edgeward-connect").is_none());
    // The code exchange: the connection's client, the verifier.
    let exchange = edge.ports().bodies_to(&format!("{THIRD}/token")).remove(0);
    assert!(exchange.contains("code_verifier="), "{exchange}");
    assert!(
        exchange.contains("grant_type=authorization_code"),
        "{exchange}"
    );

    // The listing: never a token.
    let res = call(
        &edge,
        request("GET", "/auth/connections", &[("cookie", &jar)], ""),
    );
    assert_eq!(res.status(), 200);
    let list = json(&res);
    let body = list.to_string();
    assert!(
        !body.contains("jira-at-1") && !body.contains("jira-rt-1"),
        "{body}"
    );
    assert_eq!(list["connections"][0]["name"], "jira");
    assert_eq!(list["connections"][0]["status"], "connected");
    assert_eq!(list["connections"][0]["grants"], json!(["mcp"]));
    assert_eq!(list["connections"][1]["status"], "not_connected");

    // Near expiry: refreshed (rotated), once.
    edge.ports().now.set(NOW + 3600 - 30);
    third_tokens(&edge, "jira-at-2", Some("jira-rt-2"), 3600);
    let res = broker_token(
        &edge,
        &basic("mcp", MCP_SECRET),
        &json!({"connection": "jira", "subject": "demo"}),
    );
    assert_eq!(json(&res)["access_token"], "jira-at-2");
    let grants = edge.ports().bodies_to(&format!("{THIRD}/token"));
    assert_eq!(grants.len(), 2);
    assert!(
        grants[1].contains("refresh_token=jira-rt-1"),
        "{}",
        grants[1]
    );
    let res = broker_token(
        &edge,
        &basic("mcp", MCP_SECRET),
        &json!({"connection": "jira", "subject": "demo"}),
    );
    assert_eq!(json(&res)["access_token"], "jira-at-2");
    assert_eq!(edge.ports().bodies_to(&format!("{THIRD}/token")).len(), 2);

    // The provider refuses the next refresh: connection_expired, and the listing says so.
    edge.ports().now.set(NOW + 2 * 3600);
    edge.ports().route(
        &format!("{THIRD}/token"),
        400,
        r#"{"error":"invalid_grant"}"#,
    );
    let res = broker_token(
        &edge,
        &basic("mcp", MCP_SECRET),
        &json!({"connection": "jira", "subject": "demo"}),
    );
    assert_eq!(code(&res), (401, "connection_expired".into()));
    let res = call(
        &edge,
        request("GET", "/auth/connections", &[("cookie", &jar)], ""),
    );
    assert_eq!(
        json(&res)["connections"][0]["status"],
        "reauthorization_required"
    );

    // Disconnect: revoked at the provider, then gone.
    let res = json_call(
        &edge,
        "DELETE",
        "/auth/connections/jira",
        &jar,
        &csrf,
        &json!({}),
    );
    assert_eq!(res.status(), 204);
    let revoked = edge.ports().bodies_to(&format!("{THIRD}/revoke"));
    assert_eq!(revoked.len(), 1);
    assert!(revoked[0].contains("token=jira-rt-2"), "{}", revoked[0]);
    assert!(!every_stored_value(&edge).contains("conn:"));
    let res = broker_token(
        &edge,
        &basic("mcp", MCP_SECRET),
        &json!({"connection": "jira", "subject": "demo"}),
    );
    assert_eq!(code(&res), (403, "not_granted".into()));
}

#[test]
fn an_unreachable_provider_at_refresh_is_not_a_revoked_grant() {
    let edge = broker_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    connect(&edge, &jar, &csrf, &["mcp"]);
    edge.ports().now.set(NOW + 4000);
    edge.ports().route(&format!("{THIRD}/token"), 503, "");
    let res = broker_token(
        &edge,
        &basic("mcp", MCP_SECRET),
        &json!({"connection": "jira", "subject": "demo"}),
    );
    assert_eq!(code(&res), (502, "idp_unavailable".into()));
    let res = call(
        &edge,
        request("GET", "/auth/connections", &[("cookie", &jar)], ""),
    );
    assert_eq!(json(&res)["connections"][0]["status"], "connected");
}

#[test]
fn a_connection_by_endpoints_needs_no_discovery() {
    let edge = broker_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    let (q, started) = start(&edge, "drive", &jar, &csrf, &["other"]);
    edge.ports().route(
        &format!("{THIRD}/drive/token"),
        200,
        json!({"access_token": "drive-at", "expires_in": 600}).to_string(),
    );
    let res = end(
        &edge,
        "drive",
        &started,
        &csrf,
        &format!("code=c&state={}", q["state"]),
    );
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let res = broker_token(
        &edge,
        &basic("other", "other-secret"),
        &json!({"connection": "drive", "subject": "demo"}),
    );
    assert_eq!(json(&res)["access_token"], "drive-at");
    // A provider that names itself in the callback cannot, for a connection without an issuer.
    let (q, started) = start(&edge, "drive", &jar, &csrf, &[]);
    let res = end(
        &edge,
        "drive",
        &started,
        &csrf,
        &format!("code=c&state={}&iss={THIRD}", q["state"]),
    );
    assert_eq!(code(&res), (400, "login_failed".into()));
    let _ = set_cookies;
}

#[test]
fn unknown_connections_and_methods() {
    let edge = broker_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    for path in [
        "/auth/connections/slack/start",
        "/auth/connections/JIRA/start",
        "/auth/connections/jira/other",
        "/auth/connections/",
    ] {
        let res = json_call(&edge, "POST", path, &jar, &csrf, &json!({}));
        assert_eq!(code(&res).0, 404, "{path}");
    }
    let res = json_call(
        &edge,
        "GET",
        "/auth/connections/jira/start",
        &jar,
        &csrf,
        &json!({}),
    );
    assert_eq!(code(&res).0, 405);
    let res = call(&edge, request("GET", "/auth/connections", &[], ""));
    assert_eq!(code(&res), (401, "unauthorized".into()));
}

#[test]
fn a_connection_route_forwards_the_connected_accounts_token_and_says_when_there_is_none() {
    let edge = broker_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    // Not connected yet: 401 connection_required (the SPA offers "connect").
    assert_eq!(
        through_proxy(&edge, "GET", &jar, &csrf),
        Err((401, "connection_required".into()))
    );
    // No session: 401 unauthorized, as on every route.
    assert_eq!(
        through_proxy(&edge, "GET", "", ""),
        Err((401, "unauthorized".into()))
    );
    let jar = connect(&edge, &jar, &csrf, &[]);
    assert_eq!(
        through_proxy(&edge, "GET", &jar, &csrf),
        Ok("jira-at-1".into())
    );
    // A state-changing call keeps the CSRF rule.
    assert_eq!(
        through_proxy(&edge, "POST", &jar, "wrong"),
        Err((403, "csrf_rejected".into()))
    );
    // Another user's session gets their own (none), never this one's.
    let (bob, bob_csrf) = signed_in_as(&edge, "bob");
    assert_eq!(
        through_proxy(&edge, "GET", &bob, &bob_csrf),
        Err((401, "connection_required".into()))
    );
    // Near the end: refreshed once; then a refused refresh is connection_expired.
    edge.ports().now.set(NOW + 3600 - 10);
    let (jar, csrf) = signed_in(&edge, &Login::default());
    third_tokens(&edge, "jira-at-2", Some("jira-rt-2"), 3600);
    assert_eq!(
        through_proxy(&edge, "GET", &jar, &csrf),
        Ok("jira-at-2".into())
    );
    assert_eq!(
        through_proxy(&edge, "GET", &jar, &csrf),
        Ok("jira-at-2".into())
    );
    assert_eq!(edge.ports().bodies_to(&format!("{THIRD}/token")).len(), 2);
    edge.ports().now.set(NOW + 2 * 3600);
    let (jar, csrf) = signed_in(&edge, &Login::default());
    edge.ports().route(
        &format!("{THIRD}/token"),
        400,
        r#"{"error":"invalid_grant"}"#,
    );
    assert_eq!(
        through_proxy(&edge, "GET", &jar, &csrf),
        Err((401, "connection_expired".into()))
    );
    assert_eq!(
        through_proxy(&edge, "GET", &jar, &csrf),
        Err((401, "connection_expired".into()))
    );
    assert_eq!(edge.ports().bodies_to(&format!("{THIRD}/token")).len(), 3);
    // The refreshes went through the refresh coordinator of this user's connection.
    let coordinated = edge.ports().coordinated.borrow().clone();
    assert!(!coordinated.is_empty());
    let logs = edge.ports().log_text();
    for secret in ["jira-at-1", "jira-at-2", "jira-rt-1", "jira-rt-2"] {
        assert!(!logs.contains(secret), "{secret} in the log: {logs}");
    }
}

#[test]
fn a_connection_route_must_name_a_configured_connection_and_serve_browsers_only() {
    for (routes, variable) in [
        (
            r#"[{"prefix": "/api/x/", "upstream": "http://x.test/", "methods": ["GET"], "credential": {"connection": "slack"}}]"#,
            "EDGEWARD_API_ROUTES",
        ),
        (
            r#"[{"prefix": "/api/x/", "upstream": "http://x.test/", "methods": ["GET"], "credential": {"connection": "jira"}, "clients": ["browser", "service"]}]"#,
            "EDGEWARD_API_ROUTES",
        ),
        (
            r#"[{"prefix": "/api/x/", "upstream": "http://x.test/", "methods": ["GET"], "credential": {"session": true}}]"#,
            "EDGEWARD_API_ROUTES",
        ),
    ] {
        let mut v = vars();
        v.push(("EDGEWARD_API_ROUTES", routes.into()));
        v.push(("EDGEWARD_MINT_KEY", MINT.into()));
        let pairs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let err = config_result(&pairs).unwrap_err();
        assert_eq!(err.variable, variable, "{routes}: {err}");
    }
}

#[test]
fn a_disconnect_while_a_refresh_runs_wins_and_the_new_grant_goes_back() {
    let edge = broker_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    connect(&edge, &jar, &csrf, &["mcp"]);
    edge.ports().now.set(NOW + 3600);
    third_tokens(&edge, "jira-at-2", Some("jira-rt-2"), 3600);
    // While the refresh grant is at the provider, the user disconnects (another tab): the
    // record goes away underneath it.
    let shards = edge.ports().shards();
    let token_url = format!("{THIRD}/token");
    *edge.ports().on_send.borrow_mut() = Some(Box::new(move |url: &str| {
        if url == token_url {
            for store in shards.stores.borrow().values() {
                store.0.borrow_mut().retain(|k, _| !k.starts_with("conn:"));
            }
        }
    }));
    let res = broker_token(
        &edge,
        &basic("mcp", MCP_SECRET),
        &json!({"connection": "jira", "subject": "demo"}),
    );
    assert_eq!(code(&res), (403, "not_granted".into()));
    *edge.ports().on_send.borrow_mut() = None;
    // Not written back, and the new refresh token was revoked at the provider.
    assert!(!every_stored_value(&edge).contains("conn:"));
    let revoked = edge.ports().bodies_to(&format!("{THIRD}/revoke"));
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert!(revoked[0].contains("token=jira-rt-2"), "{}", revoked[0]);
}

#[test]
fn the_registry_spells_no_other_key_from_a_connection_request() {
    use edgeward_core::sessions::{MemoryStore, Registry, RegistryRequest};
    let store = MemoryStore::default();
    let good = hex_sha256("demo");
    for (user, name) in [
        ("demo".to_owned(), "jira".to_owned()),
        (good.to_uppercase(), "jira".to_owned()),
        (format!("{good}:x"), "jira".to_owned()),
        (good.clone(), "jira:other".to_owned()),
        (good.clone(), "../meta".to_owned()),
        (good.clone(), "Jira".to_owned()),
    ] {
        let put = RegistryRequest::PutConnection {
            user: user.clone(),
            name: name.clone(),
            record: "{}".into(),
            only_if_present: false,
        };
        assert!(
            futures_executor::block_on(Registry::handle(&store, &put)).is_err(),
            "{user} {name}"
        );
    }
    assert!(store.0.borrow().is_empty());
}

#[test]
fn taking_a_grant_back_ends_the_services_access_at_once() {
    let edge = broker_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    let jar = connect(&edge, &jar, &csrf, &["mcp"]);
    let ask = || {
        broker_token(
            &edge,
            &basic("mcp", MCP_SECRET),
            &json!({"connection": "jira", "subject": "demo"}),
        )
    };
    assert_eq!(ask().status(), 200);
    let put = |grants: serde_json::Value, csrf: &str| {
        json_call(
            &edge,
            "PUT",
            "/auth/connections/jira/grants",
            &jar,
            csrf,
            &json!({ "grants": grants }),
        )
    };
    // The guards, and only configured services.
    assert_eq!(
        code(&put(json!([]), "wrong")),
        (403, "csrf_rejected".into())
    );
    assert_eq!(
        code(&put(json!(["nobody"]), &csrf)),
        (400, "invalid_request".into())
    );
    assert_eq!(ask().status(), 200);
    // Taken back: the next ask is refused like any ungranted one.
    assert_eq!(put(json!([]), &csrf).status(), 204);
    assert_eq!(code(&ask()), (403, "not_granted".into()));
    let res = call(
        &edge,
        request("GET", "/auth/connections", &[("cookie", &jar)], ""),
    );
    assert_eq!(json(&res)["connections"][0]["grants"], json!([]));
    // And given again.
    assert_eq!(put(json!(["mcp"]), &csrf).status(), 204);
    assert_eq!(ask().status(), 200);
    // Not connected: 401 connection_required.
    let res = json_call(
        &edge,
        "PUT",
        "/auth/connections/drive/grants",
        &jar,
        &csrf,
        &json!({"grants": []}),
    );
    assert_eq!(code(&res), (401, "connection_required".into()));
}

#[test]
fn bad_callbacks_and_bodies_are_refused_and_store_nothing() {
    let edge = broker_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    third_tokens(&edge, "jira-at-1", Some("jira-rt-1"), 3600);

    // The provider refused: its code is shown, the cookie is gone.
    let (q, started) = start(&edge, "jira", &jar, &csrf, &[]);
    let res = end(
        &edge,
        "jira",
        &started,
        &csrf,
        &format!("error=access_denied&state={}", q["state"]),
    );
    assert_eq!(code(&res), (400, "login_failed".into()));
    assert!(json(&res)["message"]
        .as_str()
        .unwrap()
        .contains("access_denied"));
    assert!(common::cookie_value(&apply(&started, &res), "__Host-edgeward-connect").is_none());

    // A callback page on another origin, a body that is not a connect end.
    let (q, started) = start(&edge, "jira", &jar, &csrf, &[]);
    let res = json_call(
        &edge,
        "POST",
        "/auth/connections/jira/end",
        &started,
        &csrf,
        &json!({"pageUrl": format!("https://evil.example/callback?code=c&state={}", q["state"])}),
    );
    assert_eq!(code(&res), (400, "invalid_request".into()));
    let res = json_call(
        &edge,
        "POST",
        "/auth/connections/jira/end",
        &started,
        &csrf,
        &json!({"url": "x"}),
    );
    assert_eq!(code(&res), (400, "invalid_request".into()));
    let res = json_call(
        &edge,
        "POST",
        "/auth/connections/jira/start",
        &jar,
        &csrf,
        &json!({"grants": "mcp"}),
    );
    assert_eq!(code(&res), (400, "invalid_request".into()));
    let res = json_call(
        &edge,
        "POST",
        "/auth/connections/jira/start",
        &jar,
        &csrf,
        &json!({"returnTo": "//evil.example"}),
    );
    assert_eq!(code(&res), (400, "invalid_request".into()));

    // A connect cookie past its 10 minutes.
    let (q, started) = start(&edge, "jira", &jar, &csrf, &[]);
    edge.ports().now.set(NOW + 601);
    let (jar2, csrf2) = signed_in(&edge, &Login::default());
    let cookie = common::cookie_value(&started, "__Host-edgeward-connect").unwrap();
    let res = end(
        &edge,
        "jira",
        &format!("{jar2}; __Host-edgeward-connect={cookie}"),
        &csrf2,
        &format!("code=c&state={}", q["state"]),
    );
    assert_eq!(code(&res), (400, "invalid_state".into()));

    // A tampered connect cookie.
    let (q, started) = start(&edge, "jira", &jar2, &csrf2, &[]);
    let tampered = common::edit(&started, "__Host-edgeward-connect", |v| {
        let mut v = v.to_owned();
        let last = v.pop().unwrap();
        v.push(if last == 'A' { 'B' } else { 'A' });
        v
    });
    let res = end(
        &edge,
        "jira",
        &tampered,
        &csrf2,
        &format!("code=c&state={}", q["state"]),
    );
    assert_eq!(code(&res), (400, "invalid_state".into()));

    assert_eq!(edge.ports().calls_to(&format!("{THIRD}/token")), 0);
    assert!(!every_stored_value(&edge).contains("conn:"));
}

#[test]
fn the_code_exchange_proves_the_verifier_of_the_challenge_sent() {
    let edge = broker_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    let (q, started) = start(&edge, "jira", &jar, &csrf, &[]);
    third_tokens(&edge, "jira-at-1", Some("jira-rt-1"), 3600);
    let res = end(
        &edge,
        "jira",
        &started,
        &csrf,
        &format!("code=c1&state={}", q["state"]),
    );
    assert_eq!(res.status(), 200);
    let exchange = edge.ports().bodies_to(&format!("{THIRD}/token")).remove(0);
    let form: HashMap<String, String> = url::form_urlencoded::parse(exchange.as_bytes())
        .into_owned()
        .collect();
    let verifier = &form["code_verifier"];
    assert!(verifier.len() >= 43);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    assert_eq!(challenge, q["code_challenge"]);
    assert_eq!(
        form["redirect_uri"],
        format!("{ORIGIN}/connections/callback")
    );
    // The connection's own client, authenticated with its secret, not the login's.
    let auth = edge
        .ports()
        .authorizations
        .borrow()
        .iter()
        .rev()
        .find(|a| !a.is_empty())
        .cloned()
        .unwrap();
    assert_eq!(auth, basic("edgeward-at-jira", "jira-client-secret"));
}

#[test]
fn a_tampered_record_is_connection_expired_and_a_down_store_is_503() {
    let edge = broker_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    let jar = connect(&edge, &jar, &csrf, &["mcp"]);
    let shards = edge.ports().shards();
    for store in shards.stores.borrow().values() {
        for (k, v) in store.0.borrow_mut().iter_mut() {
            if k.starts_with("conn:") {
                // The label's tag changed: it is in the associated data.
                *v = v.replacen("\"sealed\":\"3.b1.", "\"sealed\":\"3.b1.x", 1);
            }
        }
    }
    assert_eq!(
        through_proxy(&edge, "GET", &jar, &csrf),
        Err((401, "connection_expired".into()))
    );
    let res = broker_token(
        &edge,
        &basic("mcp", MCP_SECRET),
        &json!({"connection": "jira", "subject": "demo"}),
    );
    assert_eq!(code(&res), (403, "not_granted".into()));
    shards.down.set(true);
    let res = call(
        &edge,
        request("GET", "/auth/connections", &[("cookie", &jar)], ""),
    );
    assert_eq!(code(&res).0, 503);
}

#[test]
fn tokens_too_large_to_seal_are_not_kept() {
    let edge = broker_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    let (q, started) = start(&edge, "jira", &jar, &csrf, &[]);
    let huge = "x".repeat(5000);
    third_tokens(&edge, &huge, Some("jira-rt-1"), 3600);
    let res = end(
        &edge,
        "jira",
        &started,
        &csrf,
        &format!("code=c1&state={}", q["state"]),
    );
    assert_eq!(code(&res), (502, "idp_unavailable".into()));
    assert!(!every_stored_value(&edge).contains("conn:"));
    assert!(!edge.ports().log_text().contains(&huge));
}

#[test]
fn connections_without_the_registry_binding_are_a_configuration_error() {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({}));
    let v = vars();
    let pairs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let edge = Edge::new(config_with(&pairs), ports);
    let (jar, _) = signed_in(&edge, &Login::default());
    let res = call(
        &edge,
        request("GET", "/auth/connections", &[("cookie", &jar)], ""),
    );
    assert_eq!(code(&res), (500, "config_invalid".into()));
    assert!(json(&res)["message"]
        .as_str()
        .unwrap()
        .contains("EDGEWARD_SESSIONS"));
}
