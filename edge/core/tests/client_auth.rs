//! How the worker authenticates at the provider's endpoints: client_secret_basic,
//! client_secret_post and private_key_jwt (RFC 7523: the assertion's header, claims, `aud`
//! rule and life; the key's parsing errors), and how login/start pushes its authorization
//! request (RFC 9126) when configured or required.

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{call, json, request, FakePorts, ISSUER, ORIGIN};
use edgeward_core::oidc::{revoke, token_request, Discovery};
use edgeward_core::{Config, Edge};
use jwt_compact::alg::{Es256, Rsa};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{AlgorithmExt, UntrustedToken};
use rsa::pkcs8::EncodePrivateKey;
use url::Url;

const NOW: u64 = 1_700_000_000;
const KID: &str = "edgeward-2026-01";

fn config(auth: &str) -> Config {
    common::config_with(&[
        ("OIDC_CLIENT_SECRET", "s3cret+/="),
        ("OIDC_CLIENT_AUTH", auth),
    ])
}

fn discovery() -> Discovery {
    serde_json::from_value(serde_json::json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/auth"),
        "token_endpoint": format!("{ISSUER}/token"),
        "jwks_uri": format!("{ISSUER}/jwks"),
        "revocation_endpoint": format!("{ISSUER}/token/revocation"),
    }))
    .unwrap()
}

#[test]
fn secret_post_puts_the_credentials_in_the_form_and_basic_keeps_them_out() {
    for (auth, in_body) in [("client_secret_post", true), ("client_secret_basic", false)] {
        let ports = FakePorts::default();
        ports.route(&format!("{ISSUER}/token"), 200, r#"{"access_token":"at"}"#);
        let grant = [("grant_type", "refresh_token"), ("refresh_token", "rt")];
        let tokens = futures_executor::block_on(token_request(
            config(auth).oidc(),
            &ports,
            &discovery(),
            &grant,
        ))
        .unwrap();
        assert_eq!(tokens.access_token, "at");
        let body = ports.sent.borrow()[0].2.clone();
        assert!(body.contains("grant_type=refresh_token"), "{body}");
        // The secret is form-encoded when it travels in the body.
        assert_eq!(
            body.contains("client_id=edgeward"),
            in_body,
            "{auth}: {body}"
        );
        assert_eq!(
            body.contains("client_secret=s3cret%2B%2F%3D"),
            in_body,
            "{auth}: {body}"
        );
    }
}

// --- private_key_jwt ---------------------------------------------------------------------

fn ec_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap()
}

/// The EC key as a private JWK, with `kid` when given.
fn ec_jwk(kid: Option<&str>) -> String {
    let key = ec_key();
    let mut jwk = serde_json::to_value(JsonWebKey::from(&key)).unwrap();
    if let Some(kid) = kid {
        jwk["kid"] = kid.into();
    }
    jwk.to_string()
}

fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<_> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// The EC key as PKCS#8 (RFC 5208 around an RFC 5915 key without its public half).
fn ec_pem() -> String {
    let mut der = hex("3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420");
    der.extend_from_slice(&[7u8; 32]);
    pem(&der)
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn rsa_key(bits: usize) -> rsa::RsaPrivateKey {
    let mut rng = rand_core::OsRng;
    rsa::RsaPrivateKey::new(&mut rng, bits).unwrap()
}

fn jwt_config(extra: &[(&str, &str)]) -> Config {
    let mut vars = vec![
        ("OIDC_CLIENT_AUTH", "private_key_jwt"),
        ("OIDC_CLIENT_SECRET", ""),
    ];
    vars.extend_from_slice(extra);
    common::config_with(&vars)
}

/// The form fields of the `i`th request sent.
fn form(ports: &FakePorts, i: usize) -> HashMap<String, String> {
    let body = ports.sent.borrow()[i].2.clone();
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

/// A token-endpoint call as `config`'s client; the form it sent.
fn grant_with(config: &Config) -> HashMap<String, String> {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    ports.route(&format!("{ISSUER}/token"), 200, r#"{"access_token":"at"}"#);
    let grant = [("grant_type", "refresh_token"), ("refresh_token", "rt")];
    futures_executor::block_on(token_request(config.oidc(), &ports, &discovery(), &grant)).unwrap();
    form(&ports, 0)
}

/// The assertion's header and claims, after checking its signature with `check`.
fn read(
    assertion: &str,
    check: impl Fn(&UntrustedToken) -> bool,
) -> (serde_json::Value, serde_json::Value) {
    let token = UntrustedToken::new(assertion).unwrap();
    assert!(check(&token), "the signature verifies with the public key");
    let part = |i: usize| {
        let raw = URL_SAFE_NO_PAD
            .decode(assertion.split('.').nth(i).unwrap())
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&raw).unwrap()
    };
    (part(0), part(1))
}

fn check_es256(token: &UntrustedToken) -> bool {
    Es256
        .validator::<serde_json::Value>(ec_key().verifying_key())
        .validate(token)
        .is_ok()
}

#[test]
fn an_assertion_names_the_client_the_token_endpoint_and_lives_a_minute() {
    let f = grant_with(&jwt_config(&[("OIDC_CLIENT_KEY", &ec_jwk(Some(KID)))]));
    assert_eq!(
        f["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(f["client_id"], "edgeward");
    assert_eq!(f["grant_type"], "refresh_token");
    assert!(!f.contains_key("client_secret"), "{f:?}");

    let (header, claims) = read(&f["client_assertion"], check_es256);
    assert_eq!(
        header,
        serde_json::json!({"alg": "ES256", "kid": KID, "typ": "JWT"})
    );
    assert_eq!(claims["iss"], "edgeward");
    assert_eq!(claims["sub"], "edgeward");
    assert_eq!(claims["aud"], format!("{ISSUER}/token"));
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 60, "expires a minute after it is made");
    assert_eq!(claims["jti"].as_str().unwrap().len(), 32, "192 random bits");
    let names: Vec<_> = claims.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        names,
        ["aud", "exp", "iat", "iss", "jti", "sub"],
        "nothing else"
    );
}

#[test]
fn every_call_carries_a_new_jti() {
    let config = jwt_config(&[("OIDC_CLIENT_KEY", &ec_jwk(Some(KID)))]);
    let ports = FakePorts::default();
    ports.now.set(NOW);
    ports.route(&format!("{ISSUER}/token"), 200, r#"{"access_token":"at"}"#);
    let grant = [("grant_type", "refresh_token"), ("refresh_token", "rt")];
    for _ in 0..3 {
        futures_executor::block_on(token_request(config.oidc(), &ports, &discovery(), &grant))
            .unwrap();
    }
    let jtis: std::collections::HashSet<_> = (0..3)
        .map(|i| read(&form(&ports, i)["client_assertion"], check_es256).1["jti"].clone())
        .collect();
    assert_eq!(jtis.len(), 3);
}

#[test]
fn the_aud_is_the_token_endpoint_for_every_endpoint_or_the_issuer_when_configured() {
    let key = ec_jwk(Some(KID));
    let token_endpoint = format!("{ISSUER}/token");
    for (setting, expected) in [
        (None, token_endpoint.as_str()),
        (Some("token_endpoint"), token_endpoint.as_str()),
        (Some("issuer"), ISSUER),
    ] {
        let mut vars = vec![("OIDC_CLIENT_KEY", key.as_str())];
        if let Some(s) = setting {
            vars.push(("OIDC_CLIENT_ASSERTION_AUD", s));
        }
        let config = jwt_config(&vars);
        // A revocation call: the audience is still the token endpoint (or the issuer).
        let ports = FakePorts::default();
        ports.now.set(NOW);
        let endpoint = format!("{ISSUER}/token/revocation");
        ports.route(&endpoint, 200, "");
        futures_executor::block_on(revoke(
            config.oidc(),
            &ports,
            &discovery(),
            &endpoint,
            "rt",
            "refresh_token",
        ))
        .unwrap();
        let (_, claims) = read(&form(&ports, 0)["client_assertion"], check_es256);
        assert_eq!(claims["aud"], expected, "{setting:?}");
    }
}

#[test]
fn keys_as_pkcs8_pem_sign_too_rsa_as_rs256() {
    let rsa = rsa_key(2048);
    let rsa_pem = pem(rsa.to_pkcs8_der().unwrap().as_bytes());
    let f = grant_with(&jwt_config(&[
        ("OIDC_CLIENT_KEY", &rsa_pem),
        ("OIDC_CLIENT_KEY_ID", "rsa-1"),
    ]));
    let public = rsa.to_public_key();
    let (header, claims) = read(&f["client_assertion"], |t| {
        Rsa::rs256()
            .validator::<serde_json::Value>(&public)
            .validate(t)
            .is_ok()
    });
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], "rsa-1");
    assert_eq!(claims["iss"], "edgeward");

    // As a file, and on one line with its breaks written `\n`.
    for pem in [ec_pem(), ec_pem().replace('\n', "\\n")] {
        let f = grant_with(&jwt_config(&[
            ("OIDC_CLIENT_KEY", &pem),
            ("OIDC_CLIENT_KEY_ID", "ec-1"),
        ]));
        let (header, _) = read(&f["client_assertion"], check_es256);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], "ec-1");
    }
}

#[test]
fn the_configured_kid_wins_over_the_jwks_own() {
    let f = grant_with(&jwt_config(&[
        ("OIDC_CLIENT_KEY", &ec_jwk(Some("in-the-jwk"))),
        ("OIDC_CLIENT_KEY_ID", "registered"),
    ]));
    assert_eq!(
        read(&f["client_assertion"], check_es256).0["kid"],
        "registered"
    );
}

#[test]
fn a_bad_key_is_a_configuration_error_naming_the_variable_and_never_the_key() {
    let ec = ec_jwk(Some(KID));
    let d = serde_json::from_str::<serde_json::Value>(&ec).unwrap()["d"]
        .as_str()
        .unwrap()
        .to_owned();
    let public_only = {
        let mut v: serde_json::Value = serde_json::from_str(&ec).unwrap();
        v.as_object_mut().unwrap().remove("d");
        v.to_string()
    };
    let wrong_alg = {
        let mut v: serde_json::Value = serde_json::from_str(&ec).unwrap();
        v["alg"] = "RS256".into();
        v.to_string()
    };
    let p384 = format!(
        r#"{{"kty":"EC","crv":"P-384","x":"{x}","y":"{x}","d":"{d}","kid":"k"}}"#,
        x = URL_SAFE_NO_PAD.encode([1u8; 48]),
    );
    let short_rsa = pem(rsa_key(1024).to_pkcs8_der().unwrap().as_bytes());
    let sec1_pem = format!(
        "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----",
        STANDARD.encode([7u8; 32])
    );
    let garbled_pem = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----";
    let oct = format!(r#"{{"kty":"oct","k":"{d}","kid":"k"}}"#);
    let cases: [(&str, Option<&str>, &str, &str); 11] = [
        ("", None, "OIDC_CLIENT_KEY", "is not set"),
        ("hunter2", None, "OIDC_CLIENT_KEY", "a private JWK"),
        ("{\"kty\":", None, "OIDC_CLIENT_KEY", "is not a JWK"),
        (&public_only, None, "OIDC_CLIENT_KEY", "private EC key"),
        (&wrong_alg, None, "OIDC_CLIENT_KEY", "as ES256"),
        (&p384, None, "OIDC_CLIENT_KEY", "P-256"),
        (&oct, None, "OIDC_CLIENT_KEY", "EC P-256 (ES256) or RSA"),
        (
            &short_rsa,
            Some("k"),
            "OIDC_CLIENT_KEY",
            "shorter than 2048 bits",
        ),
        (&sec1_pem, Some("k"), "OIDC_CLIENT_KEY", "PKCS#8"),
        (garbled_pem, Some("k"), "OIDC_CLIENT_KEY", "PKCS#8"),
        (&ec_jwk(None), None, "OIDC_CLIENT_KEY_ID", "has no kid"),
    ];
    for (value, kid, variable, reason) in cases {
        let mut vars = vec![
            ("OIDC_CLIENT_AUTH", "private_key_jwt"),
            ("OIDC_CLIENT_KEY", value),
        ];
        if let Some(kid) = kid {
            vars.push(("OIDC_CLIENT_KEY_ID", kid));
        }
        let e = common::config_result(&vars).unwrap_err();
        assert_eq!(e.variable, variable, "{reason}: {e}");
        assert!(e.reason.contains(reason), "{reason}: {e}");
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(&d), "{reason}: the key's d is not repeated");
        assert!(
            !shown.contains("hunter2") && !shown.contains("bm90IGEga2V5"),
            "{shown}"
        );
    }
}

#[test]
fn private_key_jwt_needs_no_secret_and_the_secret_methods_still_do() {
    let config = jwt_config(&[("OIDC_CLIENT_KEY", &ec_jwk(Some(KID)))]);
    assert!(config.oidc().client_secret.is_none());
    assert!(format!("{:?}", config.oidc()).contains("ClientKey { alg: \"ES256\", kid: "));
    let d = serde_json::from_str::<serde_json::Value>(&ec_jwk(None)).unwrap()["d"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !format!("{:?}", config.oidc()).contains(&d),
        "the key never prints"
    );
    for auth in ["client_secret_basic", "client_secret_post"] {
        let e = common::config_result(&[("OIDC_CLIENT_AUTH", auth), ("OIDC_CLIENT_SECRET", "")])
            .unwrap_err();
        assert_eq!(e.variable, "OIDC_CLIENT_SECRET", "{auth}");
    }
    // And the secret methods do not need a key.
    assert!(config_result_ok(&[(
        "OIDC_CLIENT_AUTH",
        "client_secret_post"
    )]));
}

fn config_result_ok(vars: &[(&str, &str)]) -> bool {
    common::config_result(vars).is_ok()
}

#[test]
fn unknown_methods_audiences_and_par_modes_are_refused() {
    for (name, value) in [
        ("OIDC_CLIENT_AUTH", "tls_client_auth"),
        ("OIDC_CLIENT_ASSERTION_AUD", "endpoint"),
        ("OIDC_PAR", "sometimes"),
        // The pushed request is the worker's; a request object would replace it.
        ("OIDC_ALLOWED_PARAMS", "prompt,request_uri"),
        ("OIDC_ALLOWED_PARAMS", "request"),
        ("OIDC_ALLOWED_PARAMS", "client_assertion"),
    ] {
        let e = common::config_result(&[(name, value)]).unwrap_err();
        assert_eq!(e.variable, name, "{value}");
    }
}

// --- pushed authorization requests -------------------------------------------------------

const PAR_URL: &str = "http://idp.test/par";
const REQUEST_URI: &str = "urn:ietf:params:oauth:request_uri:abc";

fn par_edge(extra: &[(&str, &str)], discovery_extra: serde_json::Value) -> Edge<FakePorts> {
    let ports = FakePorts::default();
    let mut d = common::discovery();
    for (k, v) in discovery_extra.as_object().unwrap() {
        d[k] = v.clone();
    }
    ports.route(
        &format!("{ISSUER}/.well-known/openid-configuration"),
        200,
        d.to_string(),
    );
    ports.now.set(NOW);
    Edge::new(common::config_with(extra), ports)
}

fn login_start(edge: &Edge<FakePorts>, body: &str) -> edgeward_core::Response {
    call(
        edge,
        request(
            "POST",
            "/auth/login/start",
            &[("origin", ORIGIN), ("content-type", "application/json")],
            body,
        ),
    )
}

fn query(res: &edgeward_core::Response) -> Vec<(String, String)> {
    let url = Url::parse(json(res)["authorizationUrl"].as_str().unwrap()).unwrap();
    url.query_pairs().into_owned().collect()
}

#[test]
fn a_provider_that_requires_par_gets_the_parameters_pushed_and_the_browser_only_a_request_uri() {
    let edge = par_edge(
        &[],
        serde_json::json!({
            "pushed_authorization_request_endpoint": PAR_URL,
            "require_pushed_authorization_requests": true,
        }),
    );
    edge.ports().route(
        PAR_URL,
        201,
        format!(r#"{{"request_uri":"{REQUEST_URI}","expires_in":60}}"#),
    );
    let res = login_start(&edge, r#"{"extraParams":{"login_hint":"a&scope=admin"}}"#);
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    assert_eq!(
        query(&res),
        [
            ("client_id".to_owned(), "edgeward".to_owned()),
            ("request_uri".to_owned(), REQUEST_URI.to_owned())
        ]
    );
    let sent = edge.ports().sent.borrow().clone();
    let (method, url, _) = sent.last().unwrap();
    assert_eq!((method.as_str(), url.as_str()), ("POST", PAR_URL));
    let pushed = form(edge.ports(), sent.len() - 1);
    assert_eq!(pushed["response_type"], "code");
    assert_eq!(pushed["redirect_uri"], format!("{ORIGIN}/callback"));
    assert_eq!(pushed["scope"], "openid profile email");
    assert_eq!(pushed["code_challenge_method"], "S256");
    assert_eq!(
        pushed["login_hint"], "a&scope=admin",
        "a value stays one value"
    );
    for p in ["state", "nonce", "code_challenge"] {
        assert_eq!(pushed[p].len(), 43, "{p}");
    }
}

#[test]
fn par_modes_decide_whether_the_request_is_pushed() {
    let with_endpoint = serde_json::json!({ "pushed_authorization_request_endpoint": PAR_URL });
    let required = serde_json::json!({
        "pushed_authorization_request_endpoint": PAR_URL,
        "require_pushed_authorization_requests": true,
    });
    for (mode, discovery, pushed) in [
        (None, with_endpoint.clone(), false),
        (Some("auto"), with_endpoint.clone(), false),
        (Some("always"), with_endpoint.clone(), true),
        (Some("never"), required.clone(), false),
        (None, required.clone(), true),
    ] {
        let vars: Vec<(&str, &str)> = mode.iter().map(|m| ("OIDC_PAR", *m)).collect();
        let edge = par_edge(&vars, discovery);
        edge.ports().route(
            PAR_URL,
            201,
            format!(r#"{{"request_uri":"{REQUEST_URI}","expires_in":60}}"#),
        );
        let res = login_start(&edge, "{}");
        assert_eq!(res.status(), 200, "{mode:?}");
        assert_eq!(
            edge.ports().calls_to(PAR_URL),
            usize::from(pushed),
            "{mode:?}"
        );
        let has_request_uri = query(&res).iter().any(|(k, _)| k == "request_uri");
        assert_eq!(has_request_uri, pushed, "{mode:?}");
    }
}

#[test]
fn par_without_an_endpoint_or_with_a_failing_one_is_a_json_error_with_a_fixed_message() {
    let required = serde_json::json!({ "require_pushed_authorization_requests": true });
    let with_endpoint = serde_json::json!({ "pushed_authorization_request_endpoint": PAR_URL });
    let cases: [(
        &[(&str, &str)],
        serde_json::Value,
        Option<(u16, &str)>,
        u16,
        &str,
    ); 6] = [
        // Required (or configured) with nowhere to push: 502, said in the log.
        (&[], required.clone(), None, 502, "idp_unavailable"),
        (
            &[("OIDC_PAR", "always")],
            serde_json::json!({}),
            None,
            502,
            "idp_unavailable",
        ),
        // The provider refuses the client: the operator's to fix, 502.
        (
            &[("OIDC_PAR", "always")],
            with_endpoint.clone(),
            Some((401, r#"{"error":"invalid_client"}"#)),
            502,
            "idp_unavailable",
        ),
        // It refuses the request (e.g. a prompt it does not know): the login failed.
        (
            &[("OIDC_PAR", "always")],
            with_endpoint.clone(),
            Some((400, r#"{"error":"invalid_request"}"#)),
            400,
            "login_failed",
        ),
        // Nonsense, or no request_uri worth the name.
        (
            &[("OIDC_PAR", "always")],
            with_endpoint.clone(),
            Some((
                201,
                r#"{"request_uri":"https://evil.example/","expires_in":60}"#,
            )),
            502,
            "idp_unavailable",
        ),
        (
            &[("OIDC_PAR", "always")],
            with_endpoint.clone(),
            Some((500, "oops")),
            502,
            "idp_unavailable",
        ),
    ];
    for (vars, discovery, answer, status, code) in cases {
        let edge = par_edge(vars, discovery);
        if let Some((s, body)) = answer {
            edge.ports().route(PAR_URL, s, body);
        }
        let res = login_start(&edge, "{}");
        assert_eq!(res.status(), status, "{answer:?}");
        let body = json(&res);
        assert_eq!(body["code"], code, "{answer:?}");
        let message = body["message"].as_str().unwrap();
        assert!(
            !message.contains("idp.test") && !message.contains("pushed"),
            "{message}"
        );
        assert!(
            common::set_cookies(&res).is_empty(),
            "no login cookie for a login that cannot start"
        );
    }
}

// --- the provider refusing the client ----------------------------------------------------

/// login/start, then login/end with a code, the token endpoint answering `status` `body`.
fn code_exchange_answered(status: u16, body: &str) -> edgeward_core::Response {
    let edge = common::edge(FakePorts::default().with_discovery());
    let start = login_start(&edge, "{}");
    let state = query(&start)
        .into_iter()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1;
    let (name, value, _) = common::set_cookies(&start).remove(0);
    edge.ports().route(&format!("{ISSUER}/token"), status, body);
    let page = format!("{ORIGIN}/callback?code=c&state={state}&iss={ISSUER}");
    call(
        &edge,
        request(
            "POST",
            "/auth/login/end",
            &[
                ("origin", ORIGIN),
                ("content-type", "application/json"),
                ("cookie", &format!("{name}={value}")),
            ],
            &serde_json::json!({ "pageUrl": page }).to_string(),
        ),
    )
}

#[test]
fn a_client_the_provider_does_not_authenticate_is_the_operators_problem_not_the_users() {
    // A wrong key, a rotated secret, a replayed assertion: the provider answers invalid_client.
    let res = code_exchange_answered(
        401,
        r#"{"error":"invalid_client","error_description":"client assertion tokens must only be used once"}"#,
    );
    assert_eq!(res.status(), 502, "{}", String::from_utf8_lossy(res.body()));
    assert_eq!(
        json(&res),
        serde_json::json!({"code": "idp_rejected_client", "message": "the identity provider does not accept this deployment's client: the operator must fix it"})
    );
    // A refused grant stays the user's login failing.
    let res = code_exchange_answered(400, r#"{"error":"invalid_grant"}"#);
    assert_eq!(res.status(), 400);
    assert_eq!(json(&res)["code"], "login_failed");
}
