//! Service clients (issue 16 part 2): `Authorization: Bearer <access token>` from the identity
//! provider on a route whose `clients` include `service`. A JWT access token (RFC 9068
//! `at+jwt`) is checked at the edge against the provider's JWKS; an opaque one is introspected;
//! then the route's scope. Every bad input is a 401/403 JSON answer with RFC 6750's
//! `WWW-Authenticate`, nothing forwarded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
fn a_checked_jwt_access_token_is_minted_into_the_routes_token_without_introspection() {
    let e = edge();
    let Answer::Forwarded(jwt) = bearer(&e, "/api/orders/1", &at_jwt(&good_claims())) else {
        panic!("refused")
    };
    assert_eq!(header(&jwt)["typ"], "at+jwt");
    assert_eq!(header(&jwt)["kid"], "m1", "minted by the worker");
    let claims = payload(&jwt);
    assert_eq!(claims["iss"], ORIGIN);
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["sub"], "batch");
    assert_eq!(claims["client_id"], "batch");
    assert_eq!(claims["scope"], "orders:read orders:write");
    assert!(claims["exp"].as_u64().unwrap() <= NOW + 60);
    assert_eq!(e.ports().calls_to(&introspection_url()), 0);
    // Cached: the second call checks no signature and fetches nothing.
    let fetches = e.ports().sent.borrow().len();
    assert_eq!(
        bearer(&e, "/api/orders/1", &at_jwt(&good_claims())),
        Answer::Forwarded(jwt)
    );
    assert_eq!(e.ports().sent.borrow().len(), fetches);
}

#[test]
fn in_introspect_jwt_and_passthrough_modes_the_checked_token_goes_as_it_came() {
    for mode in ["introspect-jwt", "passthrough"] {
        let e = edge_with(&[("EDGEWARD_PHANTOM_MODE", mode)], &good_answer());
        let token = at_jwt(&good_claims());
        assert_eq!(
            bearer(&e, "/api/orders/1", &token),
            Answer::Forwarded(token),
            "{mode}"
        );
        // Still checked: another audience is refused in these modes too.
        let other = at_jwt(&with(&good_claims(), json!({"aud": "https://other.test"})));
        assert_eq!(
            bearer(&e, "/api/orders/1", &other),
            invalid_token(),
            "{mode}"
        );
        assert_eq!(e.ports().calls_to(&introspection_url()), 0, "{mode}");
    }
}

/// Every bad JWT access token: 401 `invalid_token` with the challenge, nothing forwarded,
/// nothing cached, the cause in the log and never the token.
#[test]
fn bad_jwt_access_tokens_are_refused_at_the_edge() {
    let good = good_claims();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "another audience",
            at_jwt(&with(&good, json!({"aud": "https://other.test"}))),
            "audience",
        ),
        (
            "no audience",
            at_jwt(&with(&good, json!({"aud": null}))),
            "no aud",
        ),
        (
            "expired",
            at_jwt(&with(&good, json!({"exp": NOW - 1}))),
            "expired",
        ),
        (
            "no exp",
            at_jwt(&with(&good, json!({"exp": null}))),
            "no exp",
        ),
        (
            "issued in the future",
            at_jwt(&with(&good, json!({"iat": NOW + 3600}))),
            "iat",
        ),
        (
            "no iat",
            at_jwt(&with(&good, json!({"iat": null}))),
            "no iat",
        ),
        (
            "not valid yet",
            at_jwt(&with(&good, json!({"nbf": NOW + 3600}))),
            "not valid yet",
        ),
        (
            "wrong issuer",
            at_jwt(&with(&good, json!({"iss": "https://evil.test"}))),
            "another issuer",
        ),
        (
            "no issuer",
            at_jwt(&with(&good, json!({"iss": null}))),
            "no iss",
        ),
        ("wrong key", rogue_signed(&good), "signature"),
        ("alg none", unsigned(&good), "not accepted"),
        (
            "HS256 keyed with the public key",
            hmac_signed(&good),
            "not accepted",
        ),
        (
            "another client, not listed",
            at_jwt(&with(
                &good,
                json!({"client_id": "intruder", "sub": "intruder"}),
            )),
            "not accepted (EDGEWARD_TOKEN_CLIENT_IDS)",
        ),
        (
            "no client",
            at_jwt(&with(&good, json!({"client_id": null}))),
            "client",
        ),
        (
            "sender-constrained",
            at_jwt(&with(&good, json!({"cnf": {"jkt": "abc"}}))),
            "cnf",
        ),
        (
            "a refresh token in at+jwt clothing",
            at_jwt(&with(&good, json!({"token_use": "refresh_token"}))),
            "token_use",
        ),
        (
            "an ID token used as an access token",
            idp_sign(
                &with(
                    &good,
                    json!({"aud": "edgeward", "nonce": "n", "client_id": null}),
                ),
                Some("JWT"),
            ),
            "not an access token",
        ),
        (
            "an ID token without typ",
            idp_sign(&with(&good, json!({"aud": "edgeward"})), None),
            "not an access token",
        ),
    ];
    let mut problems = Vec::new();
    for (case, token, why) in cases {
        let e = edge();
        let got = bearer(&e, "/api/orders/1", &token);
        if got != invalid_token() {
            problems.push(format!("{case}: {got:?}"));
            continue;
        }
        if !e.phantom_cache().is_empty() {
            problems.push(format!("{case}: the refusal was cached"));
        }
        if e.ports().calls_to(&introspection_url()) != 0 {
            problems.push(format!("{case}: introspected"));
        }
        let log = e.ports().log_text();
        if !log.contains(why) || log.contains(&token) {
            problems.push(format!("{case}: the log should name {why:?}: {log}"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_routes_scope_is_required_of_both_kinds_of_token() {
    let scope_challenge = Answer::Refused(
        403,
        "insufficient_scope".into(),
        Some(r#"Bearer error="insufficient_scope", scope="orders:read""#.into()),
    );
    let jwt_cases = [
        with(&good_claims(), json!({"scope": null})),
        with(&good_claims(), json!({"scope": "orders:write"})),
        with(&good_claims(), json!({"scope": "orders:readx"})),
    ];
    for claims in jwt_cases {
        let e = edge();
        assert_eq!(
            bearer(&e, "/api/orders/1", &at_jwt(&claims)),
            scope_challenge,
            "{claims}"
        );
    }
    for answer in [
        with(&good_answer(), json!({"scope": null})),
        with(&good_answer(), json!({"scope": "openid"})),
    ] {
        let e = edge_with(&[], &answer);
        assert_eq!(
            bearer(&e, "/api/orders/1", OPAQUE),
            scope_challenge,
            "{answer}"
        );
    }
    // introspect-jwt: the scope of the IdP's introspection JWT.
    let e = edge_with(
        &[("EDGEWARD_PHANTOM_MODE", "introspect-jwt")],
        &good_answer(),
    );
    let scopeless = idp_sign(
        &with(
            &good_answer(),
            json!({"scope": "openid", "active": null, "token_type": null, "exp": NOW + 300}),
        ),
        Some("at+jwt"),
    );
    e.ports()
        .route_typed(&introspection_url(), 200, "application/jwt", scopeless);
    assert_eq!(bearer(&e, "/api/orders/1", OPAQUE), scope_challenge);

    // A route without a scope takes the scope-less token; the cache entry it made is not
    // served to the route that needs the scope.
    let e = edge();
    let token = at_jwt(&with(
        &good_claims(),
        json!({"scope": null, "aud": [AUDIENCE]}),
    ));
    assert!(matches!(
        bearer(&e, "/api/open/1", &token),
        Answer::Forwarded(_)
    ));
    assert_eq!(bearer(&e, "/api/orders/1", &token), scope_challenge);
}

#[test]
fn opaque_tokens_are_introspected_with_the_phantom_token_checks() {
    let e = edge();
    let Answer::Forwarded(jwt) = bearer(&e, "/api/orders/1", OPAQUE) else {
        panic!("refused")
    };
    assert_eq!(payload(&jwt)["sub"], "batch", "the client is the subject");
    assert_eq!(e.ports().calls_to(&introspection_url()), 1);

    let refused = [
        ("inactive", json!({"active": false})),
        (
            "another audience",
            with(&good_answer(), json!({"aud": "https://other.test"})),
        ),
        (
            "a refresh token (oidc-provider: no token_type)",
            with(&good_answer(), json!({"token_type": null})),
        ),
        (
            "another client",
            with(&good_answer(), json!({"client_id": "intruder"})),
        ),
        (
            "another issuer",
            with(&good_answer(), json!({"iss": "https://evil.test"})),
        ),
    ];
    for (case, answer) in refused {
        let e = edge_with(&[], &answer);
        assert_eq!(
            bearer(&e, "/api/orders/1", OPAQUE),
            invalid_token(),
            "{case}"
        );
        assert!(e.phantom_cache().is_empty(), "{case}");
    }
    // Passthrough mode cannot check an opaque token, so it is never forwarded there.
    let e = edge_with(&[("EDGEWARD_PHANTOM_MODE", "passthrough")], &good_answer());
    assert_eq!(bearer(&e, "/api/orders/1", OPAQUE), invalid_token());
}

#[test]
fn without_a_token_the_challenge_says_bearer_and_browsers_stay_out_of_machine_routes() {
    let e = edge();
    let plain = Answer::Refused(401, "unauthorized".into(), Some("Bearer".into()));
    assert_eq!(send(&e, "/api/orders/1", &[]), plain);
    for value in ["Basic YTpi", "Bearer", "Bearer "] {
        assert_eq!(
            send(&e, "/api/orders/1", &[("authorization", value)]),
            plain,
            "{value}"
        );
    }
    // A proof of possession is a machine client's whatever the route serves: on a route that
    // takes none it is refused as such, never read as something else.
    assert_eq!(
        send(&e, "/api/orders/1", &[("authorization", "PoP abc")]),
        Answer::Refused(401, "invalid_client_proof".into(), None)
    );
    // A browser (any cookie of ours) on a route for services only: refused, whatever its
    // Authorization header says.
    let cookie = format!("{}=x", edgeward_shared::names::COOKIE_CSRF);
    let token = format!("Bearer {}", at_jwt(&good_claims()));
    assert_eq!(
        send(
            &e,
            "/api/orders/1",
            &[("cookie", &cookie), ("authorization", &token)]
        ),
        Answer::Refused(403, "client_not_allowed".into(), None)
    );
    // A route for browsers only ignores a bearer token, as always (its 401 carries the plain
    // `Bearer` challenge every proxy 401 has since issue 18).
    assert_eq!(
        send(&e, "/api/web/1", &[("authorization", &token)]),
        Answer::Refused(401, "unauthorized".into(), Some("Bearer".into()))
    );
    assert!(
        e.ports().sent.borrow().is_empty(),
        "nothing asked of the IdP"
    );
}

#[test]
fn the_old_pass_through_switch_is_a_configuration_error() {
    let err = common::config_result(&[("EDGEWARD_BEARER_PASSTHROUGH", "true")]).unwrap_err();
    assert_eq!(err.variable, "EDGEWARD_BEARER_PASSTHROUGH");
    assert!(err.reason.contains("service"), "{}", err.reason);
    assert!(common::config_result(&[("EDGEWARD_BEARER_PASSTHROUGH", "false")]).is_ok());
}

/// HELD: the worker's own minted token, leaked by an API and sent back to the edge as a bearer
/// token, is not the provider's: refused (its key is not in the provider's JWKS), never
/// re-minted. Tokens with unknown keys do not make the worker fetch the JWKS for each of them
/// (one look again per `JWKS_REFETCH_MIN_INTERVAL`).
#[test]
fn a_minted_token_sent_back_is_refused_and_unknown_keys_do_not_hammer_the_jwks() {
    let e = edge();
    let Answer::Forwarded(minted) = bearer(&e, "/api/orders/1", &at_jwt(&good_claims())) else {
        panic!("refused")
    };
    let fetches = || e.ports().calls_to(&jwks_url());
    let before = fetches();
    for _ in 0..5 {
        assert_eq!(bearer(&e, "/api/orders/1", &minted), invalid_token());
    }
    assert!(
        fetches() <= before + 1,
        "{} JWKS fetches",
        fetches() - before
    );
    assert!(e
        .ports()
        .log_text()
        .contains("a key the provider does not publish"));
}

// ---------------------------------------------------------------- review 5 (issue 16 as merged)

// HELD: the IdP's own signature on every token below, so only the header's `typ` decides:
// RFC 9068's two spellings (any case) are access tokens; an ID token (`JWT`), a token without
// `typ`, a `typ` with a space or a suffix, a logout token, a PoP proof's type, are refused
// unread (401 invalid_token, nothing introspected, nothing cached); an opaque refresh token
// whose introspection says `refresh_token` is refused.
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
