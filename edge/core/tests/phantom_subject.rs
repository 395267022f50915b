//! A session's cookie holds its own user's access token. If the provider's answer about that
//! token names another user (a token planted in the cookie jar, a provider's mix-up), the proxy
//! must not forward it in either exchanging mode: `introspect-mint` refused this since the
//! third review; `introspect-jwt` forwarded the provider's JWT for the other user. Attack first.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{code, config_with, request, signed_in, FakePorts, Login, ISSUER};
use edgeward_core::proxy::phantom::MintKey;
use edgeward_core::{Edge, Outcome};
use jwt_compact::alg::Es256;
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000;
const ROUTES: &str =
    r#"[{"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET"]}]"#;
const MINT: &str = "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
const IDP_KEY: &str = common::IDP_KEY;

fn idp_jwt(claims: &Value) -> String {
    let key = p256::ecdsa::SigningKey::from_slice(&[2u8; 32]).unwrap();
    Es256
        .token(
            &Header::empty().with_key_id("idp"),
            &Claims::new(claims.clone()),
            &key,
        )
        .unwrap()
}

/// A worker in `mode` whose provider says the session's access token belongs to `sub`.
fn edge(mode: &str, sub: &str) -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({}));
    let url = format!("{ISSUER}/token/introspection");
    let facts = json!({"iss": ISSUER, "sub": sub, "exp": NOW + 300, "token_type": "Bearer",
        "client_id": "edgeward"});
    if mode == "introspect-jwt" {
        ports.route_typed(&url, 200, "application/jwt", idp_jwt(&facts));
        ports.route(
            &format!("{ISSUER}/jwks"),
            200,
            MintKey::parse(IDP_KEY).unwrap().jwks_json(),
        );
    } else {
        let mut answer = facts;
        answer["active"] = json!(true);
        ports.route(&url, 200, answer.to_string());
    }
    Edge::new(
        config_with(&[
            ("EDGEWARD_API_ROUTES", ROUTES),
            ("EDGEWARD_MINT_KEY", MINT),
            ("EDGEWARD_PHANTOM_MODE", mode),
        ]),
        ports,
    )
}

fn api(edge: &Edge<FakePorts>, jar: &str) -> Result<(), (u16, String)> {
    let req = request("GET", "/api/orders/1", &[("cookie", jar)], "");
    match futures_executor::block_on(edge.handle(req)) {
        Outcome::Forward(_) => Ok(()),
        Outcome::Respond(r) => Err(code(&r)),
    }
}

#[test]
fn the_session_user_s_own_token_goes_through_in_both_modes() {
    for mode in ["introspect-mint", "introspect-jwt"] {
        let e = edge(mode, "demo");
        let (jar, _) = signed_in(&e, &Login::default());
        assert_eq!(api(&e, &jar), Ok(()), "{mode}");
    }
}

#[test]
fn hostile_a_token_of_another_user_in_the_session_is_never_forwarded() {
    for mode in ["introspect-mint", "introspect-jwt"] {
        let e = edge(mode, "mallory");
        let (jar, _) = signed_in(&e, &Login::default());
        assert_eq!(api(&e, &jar), Err((401, "unauthorized".into())), "{mode}");
        assert!(
            e.ports().log_text().contains("not the session's user"),
            "{mode}: {}",
            e.ports().log_text()
        );
    }
}
