//! Project Wycheproof's vectors through edgeward's cryptographic paths in Rust (the platform
//! answers nothing, as on a platform without WebCrypto): `tests/common/vectors.rs`. The same
//! runners check the WebCrypto path in headless Chromium (edge/webcrypto `tests/vectors.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/vectors.rs"]
mod vectors;

use edgeward_core::{RustCipher, RustSignatures};
use futures_executor::block_on;

#[test]
fn aes_256_gcm_vectors_seal_and_open_as_published() {
    block_on(vectors::aes_256_gcm(&RustCipher)).assert_clean("AES-256-GCM, Rust", 60, 25);
}

#[test]
fn es256_vectors_verify_as_published() {
    block_on(vectors::es256(&RustSignatures)).assert_clean("ES256, Rust", 250, 80);
}

#[test]
fn rs256_vectors_verify_as_published_and_acceptable_ones_are_refused() {
    let tally = block_on(vectors::rs256(&RustSignatures));
    tally.assert_clean("RS256, Rust", 700, 700);
    assert!(
        tally.acceptable > 0,
        "the sets hold vectors either answer fits: {tally:?}"
    );
}

#[test]
fn an_algorithm_that_does_not_fit_the_key_is_refused() {
    assert!(block_on(vectors::es256_asked_as_rs256(&RustSignatures)) > 10);
}
