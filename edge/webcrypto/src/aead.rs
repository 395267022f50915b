//! AES-256-GCM on WebCrypto: edgeward-core's [`AeadCipher`] port, which seals and opens the
//! cookies.
//!
//! The core derives a key and a nonce for every value (HKDF in Rust, two HMAC-SHA256 blocks),
//! so every call imports its key (`importKey("raw", …)`, not extractable, for one usage) and
//! then encrypts or decrypts with `{name: "AES-GCM", iv, additionalData, tagLength: 128}`.
//! WebCrypto's output is ciphertext ‖ tag, as the `aes-gcm` crate's: the sealed format does
//! not depend on which side did the work.
//!
//! Decryption's answers are kept apart: a tag that does not verify (WebCrypto rejects with an
//! `OperationError` DOMException) is `Some(Err(AuthenticationFailed))`, and the core refuses the
//! value without asking Rust; anything else that goes wrong (no `crypto.subtle`, a key it
//! refuses, another exception) is `None` with a console warning, and the core does the work in
//! Rust.

use edgeward_core::{AeadCipher, AuthenticationFailed};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, DomException};

use crate::{reason, subtle, WebCrypto};

impl AeadCipher for WebCrypto {
    async fn aes_gcm_encrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        match run(Usage::Encrypt, key, nonce, aad, plaintext).await {
            Ok(ciphertext) => Some(ciphertext),
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
        // Shorter than a tag: nothing to authenticate (WebCrypto would say OperationError too).
        if ciphertext.len() < TAG_LEN {
            return Some(Err(AuthenticationFailed));
        }
        match run(Usage::Decrypt, key, nonce, aad, ciphertext).await {
            Ok(plaintext) => Some(Ok(plaintext)),
            // The only OperationError AES-GCM decryption raises for a 12-byte IV, a 128-bit tag
            // and a ciphertext at least a tag long: the tag did not verify.
            Err(e) if is_operation_error(&e) => Some(Err(AuthenticationFailed)),
            Err(e) => {
                fallback("decrypt", &e);
                None
            }
        }
    }
}

/// The tag's length in bytes (`tagLength: 128`).
const TAG_LEN: usize = 16;

/// Whether `e` is the `OperationError` DOMException WebCrypto rejects a bad tag with.
fn is_operation_error(e: &JsValue) -> bool {
    e.dyn_ref::<DomException>()
        .is_some_and(|e| e.name() == "OperationError")
}

#[derive(Clone, Copy)]
enum Usage {
    Encrypt,
    Decrypt,
}

/// One encryption or decryption, the key imported for it.
async fn run(
    usage: Usage,
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, JsValue> {
    let subtle = subtle()?;
    let name = match usage {
        Usage::Encrypt => "encrypt",
        Usage::Decrypt => "decrypt",
    };
    let raw = Uint8Array::from(&key[..]);
    let import =
        subtle.import_key_with_str("raw", &raw, "AES-GCM", false, &Array::of1(&name.into()))?;
    let key: CryptoKey = JsFuture::from(import).await?.dyn_into()?;
    let params = Object::new();
    Reflect::set(&params, &"name".into(), &"AES-GCM".into())?;
    Reflect::set(&params, &"iv".into(), &Uint8Array::from(&nonce[..]))?;
    Reflect::set(&params, &"additionalData".into(), &Uint8Array::from(aad))?;
    Reflect::set(&params, &"tagLength".into(), &128.into())?;
    let promise = match usage {
        Usage::Encrypt => subtle.encrypt_with_object_and_u8_array(&params, &key, data)?,
        Usage::Decrypt => subtle.decrypt_with_object_and_u8_array(&params, &key, data)?,
    };
    let output = JsFuture::from(promise).await?;
    Ok(Uint8Array::new(&output).to_vec())
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
