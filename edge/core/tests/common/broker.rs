//! The token broker's test fixtures, shared by `tests/broker.rs` and the reviews' attack files:
//! a deployment with two connections (`jira` by discovery, `drive` by endpoints) and two
//! service clients, and the calls that connect, end, proxy and ask `/broker/token`.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use edgeward_core::Edge;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{apply, call, code, config_with, json, request, FakePorts, ORIGIN};
pub const NOW: u64 = 1_700_000_000;
pub const THIRD: &str = "http://third.test";
pub const BROKER_KEYS: &str = "b1:202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
pub const MCP_SECRET: &str = "mcp-secret-with-256-bits-of-randomness-in-real-life";

pub fn hex_sha256(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn connections() -> String {
    json!([{
        "name": "jira", "issuer": THIRD, "clientId": "edgeward-at-jira",
        "clientSecretVar": "EDGEWARD_CONNECTION_SECRET_JIRA",
        "scopes": ["api", "offline_access"], "extraParams": {"prompt": "consent"},
    }, {
        "name": "drive",
        "endpoints": {"authorization": format!("{THIRD}/drive/auth"), "token": format!("{THIRD}/drive/token")},
        "clientId": "edgeward-at-drive", "clientSecretVar": "EDGEWARD_CONNECTION_SECRET_DRIVE",
        "scopes": "files",
    }])
    .to_string()
}

pub fn clients() -> String {
    json!([
        {"clientId": "mcp", "secretSha256": hex_sha256(MCP_SECRET), "connections": ["jira"]},
        {"clientId": "other", "secretSha256": hex_sha256("other-secret"), "connections": ["jira", "drive"]},
    ])
    .to_string()
}

pub fn vars() -> Vec<(&'static str, String)> {
    vec![
        ("EDGEWARD_CONNECTIONS", connections()),
        (
            "EDGEWARD_CONNECTION_SECRET_JIRA",
            "jira-client-secret".into(),
        ),
        (
            "EDGEWARD_CONNECTION_SECRET_DRIVE",
            "drive-client-secret".into(),
        ),
        ("EDGEWARD_BROKER_KEYS", BROKER_KEYS.into()),
        ("EDGEWARD_BROKER_CLIENTS", clients()),
    ]
}

pub const ROUTES: &str = r#"[{"prefix": "/api/jira/", "upstream": "http://jira-api.test/", "methods": ["GET", "POST"], "credential": {"connection": "jira"}},
    {"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET"]}]"#;
pub const MINT: &str = "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";

pub fn broker_edge() -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({})).with_registry();
    ports.route(
        &format!("{THIRD}/.well-known/openid-configuration"),
        200,
        json!({
            "issuer": THIRD,
            "authorization_endpoint": format!("{THIRD}/auth"),
            "token_endpoint": format!("{THIRD}/token"),
            "jwks_uri": format!("{THIRD}/jwks"),
            "revocation_endpoint": format!("{THIRD}/revoke"),
            "introspection_endpoint": format!("{THIRD}/introspect"),
        })
        .to_string(),
    );
    ports.route(&format!("{THIRD}/revoke"), 200, "");
    let mut v = vars();
    v.push(("EDGEWARD_API_ROUTES", ROUTES.into()));
    v.push(("EDGEWARD_MINT_KEY", MINT.into()));
    let pairs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Edge::new(config_with(&pairs), ports)
}

/// `method /api/jira/issues` with `cookies` (and the CSRF header): the bearer forwarded
/// upstream, or the error (status, code).
pub fn through_proxy(
    edge: &Edge<FakePorts>,
    method: &str,
    cookies: &str,
    csrf: &str,
) -> Result<String, (u16, String)> {
    let req = request(
        method,
        "/api/jira/issues",
        &[
            ("cookie", cookies),
            ("origin", ORIGIN),
            ("x-edgeward-csrf", csrf),
        ],
        "",
    );
    match futures_executor::block_on(edge.handle(req)) {
        edgeward_core::Outcome::Forward(f) => {
            assert!(f.headers.get("cookie").is_none());
            assert_eq!(f.url.as_str(), "http://jira-api.test/issues");
            Ok(f.headers["authorization"]
                .to_str()
                .unwrap()
                .strip_prefix("Bearer ")
                .unwrap()
                .to_owned())
        }
        edgeward_core::Outcome::Respond(r) => Err(code(&r)),
    }
}

pub fn json_call(
    edge: &Edge<FakePorts>,
    method: &str,
    path: &str,
    cookies: &str,
    csrf: &str,
    body: &serde_json::Value,
) -> edgeward_core::Response {
    call(
        edge,
        request(
            method,
            path,
            &[
                ("origin", ORIGIN),
                ("x-edgeward-csrf", csrf),
                ("cookie", cookies),
                ("content-type", "application/json"),
            ],
            &body.to_string(),
        ),
    )
}

/// `connection/start`: the authorization URL's query and the connect cookie.
pub fn start(
    edge: &Edge<FakePorts>,
    name: &str,
    cookies: &str,
    csrf: &str,
    grants: &[&str],
) -> (HashMap<String, String>, String) {
    let res = json_call(
        edge,
        "POST",
        &format!("/auth/connections/{name}/start"),
        cookies,
        csrf,
        &json!({ "grants": grants }),
    );
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let url = url::Url::parse(json(&res)["authorizationUrl"].as_str().unwrap()).unwrap();
    let q = url.query_pairs().into_owned().collect();
    (q, apply(cookies, &res))
}

pub fn end(
    edge: &Edge<FakePorts>,
    name: &str,
    cookies: &str,
    csrf: &str,
    query: &str,
) -> edgeward_core::Response {
    json_call(
        edge,
        "POST",
        &format!("/auth/connections/{name}/end"),
        cookies,
        csrf,
        &json!({ "pageUrl": format!("{ORIGIN}/connections/callback?{query}") }),
    )
}

pub fn third_tokens(edge: &Edge<FakePorts>, access: &str, refresh: Option<&str>, expires_in: u64) {
    let mut tokens =
        json!({"access_token": access, "token_type": "Bearer", "expires_in": expires_in});
    if let Some(rt) = refresh {
        tokens["refresh_token"] = json!(rt);
    }
    edge.ports()
        .route(&format!("{THIRD}/token"), 200, tokens.to_string());
}

/// A whole connect that must succeed; the jar after it.
pub fn connect(edge: &Edge<FakePorts>, cookies: &str, csrf: &str, grants: &[&str]) -> String {
    let (q, jar) = start(edge, "jira", cookies, csrf, grants);
    third_tokens(edge, "jira-at-1", Some("jira-rt-1"), 3600);
    let res = end(
        edge,
        "jira",
        &jar,
        csrf,
        &format!("code=c1&state={}", q["state"]),
    );
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    apply(&jar, &res)
}

pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

pub fn broker_token(
    edge: &Edge<FakePorts>,
    auth: &str,
    body: &serde_json::Value,
) -> edgeward_core::Response {
    call(
        edge,
        request(
            "POST",
            "/broker/token",
            &[
                ("authorization", auth),
                ("content-type", "application/json"),
            ],
            &body.to_string(),
        ),
    )
}

pub fn every_stored_value(edge: &Edge<FakePorts>) -> String {
    let shards = edge.ports().shards();
    let stores = shards.stores.borrow();
    stores
        .values()
        .flat_map(|s| {
            s.0.borrow()
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
