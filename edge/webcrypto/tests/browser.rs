//! The WebCrypto verifier in a real browser (headless Chromium, as `scripts/test.sh` runs it):
//! good signatures pass, altered ones fail, and what it cannot check is left to Rust (`None`).
//! The vectors were made once with Node's crypto (fresh keys, thrown away).

#![cfg(target_arch = "wasm32")]
// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use edgeward_core::SignatureVerifier;
use edgeward_webcrypto::WebCrypto;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// What was signed (a JWS signing input).
const MESSAGE: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJkZW1vIn0";
const RS256_JWK: &str = r#"{"kty":"RSA","n":"q27lpLC7BMozfmVASf37yWKTn4WIQeNNPTQEkcb7g7dI0fifOuJvU48apVYsbcAc82L4Hl9ON-xuDipIeC_2ebictfT0dk_adzmxVsuEBnlPI2tE2zEUyzb4-P6mlcVv3yb0TJHjX-BKIT_Jb1dSF3ES4jjswwr8gpGjsInOJW44XZQsVEHUDw-CO8VcPyivYyxixT36IPxHybN9VD5H-E7wgNKSTtWujJxlI12uy82h41ct2SH-GqqDEiaw-L20Tb6aCPoxFkeQPdd1ydLlPft256QqHnPpfJeF60El-PRKS5FCTf-WpKQNL2X8h4ZK2yrDzApu3oBPnoNd9HcWaw","e":"AQAB"}"#;
const RS256_SIGNATURE: &str = "VMzMZxxFpL1EfgXtqWoToiqCyFO9LrGLDBVrfNctMzO18IvoamTF0y4YCiqSeoaUD6l393TLsX5ypuXZcKscRSP9SAbyen2RCOZw6DUxCDNOxj_7U3duG0YsnfRVrpYNkrH0q1naJSPvg_xWHlT-KZy-2fjtB8PaB5-Ca3e1xLifA8RSBj3UJtDKpOw0aCa6-KWsMXmKhj7gB-1l3nAJq6k1UJYLGQC-qirgZKbhOOtFl3qH1qbznHjBihY_EzN3GgLO6_xYVDkcJT6mTvFnQPGhhFJgNBQ9VSiqS_VGBqsTAxxb1n_ImNG0H-bBSeeBK8FphJ7Cc9E6miTou0KEeA";
const ES256_JWK: &str = r#"{"kty":"EC","x":"_0Xe6hHLZVYY8fMAsYvlyE5DHfaQaI2y9CBmVPj0MV0","y":"tsX9aftgWbZJgXAjulz-fFa3PuHLb1z8CvF_RmKMyLY","crv":"P-256"}"#;
const ES256_SIGNATURE: &str =
    "uuwfBsYX-7XhZC_6xZZu4cC3d7W5xEWrJPlBG81ZHbD_6hKXniZlvKyegA7Toqr0goAQ9_IOGQONJP25z3cusQ";

async fn check(alg: &str, jwk: &str, message: &[u8], signature_b64: &str) -> Option<bool> {
    let signature = URL_SAFE_NO_PAD.decode(signature_b64).unwrap();
    WebCrypto
        .verify_signature(alg, jwk, message, &signature)
        .await
}

#[wasm_bindgen_test]
async fn good_signatures_verify() {
    let m = MESSAGE.as_bytes();
    assert_eq!(
        check("RS256", RS256_JWK, m, RS256_SIGNATURE).await,
        Some(true)
    );
    assert_eq!(
        check("ES256", ES256_JWK, m, ES256_SIGNATURE).await,
        Some(true)
    );
    // Again: now from the isolate's key cache.
    assert_eq!(
        check("ES256", ES256_JWK, m, ES256_SIGNATURE).await,
        Some(true)
    );
}

#[wasm_bindgen_test]
async fn an_altered_message_signature_or_key_fails() {
    let altered = MESSAGE.replace("ZW1v", "ZW1w");
    assert_ne!(altered, MESSAGE);
    assert_eq!(
        check("RS256", RS256_JWK, altered.as_bytes(), RS256_SIGNATURE).await,
        Some(false)
    );
    assert_eq!(
        check("ES256", ES256_JWK, altered.as_bytes(), ES256_SIGNATURE).await,
        Some(false)
    );

    let m = MESSAGE.as_bytes();
    let mut flipped = URL_SAFE_NO_PAD.decode(ES256_SIGNATURE).unwrap();
    flipped[10] ^= 1;
    let flipped = URL_SAFE_NO_PAD.encode(flipped);
    assert_eq!(check("ES256", ES256_JWK, m, &flipped).await, Some(false));
    // ES256 signatures are exactly 64 bytes; WebCrypto says no to any other length.
    assert_eq!(check("ES256", ES256_JWK, m, "AAAA").await, Some(false));

    // Another key of the same type.
    let other = ES256_JWK.replace("\"x\":\"", "\"x\":\"A");
    assert_ne!(check("ES256", &other, m, ES256_SIGNATURE).await, Some(true));
}

#[wasm_bindgen_test]
async fn what_it_cannot_check_is_left_to_rust() {
    let m = MESSAGE.as_bytes();
    // Not an algorithm it handles.
    assert_eq!(check("HS256", RS256_JWK, m, RS256_SIGNATURE).await, None);
    // A key WebCrypto will not import (not JSON; a P-256 key offered for RS256).
    assert_eq!(check("RS256", "not json", m, RS256_SIGNATURE).await, None);
    assert_eq!(check("RS256", ES256_JWK, m, RS256_SIGNATURE).await, None);
}
