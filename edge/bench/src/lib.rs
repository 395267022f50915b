//! Timing exports for edgeward-core's CPU-heavy steps, compiled to wasm with the worker's
//! release profile and run in V8 (the engine workerd uses) by `scripts/bench-wasm.mjs`.
//! Each export runs its step `n` times and returns the mean in microseconds. Inputs that need
//! keys (ID tokens, JWKS) come from the script, which makes them with node:crypto.

#![cfg(target_arch = "wasm32")]
#![forbid(unsafe_code)]

mod edge;
mod machine;

use edgeward_core::cookie::seal::{CookieKeys, Label};
use edgeward_core::oidc::idtoken::{self, Expected, Jwks};
use edgeward_core::{
    AeadCipher, AuthenticationFailed, Random, RandomUnavailable, RustSignatures, Signer,
};
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

/// The ports of the cookie and mint benchmarks: JavaScript's randomness, and the cipher and
/// the signer in Rust or (with `webcrypto`) WebCrypto's, as the worker has them.
struct CookiePorts {
    webcrypto: bool,
}

impl Random for CookiePorts {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
        JsRandom.fill(dest)
    }
}

impl AeadCipher for CookiePorts {
    async fn aes_gcm_encrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        if !self.webcrypto {
            return None;
        }
        WebCrypto.aes_gcm_encrypt(key, nonce, aad, plaintext).await
    }

    async fn aes_gcm_decrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Option<Result<Vec<u8>, AuthenticationFailed>> {
        if !self.webcrypto {
            return None;
        }
        WebCrypto.aes_gcm_decrypt(key, nonce, aad, ciphertext).await
    }
}

impl Signer for CookiePorts {
    async fn sign_message(&self, alg: &str, jwk: &str, message: &[u8]) -> Option<Vec<u8>> {
        if !self.webcrypto {
            return None;
        }
        WebCrypto.sign_message(alg, jwk, message).await
    }
}

/// Sealing `size` bytes as a cookie value, the cipher in Rust or by WebCrypto.
#[wasm_bindgen]
pub async fn seal(size: usize, n: u32, webcrypto: bool) -> Result<f64, JsError> {
    let keys = keys()?;
    let ports = CookiePorts { webcrypto };
    let value = vec![b'x'; size];
    let start = now_ms();
    for _ in 0..n {
        keys.seal(&ports, "__Host-edgeward-at", LABEL, &value)
            .await
            .map_err(|e| JsError::new(&e.to_string()))?;
    }
    Ok(mean_us(n, start))
}

/// Opening a sealed value of `size` bytes, the cipher in Rust or by WebCrypto.
#[wasm_bindgen]
pub async fn open(size: usize, n: u32, webcrypto: bool) -> Result<f64, JsError> {
    let keys = keys()?;
    let ports = CookiePorts { webcrypto };
    let sealed = keys
        .seal(&ports, "__Host-edgeward-at", LABEL, &vec![b'x'; size])
        .await
        .map_err(|e| JsError::new(&e.to_string()))?;
    let start = now_ms();
    for _ in 0..n {
        keys.open(&ports, "__Host-edgeward-at", &sealed, 0)
            .await
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
        tenants: None,
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

#[path = "../../core/tests/fixtures/mint_keys.rs"]
mod mint_keys;

/// Minting a phantom token (`introspect-mint` mode) with `alg` (`ES256`, or `RS256` with a
/// 2048-bit key), signed by WebCrypto (the worker's path) or, without `webcrypto`, in Rust (the
/// fallback).
#[wasm_bindgen]
pub async fn mint(now: f64, n: u32, alg: String, webcrypto: bool) -> Result<f64, JsError> {
    use edgeward_core::proxy::phantom::{Introspection, MintAlg, MintKey, TokenFacts};
    let key = match MintAlg::parse(&alg).map_err(|e| JsError::new(&e))? {
        MintAlg::Es256 => MintKey::parse("m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"),
        MintAlg::Rs256 => {
            MintKey::parse_for(MintAlg::Rs256, &format!("r1:{}", mint_keys::RSA_2048))
        }
    }
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
    let ports = CookiePorts { webcrypto };
    let start = now_ms();
    for _ in 0..n {
        key.mint_with(
            &introspection,
            "https://app.example",
            "https://api.example",
            now as u64,
            60,
            &ports,
        )
        .await
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

const AES_KEY: [u8; 32] = [7; 32];
const AES_NONCE: [u8; 12] = [9; 12];
const AES_AAD: &[u8] = b"edgeward/2/b1/https://app.example edgeward/__Host-edgeward-at";

/// AES-256-GCM decryption of `size` bytes alone (the key and nonce given): in Rust (the
/// `aes-gcm` crate, what the core falls back to) or, with `webcrypto`, through the WebCrypto
/// port (its key imported on every call, as the core's per-value keys require).
#[wasm_bindgen]
pub async fn aes_gcm_decrypt(size: usize, n: u32, webcrypto: bool) -> Result<f64, JsError> {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let cipher = aes_gcm::Aes256Gcm::new((&AES_KEY).into());
    let nonce = aes_gcm::Nonce::from_slice(&AES_NONCE);
    let sealed = cipher
        .encrypt(
            nonce,
            Payload {
                msg: &vec![b'x'; size],
                aad: AES_AAD,
            },
        )
        .map_err(|_| JsError::new("encrypt"))?;
    let start = now_ms();
    for _ in 0..n {
        let opened = if webcrypto {
            match WebCrypto
                .aes_gcm_decrypt(&AES_KEY, &AES_NONCE, AES_AAD, &sealed)
                .await
            {
                Some(Ok(plaintext)) => Some(plaintext),
                _ => None,
            }
        } else {
            // A fresh cipher every time, as for a per-value key (the key schedule is part of it).
            aes_gcm::Aes256Gcm::new((&AES_KEY).into())
                .decrypt(
                    nonce,
                    Payload {
                        msg: &sealed,
                        aad: AES_AAD,
                    },
                )
                .ok()
        };
        opened.ok_or_else(|| JsError::new("did not open"))?;
    }
    Ok(mean_us(n, start))
}

/// The per-value key and nonce (44 bytes of HKDF-SHA256-Expand under the configured key, info
/// `edgeward/cookie/2` ‖ 16-byte salt), in Rust (the `hkdf` crate, what the core does) or,
/// with `webcrypto`, as the two HMAC-SHA256 blocks of the expand step by WebCrypto, the HMAC key
/// imported once. (WebCrypto's own HKDF always runs the extract step first, which the sealed
/// format skips: it cannot give the same bytes.) Checks both give the same bytes first.
#[wasm_bindgen]
pub async fn derive(n: u32, webcrypto: bool) -> Result<f64, JsError> {
    let material: [u8; 32] = core::array::from_fn(|i| i as u8);
    let salt = [5u8; 16];
    let rust = |salt: &[u8]| -> Result<[u8; 44], JsError> {
        let hkdf =
            hkdf::Hkdf::<sha2::Sha256>::from_prk(&material).map_err(|_| JsError::new("prk"))?;
        let mut okm = [0u8; 44];
        hkdf.expand_multi_info(&[b"edgeward/cookie/2", salt], &mut okm)
            .map_err(|_| JsError::new("expand"))?;
        Ok(okm)
    };
    let key = hmac_key(&material).await.map_err(js_error)?;
    let by_webcrypto = hmac_expand(&key, &salt).await.map_err(js_error)?;
    if by_webcrypto != rust(&salt)? {
        return Err(JsError::new("WebCrypto's HMAC expansion differs from HKDF"));
    }
    let start = now_ms();
    for _ in 0..n {
        let okm = if webcrypto {
            hmac_expand(&key, &salt).await.map_err(js_error)?
        } else {
            rust(&salt)?
        };
        std::hint::black_box(okm);
    }
    Ok(mean_us(n, start))
}

fn js_error(e: JsValue) -> JsError {
    JsError::new(&format!("{e:?}"))
}

fn subtle() -> Result<web_sys::SubtleCrypto, JsValue> {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into())?;
    js_sys::Reflect::get(&crypto, &"subtle".into())?.dyn_into()
}

async fn hmac_key(material: &[u8; 32]) -> Result<web_sys::CryptoKey, JsValue> {
    let algorithm = js_sys::Object::new();
    js_sys::Reflect::set(&algorithm, &"name".into(), &"HMAC".into())?;
    js_sys::Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into())?;
    let promise = subtle()?.import_key_with_object(
        "raw",
        &js_sys::Uint8Array::from(&material[..]),
        &algorithm,
        false,
        &js_sys::Array::of1(&"sign".into()),
    )?;
    wasm_bindgen_futures::JsFuture::from(promise)
        .await?
        .dyn_into()
}

/// HKDF-Expand to 44 bytes (RFC 5869 §2.3: T1 = HMAC(PRK, info ‖ 1), T2 = HMAC(PRK, T1 ‖ info ‖
/// 2)) with WebCrypto's HMAC.
async fn hmac_expand(key: &web_sys::CryptoKey, salt: &[u8]) -> Result<[u8; 44], JsValue> {
    let subtle = subtle()?;
    let mut info = b"edgeward/cookie/2".to_vec();
    info.extend_from_slice(salt);
    let mut first = info.clone();
    first.push(1);
    let t1 = js_sys::Uint8Array::new(
        &wasm_bindgen_futures::JsFuture::from(
            subtle.sign_with_str_and_u8_array("HMAC", key, &first)?,
        )
        .await?,
    )
    .to_vec();
    let mut second = t1.clone();
    second.extend_from_slice(&info);
    second.push(2);
    let t2 = js_sys::Uint8Array::new(
        &wasm_bindgen_futures::JsFuture::from(
            subtle.sign_with_str_and_u8_array("HMAC", key, &second)?,
        )
        .await?,
    )
    .to_vec();
    let mut okm = [0u8; 44];
    okm[..32].copy_from_slice(&t1);
    okm[32..].copy_from_slice(&t2[..12]);
    Ok(okm)
}

/// Awaiting a promise that is already resolved, from Rust (`JsFuture`): the toll every
/// WebCrypto call pays on top of its work.
#[wasm_bindgen]
pub async fn promise_hop(n: u32) -> Result<f64, JsError> {
    let start = now_ms();
    for _ in 0..n {
        wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&JsValue::NULL))
            .await
            .map_err(js_error)?;
    }
    Ok(mean_us(n, start))
}
