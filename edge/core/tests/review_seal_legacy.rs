//! Found by the outside review of the issue-12 fixes (each test failed then; all pass since the
//! follow-up fix): format-1 sealed values still open, and format 1 has no
//! deployment in its associated data (`edgeward/1/<kid>/<cookie name>`).
//!
//! README "Cookies" (as it read then): "a value … taken from another deployment
//! that shares the key (staging and production), does not open". That holds for format 2 only.
//! A deployment sharing the key that still runs the previous release (the situation during the
//! very upgrade the compatibility path exists for, or a staging that lags behind) seals format 1,
//! and every format-1 value of it opens here. Session cookies of format 1 carry no binding and
//! are refused for their shape, but the login cookie's shape did not change: a login started at
//! the other deployment finishes here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{call, config_with, idp_sign, json, request, FakePorts, ISSUER, ORIGIN};
use edgeward_core::cookie::seal::CookieKeys;
use edgeward_core::Edge;
use edgeward_shared::names;
use futures_executor::block_on;
use serde_json::json;

const NOW: u64 = 1_700_000_000;

/// Seals `value` as the previous release did (format 1: the configured key itself, a random
/// nonce, associated data without the deployment), with the test key `k1`.
fn seal_format_1(name: &str, value: &serde_json::Value, exp: u64) -> String {
    let key: Vec<u8> = (0u8..32).collect(); // common::KEYS is 000102…1f
    let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
    let nonce = [7u8; 12];
    let plaintext = serde_json::to_vec(&json!({ "exp": exp, "v": value })).unwrap();
    let aad = format!("edgeward/1/k1/{name}");
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: aad.as_bytes(),
            },
        )
        .unwrap();
    let mut payload = nonce.to_vec();
    payload.extend_from_slice(&ciphertext);
    format!("1.k1.{}", URL_SAFE_NO_PAD.encode(payload))
}

#[test]
fn review_format_1_values_of_another_deployment_open_here() {
    let staging = CookieKeys::parse(common::KEYS)
        .unwrap()
        .for_deployment("https://staging.example", "edgeward");
    let production = CookieKeys::parse(common::KEYS)
        .unwrap()
        .for_deployment("https://app.example", "edgeward");
    let value = json!({"state": "s", "nonce": "n", "verifier": "v", "return_to": "/"});

    // Format 2 holds: staging's value does not open in production.
    let ports = FakePorts::default();
    let v2 = block_on(staging.seal_json(&ports, names::COOKIE_LOGIN, &value, NOW + 600)).unwrap();
    assert!(block_on(production.open_json::<serde_json::Value>(
        &ports,
        names::COOKIE_LOGIN,
        &v2,
        NOW
    ))
    .is_err());

    // Format 1, as a deployment on the previous release seals it: opens in production.
    let v1 = seal_format_1(names::COOKIE_LOGIN, &value, NOW + 600);
    assert!(
        block_on(production.open_json::<serde_json::Value>(&ports, names::COOKIE_LOGIN, &v1, NOW))
            .is_err(),
        "a format-1 value sealed by another deployment sharing the key opened here"
    );
}

#[test]
fn review_a_login_started_at_another_deployment_on_the_previous_release_finishes_here() {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({}));
    let edge = Edge::new(config_with(&[]), ports);

    // The other deployment's login cookie (format 1): state, nonce and verifier it chose.
    let login = seal_format_1(
        names::COOKIE_LOGIN,
        &json!({"state": "staging-state", "nonce": "staging-nonce", "verifier": "v", "return_to": "/"}),
        NOW + 600,
    );
    let id_token = idp_sign(
        &json!({"iss": ISSUER, "sub": "demo", "aud": "edgeward", "nonce": "staging-nonce",
                "iat": NOW, "exp": NOW + 300}),
        None,
    );
    edge.ports().route(
        &format!("{ISSUER}/token"),
        200,
        json!({"access_token": "at", "token_type": "Bearer", "expires_in": 300,
               "refresh_token": "rt", "id_token": id_token})
        .to_string(),
    );
    let page = format!("{ORIGIN}/callback?code=c&state=staging-state&iss={ISSUER}");
    let res = call(
        &edge,
        request(
            "POST",
            "/auth/login/end",
            &[
                ("origin", ORIGIN),
                ("cookie", &format!("{}={login}", names::COOKIE_LOGIN)),
                ("content-type", "application/json"),
            ],
            &json!({ "pageUrl": page }).to_string(),
        ),
    );
    assert_ne!(
        res.status(),
        200,
        "a login cookie sealed by another deployment was accepted: {}",
        json(&res)
    );
}
