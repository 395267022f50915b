//! What an introspection answer must say before its token becomes a JWT for an API (issue 12,
//! item 4): an access token, for this API or this client, of this issuer, valid now, of a client
//! on the allow-list. Each refused answer is tried through `Edge::handle` with a fake IdP, in
//! `introspect-mint` (RFC 7662 JSON) and in `introspect-jwt` (Curity's top-level claims and RFC
//! 9701's nested `token_introspection`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{config_with, json, FakePorts, ISSUER};
use edgeward_core::proxy::phantom::MintKey;
use edgeward_core::{Edge, Outcome};
use jwt_compact::alg::Es256;
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000;
/// One route; its audience defaults to the upstream's origin, `http://orders.test`.
const ROUTES: &str = r#"[{"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET"], "clients": ["browser", "service"]}]"#;
const AUDIENCE: &str = "http://orders.test";
const MINT: &str = "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
/// The IdP's signing key in `introspect-jwt` mode: 32 bytes of 0x02.
const IDP_KEY: &str = "idp:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";
const TOKEN: &str = "opaque-token-presented";

fn introspection_url() -> String {
    format!("{ISSUER}/token/introspection")
}

/// What oidc-provider answers about the worker's own access token (RFC 7662).
fn access_token_answer() -> Value {
    json!({
        "active": true, "sub": "demo", "client_id": "edgeward", "scope": "openid",
        "exp": NOW + 300, "iat": NOW, "iss": ISSUER, "sid": "s-1", "token_type": "Bearer",
    })
}

/// `answer` with `changes` laid over it (`null` removes a member).
fn with(answer: &Value, changes: Value) -> Value {
    let mut out = answer.clone();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            out.as_object_mut().unwrap().remove(k);
        } else {
            out[k] = v.clone();
        }
    }
    out
}

/// An edge with bearer pass-through on (how other clients' tokens come in), `extra` variables,
/// and an IdP whose introspection answers `body` with `content_type`.
fn edge(extra: &[(&str, &str)], content_type: &str, body: String) -> Edge<FakePorts> {
    let mut vars = vec![("EDGEWARD_API_ROUTES", ROUTES), ("EDGEWARD_MINT_KEY", MINT)];
    vars.extend_from_slice(extra);
    let ports = FakePorts::default().with_discovery();
    ports.now.set(NOW);
    ports.route_typed(&introspection_url(), 200, content_type, body);
    ports.route(
        &format!("{ISSUER}/jwks"),
        200,
        MintKey::parse(IDP_KEY).unwrap().jwks_json(),
    );
    Edge::new(config_with(&vars), ports)
}

fn mint_edge(answer: &Value) -> Edge<FakePorts> {
    edge(&[], "application/json", answer.to_string())
}

fn jwt_edge(claims: &Value) -> Edge<FakePorts> {
    edge(
        &[("EDGEWARD_PHANTOM_MODE", "introspect-jwt")],
        "application/jwt",
        idp_jwt(claims),
    )
}

/// `claims` signed as the IdP signs its introspection JWTs (ES256, kid `idp`).
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

/// `GET /api/orders/1` with `Authorization: Bearer TOKEN`: the JWT forwarded, or the error code.
fn call(edge: &Edge<FakePorts>) -> Result<String, String> {
    call_with(edge, TOKEN)
}

fn call_with(edge: &Edge<FakePorts>, token: &str) -> Result<String, String> {
    let bearer = format!("Bearer {token}");
    let req = common::request("GET", "/api/orders/1", &[("authorization", &bearer)], "");
    match futures_executor::block_on(edge.handle(req)) {
        Outcome::Forward(f) => Ok(f.headers["authorization"]
            .to_str()
            .unwrap()
            .trim_start_matches("Bearer ")
            .to_owned()),
        Outcome::Respond(r) => Err(json(&r)["code"].as_str().unwrap().to_owned()),
    }
}

/// What is wrong with how `edge` treated the token, if anything: it must refuse with 401
/// `invalid_token` (a service client's token, RFC 6750), cache
/// nothing, and log `why` (never the token itself).
fn refusal_problem(edge: &Edge<FakePorts>, why: &str) -> Option<String> {
    match call(edge) {
        Err(code) if code == "invalid_token" => {}
        Ok(jwt) => return Some(format!("minted/forwarded {}…", &jwt[..jwt.len().min(24)])),
        Err(code) => return Some(format!("answered {code}, not invalid_token")),
    }
    if !(edge.phantom_cache().is_empty() && edge.ports().shared.borrow().is_empty()) {
        return Some("the refusal was cached".into());
    }
    let log = edge.ports().log_text();
    if !log.contains(why) || log.contains(TOKEN) {
        return Some(format!(
            "the log should name {why:?} and not the token: {log:?}"
        ));
    }
    None
}

/// Asserts that no case had a problem; lists every one that had.
fn assert_all(problems: Vec<String>) {
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

fn assert_refused(edge: &Edge<FakePorts>, case: &str, why: &str) {
    if let Some(problem) = refusal_problem(edge, why) {
        panic!("{case}: {problem}");
    }
}

/// The answers that describe something other than an access token of ours, for this API, valid
/// now: each with the cause the log must name.
fn refused_answers() -> Vec<(&'static str, Value, &'static str)> {
    let at = access_token_answer();
    vec![
        (
            // oidc-provider's answer for a refresh token: the same, without token_type.
            "a refresh token (oidc-provider: no token_type)",
            with(&at, json!({"token_type": null, "exp": NOW + 86_400})),
            "token_type",
        ),
        (
            "a refresh token (token_type refresh_token)",
            with(&at, json!({"token_type": "refresh_token"})),
            "token_type",
        ),
        (
            "an ID token by its type",
            with(
                &at,
                json!({"token_type": "urn:ietf:params:oauth:token-type:id_token"}),
            ),
            "token_type",
        ),
        (
            "a refresh token (token_use)",
            with(&at, json!({"token_use": "refresh_token"})),
            "token_use",
        ),
        (
            "a sender-constrained token (DPoP)",
            with(&at, json!({"token_type": "DPoP", "cnf": {"jkt": "abc"}})),
            "token_type",
        ),
        (
            "a sender-constrained token (cnf with a bearer type)",
            with(&at, json!({"cnf": {"x5t#S256": "abc"}})),
            "cnf",
        ),
        (
            "a token for another API",
            with(&at, json!({"aud": "https://billing.test"})),
            "audience",
        ),
        (
            "a token for other APIs (a list)",
            with(
                &at,
                json!({"aud": ["https://billing.test", "https://hr.test"]}),
            ),
            "audience",
        ),
        (
            "a token of another client",
            with(&at, json!({"client_id": "other-client"})),
            "client",
        ),
        (
            "a token that names no client",
            with(&at, json!({"client_id": null})),
            "client",
        ),
        (
            "a token of another issuer",
            with(&at, json!({"iss": "https://evil.example"})),
            "issuer",
        ),
        (
            "a token not valid yet",
            with(&at, json!({"nbf": NOW + 3600})),
            "nbf",
        ),
    ]
}

/// Answers that must still pass.
fn accepted_answers() -> Vec<(&'static str, Value)> {
    let at = access_token_answer();
    vec![
        ("the worker's own access token", at.clone()),
        (
            "token_type in lower case",
            with(&at, json!({"token_type": "bearer"})),
        ),
        ("for this API", with(&at, json!({"aud": AUDIENCE}))),
        (
            "for this API among others",
            with(&at, json!({"aud": ["https://billing.test", AUDIENCE]})),
        ),
        (
            "for the worker's client id (Curity's default aud)",
            with(&at, json!({"aud": "edgeward"})),
        ),
        ("no iss", with(&at, json!({"iss": null}))),
        (
            "nbf within the clock-skew leeway",
            with(&at, json!({"nbf": NOW + 30})),
        ),
        (
            "token_use says access_token",
            with(&at, json!({"token_use": "access_token"})),
        ),
    ]
}

#[test]
fn introspect_mint_refuses_what_is_not_an_access_token_for_this_api() {
    let mut problems = Vec::new();
    for (case, answer, why) in refused_answers() {
        if let Some(p) = refusal_problem(&mint_edge(&answer), why) {
            problems.push(format!("{case}: {p}"));
        }
    }
    for (case, answer) in accepted_answers() {
        let edge = mint_edge(&answer);
        if let Err(e) = call(&edge) {
            problems.push(format!(
                "{case}: refused ({e}): {}",
                edge.ports().log_text()
            ));
        }
    }
    assert_all(problems);
}

/// The top-level claims of a Curity-style introspection JWT for the same token.
fn curity_claims(answer: &Value) -> Value {
    // The token's own claims at the top level, `active` implied; the JWT always names its
    // issuer (a foreign one there is tested in proxy.rs: 502, not the IdP's answer).
    let iss = answer.get("iss").cloned().unwrap_or(json!(ISSUER));
    let aud = answer.get("aud").cloned().unwrap_or(json!(AUDIENCE));
    with(answer, json!({"active": null, "iss": iss, "aud": aud}))
}

#[test]
fn introspect_jwt_refuses_the_same_in_both_answer_styles() {
    let mut problems = Vec::new();
    for (case, answer, why) in refused_answers() {
        // At the top level a foreign iss means the JWT is not our IdP's answer (502, tested in
        // proxy.rs); introspect-jwt asks for client_id only when the allow-list is set (below).
        if case != "a token of another issuer" && case != "a token that names no client" {
            if let Some(p) = refusal_problem(&jwt_edge(&curity_claims(&answer)), why) {
                problems.push(format!("Curity style: {case}: {p}"));
            }
        }
        if case != "a token that names no client" {
            // RFC 9701: the RFC 7662 answer nested, the JWT itself addressed to us.
            let claims = json!({"iss": ISSUER, "aud": "edgeward", "iat": NOW, "token_introspection": answer});
            if let Some(p) = refusal_problem(&jwt_edge(&claims), why) {
                problems.push(format!("RFC 9701: {case}: {p}"));
            }
        }
    }
    for (case, answer) in accepted_answers() {
        for claims in [
            curity_claims(&answer),
            json!({"iss": ISSUER, "aud": "edgeward", "iat": NOW, "token_introspection": answer}),
        ] {
            let edge = jwt_edge(&claims);
            match call(&edge) {
                Ok(jwt) if jwt == idp_jwt(&claims) => {}
                Ok(_) => problems.push(format!("{case}: not forwarded as it came")),
                Err(e) => problems.push(format!(
                    "{case}: refused ({e}): {}",
                    edge.ports().log_text()
                )),
            }
        }
    }
    // An introspection JWT that is itself not valid yet.
    let at = curity_claims(&access_token_answer());
    if let Some(p) = refusal_problem(&jwt_edge(&with(&at, json!({"nbf": NOW + 3600}))), "nbf") {
        problems.push(format!("the JWT's own nbf: {p}"));
    }
    assert_all(problems);
}

#[test]
fn client_ids_beyond_the_workers_own_only_from_the_allow_list() {
    let at = access_token_answer();
    let cli = with(&at, json!({"client_id": "cli-app"}));
    let listed = [("EDGEWARD_TOKEN_CLIENT_IDS", "cli-app, batch")];
    // Listed: accepted; the worker's own client stays accepted.
    let e = edge(&listed, "application/json", cli.to_string());
    assert!(call(&e).is_ok(), "{}", e.ports().log_text());
    let e = edge(&listed, "application/json", at.to_string());
    assert!(call(&e).is_ok(), "{}", e.ports().log_text());
    // Not listed: refused.
    let other = with(&at, json!({"client_id": "intruder"}));
    assert_refused(
        &edge(&listed, "application/json", other.to_string()),
        "not on the list",
        "client",
    );
    // introspect-jwt: without a list, an answer that names no client passes (Curity's access
    // tokens need not carry client_id); with a list it must name a listed one.
    let unnamed = curity_claims(&with(&at, json!({"client_id": null})));
    let jwt_mode = ("EDGEWARD_PHANTOM_MODE", "introspect-jwt");
    let e = edge(&[jwt_mode], "application/jwt", idp_jwt(&unnamed));
    assert!(call(&e).is_ok(), "{}", e.ports().log_text());
    assert_refused(
        &edge(&[jwt_mode, listed[0]], "application/jwt", idp_jwt(&unnamed)),
        "introspect-jwt, list set, no client_id",
        "client",
    );
}

/// The header and claims of a compact JWT, unverified.
fn parts(jwt: &str) -> (Value, Value) {
    let mut it = jwt.split('.');
    let mut part =
        || serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
    (part(), part())
}

#[test]
fn minted_tokens_are_rfc_9068_access_tokens() {
    let edge = mint_edge(&access_token_answer());
    let jwt = call(&edge).unwrap();
    let (header, claims) = parts(&jwt);
    assert_eq!(header["typ"], "at+jwt", "{header}");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], "m1");
    for name in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti", "nbf"] {
        assert!(claims.get(name).is_some(), "{name} in {claims}");
    }
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["client_id"], "edgeward");
    assert_eq!(claims["nbf"], NOW);
    assert_eq!(claims["iat"], NOW);
    let jti = claims["jti"].as_str().unwrap();
    assert!(
        URL_SAFE_NO_PAD.decode(jti).unwrap().len() >= 16,
        "jti {jti}: 16 random bytes or more"
    );
    // The cached token is the same token (same jti) until it expires; another token is minted
    // with a jti of its own.
    assert_eq!(call(&edge).unwrap(), jwt);
    let (_, other) = parts(&call_with(&edge, "another-opaque-token").unwrap());
    assert_ne!(other["jti"], claims["jti"]);
    // A token without sub (client credentials) is minted with the client as its subject.
    let service = with(&access_token_answer(), json!({"sub": null}));
    let (_, claims) = parts(&call(&mint_edge(&service)).unwrap());
    assert_eq!(claims["sub"], "edgeward");
}

/// Two routes to one API (same audience): `/api/a/` also accepts tokens for
/// `https://partner.test`, `/api/b/` does not.
const TWO_ROUTES: &str = r#"[
    {"prefix": "/api/a/", "upstream": "http://orders.test/a/", "methods": ["GET"], "acceptAudiences": ["https://partner.test"], "clients": ["service"]},
    {"prefix": "/api/b/", "upstream": "http://orders.test/b/", "methods": ["GET"], "clients": ["service"]}
]"#;

fn get_path(edge: &Edge<FakePorts>, path: &str) -> Result<(), String> {
    let bearer = format!("Bearer {TOKEN}");
    let req = common::request("GET", path, &[("authorization", &bearer)], "");
    match futures_executor::block_on(edge.handle(req)) {
        Outcome::Forward(_) => Ok(()),
        Outcome::Respond(r) => Err(json(&r)["code"].as_str().unwrap().to_owned()),
    }
}

#[test]
fn accept_audiences_per_route_and_no_cache_entry_crosses_routes() {
    let partner = with(
        &access_token_answer(),
        json!({"aud": "https://partner.test"}),
    );
    let routes = ("EDGEWARD_API_ROUTES", TWO_ROUTES);
    let e = edge(&[routes], "application/json", partner.to_string());
    assert_eq!(get_path(&e, "/api/a/1"), Ok(()), "{}", e.ports().log_text());
    // Same audience, same token, stricter route: not served from either cache tier.
    assert_eq!(get_path(&e, "/api/b/1"), Err("invalid_token".into()));
    assert_eq!(e.ports().calls_to(&introspection_url()), 2);
    // Listed audiences come on top of the route's own; the worker's client id is then no longer
    // accepted on that route (it is on the other).
    for (aud, a, b) in [
        (AUDIENCE, Ok(()), Ok(())),
        ("edgeward", Err("invalid_token"), Ok(())),
    ] {
        let answer = with(&access_token_answer(), json!({"aud": aud}));
        let e = edge(&[routes], "application/json", answer.to_string());
        assert_eq!(get_path(&e, "/api/a/1"), a.map_err(str::to_owned), "{aud}");
        assert_eq!(get_path(&e, "/api/b/1"), b.map_err(str::to_owned), "{aud}");
    }
}

#[test]
fn a_shared_entry_made_under_other_rules_is_not_served() {
    let cli = with(&access_token_answer(), json!({"client_id": "cli-app"}));
    let a = edge(
        &[("EDGEWARD_TOKEN_CLIENT_IDS", "cli-app")],
        "application/json",
        cli.to_string(),
    );
    assert!(call(&a).is_ok());
    // The same location after a deployment that no longer lists the client.
    let b = edge(&[], "application/json", cli.to_string());
    b.ports().shared.replace(a.ports().shared.borrow().clone());
    assert_eq!(call(&b), Err("invalid_token".into()));
    assert_eq!(b.ports().calls_to(&introspection_url()), 1, "asked again");
    assert!(b.ports().log_text().contains("client"));
}

#[test]
fn token_types_and_required_audiences_are_configurable() {
    let at = access_token_answer();
    let untyped = with(&at, json!({"token_type": null}));
    let n_a = with(&at, json!({"token_type": "N_A"}));
    // `none` lets answers without a type through; the list replaces the default.
    let types = ("EDGEWARD_TOKEN_TYPES", "N_A, none");
    for answer in [&untyped, &n_a] {
        let e = edge(&[types], "application/json", answer.to_string());
        assert!(call(&e).is_ok(), "{answer}: {}", e.ports().log_text());
    }
    assert_refused(
        &edge(&[types], "application/json", at.to_string()),
        "Bearer no longer listed",
        "token_type",
    );
    // An IdP that always names the audience: an answer without one is refused.
    let required = ("EDGEWARD_TOKEN_AUDIENCE_REQUIRED", "true");
    assert_refused(
        &edge(&[required], "application/json", at.to_string()),
        "no aud",
        "audience",
    );
    let for_us = with(&at, json!({"aud": AUDIENCE}));
    assert!(call(&edge(&[required], "application/json", for_us.to_string())).is_ok());
}
