//! Project Wycheproof's published vectors run through edgeward's own cryptographic paths, on
//! any platform: AES-256-GCM as cookies are sealed and opened (`cookie::seal::aes_gcm_encrypt`
//! / `aes_gcm_decrypt`: the platform's cipher first, Rust when it does not answer), and ES256
//! and RS256 signatures as every token and certificate is checked
//! (`oidc::idtoken::verify_raw`: the platform's verifier first, Rust otherwise). Used by
//! `tests/vectors.rs` (Rust: the platform answers nothing) and by edge/webcrypto's
//! `tests/vectors.rs` (WebCrypto in headless Chromium), which includes this file by path.
//!
//! Every applicable vector's verdict must match; an "acceptable" one (the vectors allow either
//! answer) must be refused: edgeward takes the strict answer. Each family says how many vectors
//! ran, how many were invalid, and how many the platform answered itself, so a run that checked
//! nothing, or left everything to the fallback, cannot pass for one that did.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::Cell;

use edgeward_core::cookie::seal::{aes_gcm_decrypt, aes_gcm_encrypt};
use edgeward_core::oidc::idtoken::{verify_raw, PublicKey};
use edgeward_core::{AeadCipher, AuthenticationFailed, SignatureVerifier};
use rsa::pkcs8::DecodePublicKey;
use wycheproof::TestResult;

/// What one family did.
#[derive(Debug, Default)]
pub struct Tally {
    pub checked: usize,
    pub invalid: usize,
    pub acceptable: usize,
    /// Vectors of sizes edgeward never uses (other AES key, nonce or tag sizes).
    pub skipped: usize,
    /// Questions the platform answered itself (the rest went to Rust).
    pub by_platform: usize,
    pub mismatches: Vec<String>,
}

impl Tally {
    /// `accepted` is edgeward's answer to vector `id` whose verdict is `expected`.
    fn record(&mut self, id: usize, comment: &str, expected: &TestResult, accepted: bool) {
        self.checked += 1;
        let want = match expected {
            TestResult::Valid => true,
            TestResult::Invalid => {
                self.invalid += 1;
                false
            }
            TestResult::Acceptable => {
                self.acceptable += 1;
                false
            }
        };
        if accepted != want {
            self.mismatches.push(format!(
                "#{id} ({comment}): expected {expected:?}, edgeward {}",
                if accepted { "accepted" } else { "refused" }
            ));
        }
    }

    /// Every verdict matched, and at least `checked` vectors ran, `invalid` of them invalid (the
    /// counts the published sets hold for what edgeward uses, rounded down).
    pub fn assert_clean(&self, family: &str, checked: usize, invalid: usize) -> &Self {
        let line = format!(
            "{family}: {} vectors checked ({} invalid, {} acceptable), {} skipped, {} answered by the platform",
            self.checked, self.invalid, self.acceptable, self.skipped, self.by_platform
        );
        eprintln!("{line}");
        #[cfg(target_arch = "wasm32")]
        wasm_bindgen_test::console_log!("{line}");
        assert!(
            self.checked >= checked && self.invalid >= invalid,
            "{family}: too few vectors ran to mean anything: {self:?}"
        );
        assert!(
            self.mismatches.is_empty(),
            "{family}: {} verdicts differ:\n{}",
            self.mismatches.len(),
            self.mismatches.join("\n")
        );
        self
    }
}

/// A platform port that counts the questions it answered.
struct Counted<'a, P> {
    inner: &'a P,
    answered: Cell<usize>,
}

impl<'a, P> Counted<'a, P> {
    fn new(inner: &'a P) -> Self {
        Self {
            inner,
            answered: Cell::new(0),
        }
    }

    fn note<T>(&self, answer: Option<T>) -> Option<T> {
        if answer.is_some() {
            self.answered.set(self.answered.get() + 1);
        }
        answer
    }
}

impl<P: AeadCipher> AeadCipher for Counted<'_, P> {
    async fn aes_gcm_encrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        self.note(self.inner.aes_gcm_encrypt(key, nonce, aad, plaintext).await)
    }

    async fn aes_gcm_decrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Option<Result<Vec<u8>, AuthenticationFailed>> {
        self.note(
            self.inner
                .aes_gcm_decrypt(key, nonce, aad, ciphertext)
                .await,
        )
    }
}

impl<P: SignatureVerifier> SignatureVerifier for Counted<'_, P> {
    async fn verify_signature(
        &self,
        alg: &str,
        jwk: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Option<bool> {
        self.note(
            self.inner
                .verify_signature(alg, jwk, message, signature)
                .await,
        )
    }
}

/// AES-GCM's vectors with a 256-bit key, a 96-bit nonce and a 128-bit tag (what cookies use):
/// each opened (valid ones to the published plaintext, the others refused), and each valid one
/// sealed again to the published ciphertext and tag.
pub async fn aes_256_gcm(platform: &impl AeadCipher) -> Tally {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).expect("vectors");
    let platform = Counted::new(platform);
    let mut tally = Tally::default();
    for group in &set.test_groups {
        for test in &group.tests {
            let (Ok(key), Ok(nonce), 128) = (
                <[u8; 32]>::try_from(&test.key[..]),
                <[u8; 12]>::try_from(&test.nonce[..]),
                group.tag_size,
            ) else {
                tally.skipped += 1;
                continue;
            };
            let mut sealed = test.ct.to_vec();
            sealed.extend_from_slice(&test.tag);
            let opened = aes_gcm_decrypt(&platform, &key, &nonce, &test.aad, &sealed).await;
            let opens_right = opened.as_deref().is_ok_and(|pt| pt == &test.pt[..]);
            tally.record(test.tc_id, &test.comment, &test.result, opens_right);
            if test.result == TestResult::Valid {
                let again = aes_gcm_encrypt(&platform, &key, &nonce, &test.aad, &test.pt).await;
                if again.as_deref() != Some(&sealed[..]) {
                    tally.mismatches.push(format!(
                        "#{}: sealed to other bytes than published",
                        test.tc_id
                    ));
                }
            }
        }
    }
    tally.by_platform = platform.answered.get();
    tally
}

/// ECDSA P-256 with SHA-256, signatures as r ‖ s (IEEE P1363), as JWS carries them.
pub async fn es256(platform: &impl SignatureVerifier) -> Tally {
    use wycheproof::ecdsa::{TestName, TestSet};
    let set = TestSet::load(TestName::EcdsaSecp256r1Sha256P1363).expect("vectors");
    let platform = Counted::new(platform);
    let mut tally = Tally::default();
    for group in &set.test_groups {
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&group.key.key).map(PublicKey::es256);
        for test in &group.tests {
            let accepted = match &key {
                Ok(key) => verify_raw(key, "ES256", &test.msg, &test.sig, &platform).await,
                // A key that does not parse is never used: refused.
                Err(_) => false,
            };
            tally.record(test.tc_id, &test.comment, &test.result, accepted);
        }
    }
    tally.by_platform = platform.answered.get();
    tally
}

/// RSASSA-PKCS1-v1_5 with SHA-256, keys of 2,048, 3,072 and 4,096 bits.
pub async fn rs256(platform: &impl SignatureVerifier) -> Tally {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let platform = Counted::new(platform);
    let mut tally = Tally::default();
    for name in [
        TestName::Rsa2048Sha256,
        TestName::Rsa3072Sha256,
        TestName::Rsa4096Sha256,
    ] {
        let set = TestSet::load(name).expect("vectors");
        for group in &set.test_groups {
            let key = rsa::RsaPublicKey::from_public_key_der(&group.der).map(PublicKey::rs256);
            for test in &group.tests {
                let accepted = match &key {
                    Ok(key) => verify_raw(key, "RS256", &test.msg, &test.sig, &platform).await,
                    Err(_) => false,
                };
                tally.record(test.tc_id, &test.comment, &test.result, accepted);
            }
        }
    }
    tally.by_platform = platform.answered.get();
    tally
}

/// The valid ES256 vectors asked as RS256: refused every time (the key decides the algorithm,
/// never the token's header). How many were asked.
pub async fn es256_asked_as_rs256(platform: &impl SignatureVerifier) -> usize {
    use wycheproof::ecdsa::{TestName, TestSet};
    let set = TestSet::load(TestName::EcdsaSecp256r1Sha256P1363).expect("vectors");
    let mut asked = 0;
    for group in &set.test_groups {
        let Ok(key) =
            p256::ecdsa::VerifyingKey::from_sec1_bytes(&group.key.key).map(PublicKey::es256)
        else {
            continue;
        };
        for test in group.tests.iter().filter(|t| t.result == TestResult::Valid) {
            asked += 1;
            assert!(
                !verify_raw(&key, "RS256", &test.msg, &test.sig, platform).await,
                "#{}: an ES256 key answered an RS256 question",
                test.tc_id
            );
        }
    }
    asked
}
