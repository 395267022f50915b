//! What real providers other than oidc-provider answer, and what edgeward does with it
//! (`tests/integration/independent-idps.test.mjs` meets the same answers from
//! django-oauth-toolkit and Glewlwyd themselves; README "Providers").
//!
//! - django-oauth-toolkit lists its introspection and revocation endpoints only in its OAuth 2
//!   metadata (`<issuer>/.well-known/oauth-authorization-server`), not in its OpenID
//!   discovery: the worker reads them from there, so the proxy can introspect and logout
//!   revokes.
//! - django-oauth-toolkit's introspection answer has no `sub`: the minted token's subject is
//!   the session's user, not the client.
//! - Glewlwyd answers a rotated refresh token presented again with a 400 and an empty body:
//!   the session ends, as with `invalid_grant`.
//! - Glewlwyd answers introspection with a JWT only when `Accept` is exactly one JWT type; to
//!   the worker's list of both it answers JSON. The worker then asks once more for
//!   `application/jwt` alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{
    call, code, config_with, edge_in_mode, refresh, request, signed_in, FakePorts, Login, ISSUER,
    ORIGIN,
};
use edgeward_core::sessions::{coordinated_refresh, RefreshFlights};
use edgeward_core::{Edge, Outcome};
use serde_json::json;

const NOW: u64 = 1_700_000_000;
const ROUTES: &str =
    r#"[{"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET"]}]"#;
const MINT: &str = "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";

/// An edge whose provider publishes introspection and revocation only in its OAuth 2 metadata,
/// as django-oauth-toolkit does; `metadata` is that document.
fn dot_like_edge(metadata: serde_json::Value) -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({
        "introspection_endpoint": null,
        "revocation_endpoint": null,
    }));
    ports.route(
        &format!("{ISSUER}/.well-known/oauth-authorization-server"),
        200,
        metadata.to_string(),
    );
    ports.route(
        &format!("{ISSUER}/o/introspect/"),
        200,
        json!({"active": true, "scope": "openid", "exp": NOW + 300, "client_id": "edgeward",
            "username": "demo"})
        .to_string(),
    );
    ports.route(&format!("{ISSUER}/o/revoke_token/"), 200, "");
    Edge::new(
        config_with(&[
            ("EDGEWARD_API_ROUTES", ROUTES),
            ("EDGEWARD_MINT_KEY", MINT),
            ("EDGEWARD_TOKEN_TYPES", "Bearer,none"),
        ]),
        ports,
    )
}

fn dot_metadata(issuer: &str) -> serde_json::Value {
    json!({
        "issuer": issuer,
        "introspection_endpoint": format!("{ISSUER}/o/introspect/"),
        "revocation_endpoint": format!("{ISSUER}/o/revoke_token/"),
    })
}

/// `GET /api/orders/1` with `cookies`: the minted token's claims, or the error.
fn api_claims(edge: &Edge<FakePorts>, cookies: &str) -> Result<serde_json::Value, (u16, String)> {
    let req = request("GET", "/api/orders/1", &[("cookie", cookies)], "");
    match futures_executor::block_on(edge.handle(req)) {
        Outcome::Forward(f) => {
            let bearer = f.headers["authorization"].to_str().unwrap().to_owned();
            let payload = bearer.split('.').nth(1).unwrap();
            Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap())
        }
        Outcome::Respond(r) => Err(code(&r)),
    }
}

fn logout(edge: &Edge<FakePorts>, cookies: &str, csrf: &str) -> u16 {
    let res = call(
        edge,
        request(
            "POST",
            "/auth/logout",
            &[
                ("origin", ORIGIN),
                ("x-edgeward-csrf", csrf),
                ("cookie", cookies),
                ("content-type", "application/json"),
            ],
            "{}",
        ),
    );
    res.status().as_u16()
}

#[test]
fn introspection_and_revocation_are_read_from_the_oauth_metadata_when_discovery_omits_them() {
    let edge = dot_like_edge(dot_metadata(ISSUER));
    let (jar, csrf) = signed_in(&edge, &Login::default());
    let claims = api_claims(&edge, &jar).expect("the proxy introspects");
    assert_eq!(claims["iss"], ORIGIN);
    assert_eq!(edge.ports().calls_to(&format!("{ISSUER}/o/introspect/")), 1);
    assert_eq!(logout(&edge, &jar, &csrf), 200);
    assert_eq!(
        edge.ports().bodies_to(&format!("{ISSUER}/o/revoke_token/")),
        vec!["token=opaque-rt&token_type_hint=refresh_token".to_owned()],
        "logout revoked the refresh token"
    );
}

#[test]
fn oauth_metadata_that_names_another_issuer_is_not_used() {
    // The document at the provider's well-known address must be the provider's own (RFC 8414
    // §3.3): one naming another issuer lends it no endpoint.
    let edge = dot_like_edge(dot_metadata("https://evil.example"));
    let (jar, csrf) = signed_in(&edge, &Login::default());
    assert_eq!(
        api_claims(&edge, &jar),
        Err((502, "idp_unavailable".into()))
    );
    assert_eq!(edge.ports().calls_to(&format!("{ISSUER}/o/introspect/")), 0);
    assert_eq!(logout(&edge, &jar, &csrf), 200, "logout still signs out");
    assert_eq!(
        edge.ports().calls_to(&format!("{ISSUER}/o/revoke_token/")),
        0
    );
}

#[test]
fn an_introspection_answer_without_sub_is_minted_for_the_sessions_user() {
    let edge = dot_like_edge(dot_metadata(ISSUER));
    let (jar, _) = signed_in(
        &edge,
        &Login {
            sub: "42",
            ..Default::default()
        },
    );
    let claims = api_claims(&edge, &jar).unwrap();
    assert_eq!(claims["sub"], "42", "the session's user, not the client");
    assert_eq!(claims["client_id"], "edgeward");
}

fn route_token(edge: &Edge<FakePorts>, status: u16, body: &str) {
    edge.ports()
        .route(&format!("{ISSUER}/token"), status, body.to_owned());
}

/// A stateless edge whose provider has the quirks named.
fn edge_with_quirks(quirks: &str) -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({})).with_registry();
    Edge::new(config_with(&[("OIDC_QUIRKS", quirks)]), ports)
}

#[test]
fn an_empty_400_to_a_refresh_ends_the_session_like_invalid_grant_where_the_quirk_is_named() {
    // Glewlwyd's answer to a rotated refresh token presented again.
    let edge = edge_with_quirks("bare-400-is-invalid-grant");
    let (jar, csrf) = signed_in(&edge, &Login::default());
    route_token(&edge, 400, "");
    assert_eq!(
        code(&refresh(&edge, &jar, &csrf)),
        (401, "session_expired".into())
    );
    // Ended for good: a working token endpoint does not bring it back.
    route_token(
        &edge,
        200,
        r#"{"access_token": "new-at", "expires_in": 300, "refresh_token": "new-rt"}"#,
    );
    assert_eq!(
        code(&refresh(&edge, &jar, &csrf)),
        (401, "session_expired".into())
    );
}

#[test]
fn without_the_quirk_an_empty_400_is_the_provider_failing() {
    // A gateway in front of the provider answering bare 400s must not end every session.
    let edge = edge_in_mode("stateless", NOW);
    let (jar, csrf) = signed_in(&edge, &Login::default());
    route_token(&edge, 400, "");
    let res = refresh(&edge, &jar, &csrf);
    assert_eq!(code(&res), (502, "idp_unavailable".into()));
    assert!(res.headers().get_all("set-cookie").iter().next().is_none());
    route_token(
        &edge,
        200,
        r#"{"access_token": "new-at", "expires_in": 300, "refresh_token": "new-rt"}"#,
    );
    assert_eq!(
        refresh(&edge, &jar, &csrf).status(),
        204,
        "the session lived on"
    );
}

#[test]
fn an_unknown_quirk_is_a_configuration_error_naming_the_variable() {
    let err = common::config_result(&[("OIDC_QUIRKS", "bare-400")]).unwrap_err();
    assert_eq!(err.variable, "OIDC_QUIRKS");
    assert!(
        err.reason.contains("bare-400-is-invalid-grant"),
        "{}",
        err.reason
    );
}

#[test]
fn a_400_with_another_body_or_an_empty_answer_of_another_status_keeps_the_session() {
    for (status, body) in [
        (400, "<html><body>Bad Request</body></html>"),
        (400, "{}"),
        (401, ""),
        (403, ""),
        (429, ""),
        (500, ""),
    ] {
        let edge = edge_with_quirks("bare-400-is-invalid-grant");
        let (jar, csrf) = signed_in(&edge, &Login::default());
        route_token(&edge, status, body);
        let res = refresh(&edge, &jar, &csrf);
        assert_eq!(
            code(&res),
            (502, "idp_unavailable".into()),
            "{status} {body:?}"
        );
        assert!(
            res.headers().get_all("set-cookie").iter().next().is_none(),
            "{status} {body:?}: the cookies stay"
        );
    }
}

#[test]
fn the_coordinator_shares_an_empty_400_as_the_refusal_it_is() {
    let edge = Rc::new(edge_with_quirks("bare-400-is-invalid-grant"));
    let flights = RefreshFlights::default();
    let ask = |token: &str| {
        futures_executor::block_on(coordinated_refresh(
            Rc::clone(&edge),
            &flights,
            token.to_owned(),
        ))
    };
    route_token(&edge, 400, "");
    let first = ask("rt-reused");
    assert_eq!(first.status().as_u16(), 400);
    route_token(
        &edge,
        200,
        r#"{"access_token": "new-at", "expires_in": 300, "refresh_token": "new-rt"}"#,
    );
    assert_eq!(
        ask("rt-reused").status().as_u16(),
        400,
        "kept for the grace window, like invalid_grant"
    );
}

#[test]
fn introspect_jwt_asks_again_for_one_type_when_the_list_was_answered_with_json() {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({}));
    let url = format!("{ISSUER}/token/introspection");
    let audience = "openid profile email offline_access";
    let facts = json!({"iss": ISSUER, "sub": "demo", "client_id": "edgeward", "aud": audience,
        "token_type": "bearer", "active": true, "scope": audience, "iat": NOW, "nbf": NOW,
        "exp": NOW + 300});
    // Glewlwyd: JSON to the list, the flat JWT to `application/jwt` alone.
    ports.route_for_accept(
        &url,
        edgeward_core::proxy::phantom::JWT_ACCEPT,
        200,
        "application/json",
        facts.to_string(),
    );
    let jwt = common::idp_sign(&facts, Some("token-introspection+jwt"));
    ports.route_for_accept(&url, "application/jwt", 200, "application/jwt", jwt.clone());
    let routes = format!(
        r#"[{{"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET"],
            "acceptAudiences": ["{audience}"]}}]"#
    );
    let edge = Edge::new(
        config_with(&[
            ("EDGEWARD_API_ROUTES", &routes),
            ("EDGEWARD_PHANTOM_MODE", "introspect-jwt"),
        ]),
        ports,
    );
    let (jar, _) = signed_in(&edge, &Login::default());
    let req = request("GET", "/api/orders/1", &[("cookie", &jar)], "");
    match futures_executor::block_on(edge.handle(req)) {
        Outcome::Forward(f) => {
            assert_eq!(f.headers["authorization"], format!("Bearer {jwt}"));
        }
        Outcome::Respond(r) => panic!("{:?}", code(&r)),
    }
    assert_eq!(edge.ports().calls_to(&url), 2, "the list, then one type");

    // An inactive token is refused at the first answer, without a second call.
    edge.ports().route_for_accept(
        &url,
        edgeward_core::proxy::phantom::JWT_ACCEPT,
        200,
        "application/json",
        r#"{"active": false}"#,
    );
    let (jar, _) = signed_in(
        &edge,
        &Login {
            access: "another-at",
            ..Default::default()
        },
    );
    let req = request("GET", "/api/orders/1", &[("cookie", &jar)], "");
    match futures_executor::block_on(edge.handle(req)) {
        Outcome::Forward(_) => panic!("an inactive token was forwarded"),
        Outcome::Respond(r) => assert_eq!(code(&r), (401, "unauthorized".into())),
    }
    assert_eq!(edge.ports().calls_to(&url), 3);
}
