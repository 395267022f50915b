//! Timing exports for edgeward-core's CPU-heavy steps, compiled to wasm with the worker's
//! release profile and run in V8 (the engine workerd uses) by `scripts/bench-wasm.mjs`.
//! Each export runs its step `n` times and returns the mean in microseconds. Inputs that need
//! keys (ID tokens, JWKS) come from the script, which makes them with node:crypto.

#![cfg(target_arch = "wasm32")]
#![forbid(unsafe_code)]

mod edge;

use edgeward_core::cookie::seal::{CookieKeys, Label};
use edgeward_core::oidc::idtoken::{self, Expected, Jwks};
use edgeward_core::{Random, RandomUnavailable, RustSignatures};
use edgeward_webcrypto::WebCrypto;
use wasm_bindgen::prelude::*;

struct JsRandom;
impl Random for JsRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
        getrandom::getrandom(dest).map_err(|_| RandomUnavailable)
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn keys() -> Result<CookieKeys, JsError> {
    CookieKeys::parse("b1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
        .map(|k| k.for_deployment("https://app.example", "edgeward"))
        .map_err(|e| JsError::new(&e.to_string()))
}

fn mean_us(n: u32, start: f64) -> f64 {
    (now_ms() - start) * 1000.0 / f64::from(n.max(1))
}

/// A session cookie's label: a binding tag and an expiry.
const LABEL: Label<'static> = Label {
    tag: "AAAAAAAAAAAAAAAAAAAAAA",
    expires_at: u64::MAX,
};

/// Sealing `size` bytes as a cookie value.
#[wasm_bindgen]
pub fn seal(size: usize, n: u32) -> Result<f64, JsError> {
    let keys = keys()?;
    let value = vec![b'x'; size];
    let start = now_ms();
    for _ in 0..n {
        keys.seal("__Host-edgeward-at", LABEL, &value, &JsRandom)
            .map_err(|e| JsError::new(&e.to_string()))?;
    }
    Ok(mean_us(n, start))
}

/// Opening a sealed value of `size` bytes.
#[wasm_bindgen]
pub fn open(size: usize, n: u32) -> Result<f64, JsError> {
    let keys = keys()?;
    let sealed = keys
        .seal("__Host-edgeward-at", LABEL, &vec![b'x'; size], &JsRandom)
        .map_err(|e| JsError::new(&e.to_string()))?;
    let start = now_ms();
    for _ in 0..n {
        keys.open("__Host-edgeward-at", &sealed, 0)
            .map_err(|e| JsError::new(&e.to_string()))?;
    }
    Ok(mean_us(n, start))
}

/// Validating an ID token (signature and claims) against a JWKS, the signature checked in
/// Rust or, with `webcrypto`, by WebCrypto (as the worker does).
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub async fn id_token(
    jwks: String,
    token: String,
    issuer: String,
    client_id: String,
    nonce: String,
    now: f64,
    n: u32,
    webcrypto: bool,
) -> Result<f64, JsError> {
    let jwks = Jwks::parse(jwks.as_bytes()).map_err(|e| JsError::new(&e))?;
    let expected = Expected {
        issuer: &issuer,
        client_id: &client_id,
        nonce: &nonce,
        acr_values: None,
        now: now as u64,
    };
    let start = now_ms();
    for _ in 0..n {
        let checked = if webcrypto {
            idtoken::validate(&token, &jwks, &expected, &WebCrypto).await
        } else {
            idtoken::validate(&token, &jwks, &expected, &RustSignatures).await
        };
        checked.map_err(|e| JsError::new(&e.to_string()))?;
    }
    Ok(mean_us(n, start))
}

/// Minting a phantom token (ES256, `introspect-mint` mode).
#[wasm_bindgen]
pub fn mint(now: f64, n: u32) -> Result<f64, JsError> {
    use edgeward_core::proxy::phantom::{Introspection, MintKey, TokenFacts};
    let key = MintKey::parse("m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE")
        .map_err(|e| JsError::new(&e))?;
    let introspection = Introspection {
        active: true,
        token: TokenFacts {
            sub: Some("demo".into()),
            scope: Some("openid profile".into()),
            client_id: Some("edgeward".into()),
            exp: Some(now as u64 + 300),
            token_type: Some("Bearer".into()),
            ..TokenFacts::default()
        },
    };
    let start = now_ms();
    for _ in 0..n {
        key.mint(
            &introspection,
            "https://app.example",
            "https://api.example",
            now as u64,
            60,
            &JsRandom,
        )
        .map_err(|e| JsError::new(&e.to_string()))?;
    }
    Ok(mean_us(n, start))
}

/// The phantom-token cache key: SHA-256 of (mode, audience, the route's rules, a 43-character
/// opaque token).
#[wasm_bindgen]
pub fn cache_key(n: u32) -> f64 {
    let token = "x".repeat(43);
    let start = now_ms();
    for _ in 0..n {
        let key = edgeward_core::proxy::phantom::CacheKey::new(
            "mint:m1",
            "https://api.example",
            "https://api.example edgeward\ntypes=bearer;untyped=false;clients=-;aud-required=false\nedgeward\nhttps://idp.example",
            &token,
        );
        std::hint::black_box(key);
    }
    mean_us(n, start)
}
