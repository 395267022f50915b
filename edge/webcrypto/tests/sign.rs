//! The WebCrypto signer in a real browser (headless Chromium, as `scripts/test.sh` runs it):
//! tokens minted through it, ES256 and RS256, verify with the Rust verifier (the format does
//! not depend on which side signed), and what it cannot sign is left to Rust (`None`).

#![cfg(target_arch = "wasm32")]
// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::Cell;

use edgeward_core::oidc::idtoken::{self, Jwks};
use edgeward_core::proxy::phantom::{Introspection, MintAlg, MintKey, PhantomClaims, TokenFacts};
use edgeward_core::{Random, RandomUnavailable, RustSignatures, Signer};
use edgeward_webcrypto::WebCrypto;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[path = "../../core/tests/fixtures/mint_keys.rs"]
mod keys;

const NOW: u64 = 1_700_000_000;

/// WebCrypto's signer, counting the signatures it made (and a fixed `jti` source).
#[derive(Default)]
struct Counted {
    signed: Cell<u32>,
}

impl Random for Counted {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
        dest.fill(9);
        Ok(())
    }
}

impl Signer for Counted {
    async fn sign_message(&self, alg: &str, jwk: &str, message: &[u8]) -> Option<Vec<u8>> {
        let signature = WebCrypto.sign_message(alg, jwk, message).await;
        if signature.is_some() {
            self.signed.set(self.signed.get() + 1);
        }
        signature
    }
}

fn active() -> Introspection {
    Introspection {
        active: true,
        token: TokenFacts {
            sub: Some("demo".into()),
            client_id: Some("edgeward".into()),
            exp: Some(NOW + 300),
            ..TokenFacts::default()
        },
    }
}

#[wasm_bindgen_test]
async fn tokens_signed_by_webcrypto_verify_in_rust() {
    let keys = [
        MintKey::parse("m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE").unwrap(),
        MintKey::parse_for(MintAlg::Rs256, &format!("r1:{}", keys::RSA_2048)).unwrap(),
    ];
    for key in keys {
        let ports = Counted::default();
        let jwks = Jwks::parse(key.jwks_json().as_bytes()).unwrap();
        // Twice: the second from the isolate's key cache.
        for round in 1..=2 {
            let minted = key
                .mint_with(&active(), "https://a.example", "orders", NOW, 60, &ports)
                .await
                .unwrap();
            assert_eq!(
                ports.signed.get(),
                round,
                "{:?}: WebCrypto signed",
                key.alg()
            );
            let verified = idtoken::verify::<PhantomClaims, _>(&minted.jwt, &jwks, &RustSignatures)
                .await
                .unwrap_or_else(|e| panic!("{:?}: {e:?}", key.alg()));
            assert_eq!(verified.claims().custom.sub, "demo");
            // And an altered token does not.
            let altered = minted.jwt.replacen(".ey", ".eyJ4IjoxfQ.ey", 1);
            assert!(
                idtoken::verify::<PhantomClaims, _>(&altered, &jwks, &RustSignatures)
                    .await
                    .is_err()
            );
        }
    }
}

#[wasm_bindgen_test]
async fn what_it_cannot_sign_is_left_to_rust() {
    let jwk = r#"{"kty":"oct","k":"AAAA"}"#;
    assert_eq!(WebCrypto.sign_message("HS256", jwk, b"m").await, None);
    assert_eq!(WebCrypto.sign_message("none", jwk, b"m").await, None);
    // A key WebCrypto refuses: None (with a console warning), not an error.
    assert_eq!(
        WebCrypto
            .sign_message("ES256", r#"{"kty":"EC","crv":"P-256"}"#, b"m")
            .await,
        None
    );
}
