//! The small cryptographic helpers every capability uses: SHA-256 names for things that must
//! not be stored or keyed as they are (tokens, session ids), random tokens from the
//! [`Random`] port, and comparing secrets in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ports::{Random, RandomUnavailable};

/// SHA-256 of `s`, hex.
pub fn token_key(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `bytes` random bytes, base64url without padding (32 bytes → 43 characters, 256 bits).
pub fn random_token(random: &impl Random, bytes: usize) -> Result<String, RandomUnavailable> {
    let mut buf = vec![0u8; bytes];
    random.fill(&mut buf)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u8);
    impl Random for Fixed {
        fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
            dest.fill(self.0);
            Ok(())
        }
    }

    #[test]
    fn tokens_have_256_bits_and_use_the_random_port() {
        let t = random_token(&Fixed(0), 32).unwrap();
        assert_eq!(t.len(), 43);
        assert_eq!(t, "A".repeat(43));
        assert_ne!(random_token(&Fixed(1), 32).unwrap(), t);
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        assert!(!constant_time_eq("", "a"));
    }
}
