//! AES-256-GCM on WebCrypto: edgeward-core's [`AeadCipher`] port, which seals and opens the
//! cookies.
//!
//! The core derives a key and a nonce for every value (HKDF in Rust, two HMAC-SHA256 blocks:
//! about 3 µs; the same two blocks through WebCrypto's HMAC cost ten times that in workerd,
//! README "Cookies"), so every call imports its key (`importKey("raw", …)`, not extractable, for one
//! usage) and then encrypts or decrypts with `{name: "AES-GCM", iv, additionalData,
//! tagLength: 128}`. Both steps run in one JavaScript function, so Rust awaits one promise per
//! value, not two (awaiting both from Rust, the parameters built through js-sys, cost 44 µs of
//! workerd CPU per 1 KiB decryption; one call, 25–28 µs). WebCrypto's output is
//! ciphertext ‖ tag, as the `aes-gcm` crate's: the sealed format does not depend on which side
//! did the work.
//!
//! Values shorter than [`MIN_LEN`] are left to Rust (`None`): WebCrypto's cost per call is
//! nearly flat, 25–30 µs of workerd CPU (the key import, the call, one await from Rust), while
//! Rust's grows from about 10 µs by about 43 µs per KiB; they meet between 256 and 512 bytes
//! (README "Performance").
//!
//! Decryption's answers are kept apart: a tag that does not verify (WebCrypto rejects the
//! decryption with an `OperationError` DOMException) is `Some(Err(AuthenticationFailed))`, and
//! the core refuses the value without asking Rust; anything else that goes wrong (no
//! `crypto.subtle`, a key it refuses, any other exception) is `None` with a console warning, and
//! the core does the work in Rust.

use edgeward_core::{AeadCipher, AuthenticationFailed};
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::{reason, WebCrypto};

#[wasm_bindgen(inline_js = r#"
// One AES-256-GCM operation: the raw key imported, then `usage` ("encrypt" or "decrypt").
// Resolves to the output bytes, or to null when a decryption's tag did not verify; rejects on
// anything else. The arguments are views into wasm memory, which may grow (and detach them)
// before the promise continues: everything used later is copied now.
export function edgewardAesGcm(usage, key, iv, additionalData, data) {
  const params = { name: "AES-GCM", iv: iv.slice(), additionalData: additionalData.slice(), tagLength: 128 };
  const input = data.slice();
  return crypto.subtle.importKey("raw", key.slice(), "AES-GCM", false, [usage]).then((imported) => {
    const output = usage === "encrypt" ? crypto.subtle.encrypt(params, imported, input) : crypto.subtle.decrypt(params, imported, input);
    return output.then(
      (bytes) => new Uint8Array(bytes),
      (error) => {
        if (usage === "decrypt" && error instanceof DOMException && error.name === "OperationError") return null;
        throw error;
      },
    );
  });
}
"#)]
extern "C" {
    #[wasm_bindgen(catch, js_name = edgewardAesGcm)]
    fn aes_gcm(
        usage: &str,
        key: &[u8],
        iv: &[u8],
        additional_data: &[u8],
        data: &[u8],
    ) -> Result<Promise, JsValue>;
}

/// The shortest input (plaintext to encrypt, ciphertext and tag to decrypt) handed to WebCrypto;
/// shorter ones are faster in Rust.
pub const MIN_LEN: usize = 512;

impl AeadCipher for WebCrypto {
    async fn aes_gcm_encrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        if plaintext.len() < MIN_LEN {
            return None;
        }
        AnyLength.aes_gcm_encrypt(key, nonce, aad, plaintext).await
    }

    async fn aes_gcm_decrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Option<Result<Vec<u8>, AuthenticationFailed>> {
        if ciphertext.len() < MIN_LEN {
            return None;
        }
        AnyLength.aes_gcm_decrypt(key, nonce, aad, ciphertext).await
    }
}

/// WebCrypto's AES-GCM for values of every length: what [`WebCrypto`] does from [`MIN_LEN`] on.
/// The published test vectors, mostly short, run through it (`tests/vectors.rs`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyLength;

impl AeadCipher for AnyLength {
    async fn aes_gcm_encrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        match run("encrypt", key, nonce, aad, plaintext).await {
            Ok(Some(ciphertext)) => Some(ciphertext),
            Ok(None) => {
                fallback("encrypt", &"no output".into());
                None
            }
            Err(e) => {
                fallback("encrypt", &e);
                None
            }
        }
    }

    async fn aes_gcm_decrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Option<Result<Vec<u8>, AuthenticationFailed>> {
        match run("decrypt", key, nonce, aad, ciphertext).await {
            Ok(Some(plaintext)) => Some(Ok(plaintext)),
            // The decryption's OperationError: for a 12-byte IV and a 128-bit tag, the tag did
            // not verify.
            Ok(None) => Some(Err(AuthenticationFailed)),
            Err(e) => {
                fallback("decrypt", &e);
                None
            }
        }
    }
}

/// One encryption or decryption: `Ok(None)` when the tag did not verify.
async fn run(
    usage: &str,
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    data: &[u8],
) -> Result<Option<Vec<u8>>, JsValue> {
    let output = JsFuture::from(aes_gcm(usage, key, nonce, aad, data)?).await?;
    if output.is_null() {
        return Ok(None);
    }
    Ok(Some(output.dyn_into::<Uint8Array>()?.to_vec()))
}

/// Says why WebCrypto could not do it (the reason only: never a key or a value).
fn fallback(what: &str, e: &JsValue) {
    web_sys::console::warn_1(
        &format!(
            "edgeward: WebCrypto could not AES-GCM {what} a cookie value ({}); doing it in Rust",
            reason(e)
        )
        .into(),
    );
}
