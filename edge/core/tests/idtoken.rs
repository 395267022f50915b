//! ID-token validation, table-driven: each row a token and the error it must give.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{TimeZone, Utc};
use edgeward_core::oidc::idtoken::{Expected, IdTokenError, Jwks, ValidatedIdToken};
use edgeward_core::RustSignatures;

/// Validation with every signature checked in Rust (the path native builds take).
fn validate(
    token: &str,
    jwks: &Jwks,
    expected: &Expected<'_>,
) -> Result<ValidatedIdToken, IdTokenError> {
    futures_executor::block_on(edgeward_core::oidc::idtoken::validate(
        token,
        jwks,
        expected,
        &RustSignatures,
    ))
}
use jwt_compact::alg::{Es256, Rsa, RsaPrivateKey, RsaPublicKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{AlgorithmExt, Claims, Header};
use rand_core::OsRng;
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000;
const ISSUER: &str = "http://idp.test";

struct Keys {
    rsa: RsaPrivateKey,
    other_rsa: RsaPrivateKey,
    ec: p256::ecdsa::SigningKey,
}

fn keys() -> Keys {
    Keys {
        rsa: RsaPrivateKey::new(&mut OsRng, 2048).unwrap(),
        other_rsa: RsaPrivateKey::new(&mut OsRng, 2048).unwrap(),
        ec: p256::ecdsa::SigningKey::random(&mut OsRng),
    }
}

fn jwks(keys: &Keys) -> Jwks {
    let public = RsaPublicKey::from(&keys.rsa);
    let mut rsa = serde_json::to_value(JsonWebKey::from(&public)).unwrap();
    rsa["kid"] = json!("rsa-1");
    rsa["use"] = json!("sig");
    let ec_public = p256::PublicKey::from(keys.ec.verifying_key());
    let mut ec: Value = serde_json::from_str(&ec_public.to_jwk_string()).unwrap();
    ec["kid"] = json!("ec-1");
    // An encryption key and an unknown key type must be skipped, not fatal.
    let enc = json!({"kty": "RSA", "use": "enc", "kid": "enc-1", "n": rsa["n"], "e": rsa["e"]});
    let okp = json!({"kty": "OKP", "crv": "X25519", "kid": "x-1", "x": "AAAA"});
    let doc = json!({ "keys": [rsa, ec, enc, okp] });
    let jwks = Jwks::parse(doc.to_string().as_bytes()).unwrap();
    assert_eq!(jwks.len(), 2, "{jwks:?}");
    jwks
}

fn claims(overrides: Value) -> Claims<Value> {
    let mut custom = json!({
        "iss": ISSUER,
        "sub": "demo",
        "aud": "edgeward",
        "nonce": "n-1",
        "name": "Demo User",
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            custom.as_object_mut().unwrap().remove(k);
        } else {
            custom[k] = v.clone();
        }
    }
    let mut claims = Claims::new(custom);
    claims.issued_at = Some(Utc.timestamp_opt(NOW as i64 - 10, 0).unwrap());
    claims.expiration = Some(Utc.timestamp_opt(NOW as i64 + 300, 0).unwrap());
    claims
}

fn rs256(key: &RsaPrivateKey, kid: &str, claims: &Claims<Value>) -> String {
    Rsa::rs256()
        .token(&Header::empty().with_key_id(kid), claims, key)
        .unwrap()
}

fn es256(key: &p256::ecdsa::SigningKey, kid: &str, claims: &Claims<Value>) -> String {
    Es256
        .token(&Header::empty().with_key_id(kid), claims, key)
        .unwrap()
}

/// A token with any header, the given claims and a junk signature.
fn forged(header: Value, claims: &Claims<Value>, signature: &[u8]) -> String {
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let c = URL_SAFE_NO_PAD.encode(serde_json::to_string(claims).unwrap());
    format!("{h}.{c}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn expected() -> Expected<'static> {
    Expected {
        issuer: ISSUER,
        tenants: None,
        client_id: "edgeward",
        nonce: "n-1",
        acr_values: None,
        now: NOW,
    }
}

#[test]
fn id_tokens() {
    let keys = keys();
    let jwks = jwks(&keys);
    let ok = claims(json!({}));

    let good_rs = rs256(&keys.rsa, "rsa-1", &ok);
    let validated = validate(&good_rs, &jwks, &expected()).unwrap();
    assert_eq!(validated.claims.sub, "demo");
    assert_eq!(validated.claims.name.as_deref(), Some("Demo User"));
    assert_eq!(validated.expires_at, NOW + 300);
    let good_es = es256(&keys.ec, "ec-1", &ok);
    assert_eq!(
        validate(&good_es, &jwks, &expected()).unwrap().claims.sub,
        "demo"
    );

    let mut expired = claims(json!({}));
    expired.expiration = Some(Utc.timestamp_opt(NOW as i64 - 61, 0).unwrap());
    let mut within_leeway = claims(json!({}));
    within_leeway.expiration = Some(Utc.timestamp_opt(NOW as i64 - 30, 0).unwrap());
    let mut no_exp = claims(json!({}));
    no_exp.expiration = None;
    let mut future_iat = claims(json!({}));
    future_iat.issued_at = Some(Utc.timestamp_opt(NOW as i64 + 120, 0).unwrap());
    let mut no_iat = claims(json!({}));
    no_iat.issued_at = None;
    // A public key's bytes used as an HMAC secret: the classic key-confusion attack.
    let public_n = serde_json::to_value(JsonWebKey::from(&RsaPublicKey::from(&keys.rsa))).unwrap();
    let hs256 = forged(
        json!({"alg": "HS256", "kid": "rsa-1"}),
        &ok,
        public_n["n"].as_str().unwrap().as_bytes(),
    );
    let tampered = {
        let mut parts: Vec<String> = good_rs.split('.').map(str::to_owned).collect();
        let evil = claims(json!({"sub": "admin"}));
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_string(&evil).unwrap());
        parts.join(".")
    };

    let table: Vec<(&str, String, Option<IdTokenError>)> = vec![
        (
            "exp within leeway",
            rs256(&keys.rsa, "rsa-1", &within_leeway),
            None,
        ),
        (
            "aud as array",
            rs256(&keys.rsa, "rsa-1", &claims(json!({"aud": ["edgeward"]}))),
            None,
        ),
        (
            "several aud with our azp",
            rs256(
                &keys.rsa,
                "rsa-1",
                &claims(json!({"aud": ["edgeward", "api"], "azp": "edgeward"})),
            ),
            None,
        ),
        (
            "one aud in an array, with our azp",
            rs256(
                &keys.rsa,
                "rsa-1",
                &claims(json!({"aud": ["edgeward"], "azp": "edgeward"})),
            ),
            None,
        ),
        (
            "one aud as a string, with our azp",
            rs256(&keys.rsa, "rsa-1", &claims(json!({"azp": "edgeward"}))),
            None,
        ),
        (
            "no kid: the key is found by type",
            Rsa::rs256()
                .token(&Header::empty(), &ok, &keys.rsa)
                .unwrap(),
            None,
        ),
        (
            "alg none",
            forged(json!({"alg": "none"}), &ok, b""),
            Some(IdTokenError::UnsupportedAlgorithm("none".into())),
        ),
        (
            "HS256 keyed with the public key",
            hs256,
            Some(IdTokenError::UnsupportedAlgorithm("HS256".into())),
        ),
        (
            "signed by another key, same kid",
            rs256(&keys.other_rsa, "rsa-1", &ok),
            Some(IdTokenError::BadSignature),
        ),
        (
            "claims swapped after signing",
            tampered,
            Some(IdTokenError::BadSignature),
        ),
        (
            "RS256 header on an EC key id",
            rs256(&keys.rsa, "ec-1", &ok),
            Some(IdTokenError::UnknownKey),
        ),
        (
            "unknown kid",
            rs256(&keys.rsa, "rotated-2", &ok),
            Some(IdTokenError::UnknownKey),
        ),
        (
            "expired",
            rs256(&keys.rsa, "rsa-1", &expired),
            Some(IdTokenError::Expired),
        ),
        (
            "no exp",
            rs256(&keys.rsa, "rsa-1", &no_exp),
            Some(IdTokenError::Expired),
        ),
        (
            "iat in the future",
            rs256(&keys.rsa, "rsa-1", &future_iat),
            Some(IdTokenError::BadIssuedAt),
        ),
        (
            "no iat",
            rs256(&keys.rsa, "rsa-1", &no_iat),
            Some(IdTokenError::BadIssuedAt),
        ),
        (
            "wrong iss",
            rs256(
                &keys.rsa,
                "rsa-1",
                &claims(json!({"iss": "http://evil.test"})),
            ),
            Some(IdTokenError::WrongIssuer),
        ),
        (
            "wrong aud",
            rs256(&keys.rsa, "rsa-1", &claims(json!({"aud": "other-client"}))),
            Some(IdTokenError::WrongAudience),
        ),
        (
            "several aud, no azp",
            rs256(
                &keys.rsa,
                "rsa-1",
                &claims(json!({"aud": ["edgeward", "api"]})),
            ),
            Some(IdTokenError::WrongAudience),
        ),
        (
            "azp of another client",
            rs256(&keys.rsa, "rsa-1", &claims(json!({"azp": "other"}))),
            Some(IdTokenError::WrongAudience),
        ),
        (
            "several aud, azp of another client",
            rs256(
                &keys.rsa,
                "rsa-1",
                &claims(json!({"aud": ["edgeward", "api"], "azp": "api"})),
            ),
            Some(IdTokenError::WrongAudience),
        ),
        (
            "our azp, but aud names only others",
            rs256(
                &keys.rsa,
                "rsa-1",
                &claims(json!({"aud": ["api", "other-client"], "azp": "edgeward"})),
            ),
            Some(IdTokenError::WrongAudience),
        ),
        (
            "aud as an empty array",
            rs256(&keys.rsa, "rsa-1", &claims(json!({"aud": []}))),
            Some(IdTokenError::WrongAudience),
        ),
        (
            "aud differs only in case",
            rs256(&keys.rsa, "rsa-1", &claims(json!({"aud": "EdgeWard"}))),
            Some(IdTokenError::WrongAudience),
        ),
        (
            "aud is neither a string nor an array of strings",
            rs256(&keys.rsa, "rsa-1", &claims(json!({"aud": 7}))),
            Some(IdTokenError::Malformed),
        ),
        (
            "no aud",
            rs256(&keys.rsa, "rsa-1", &claims(json!({"aud": null}))),
            Some(IdTokenError::Malformed),
        ),
        (
            "wrong nonce",
            rs256(&keys.rsa, "rsa-1", &claims(json!({"nonce": "n-2"}))),
            Some(IdTokenError::WrongNonce),
        ),
        (
            "no nonce",
            rs256(&keys.rsa, "rsa-1", &claims(json!({"nonce": null}))),
            Some(IdTokenError::WrongNonce),
        ),
        (
            "not a JWT",
            "not.a.jwt".into(),
            Some(IdTokenError::Malformed),
        ),
        ("empty", String::new(), Some(IdTokenError::Malformed)),
    ];
    for (what, token, error) in table {
        let result = validate(&token, &jwks, &expected());
        match error {
            None => assert!(result.is_ok(), "{what}: {result:?}"),
            Some(e) => assert_eq!(result.unwrap_err(), e, "{what}"),
        }
    }
}

#[test]
fn a_jwks_that_is_not_one_is_an_error() {
    assert!(Jwks::parse(b"<html>").is_err());
    assert!(Jwks::parse(br#"{"nokeys":[]}"#).is_err());
    assert!(Jwks::parse(br#"{"keys":[]}"#).unwrap().is_empty());
}
