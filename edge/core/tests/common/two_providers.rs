//! Two fake providers, `a` and `b`, each with its own issuer, client and ES256 key, and the
//! `EDGEWARD_PROVIDERS` list that names them: for the suites on several providers
//! (`multi_provider.rs`, `review4_agent_oidc.rs`).

use edgeward_core::proxy::phantom::MintKey;
use edgeward_core::Edge;
use jwt_compact::alg::Es256;
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde_json::{json, Value};

use super::{call, json, request, FakePorts};

pub const NOW: u64 = 1_700_000_000;
pub const A: &str = "http://idp-a.test";
pub const B: &str = "http://idp-b.test";
pub const KEY_A: &str = "ka:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";
pub const KEY_B: &str = "kb:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM";

pub const PROVIDERS: &str = r#"[
    {"id": "a", "name": "Staff", "issuer": "http://idp-a.test", "clientId": "edge-a"},
    {"id": "b", "name": "Customers", "issuer": "http://idp-b.test", "clientId": "edge-b",
     "clientAuth": "client_secret_post"}
]"#;

/// Provider `id`'s issuer, client id and signing key.
pub fn idp(id: &str) -> (&'static str, &'static str, &'static str) {
    match id {
        "a" => (A, "edge-a", KEY_A),
        "b" => (B, "edge-b", KEY_B),
        other => panic!("no provider {other}"),
    }
}

pub fn sign(key: &str, claims: &Value, typ: Option<&str>) -> String {
    use base64::Engine;
    let (kid, secret) = key.split_once(':').unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(secret)
        .unwrap();
    let key = p256::ecdsa::SigningKey::from_slice(&bytes).unwrap();
    let mut header = Header::empty().with_key_id(kid);
    if let Some(typ) = typ {
        header = header.with_token_type(typ);
    }
    Es256
        .token(&header, &Claims::new(claims.clone()), &key)
        .unwrap()
}

/// Serves provider `id`'s discovery (with `extra` members), keys, revocation and
/// introspection.
pub fn serve(ports: &FakePorts, id: &str, extra: Value) {
    let (issuer, client, key) = idp(id);
    let mut discovery = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "end_session_endpoint": format!("{issuer}/end"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "introspection_endpoint": format!("{issuer}/introspect"),
    });
    for (k, v) in extra.as_object().unwrap() {
        discovery[k] = v.clone();
    }
    ports.route(
        &format!("{issuer}/.well-known/openid-configuration"),
        200,
        discovery.to_string(),
    );
    ports.route(
        &format!("{issuer}/jwks"),
        200,
        MintKey::parse(key).unwrap().jwks_json(),
    );
    ports.route(&format!("{issuer}/revoke"), 200, "");
    ports.route(
        &format!("{issuer}/introspect"),
        200,
        json!({"active": true, "sub": "42", "exp": NOW + 3600, "token_type": "Bearer",
               "client_id": client})
        .to_string(),
    );
}

pub fn session(edge: &Edge<FakePorts>, cookies: &str) -> Value {
    json(&call(
        edge,
        request("GET", "/auth/session", &[("cookie", cookies)], ""),
    ))
}

pub fn backchannel(edge: &Edge<FakePorts>, token: &str) -> edgeward_core::Response {
    call(
        edge,
        request(
            "POST",
            "/auth/backchannel-logout",
            &[("content-type", "application/x-www-form-urlencoded")],
            &format!("logout_token={token}"),
        ),
    )
}
