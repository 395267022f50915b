//! The proxy through `Edge::handle` with fake ports: both cache tiers, `introspect-jwt`, and
//! bearer pass-through for non-browser clients.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{config_with, json, FakePorts, ISSUER};
use edgeward_core::proxy::phantom::{Introspection, MintKey};
use edgeward_core::{Edge, Outcome};
use edgeward_shared::names;

const NOW: u64 = 1_700_000_000;
const ROUTES: &str = r#"[{"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET", "POST"]}]"#;
/// The same route, serving service clients (bearer tokens) besides browsers.
const SERVICE_ROUTES: &str = r#"[{"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET", "POST"], "clients": ["browser", "service"]}]"#;
const MINT: &str = "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
const IDP_KEY: &str = "idp:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";
const OPAQUE: &str = "opaque-access-token-1";

fn introspection_url() -> String {
    format!("{ISSUER}/token/introspection")
}

/// An edge in `mode` with the example routes, `extra` variables, and an IdP that says the
/// token is active for five minutes.
fn edge_with(extra: &[(&str, &str)]) -> Edge<FakePorts> {
    let mut vars = vec![("EDGEWARD_API_ROUTES", ROUTES), ("EDGEWARD_MINT_KEY", MINT)];
    vars.extend_from_slice(extra);
    let ports = FakePorts::default().with_discovery();
    ports.now.set(NOW);
    ports.route(
        &introspection_url(),
        200,
        serde_json::json!({"active": true, "sub": "demo", "scope": "openid", "exp": NOW + 300,
            "client_id": "edgeward", "token_type": "Bearer"})
        .to_string(),
    );
    Edge::new(config_with(&vars), ports)
}

/// The `Cookie` header of a browser holding `token` as its access token.
fn access_cookie(token: &str) -> String {
    let b = common::binding("b-1", "demo", None, NOW);
    let all = common::session_cookies(&config_with(&[]), &b, token, None, NOW);
    let at = common::cookie_value(&all, names::COOKIE_ACCESS).unwrap();
    format!("{}={at}", names::COOKIE_ACCESS)
}

/// Sends `GET /api/orders/1` with `headers`; the bearer forwarded, or the error code.
fn get(edge: &Edge<FakePorts>, headers: &[(&str, &str)]) -> Result<String, String> {
    let req = common::request("GET", "/api/orders/1", headers, "");
    match futures_executor::block_on(edge.handle(req)) {
        Outcome::Forward(f) => {
            assert!(f.headers.get("cookie").is_none());
            Ok(f.headers["authorization"]
                .to_str()
                .unwrap()
                .strip_prefix("Bearer ")
                .unwrap()
                .to_owned())
        }
        Outcome::Respond(r) => Err(json(&r)["code"].as_str().unwrap().to_owned()),
    }
}

#[test]
fn the_isolate_then_the_location_cache_spare_the_idp() {
    let cookie = access_cookie(OPAQUE);
    let a = edge_with(&[]);
    let first = get(&a, &[("cookie", &cookie)]).unwrap();
    assert_eq!(a.ports().calls_to(&introspection_url()), 1);
    let (_, _, body) = a.ports().sent.borrow().last().cloned().unwrap();
    assert!(body.contains(&format!("token={OPAQUE}")), "{body}");
    // Same isolate: memory answers.
    assert_eq!(get(&a, &[("cookie", &cookie)]).unwrap(), first);
    assert_eq!(a.ports().calls_to(&introspection_url()), 1);

    // The shared tier holds one entry under a digest; neither key nor value holds the token.
    let shared = a.ports().shared.borrow().clone();
    assert_eq!(shared.len(), 1);
    let (key, (value, expires)) = shared.iter().next().unwrap();
    assert_eq!(key.len(), 64);
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!String::from_utf8_lossy(value).contains(OPAQUE));
    assert_eq!(
        *expires,
        NOW + 60,
        "kept for the max TTL, not the token's 300 s"
    );

    // Another isolate of the same location: the shared tier answers, no introspection.
    let b = edge_with(&[]);
    b.ports().shared.replace(shared.clone());
    assert_eq!(get(&b, &[("cookie", &cookie)]).unwrap(), first);
    assert_eq!(b.ports().calls_to(&introspection_url()), 0);
    assert_eq!(b.phantom_cache().len(), 1, "and its memory keeps it");

    // A shared entry that outlives what this configuration allows is not trusted.
    let c = edge_with(&[("EDGEWARD_PHANTOM_MAX_TTL", "10")]);
    c.ports().shared.replace(shared.clone());
    let fresh = get(&c, &[("cookie", &cookie)]).unwrap();
    assert_ne!(fresh, first);
    assert_eq!(c.ports().calls_to(&introspection_url()), 1);

    // A new minting key starts a new cache: the old entry is never served.
    let d = edge_with(&[(
        "EDGEWARD_MINT_KEY",
        "m2:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM",
    )]);
    d.ports().shared.replace(shared.clone());
    get(&d, &[("cookie", &cookie)]).unwrap();
    assert_eq!(d.ports().calls_to(&introspection_url()), 1);

    // Both tiers off: every call introspects.
    let e = edge_with(&[
        ("EDGEWARD_PHANTOM_CACHE_ENTRIES", "0"),
        ("EDGEWARD_PHANTOM_SHARED_CACHE", "false"),
    ]);
    for _ in 0..3 {
        get(&e, &[("cookie", &cookie)]).unwrap();
    }
    assert_eq!(e.ports().calls_to(&introspection_url()), 3);
    assert!(e.ports().shared.borrow().is_empty());

    // Failures are cached nowhere.
    let f = edge_with(&[]);
    f.ports()
        .route(&introspection_url(), 200, r#"{"active":false}"#);
    for _ in 0..2 {
        assert_eq!(get(&f, &[("cookie", &cookie)]).unwrap_err(), "unauthorized");
    }
    assert_eq!(f.ports().calls_to(&introspection_url()), 2);
    assert!(f.ports().shared.borrow().is_empty() && f.phantom_cache().is_empty());
}

/// The IdP's answer to JWT introspection, Curity style (an RFC 9068 access token, `typ:
/// at+jwt`), issued at `iat`, and its JWKS.
fn idp_jwt(iat: u64, exp: u64) -> (String, String) {
    let key = MintKey::parse(IDP_KEY).unwrap();
    let introspection: Introspection = serde_json::from_value(serde_json::json!({
        "active": true, "sub": "demo", "scope": "openid", "exp": exp, "client_id": "edgeward",
    }))
    .unwrap();
    let minted = key
        .mint(
            &introspection,
            ISSUER,
            "http://orders.test",
            iat,
            3600,
            &FakePorts::default(),
        )
        .unwrap();
    (minted.jwt, key.jwks_json())
}

#[test]
fn introspect_jwt_forwards_the_idps_own_jwt() {
    let cookie = access_cookie(OPAQUE);
    let (jwt, jwks) = idp_jwt(NOW, NOW + 300);
    let edge = edge_with(&[("EDGEWARD_PHANTOM_MODE", "introspect-jwt")]);
    edge.ports()
        .route(&format!("{ISSUER}/jwks"), 200, jwks.clone());
    edge.ports()
        .route_typed(&introspection_url(), 200, "application/jwt", jwt.clone());
    assert_eq!(get(&edge, &[("cookie", &cookie)]).unwrap(), jwt);
    assert_eq!(get(&edge, &[("cookie", &cookie)]).unwrap(), jwt);
    assert_eq!(edge.ports().calls_to(&introspection_url()), 1, "cached");
    let accept = edge.ports().accepts.borrow().clone();
    assert!(
        accept
            .iter()
            .any(|a| a.starts_with("application/jwt") && a.contains("token-introspection+jwt")),
        "{accept:?}"
    );
    // No minting in this mode: the worker publishes no keys.
    let res = common::call(
        &edge,
        common::request("GET", "/.well-known/jwks.json", &[], ""),
    );
    assert_eq!(res.status(), 404);

    // What else the IdP may answer.
    let (expired, _) = idp_jwt(NOW - 100, NOW - 50);
    let forged = {
        let other = MintKey::parse("idp:BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ").unwrap();
        let i: Introspection = serde_json::from_value(
            serde_json::json!({"active": true, "exp": NOW + 300, "client_id": "edgeward"}),
        )
        .unwrap();
        other
            .mint(&i, ISSUER, "x", NOW, 300, &FakePorts::default())
            .unwrap()
            .jwt
    };
    let table: [(u16, &str, String, &str); 6] = [
        (204, "application/json", String::new(), "unauthorized"),
        (
            200,
            "application/json",
            r#"{"active":false}"#.into(),
            "unauthorized",
        ),
        (200, "application/jwt", expired, "unauthorized"),
        (
            200,
            "application/json",
            r#"{"active":true}"#.into(),
            "idp_unavailable",
        ),
        (200, "application/jwt", forged, "idp_unavailable"),
        (200, "text/html", "<html>".into(), "idp_unavailable"),
    ];
    for (status, content_type, body, code) in table {
        let edge = edge_with(&[("EDGEWARD_PHANTOM_MODE", "introspect-jwt")]);
        edge.ports()
            .route(&format!("{ISSUER}/jwks"), 200, jwks.clone());
        edge.ports()
            .route_typed(&introspection_url(), status, content_type, body.clone());
        let got = get(&edge, &[("cookie", &cookie)]).unwrap_err();
        assert_eq!(got, code, "{status} {content_type} {body}");
        assert!(edge.phantom_cache().is_empty() && edge.ports().shared.borrow().is_empty());
    }
}

#[test]
fn bearer_clients_pass_only_when_allowed_and_only_without_our_cookies() {
    let bearer = format!("Bearer {OPAQUE}");
    // A route without `service` in its clients (the default): the header is dropped, and
    // without cookies that is 401.
    let off = edge_with(&[]);
    assert_eq!(
        get(&off, &[("authorization", &bearer)]).unwrap_err(),
        "unauthorized"
    );
    assert_eq!(off.ports().calls_to(&introspection_url()), 0);

    // A route for service clients: the token is exchanged like a cookie's (introspected,
    // minted).
    let on = edge_with(&[("EDGEWARD_API_ROUTES", SERVICE_ROUTES)]);
    let jwt = get(&on, &[("authorization", &bearer)]).unwrap();
    assert_ne!(jwt, OPAQUE);
    assert!(jwt.starts_with("eyJ"));
    let (_, _, body) = on.ports().sent.borrow().last().cloned().unwrap();
    assert!(body.contains(&format!("token={OPAQUE}")), "{body}");
    // A POST needs no Origin or CSRF header: there is no ambient credential to abuse.
    let req = common::request("POST", "/api/orders/1", &[("authorization", &bearer)], "{}");
    assert!(matches!(
        futures_executor::block_on(on.handle(req)),
        Outcome::Forward(_)
    ));
    // Other schemes and empty tokens are not bearer tokens.
    for value in ["Basic abc", "Bearer ", "Bearer"] {
        assert_eq!(
            get(&on, &[("authorization", value)]).unwrap_err(),
            "unauthorized",
            "{value}"
        );
    }
    // Any cookie of ours makes it a browser request: the header is ignored.
    let csrf_only = format!("{}=anything", names::COOKIE_CSRF);
    assert_eq!(
        get(&on, &[("authorization", &bearer), ("cookie", &csrf_only)]).unwrap_err(),
        "unauthorized"
    );
    // Also when a cookie of ours is there twice (which is not read as a value at all).
    let twice = format!("{0}=a; {0}=b", names::COOKIE_CSRF);
    assert_eq!(
        get(&on, &[("authorization", &bearer), ("cookie", &twice)]).unwrap_err(),
        "unauthorized"
    );
    // Passthrough mode forwards only what the edge can check (a JWT access token, see
    // service_clients.rs): an opaque token, or anything else, is refused unread.
    let passthrough = edge_with(&[
        ("EDGEWARD_API_ROUTES", SERVICE_ROUTES),
        ("EDGEWARD_PHANTOM_MODE", "passthrough"),
    ]);
    assert_eq!(
        get(&passthrough, &[("authorization", "Bearer eyJ.a.b")]).unwrap_err(),
        "invalid_token"
    );
    assert!(passthrough.ports().sent.borrow().is_empty());
}
