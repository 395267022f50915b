//! The provider's signing keys: an RSA key shorter than 2,048 bits in its JWKS is not a key
//! edgeward checks signatures with, so nothing it signed passes (ID tokens, logout tokens,
//! introspection JWTs and service tokens all find their key through `Jwks`).
//!
//! FOUND (issue 19, "mend what is known"): the JWKS took RSA keys of any size. Before the fix:
//! `a 1024-bit provider key verified a token`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use edgeward_core::oidc::idtoken::{verify, Jwks};
use edgeward_core::RustSignatures;
use futures_executor::block_on;
use jwt_compact::alg::{Rsa, RsaPrivateKey};
use jwt_compact::{AlgorithmExt, Claims, Header};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

/// A JWKS holding one RSA key of `bits` bits (kid `k`), and a token it signed.
fn signed_by(bits: usize) -> (Jwks, String) {
    let key = RsaPrivateKey::new(&mut rand_core::OsRng, bits).unwrap();
    assert_eq!(key.n().bits(), bits);
    let jwks = json!({"keys": [{
        "kty": "RSA", "kid": "k", "use": "sig", "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
    }]});
    let token = Rsa::rs256()
        .token(
            &Header::empty().with_key_id("k"),
            &Claims::new(json!({"sub": "someone"})),
            &key,
        )
        .unwrap();
    (Jwks::parse(jwks.to_string().as_bytes()).unwrap(), token)
}

#[test]
fn a_provider_rsa_key_shorter_than_2048_bits_verifies_nothing() {
    for bits in [1024, 2047] {
        let (jwks, token) = signed_by(bits);
        let checked = block_on(verify::<Value, _>(&token, &jwks, &RustSignatures));
        assert!(
            checked.is_err(),
            "a {bits}-bit provider key verified a token"
        );
        assert!(
            jwks.is_empty(),
            "a {bits}-bit key is not one of the provider's usable keys"
        );
    }
    let (jwks, token) = signed_by(2048);
    assert_eq!(jwks.len(), 1);
    let checked = block_on(verify::<Value, _>(&token, &jwks, &RustSignatures)).unwrap();
    assert_eq!(checked.claims().custom["sub"], "someone");
}
