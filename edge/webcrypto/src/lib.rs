//! Signature checks, signatures and the cookies' cipher on WebCrypto (`crypto.subtle`):
//! edgeward-core's [`SignatureVerifier`](edgeward_core::SignatureVerifier),
//! [`Signer`](edgeward_core::Signer) and [`AeadCipher`](edgeward_core::AeadCipher) ports for
//! JavaScript hosts (workerd, V8 in Node for the benchmark, browsers for the tests).
//! AES-256-GCM is in `aead.rs`, signing (minted tokens) in `sign.rs`; signature checks are here.
//!
//! WebCrypto runs RSA and P-256 in native code: an RS256 or ES256 check costs a fraction of the
//! same arithmetic in Rust compiled to wasm (README "Performance" has both). jwt-compact still
//! parses the token and checks every claim; only the signature arithmetic comes here.
//!
//! Imported keys are kept per isolate (a JWKS has a handful of keys; the cache is bounded), so
//! a key is imported once, not on every check. Anything unexpected (no `crypto.subtle`, a key
//! WebCrypto refuses, a rejected promise) answers `None` with a console warning, and the core
//! checks in Rust instead: this port can make a check faster, never weaker.

#![cfg(target_arch = "wasm32")]
#![forbid(unsafe_code)]

mod aead;
mod sign;

pub use aead::AnyLength as WebCryptoAnyLength;
pub use aead::MIN_LEN as AES_GCM_MIN_LEN;

use std::cell::RefCell;
use std::collections::HashMap;

use edgeward_core::SignatureVerifier;
use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

/// How many imported keys an isolate keeps (a provider publishes a few; a rollover adds one).
const KEY_CACHE: usize = 16;

thread_local! {
    /// Imported verification keys, by algorithm and public JWK.
    static KEYS: RefCell<HashMap<(String, String), CryptoKey>> = RefCell::new(HashMap::new());
}

/// The [`SignatureVerifier`], the [`Signer`](edgeward_core::Signer) and the
/// [`AeadCipher`](edgeward_core::AeadCipher) on the host's WebCrypto.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebCrypto;

impl SignatureVerifier for WebCrypto {
    async fn verify_signature(
        &self,
        alg: &str,
        jwk: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Option<bool> {
        match verify(alg, jwk, message, signature).await {
            Ok(verdict) => verdict,
            Err(e) => {
                // The reason only (never the token): a fallback here is a slow path to look at.
                web_sys::console::warn_1(
                    &format!(
                        "edgeward: WebCrypto could not check an {alg} signature ({}); checking it in Rust",
                        reason(&e)
                    )
                    .into(),
                );
                None
            }
        }
    }
}

/// `Ok(None)`: not an algorithm handled here. `Err`: WebCrypto failed (the caller falls back).
async fn verify(
    alg: &str,
    jwk: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<Option<bool>, JsValue> {
    let Some(algorithm) = algorithm(alg)? else {
        return Ok(None);
    };
    let subtle = subtle()?;
    let key = key(&subtle, alg, jwk, &algorithm.import).await?;
    let promise = subtle.verify_with_object_and_u8_array_and_u8_array(
        &algorithm.verify,
        &key,
        signature,
        message,
    )?;
    Ok(JsFuture::from(promise).await?.as_bool())
}

/// The WebCrypto parameters of a JWS algorithm: for importing the key and for verifying (or
/// signing: the same parameters).
pub(crate) struct Algorithm {
    pub(crate) import: Object,
    pub(crate) verify: Object,
}

pub(crate) fn algorithm(alg: &str) -> Result<Option<Algorithm>, JsValue> {
    let object = |pairs: &[(&str, &str)]| -> Result<Object, JsValue> {
        let o = Object::new();
        for (k, v) in pairs {
            Reflect::set(&o, &(*k).into(), &(*v).into())?;
        }
        Ok(o)
    };
    Ok(match alg {
        "RS256" => Some(Algorithm {
            import: object(&[("name", "RSASSA-PKCS1-v1_5"), ("hash", "SHA-256")])?,
            verify: object(&[("name", "RSASSA-PKCS1-v1_5")])?,
        }),
        // JWS carries ECDSA signatures as r‖s, which is also WebCrypto's format.
        "ES256" => Some(Algorithm {
            import: object(&[("name", "ECDSA"), ("namedCurve", "P-256")])?,
            verify: object(&[("name", "ECDSA"), ("hash", "SHA-256")])?,
        }),
        _ => None,
    })
}

/// What a rejection says: its name and message (a DOMException's or an Error's), or its text.
pub(crate) fn reason(e: &JsValue) -> String {
    if let Some(text) = e.as_string() {
        return text;
    }
    let field = |name: &str| {
        Reflect::get(e, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|v| !v.is_empty())
    };
    match (field("name"), field("message")) {
        (Some(name), Some(message)) => format!("{name}: {message}"),
        (Some(text), None) | (None, Some(text)) => text,
        (None, None) if e.is_undefined() => "no crypto.subtle".into(),
        (None, None) => "unknown error".into(),
    }
}

pub(crate) fn subtle() -> Result<SubtleCrypto, JsValue> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into())?;
    Reflect::get(&crypto, &"subtle".into())?.dyn_into::<SubtleCrypto>()
}

/// The imported key for `jwk`, from the isolate's cache or imported now.
async fn key(
    subtle: &SubtleCrypto,
    alg: &str,
    jwk: &str,
    algorithm: &Object,
) -> Result<CryptoKey, JsValue> {
    let id = (alg.to_owned(), jwk.to_owned());
    if let Some(key) = KEYS.with(|keys| keys.borrow().get(&id).cloned()) {
        return Ok(key);
    }
    let data: Object = JSON::parse(jwk)?.dyn_into()?;
    let usages = Array::of1(&"verify".into());
    let promise = subtle.import_key_with_object("jwk", &data, algorithm, false, &usages)?;
    let key: CryptoKey = JsFuture::from(promise).await?.dyn_into()?;
    KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        if keys.len() >= KEY_CACHE {
            keys.clear();
        }
        keys.insert(id, key.clone());
    });
    Ok(key)
}
