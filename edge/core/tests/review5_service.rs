//! Review 5 (issue 16 as merged): service-client tokens of the wrong kind, through
//! `Edge::handle` with fake ports (helpers copied from `service_clients.rs`).
//!
//! HELD: the IdP's own signature on every token below, so only the header's `typ` decides:
//! RFC 9068's two spellings (any case) are access tokens; an ID token (`JWT`), a token without
//! `typ`, a `typ` with a space or a suffix, a logout token, a PoP proof's type, are refused
//! unread (401 invalid_token, nothing introspected, nothing cached); an opaque refresh token
//! whose introspection says `refresh_token` is refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unused_imports
)]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{config_with, idp_sign, json, FakePorts, ISSUER, ORIGIN};
use edgeward_core::proxy::phantom::MintKey;
use edgeward_core::{Edge, Outcome};
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::AlgorithmExt;
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000;
const AUDIENCE: &str = "http://orders.test";
const ROUTES: &str = r#"[
    {"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET", "POST"], "clients": ["service"], "scope": "orders:read"},
    {"prefix": "/api/open/", "upstream": "http://orders.test/open/", "methods": ["GET"], "clients": ["browser", "service"]},
    {"prefix": "/api/web/", "upstream": "http://orders.test/web/", "methods": ["GET"]}
]"#;
const MINT: &str = "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
/// Another ES256 key that also calls itself `idp`.
const ROGUE_KEY: &str = "idp:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM";
const OPAQUE: &str = "opaque-service-token";

fn introspection_url() -> String {
    format!("{ISSUER}/token/introspection")
}

fn jwks_url() -> String {
    format!("{ISSUER}/jwks")
}

/// An edge with the routes above, `batch` an accepted client, `extra` variables, the IdP's
/// JWKS, and an introspection endpoint answering `answer`.
fn edge_with(extra: &[(&str, &str)], answer: &Value) -> Edge<FakePorts> {
    let mut vars = vec![
        ("EDGEWARD_API_ROUTES", ROUTES),
        ("EDGEWARD_MINT_KEY", MINT),
        ("EDGEWARD_TOKEN_CLIENT_IDS", "batch"),
    ];
    vars.extend_from_slice(extra);
    let ports = FakePorts::default().with_discovery();
    ports.now.set(NOW);
    ports.route(
        &jwks_url(),
        200,
        MintKey::parse(common::IDP_KEY).unwrap().jwks_json(),
    );
    ports.route(&introspection_url(), 200, answer.to_string());
    Edge::new(config_with(&vars), ports)
}

fn edge() -> Edge<FakePorts> {
    edge_with(&[], &good_answer())
}

/// What a client-credentials JWT access token of `batch` for the orders API says.
fn good_claims() -> Value {
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "batch", "client_id": "batch",
        "scope": "orders:read orders:write", "exp": NOW + 300, "iat": NOW - 5,
        "jti": "j-1",
    })
}

/// The introspection answer for the same token, opaque.
fn good_answer() -> Value {
    json!({
        "active": true, "iss": ISSUER, "aud": AUDIENCE, "client_id": "batch",
        "scope": "orders:read", "exp": NOW + 300, "token_type": "Bearer",
    })
}

/// `value` with `changes` laid over it (`null` removes a member).
fn with(value: &Value, changes: Value) -> Value {
    let mut out = value.clone();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            out.as_object_mut().unwrap().remove(k);
        } else {
            out[k] = v.clone();
        }
    }
    out
}

fn at_jwt(claims: &Value) -> String {
    idp_sign(claims, Some("at+jwt"))
}

/// A JWT with this header and no signature check possible: `alg: none`.
fn unsigned(claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        part(&json!({"alg": "none", "typ": "at+jwt", "kid": "idp"})),
        part(claims)
    )
}

/// HS256 keyed with the IdP's public key as the secret (the classic confusion).
fn hmac_signed(claims: &Value) -> String {
    let secret = MintKey::parse(common::IDP_KEY).unwrap().jwks_json();
    let key = Hs256Key::new(secret.as_bytes());
    let header = jwt_compact::Header::empty()
        .with_key_id("idp")
        .with_token_type("at+jwt");
    Hs256
        .token(&header, &jwt_compact::Claims::new(claims.clone()), &key)
        .unwrap()
}

fn rogue_signed(claims: &Value) -> String {
    let secret = ROGUE_KEY.split_once(':').unwrap().1;
    let key =
        p256::ecdsa::SigningKey::from_slice(&URL_SAFE_NO_PAD.decode(secret).unwrap()).unwrap();
    let header = jwt_compact::Header::empty()
        .with_key_id("idp")
        .with_token_type("at+jwt");
    jwt_compact::alg::Es256
        .token(&header, &jwt_compact::Claims::new(claims.clone()), &key)
        .unwrap()
}

/// What the edge did with a request: the bearer forwarded, or (status, code, challenge).
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Forwarded(String),
    Refused(u16, String, Option<String>),
}

fn send(edge: &Edge<FakePorts>, path: &str, headers: &[(&str, &str)]) -> Answer {
    let req = common::request("GET", path, headers, "");
    match futures_executor::block_on(edge.handle(req)) {
        Outcome::Forward(f) => Answer::Forwarded(
            f.headers["authorization"]
                .to_str()
                .unwrap()
                .strip_prefix("Bearer ")
                .unwrap()
                .to_owned(),
        ),
        Outcome::Respond(r) => {
            let challenge = r
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            Answer::Refused(
                r.status().as_u16(),
                json(&r)["code"].as_str().unwrap().to_owned(),
                challenge,
            )
        }
    }
}

fn bearer(edge: &Edge<FakePorts>, path: &str, token: &str) -> Answer {
    send(edge, path, &[("authorization", &format!("Bearer {token}"))])
}

fn invalid_token() -> Answer {
    Answer::Refused(
        401,
        "invalid_token".into(),
        Some(r#"Bearer error="invalid_token""#.into()),
    )
}

fn payload(jwt: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

fn header(jwt: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn only_an_access_token_type_is_taken_for_an_access_token() {
    let claims = good_claims();
    let accepted = [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/AT+JWT",
    ];
    for typ in accepted {
        let e = edge();
        let token = idp_sign(&claims, Some(typ));
        assert!(
            matches!(bearer(&e, "/api/orders/1", &token), Answer::Forwarded(_)),
            "{typ}"
        );
    }
    let refused: [Option<&str>; 8] = [
        Some("JWT"),
        None,
        Some("at+jwt "),
        Some(" at+jwt"),
        Some("at+jwt;x"),
        Some("logout+jwt"),
        Some("edgeward-pop+jwt"),
        Some("token-introspection+jwt"),
    ];
    for typ in refused {
        let e = edge();
        let token = idp_sign(&claims, typ);
        assert_eq!(
            bearer(&e, "/api/orders/1", &token),
            invalid_token(),
            "{typ:?}"
        );
        assert_eq!(e.ports().calls_to(&introspection_url()), 0, "{typ:?}");
        assert!(e.phantom_cache().is_empty(), "{typ:?}");
    }
    // An opaque refresh token: the introspection answer says so.
    for kind in ["refresh_token", "Refresh"] {
        let e = edge_with(&[], &with(&good_answer(), json!({"token_type": kind})));
        assert_eq!(
            bearer(&e, "/api/orders/1", OPAQUE),
            invalid_token(),
            "{kind}"
        );
        assert!(e.phantom_cache().is_empty(), "{kind}");
    }
}
