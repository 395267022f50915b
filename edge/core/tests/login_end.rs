//! `POST /auth/login/end` with a fake IdP: the token request it sends, the session it sets, and

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! how an unknown signing key is handled (one JWKS re-fetch for rollover, never a loop).

mod common;

use chrono::{TimeZone, Utc};
use common::{call, edge, json, request, set_cookies, FakePorts, ISSUER, ORIGIN};
use edgeward_core::oidc::JWKS_REFETCH_FROM_PROVIDER;
use edgeward_core::Edge;
use jwt_compact::alg::{Rsa, RsaPrivateKey, RsaPublicKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{AlgorithmExt, Claims, Header};
use rand_core::OsRng;
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000;

struct Key {
    kid: &'static str,
    private: RsaPrivateKey,
}

impl Key {
    fn new(kid: &'static str) -> Self {
        Self {
            kid,
            private: RsaPrivateKey::new(&mut OsRng, 2048).unwrap(),
        }
    }
    fn jwk(&self) -> Value {
        let mut jwk =
            serde_json::to_value(JsonWebKey::from(&RsaPublicKey::from(&self.private))).unwrap();
        jwk["kid"] = json!(self.kid);
        jwk
    }
    fn id_token(&self, nonce: &str, now: u64) -> String {
        let mut claims = Claims::new(json!({
            "iss": ISSUER, "sub": "demo", "aud": "edgeward", "nonce": nonce, "name": "Demo User",
        }));
        claims.issued_at = Some(Utc.timestamp_opt(now as i64, 0).unwrap());
        claims.expiration = Some(Utc.timestamp_opt(now as i64 + 300, 0).unwrap());
        Rsa::rs256()
            .token(
                &Header::empty().with_key_id(self.kid),
                &claims,
                &self.private,
            )
            .unwrap()
    }
}

fn serve_jwks(ports: &FakePorts, keys: &[&Key]) {
    let doc = json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() });
    ports.route(&format!("{ISSUER}/jwks"), 200, doc.to_string());
}

/// Runs login/start, has the fake IdP issue an ID token signed by `signer`, and posts the
/// callback to login/end. Returns the login/end response.
fn login(edge: &Edge<FakePorts>, signer: &Key) -> edgeward_core::Response {
    let start = call(
        edge,
        request(
            "POST",
            "/auth/login/start",
            &[("origin", ORIGIN), ("content-type", "application/json")],
            "{}",
        ),
    );
    let url = url::Url::parse(json(&start)["authorizationUrl"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    let (_, login_cookie, _) = set_cookies(&start).remove(0);
    let tokens = json!({
        "access_token": "opaque-at", "token_type": "Bearer", "expires_in": 300,
        "refresh_token": "opaque-rt", "id_token": signer.id_token(&q["nonce"], edge.ports().now.get()),
    });
    edge.ports()
        .route(&format!("{ISSUER}/token"), 200, tokens.to_string());
    let page = format!(
        "{ORIGIN}/callback?code=the-code&state={}&iss={}",
        q["state"], ISSUER
    );
    let cookie = format!("__Host-edgeward-login={login_cookie}");
    common::post_login_end(edge, &page, &cookie)
}

fn jwks_fetches(edge: &Edge<FakePorts>) -> usize {
    edge.ports()
        .sent
        .borrow()
        .iter()
        .filter(|(_, url, _)| url.ends_with("/jwks"))
        .count()
}

#[test]
fn a_login_sends_a_pkce_code_exchange_and_sets_the_session() {
    let a = Key::new("a");
    let ports = FakePorts::default().with_discovery();
    serve_jwks(&ports, &[&a]);
    let edge = edge(ports);
    let res = login(&edge, &a);
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let body = json(&res);
    assert_eq!(body["handled"], true);
    assert_eq!(body["returnTo"], "/");

    let sent = edge.ports().sent.borrow();
    let (method, _, form) = sent
        .iter()
        .find(|(_, url, _)| url.ends_with("/token"))
        .unwrap();
    assert_eq!(method, "POST");
    for part in [
        "grant_type=authorization_code",
        "code=the-code",
        "code_verifier=",
        "redirect_uri=http%3A%2F%2Flocalhost%3A8787%2Fcallback",
    ] {
        assert!(form.contains(part), "{form} lacks {part}");
    }
    assert!(
        !form.contains("client_secret"),
        "basic auth keeps the secret out of the body"
    );

    let names: Vec<String> = set_cookies(&res)
        .into_iter()
        .map(|(n, v, _)| if v.is_empty() { format!("-{n}") } else { n })
        .collect();
    for expected in [
        "__Host-edgeward-at",
        "__Host-edgeward-rt",
        "__Host-edgeward-id",
        // An earlier session's cookies go: the CSRF value now travels sealed in the ID and
        // access cookies, and a server-mode session id is not kept beside a new session.
        "-__Host-edgeward-csrf",
        "-__Host-edgeward-sid",
        "-__Host-edgeward-login",
    ] {
        assert!(
            names.contains(&expected.to_owned()),
            "{names:?} lacks {expected}"
        );
    }
    assert!(
        !String::from_utf8_lossy(res.body()).contains("opaque-"),
        "no token in the body"
    );
}

#[test]
fn a_new_signing_key_triggers_one_jwks_refetch() {
    let (a, b) = (Key::new("a"), Key::new("b"));
    let ports = FakePorts::default().with_discovery();
    serve_jwks(&ports, &[&a]);
    let edge = edge(ports);
    assert_eq!(login(&edge, &a).status(), 200);
    assert_eq!(jwks_fetches(&edge), 1);

    // The IdP rolls its keys; an hour has not passed, so the cached JWKS lacks "b".
    serve_jwks(edge.ports(), &[&a, &b]);
    edge.ports().now.set(NOW + 120);
    let res = login(&edge, &b);
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    assert_eq!(jwks_fetches(&edge), 2, "exactly one re-fetch");
}

/// A provider that restarts with new keys (no overlap in its JWKS): its ID tokens name a key
/// the isolate looked for 10 s ago. They come from the provider's own answer, not from whoever
/// calls us, so the keys are looked at again at once (the minute-long pause is for tokens
/// others present), and sign-in works at once instead of failing for a minute.
#[test]
fn keys_replaced_abruptly_are_seen_at_the_next_login() {
    let (a, b) = (Key::new("a"), Key::new("b"));
    let ports = FakePorts::default().with_discovery();
    serve_jwks(&ports, &[&a]);
    let edge = edge(ports);
    assert_eq!(login(&edge, &a).status(), 200);
    assert_eq!(jwks_fetches(&edge), 1);

    serve_jwks(edge.ports(), &[&b]);
    edge.ports().now.set(NOW + 10);
    let res = login(&edge, &b);
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    assert_eq!(jwks_fetches(&edge), 2, "exactly one re-fetch");
}

#[test]
fn an_unknown_key_never_loops_and_refetches_at_most_every_few_seconds() {
    let (a, forged) = (Key::new("a"), Key::new("zz"));
    let ports = FakePorts::default().with_discovery();
    serve_jwks(&ports, &[&a]);
    let edge = edge(ports);
    // Fresh JWKS fetched during this very request: no second fetch.
    let res = login(&edge, &forged);
    assert_eq!(res.status(), 400);
    assert_eq!(json(&res)["code"], "login_failed");
    assert_eq!(jwks_fetches(&edge), 1);
    // Again within the pause: the cached keys are used, no fetch.
    edge.ports().now.set(NOW + JWKS_REFETCH_FROM_PROVIDER - 1);
    assert_eq!(login(&edge, &forged).status(), 400);
    assert_eq!(jwks_fetches(&edge), 1);
    // After it: one re-fetch, still refused.
    edge.ports().now.set(NOW + JWKS_REFETCH_FROM_PROVIDER + 1);
    assert_eq!(login(&edge, &forged).status(), 400);
    assert_eq!(jwks_fetches(&edge), 2);
}

#[test]
fn the_platforms_signature_check_is_asked_with_the_public_key_and_its_answer_decides() {
    let a = Key::new("a");

    // The platform (WebCrypto in the worker) says the signature is bad: the login fails,
    // although Rust would have accepted it.
    let ports = FakePorts::default().with_discovery();
    serve_jwks(&ports, &[&a]);
    ports.signature_verdict.set(Some(false));
    let refused = edge(ports);
    let res = login(&refused, &a);
    assert_eq!(res.status(), 400, "{}", String::from_utf8_lossy(res.body()));
    // The browser reads a fixed message; which check failed goes to the log.
    assert!(!json(&res)["message"]
        .as_str()
        .unwrap()
        .contains("signature"));
    assert!(refused.ports().log_text().contains("signature"));
    let checks = refused.ports().signature_checks.borrow().clone();
    assert_eq!(checks.len(), 1, "one key, one check");
    let (alg, jwk) = &checks[0];
    assert_eq!(alg, "RS256");
    let jwk: Value = serde_json::from_str(jwk).unwrap();
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["n"], a.jwk()["n"]);
    assert!(
        jwk.get("d").is_none() && jwk.get("kid").is_none(),
        "public parameters only: {jwk}"
    );

    // The platform agrees: the login succeeds.
    let ports = FakePorts::default().with_discovery();
    serve_jwks(&ports, &[&a]);
    ports.signature_verdict.set(Some(true));
    let agreed = edge(ports);
    assert_eq!(login(&agreed, &a).status(), 200);

    // The platform has no opinion (native builds): Rust checks, and a token signed by another
    // key under the same kid is refused.
    let impostor = Key {
        kid: "a",
        private: Key::new("x").private,
    };
    let ports = FakePorts::default().with_discovery();
    serve_jwks(&ports, &[&a]);
    let native = edge(ports);
    let res = login(&native, &impostor);
    assert_eq!(res.status(), 400);
    assert_eq!(
        native.ports().signature_checks.borrow().len(),
        1,
        "asked, then checked in Rust"
    );
}
