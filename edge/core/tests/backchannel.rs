//! Back-channel logout through `Edge::handle` with fake ports and an in-memory registry: the
//! endpoint, replays, and sessions refused afterwards on every path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{binding, config_with, json, session_cookies, set_cookies, FakePorts, ISSUER, ORIGIN};
use edgeward_core::proxy::phantom::{Introspection, MintKey};
use edgeward_core::Edge;
use jwt_compact::alg::Es256;
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde_json::json;

const NOW: u64 = 1_700_000_000;
const IDP_KEY: &str = "idp:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";

fn signing_key() -> p256::ecdsa::SigningKey {
    use base64::Engine;
    let secret = IDP_KEY.split_once(':').unwrap().1;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(secret)
        .unwrap();
    p256::ecdsa::SigningKey::from_slice(&bytes).unwrap()
}

fn logout_token(jti: &str, sid: Option<&str>, sub: Option<&str>) -> String {
    let mut claims = json!({
        "iss": ISSUER, "aud": "edgeward", "iat": NOW, "jti": jti,
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    });
    if let Some(sid) = sid {
        claims["sid"] = json!(sid);
    }
    if let Some(sub) = sub {
        claims["sub"] = json!(sub);
    }
    let header = Header::empty()
        .with_key_id("idp")
        .with_token_type("logout+jwt");
    Es256
        .token(&header, &Claims::new(claims), &signing_key())
        .unwrap()
}

fn edge(registry: bool) -> Edge<FakePorts> {
    let ports = FakePorts::default().with_discovery();
    ports.now.set(NOW);
    ports.route(
        &format!("{ISSUER}/jwks"),
        200,
        MintKey::parse(IDP_KEY).unwrap().jwks_json(),
    );
    ports.route(
        &format!("{ISSUER}/token/introspection"),
        200,
        serde_json::to_string(&json!({"active": true, "sub": "demo", "exp": NOW + 300})).unwrap(),
    );
    let ports = if registry {
        ports.with_registry()
    } else {
        ports
    };
    let routes =
        r#"[{"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET"]}]"#;
    Edge::new(
        config_with(&[
            ("EDGEWARD_API_ROUTES", routes),
            (
                "EDGEWARD_MINT_KEY",
                "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
            ),
        ]),
        ports,
    )
}

/// The Cookie header of a session of `sub` with IdP session `sid`, begun at NOW.
fn session_cookie(sid: &str, sub: &str) -> String {
    let b = binding(&format!("b-{sid}-{sub}"), sub, Some(sid), NOW);
    session_cookies(&config(), &b, "opaque", None, NOW)
}

fn config() -> edgeward_core::Config {
    config_with(&[])
}

fn post_logout(edge: &Edge<FakePorts>, body: &str) -> (u16, serde_json::Value) {
    let req = common::request(
        "POST",
        "/auth/backchannel-logout",
        &[("content-type", "application/x-www-form-urlencoded")],
        body,
    );
    let res = common::call(edge, req);
    let status = res.status().as_u16();
    let value = if res.body().is_empty() {
        serde_json::Value::Null
    } else {
        json(&res)
    };
    (status, value)
}

fn session(edge: &Edge<FakePorts>, cookie: &str) -> (serde_json::Value, usize) {
    let res = common::call(
        edge,
        common::request("GET", "/auth/session", &[("cookie", cookie)], ""),
    );
    (json(&res), set_cookies(&res).len())
}

#[test]
fn a_logout_token_ends_the_session_it_names_and_only_once() {
    let edge = edge(true);
    let alice = session_cookie("s-1", "demo");
    let other = session_cookie("s-2", "demo");
    assert_eq!(session(&edge, &alice).0["isLoggedIn"], true);

    let token = logout_token("j-1", Some("s-1"), None);
    let (status, _) = post_logout(&edge, &format!("logout_token={token}"));
    assert_eq!(status, 200);
    // The session is over on every path; its cookies are cleared.
    let (body, cleared) = session(&edge, &alice);
    assert_eq!(body["isLoggedIn"], false);
    assert!(cleared >= 4, "the cookies are cleared");
    let api = common::call(
        &edge,
        common::request("GET", "/api/orders/1", &[("cookie", &alice)], ""),
    );
    assert_eq!(api.status(), 401);
    assert_eq!(json(&api)["code"], "session_expired");
    let refresh = common::call(
        &edge,
        common::request(
            "POST",
            "/auth/refresh",
            &[
                ("cookie", &alice),
                ("origin", ORIGIN),
                ("x-edgeward-csrf", "c"),
            ],
            "",
        ),
    );
    assert_eq!(json(&refresh)["code"], "session_expired");
    // Another session of the same user lives on.
    assert_eq!(session(&edge, &other).0["isLoggedIn"], true);

    // The same token again: 400, nothing changes.
    let (status, body) = post_logout(&edge, &format!("logout_token={token}"));
    assert_eq!(status, 400);
    assert_eq!(body["code"], "logout_token_invalid");
    assert_eq!(body["message"], "logout token refused");
    assert!(
        edge.ports().log_text().contains("replay"),
        "the cause is in the log"
    );
    assert_eq!(session(&edge, &other).0["isLoggedIn"], true);

    // By sub: every session of the user begun before it ends.
    let (status, _) = post_logout(
        &edge,
        &format!("logout_token={}", logout_token("j-2", None, Some("demo"))),
    );
    assert_eq!(status, 200);
    assert_eq!(session(&edge, &other).0["isLoggedIn"], false);
}

#[test]
fn refused_logout_tokens_change_nothing() {
    let edge = edge(true);
    let alice = session_cookie("s-1", "demo");
    let forged = {
        let other = MintKey::parse("idp:BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ").unwrap();
        let i: Introspection =
            serde_json::from_value(json!({"active": true, "sub": "demo", "client_id": "edgeward"}))
                .unwrap();
        let random = FakePorts::default();
        other
            .mint(&i, ISSUER, "edgeward", NOW, 60, &random)
            .unwrap()
            .jwt
    };
    for body in [
        String::new(),
        "token=abc".into(),
        "logout_token=not.a.jwt".into(),
        format!("logout_token={forged}"),
    ] {
        let (status, value) = post_logout(&edge, &body);
        assert_eq!(status, 400, "{body}: {value}");
        assert!(
            ["invalid_request", "logout_token_invalid"].contains(&value["code"].as_str().unwrap()),
            "{value}"
        );
    }
    assert_eq!(session(&edge, &alice).0["isLoggedIn"], true);
    let store = edge.ports().registry.borrow().clone().unwrap();
    assert!(store.keys().is_empty(), "nothing recorded");
}

#[test]
fn without_a_registry_the_endpoint_is_off() {
    let edge = edge(false);
    let token = logout_token("j-1", Some("s-1"), None);
    let (status, body) = post_logout(&edge, &format!("logout_token={token}"));
    assert_eq!(status, 404);
    assert_eq!(body["code"], "route_not_found");
}
