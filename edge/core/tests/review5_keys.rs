//! Review 5 (issue 16 as merged): RSA key sizes read in bits, not in whole bytes.
//!
//! FOUND (low, same defect as the client certificates' in `review5_machine.rs`): the
//! `private_key_jwt` client key (`OIDC_CLIENT_KEY`) took an RSA key of 2041 to 2047 bits, its
//! modulus read as `size() * 8` (256 bytes). Before the fix:
//! `2047-bit OIDC_CLIENT_KEY accepted`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use edgeward_core::oidc::assertion::ClientKey;
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;

fn pem_of(bits: usize) -> String {
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, bits).unwrap();
    assert_eq!(key.n().bits(), bits);
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(key.to_pkcs8_der().unwrap().as_bytes())
    )
}

#[test]
fn a_2047_bit_client_key_is_refused_and_2048_accepted() {
    let parse = |pem: &str| {
        ClientKey::parse(
            "OIDC_CLIENT_KEY",
            pem,
            Some("k".into()),
            "OIDC_CLIENT_KEY_ID",
        )
    };
    match parse(&pem_of(2047)) {
        Err(e) => assert!(e.reason.contains("shorter than 2048 bits"), "{e}"),
        Ok(_) => panic!("2047-bit OIDC_CLIENT_KEY accepted"),
    }
    assert!(parse(&pem_of(2048)).is_ok());
}
