//! Project Wycheproof's vectors through edgeward's cryptographic paths with WebCrypto answering,
//! in headless Chromium (as `scripts/test.sh` runs it): the runners of edge/core's
//! `tests/common/vectors.rs`, here with the worker's ports. Each family must have been answered
//! by WebCrypto itself, not by the Rust fallback: the counts say so.

#![cfg(target_arch = "wasm32")]
// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../core/tests/common/vectors.rs"]
mod vectors;

use edgeward_webcrypto::{WebCrypto, WebCryptoAnyLength};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn aes_256_gcm_vectors_seal_and_open_as_published_by_webcrypto() {
    let tally = vectors::aes_256_gcm(&WebCryptoAnyLength).await;
    tally.assert_clean("AES-256-GCM, WebCrypto", 60, 25);
    // Every open, and the seal of every valid vector.
    let valid = tally.checked - tally.invalid - tally.acceptable;
    assert_eq!(tally.by_platform, tally.checked + valid, "{tally:?}");
}

#[wasm_bindgen_test]
async fn es256_vectors_verify_as_published_by_webcrypto() {
    let tally = vectors::es256(&WebCrypto).await;
    tally.assert_clean("ES256, WebCrypto", 250, 80);
    assert_eq!(tally.by_platform, tally.checked, "{tally:?}");
}

#[wasm_bindgen_test]
async fn rs256_vectors_verify_as_published_by_webcrypto() {
    let tally = vectors::rs256(&WebCrypto).await;
    tally.assert_clean("RS256, WebCrypto", 700, 700);
    assert_eq!(tally.by_platform, tally.checked, "{tally:?}");
}

#[wasm_bindgen_test]
async fn an_algorithm_that_does_not_fit_the_key_is_refused_with_webcrypto() {
    assert!(vectors::es256_asked_as_rs256(&WebCrypto).await > 10);
}
