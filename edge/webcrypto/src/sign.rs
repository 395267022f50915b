//! Signatures on WebCrypto: edgeward-core's [`Signer`] port, which signs the tokens the worker
//! mints (ES256 or RS256, `EDGEWARD_MINT_ALG`).
//!
//! The core hands over the private key as a JWK; it is imported once per isolate (not
//! extractable, for `sign` only) and kept, keyed by algorithm and JWK, so a mint costs one
//! `crypto.subtle.sign` call. WebCrypto's ECDSA signature is r‖s, JWS's format, and its
//! RSASSA-PKCS1-v1_5 signature is the JWS one as it is: the token does not depend on which side
//! signed it. Anything unexpected (no `crypto.subtle`, a key WebCrypto refuses, a rejected
//! promise) answers `None` with a console warning, and the core signs in Rust.

use std::cell::RefCell;
use std::collections::HashMap;

use edgeward_core::Signer;
use js_sys::{Array, Object, Uint8Array, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::CryptoKey;

use crate::{algorithm, reason, subtle, WebCrypto};

/// How many signing keys an isolate keeps (one minting key; a few in tests and benchmarks).
const KEY_CACHE: usize = 4;

thread_local! {
    /// Imported signing keys, by algorithm and private JWK.
    static KEYS: RefCell<HashMap<(String, String), CryptoKey>> = RefCell::new(HashMap::new());
}

impl Signer for WebCrypto {
    async fn sign_message(&self, alg: &str, jwk: &str, message: &[u8]) -> Option<Vec<u8>> {
        match sign(alg, jwk, message).await {
            Ok(signature) => signature,
            Err(e) => {
                // The reason only (never the key): a fallback here is a slow path to look at.
                web_sys::console::warn_1(
                    &format!(
                        "edgeward: WebCrypto could not make an {alg} signature ({}); signing in Rust",
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
async fn sign(alg: &str, jwk: &str, message: &[u8]) -> Result<Option<Vec<u8>>, JsValue> {
    let Some(algorithm) = algorithm(alg)? else {
        return Ok(None);
    };
    let subtle = subtle()?;
    let id = (alg.to_owned(), jwk.to_owned());
    let cached = KEYS.with(|keys| keys.borrow().get(&id).cloned());
    let key = match cached {
        Some(key) => key,
        None => {
            let data: Object = JSON::parse(jwk)?.dyn_into()?;
            let usages = Array::of1(&"sign".into());
            let promise =
                subtle.import_key_with_object("jwk", &data, &algorithm.import, false, &usages)?;
            let key: CryptoKey = JsFuture::from(promise).await?.dyn_into()?;
            KEYS.with(|keys| {
                let mut keys = keys.borrow_mut();
                if keys.len() >= KEY_CACHE {
                    keys.clear();
                }
                keys.insert(id, key.clone());
            });
            key
        }
    };
    let promise = subtle.sign_with_object_and_u8_array(&algorithm.verify, &key, message)?;
    let signature = JsFuture::from(promise).await?;
    Ok(Some(Uint8Array::new(&signature).to_vec()))
}
