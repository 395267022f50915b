//! Minting with ES256 or RS256 (`EDGEWARD_MINT_ALG`), through the platform's [`Signer`] port
//! first and in Rust when the platform cannot: the configuration refuses keys that do not fit
//! the algorithm, the JWKS publishes the right key, and every minted token verifies with the
//! Rust verifier whichever side signed it.
//!
//! [`Signer`]: edgeward_core::Signer

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "fixtures/mint_keys.rs"]
mod keys;

use common::config_result;

const ROUTES: &str =
    r#"[{"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET"]}]"#;

const MINT: &str = "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";

/// Attacks on the configuration: a key of the wrong kind or size, an algorithm not on the list.
/// Each is a config error naming the variable, and never echoes the secret.
#[test]
fn keys_that_do_not_fit_the_algorithm_are_config_errors() {
    let rsa = format!("r1:{}", keys::RSA_2048);
    let rsa_1024 = format!("r1:{}", keys::RSA_1024);
    let ec_pkcs8 = format!("r1:{}", keys::EC_PKCS8);
    let rsa_2047 = format!("r1:{}", keys::RSA_2047);
    let cases: [(&[(&str, &str)], &str, &str); 8] = [
        // One bit short, though its modulus fills 256 bytes.
        (
            &[
                ("EDGEWARD_MINT_ALG", "RS256"),
                ("EDGEWARD_MINT_KEY", &rsa_2047),
            ],
            "EDGEWARD_MINT_KEY",
            "2047 bits",
        ),
        // An RSA key where ES256 is configured (explicitly, or by default).
        (
            &[("EDGEWARD_MINT_ALG", "ES256"), ("EDGEWARD_MINT_KEY", &rsa)],
            "EDGEWARD_MINT_KEY",
            "RSA key",
        ),
        (
            &[("EDGEWARD_MINT_KEY", &rsa)],
            "EDGEWARD_MINT_KEY",
            "RSA key",
        ),
        // A P-256 key (raw scalar or PKCS#8) where RS256 is configured.
        (
            &[("EDGEWARD_MINT_ALG", "RS256"), ("EDGEWARD_MINT_KEY", MINT)],
            "EDGEWARD_MINT_KEY",
            "not an RSA private key",
        ),
        (
            &[
                ("EDGEWARD_MINT_ALG", "RS256"),
                ("EDGEWARD_MINT_KEY", &ec_pkcs8),
            ],
            "EDGEWARD_MINT_KEY",
            "not an RSA private key",
        ),
        // Too short an RSA key.
        (
            &[
                ("EDGEWARD_MINT_ALG", "RS256"),
                ("EDGEWARD_MINT_KEY", &rsa_1024),
            ],
            "EDGEWARD_MINT_KEY",
            "1024 bits",
        ),
        // Algorithms not on the list.
        (
            &[("EDGEWARD_MINT_ALG", "none"), ("EDGEWARD_MINT_KEY", MINT)],
            "EDGEWARD_MINT_ALG",
            "ES256 or RS256",
        ),
        (
            &[("EDGEWARD_MINT_ALG", "HS256"), ("EDGEWARD_MINT_KEY", MINT)],
            "EDGEWARD_MINT_ALG",
            "ES256 or RS256",
        ),
    ];
    let mut wrong = Vec::new();
    for (i, (vars, variable, reason)) in cases.into_iter().enumerate() {
        let Err(err) = config_result(&[&[("EDGEWARD_API_ROUTES", ROUTES)], vars].concat()) else {
            wrong.push(format!("case {i}: accepted"));
            continue;
        };
        if err.variable != variable || !err.reason.contains(reason) {
            wrong.push(format!("case {i}: {err}"));
        }
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(&keys::RSA_2048[40..80]), "{shown}");
        assert!(!shown.contains(&keys::RSA_1024[40..80]), "{shown}");
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

use common::FakePorts;
use edgeward_core::oidc::idtoken::{self, IdTokenError, Jwks};
use edgeward_core::proxy::phantom::{
    Introspection, MintAlg, MintKey, PhantomClaims, TokenFacts, MINTED_TYP,
};
use edgeward_core::RustSignatures;
use futures_executor::block_on;

const NOW: u64 = 1_700_000_000;

fn active() -> Introspection {
    Introspection {
        active: true,
        token: TokenFacts {
            sub: Some("demo".into()),
            client_id: Some("edgeward".into()),
            scope: Some("orders:read".into()),
            exp: Some(NOW + 300),
            ..TokenFacts::default()
        },
    }
}

fn rsa_key() -> MintKey {
    MintKey::parse_for(MintAlg::Rs256, &format!("r1:{}", keys::RSA_2048)).unwrap()
}

/// Verifies `jwt` with the Rust verifier against `key`'s published JWKS and reads its claims.
fn verify(jwt: &str, key: &MintKey) -> Result<PhantomClaims, IdTokenError> {
    let jwks = Jwks::parse(key.jwks_json().as_bytes()).unwrap();
    let verified = block_on(idtoken::verify::<PhantomClaims, _>(
        jwt,
        &jwks,
        &RustSignatures,
    ))?;
    assert_eq!(verified.header().token_type.as_deref(), Some(MINTED_TYP));
    assert_eq!(verified.header().key_id.as_deref(), Some(key.kid()));
    Ok(verified.claims().custom.clone())
}

/// The published key: its type, `alg`, `use` and `kid`, and nothing private.
#[test]
fn the_jwks_publishes_the_public_key_for_its_algorithm() {
    let table = [
        (MintKey::parse(MINT).unwrap(), "EC", "ES256", "m1"),
        (rsa_key(), "RSA", "RS256", "r1"),
        (
            MintKey::parse_for(MintAlg::Rs256, &format!("r3:{}", keys::RSA_3072)).unwrap(),
            "RSA",
            "RS256",
            "r3",
        ),
    ];
    for (key, kty, alg, kid) in table {
        let jwks: serde_json::Value = serde_json::from_str(&key.jwks_json()).unwrap();
        let jwk = &jwks["keys"][0];
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        assert_eq!(jwk["kty"], kty);
        assert_eq!(jwk["alg"], alg);
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], kid);
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(jwk.get(private).is_none(), "{alg}: {private} published");
        }
        assert_eq!(key.alg().name(), alg);
        assert_eq!(format!("{key:?}"), format!("MintKey({kid}, ***)"));
    }
    // PKCS#1 and PKCS#8 of one key are the same key; base64url works as well as base64.
    let pkcs1 = MintKey::parse_for(MintAlg::Rs256, &format!("r1:{}", keys::RSA_2048_PKCS1));
    assert_eq!(pkcs1.unwrap().jwks_json(), rsa_key().jwks_json());
    let url = keys::RSA_2048.replace('+', "-").replace('/', "_");
    let url = MintKey::parse_for(MintAlg::Rs256, &format!("r1:{}", url.trim_end_matches('=')));
    assert_eq!(url.unwrap().jwks_json(), rsa_key().jwks_json());
}

/// Signed in Rust (no platform signer), with either algorithm: the Rust verifier accepts the
/// token under the published key, and refuses it under another key with the same `kid`.
#[test]
fn tokens_signed_in_rust_verify_with_either_algorithm() {
    let other_rsa = MintKey::parse_for(MintAlg::Rs256, &format!("r1:{}", keys::RSA_3072)).unwrap();
    let other_ec = MintKey::parse("m1:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI").unwrap();
    for (key, other, alg) in [
        (MintKey::parse(MINT).unwrap(), other_ec, "ES256"),
        (rsa_key(), other_rsa, "RS256"),
    ] {
        let ports = FakePorts::default();
        let minted =
            block_on(key.mint_with(&active(), "https://app.example", "orders", NOW, 60, &ports))
                .unwrap();
        let calls = ports.sign_calls.borrow();
        assert_eq!(calls.len(), 1, "{alg}: the platform is asked first");
        let (asked_alg, jwk, message) = &calls[0];
        assert_eq!(asked_alg, alg);
        assert!(jwk.contains("\"d\""), "{alg}: the private JWK");
        assert!(minted
            .jwt
            .starts_with(std::str::from_utf8(message).unwrap()));
        let header: serde_json::Value =
            serde_json::from_slice(&base64_url(minted.jwt.split('.').next().unwrap())).unwrap();
        assert_eq!(header["alg"], alg);
        let claims = verify(&minted.jwt, &key).unwrap();
        assert_eq!(claims.sub, "demo");
        assert_eq!(claims.aud, "orders");
        assert_eq!(claims.client_id, "edgeward");
        assert_eq!(minted.expires_at, NOW + 60);
        // The sync Rust path makes the same kind of token.
        let rust = key
            .mint(&active(), "https://app.example", "orders", NOW, 60, &ports)
            .unwrap();
        verify(&rust.jwt, &key).unwrap();
        assert_eq!(
            verify(&minted.jwt, &other).unwrap_err(),
            IdTokenError::BadSignature,
            "{alg}: another key with the same kid"
        );
    }
}

/// The platform's signature is used as it is when it has the right length; an answer of the
/// wrong length (a platform bug) is dropped and the token signed in Rust.
#[test]
fn the_platform_signs_first_and_a_wrong_length_answer_falls_back_to_rust() {
    for key in [MintKey::parse(MINT).unwrap(), rsa_key()] {
        let alg = key.alg().name();
        let right = if alg == "ES256" { 64 } else { 256 };
        let ports = FakePorts::default();
        *ports.signer.borrow_mut() = Some(vec![7; right]);
        let minted =
            block_on(key.mint_with(&active(), "https://a.example", "orders", NOW, 60, &ports))
                .unwrap();
        assert_eq!(
            base64_url(minted.jwt.rsplit('.').next().unwrap()),
            vec![7; right],
            "{alg}: the platform's signature"
        );
        for wrong in [0, 3, right - 1, right + 1] {
            *ports.signer.borrow_mut() = Some(vec![7; wrong]);
            let minted =
                block_on(key.mint_with(&active(), "https://a.example", "orders", NOW, 60, &ports))
                    .unwrap();
            verify(&minted.jwt, &key).unwrap_or_else(|e| panic!("{alg}, {wrong} bytes: {e:?}"));
        }
    }
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

/// What the example API (and anyone reading the worker's JWKS with the core's verifier) does
/// with a minted token altered on the way: `none` or HMAC in its header, or an RS256 token
/// checked against a JWKS whose key under that `kid` is an EC key (and the other way round), is
/// refused.
#[test]
fn the_verifier_refuses_none_hmac_and_keys_of_the_other_type() {
    let rsa = rsa_key();
    let ec = MintKey::parse("r1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE").unwrap();
    let ports = FakePorts::default();
    let mint = |key: &MintKey| {
        key.mint(&active(), "https://a.example", "orders", NOW, 60, &ports)
            .unwrap()
            .jwt
    };
    let jwks = |key: &MintKey| Jwks::parse(key.jwks_json().as_bytes()).unwrap();
    let check = |jwt: &str, jwks: &Jwks| {
        block_on(idtoken::verify::<PhantomClaims, _>(
            jwt,
            jwks,
            &RustSignatures,
        ))
        .map(|_| ())
    };
    let rs256 = mint(&rsa);
    let es256 = mint(&ec);
    assert_eq!(check(&rs256, &jwks(&rsa)), Ok(()));
    assert_eq!(check(&es256, &jwks(&ec)), Ok(()));
    // Same kid, other key type.
    assert_eq!(check(&rs256, &jwks(&ec)), Err(IdTokenError::UnknownKey));
    assert_eq!(check(&es256, &jwks(&rsa)), Err(IdTokenError::UnknownKey));
    // The header's alg rewritten (signature kept, or emptied as `none` would have it).
    let rewrite = |jwt: &str, alg: &str, signature: &str| {
        use base64::Engine;
        let mut parts = jwt.split('.');
        let header: serde_json::Value =
            serde_json::from_slice(&base64_url(parts.next().unwrap())).unwrap();
        let mut header = header.as_object().unwrap().clone();
        header.insert("alg".into(), alg.into());
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::Value::Object(header).to_string());
        format!("{header}.{}.{signature}", parts.next().unwrap())
    };
    let signature = rs256.rsplit('.').next().unwrap();
    for (alg, sig) in [("none", ""), ("HS256", signature), ("ES256", signature)] {
        let forged = rewrite(&rs256, alg, sig);
        let err = check(&forged, &jwks(&rsa)).unwrap_err();
        assert!(
            matches!(
                err,
                IdTokenError::UnsupportedAlgorithm(_)
                    | IdTokenError::UnknownKey
                    | IdTokenError::Malformed
            ),
            "{alg}: {err:?}"
        );
    }
}
