//! The small cryptographic helpers every capability uses: SHA-256 names for things that must
//! not be stored or keyed as they are (tokens, session ids), random tokens from the
//! [`Random`] port, and comparing secrets in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ports::{Random, RandomUnavailable};

/// The smallest RSA modulus edgeward signs or checks a signature with, in bits (RFC 7518 §3.3;
/// NIST SP 800-131A): the provider's keys, client certificates, `private_key_jwt` and minting keys.
pub const MIN_RSA_BITS: usize = 2048;

/// The largest RSA modulus a key edgeward holds or is handed per request may have, in bits
/// (minting and client certificates): the cost of each use grows with its size.
pub const MAX_RSA_BITS: usize = 4096;

/// SHA-256 of `s`, hex.
pub fn token_key(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

/// `bytes` in lower-case hex. (By table: a `format!` per byte was a tenth of a warm proxied
/// request's CPU in wasm, README "Performance".)
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0f)]);
    }
    // Hex digits are ASCII: this never falls back.
    String::from_utf8(out).unwrap_or_default()
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
    fn token_keys_are_the_hex_sha256() {
        // FIPS 180-2's "abc", and the empty string.
        assert_eq!(
            token_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            token_key(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        assert!(!constant_time_eq("", "a"));
    }
}
