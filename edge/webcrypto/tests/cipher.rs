//! The WebCrypto AES-256-GCM port in a real browser (headless Chromium, as `scripts/test.sh`
//! runs it), against the `aes-gcm` crate the core falls back to: the same bytes both ways, a
//! tampered value refused as forged (never handed back to Rust), and `None` only when WebCrypto
//! is not there or the value is shorter than `AES_GCM_MIN_LEN` (faster in Rust).

#![cfg(target_arch = "wasm32")]
// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use edgeward_core::{AeadCipher, AuthenticationFailed};
use edgeward_webcrypto::{WebCrypto, AES_GCM_MIN_LEN};
use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const KEY: [u8; 32] = [7; 32];
const NONCE: [u8; 12] = [9; 12];
const AAD: &[u8] = b"edgeward/2/k1/https://app.example edgeward/__Host-edgeward-at";

fn rust_encrypt(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    Aes256Gcm::new(key.into())
        .encrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap()
}

fn rust_decrypt(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    ciphertext: &[u8],
) -> Option<Vec<u8>> {
    Aes256Gcm::new(key.into())
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
}

/// A plaintext of `len` bytes, not all alike.
fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[wasm_bindgen_test]
async fn rust_seals_webcrypto_opens_and_the_reverse() {
    let min = AES_GCM_MIN_LEN;
    for len in [min, min + 1, min + 15, 1024, 3000] {
        let message = plaintext(len);
        let by_rust = rust_encrypt(&KEY, &NONCE, AAD, &message);
        let by_webcrypto = WebCrypto
            .aes_gcm_encrypt(&KEY, &NONCE, AAD, &message)
            .await
            .expect("WebCrypto encrypts");
        // The same bytes (ciphertext ‖ 16-byte tag), whichever side encrypted.
        assert_eq!(by_webcrypto, by_rust, "{len} bytes");
        assert_eq!(
            WebCrypto.aes_gcm_decrypt(&KEY, &NONCE, AAD, &by_rust).await,
            Some(Ok(message.clone())),
            "{len} bytes"
        );
        assert_eq!(
            rust_decrypt(&KEY, &NONCE, AAD, &by_webcrypto),
            Some(message),
            "{len} bytes"
        );
    }
}

#[wasm_bindgen_test]
async fn a_tampered_value_is_refused_as_forged() {
    let message = plaintext(1024);
    let good = rust_encrypt(&KEY, &NONCE, AAD, &message);
    let flip = |at: usize| {
        let mut v = good.clone();
        v[at] ^= 1;
        v
    };
    let mut other_key = KEY;
    other_key[31] ^= 0x80;
    let mut other_nonce = NONCE;
    other_nonce[0] ^= 1;
    let cases: Vec<(&str, [u8; 32], [u8; 12], &[u8], Vec<u8>)> = vec![
        ("a ciphertext bit", KEY, NONCE, AAD, flip(100)),
        ("a tag bit", KEY, NONCE, AAD, flip(good.len() - 1)),
        ("the first byte", KEY, NONCE, AAD, flip(0)),
        (
            "truncated by one",
            KEY,
            NONCE,
            AAD,
            good[..good.len() - 1].to_vec(),
        ),
        (
            "cut to the shortest WebCrypto takes",
            KEY,
            NONCE,
            AAD,
            good[..AES_GCM_MIN_LEN].to_vec(),
        ),
        (
            "moved to another cookie",
            KEY,
            NONCE,
            b"edgeward/2/k1/x/other",
            good.clone(),
        ),
        ("another key", other_key, NONCE, AAD, good.clone()),
        ("another nonce", KEY, other_nonce, AAD, good.clone()),
    ];
    for (what, key, nonce, aad, value) in cases {
        assert_eq!(
            rust_decrypt(&key, &nonce, aad, &value),
            None,
            "{what}: Rust refuses"
        );
        assert_eq!(
            WebCrypto.aes_gcm_decrypt(&key, &nonce, aad, &value).await,
            Some(Err(AuthenticationFailed)),
            "{what}: WebCrypto refuses it as forged, not as unavailable"
        );
    }
    // And the untouched value still opens.
    assert_eq!(
        WebCrypto.aes_gcm_decrypt(&KEY, &NONCE, AAD, &good).await,
        Some(Ok(message))
    );
}

#[wasm_bindgen_test]
async fn short_values_are_left_to_rust() {
    let short = plaintext(AES_GCM_MIN_LEN - 17);
    let sealed = rust_encrypt(&KEY, &NONCE, AAD, &short);
    assert_eq!(sealed.len(), AES_GCM_MIN_LEN - 1);
    assert_eq!(
        WebCrypto.aes_gcm_encrypt(&KEY, &NONCE, AAD, &short).await,
        None
    );
    assert_eq!(
        WebCrypto.aes_gcm_decrypt(&KEY, &NONCE, AAD, &sealed).await,
        None
    );
    // Tampered or not: Rust decides (and refuses the tampered one).
    let mut tampered = sealed.clone();
    tampered[3] ^= 1;
    assert_eq!(
        WebCrypto
            .aes_gcm_decrypt(&KEY, &NONCE, AAD, &tampered)
            .await,
        None
    );
    assert_eq!(rust_decrypt(&KEY, &NONCE, AAD, &tampered), None);
    for empty in [&[][..], &sealed[..15]] {
        assert_eq!(
            WebCrypto.aes_gcm_decrypt(&KEY, &NONCE, AAD, empty).await,
            None
        );
    }
}

#[wasm_bindgen_test]
async fn without_webcrypto_the_work_is_left_to_rust() {
    // `crypto.subtle` hidden (an own property shadowing the prototype's getter), then restored.
    let crypto: Object = Reflect::get(&js_sys::global(), &"crypto".into())
        .unwrap()
        .into();
    let hidden = Object::new();
    Reflect::set(&hidden, &"value".into(), &JsValue::UNDEFINED).unwrap();
    Reflect::set(&hidden, &"configurable".into(), &true.into()).unwrap();
    Object::define_property(&crypto, &"subtle".into(), &hidden);
    let value = plaintext(1024);
    let good = rust_encrypt(&KEY, &NONCE, AAD, &value);
    let encrypted = WebCrypto.aes_gcm_encrypt(&KEY, &NONCE, AAD, &value).await;
    let decrypted = WebCrypto.aes_gcm_decrypt(&KEY, &NONCE, AAD, &good).await;
    Reflect::delete_property(&crypto, &"subtle".into()).unwrap();
    assert_eq!(encrypted, None);
    assert_eq!(decrypted, None);
    // Back again.
    assert_eq!(
        WebCrypto.aes_gcm_decrypt(&KEY, &NONCE, AAD, &good).await,
        Some(Ok(value))
    );
}
