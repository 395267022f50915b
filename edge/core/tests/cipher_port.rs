//! The cookie cipher through the platform's port ([`AeadCipher`]): the core hands every sealed
//! value's AES-GCM to the platform when it has a cipher (WebCrypto on Cloudflare; here the
//! `aes-gcm` crate behind a counter, `common::FakeCipher`), does it in Rust when it has none, and
//! never asks Rust again about a value the platform found forged.
//!
//! [`AeadCipher`]: edgeward_core::AeadCipher

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{call, edge, request, signed_in, FakeCipher, FakePorts, Login};
use edgeward_core::cookie::seal::{CookieKeys, Label, OpenError};
use edgeward_core::RustCipher;
use futures_executor::block_on;

const NAME: &str = "__Host-edgeward-at";
const NOW: u64 = 1_700_000_000;
const LABEL: Label<'static> = Label {
    tag: "AAAAAAAAAAAAAAAAAAAAAA",
    expires_at: NOW + 300,
};

fn keys() -> CookieKeys {
    CookieKeys::parse(common::KEYS)
        .unwrap()
        .for_deployment(common::ORIGIN, "edgeward")
}

fn ports(cipher: FakeCipher) -> FakePorts {
    let ports = FakePorts::default();
    ports.cipher.set(cipher);
    ports
}

fn calls(ports: &FakePorts) -> Vec<&'static str> {
    std::mem::take(&mut *ports.cipher_calls.borrow_mut())
}

/// `sealed` with one character of its payload changed, mid-way.
fn tamper(sealed: &str) -> String {
    let mut bytes = sealed.as_bytes().to_vec();
    let at = sealed.rfind('.').unwrap() + (sealed.len() - sealed.rfind('.').unwrap()) / 2;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[test]
fn a_value_the_platform_finds_forged_is_not_opened_in_rust() {
    let keys = keys();
    let genuine = block_on(keys.seal(&FakePorts::default(), NAME, LABEL, b"value")).unwrap();
    assert_eq!(
        block_on(keys.open(&RustCipher, NAME, &genuine, NOW))
            .map(|o| o.value)
            .unwrap(),
        b"value"
    );

    // A platform that calls everything forged: were Rust asked again, the value would open.
    let refusing = ports(FakeCipher::RefusesAll);
    assert_eq!(
        block_on(keys.open(&refusing, NAME, &genuine, NOW)).map(|o| o.value),
        Err(OpenError::Forged)
    );
    assert_eq!(calls(&refusing), ["decrypt"]);

    // A tampered value: the platform's cipher refuses it, once, and that is the answer.
    let aes = ports(FakeCipher::AesGcm);
    assert_eq!(
        block_on(keys.open(&aes, NAME, &tamper(&genuine), NOW)).map(|o| o.value),
        Err(OpenError::Forged)
    );
    assert_eq!(calls(&aes), ["decrypt"]);
    // Moved to another cookie: the associated data differs.
    assert_eq!(
        block_on(keys.open(&aes, "__Host-edgeward-rt", &genuine, NOW)).map(|o| o.value),
        Err(OpenError::Forged)
    );
    assert_eq!(calls(&aes), ["decrypt"]);
}

#[test]
fn the_platform_seals_and_opens_the_same_format_as_rust() {
    let keys = keys();
    for plaintext in [&b""[..], b"x", &[0x5a; 1024], "é ✓".as_bytes()] {
        // Two ports with the same randomness: the same salt, so the same bytes are expected.
        let (rust, platform) = (ports(FakeCipher::Absent), ports(FakeCipher::AesGcm));
        let by_rust = block_on(keys.seal(&rust, NAME, LABEL, plaintext)).unwrap();
        let by_platform = block_on(keys.seal(&platform, NAME, LABEL, plaintext)).unwrap();
        assert_eq!(by_platform, by_rust);
        // The port was asked both times; the first said it has no cipher.
        assert_eq!(calls(&rust), ["encrypt"]);
        assert_eq!(calls(&platform), ["encrypt"]);

        // Sealed by one, opened by the other.
        assert_eq!(
            block_on(keys.open(&platform, NAME, &by_rust, NOW))
                .map(|o| o.value)
                .unwrap(),
            plaintext
        );
        assert_eq!(calls(&platform), ["decrypt"]);
        assert_eq!(
            block_on(keys.open(&rust, NAME, &by_platform, NOW))
                .map(|o| o.value)
                .unwrap(),
            plaintext
        );
        assert_eq!(calls(&rust), ["decrypt"], "asked, then done in Rust");
    }
}

#[test]
fn values_refused_before_decryption_never_reach_the_cipher() {
    let keys = keys();
    let aes = ports(FakeCipher::AesGcm);
    let genuine = block_on(keys.seal(&aes, NAME, LABEL, b"value")).unwrap();
    calls(&aes);
    let too_short = format!("{}.AAAA", &genuine[..genuine.rfind('.').unwrap()]);
    for (value, expected) in [
        ("", OpenError::Malformed),
        (too_short.as_str(), OpenError::Malformed),
        (
            "2.k9.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            OpenError::UnknownKey,
        ),
    ] {
        assert_eq!(
            block_on(keys.open(&aes, NAME, value, NOW)).map(|o| o.value),
            Err(expected),
            "{value}"
        );
    }
    // Past its label's expiry: refused before decryption too.
    assert_eq!(
        block_on(keys.open(&aes, NAME, &genuine, LABEL.expires_at)).map(|o| o.value),
        Err(OpenError::Expired)
    );
    assert_eq!(calls(&aes), Vec::<&str>::new());
}

#[test]
fn a_session_goes_through_the_platform_cipher() {
    // Login, session read and refresh with the platform's cipher: every cookie sealed and
    // opened by it.
    let e = edge(ports(FakeCipher::AesGcm).with_idp(serde_json::json!({})));
    let (cookies, _) = signed_in(&e, &Login::default());
    let sealed = calls(e.ports()).iter().filter(|c| **c == "encrypt").count();
    assert!(
        sealed >= 3,
        "login cookie, then ID, access, refresh: {sealed}"
    );
    let read = call(
        &e,
        request("GET", "/auth/session", &[("cookie", &cookies)], ""),
    );
    assert_eq!(common::json(&read)["isLoggedIn"], true);
    let opened = calls(e.ports());
    assert!(
        !opened.is_empty() && opened.iter().all(|c| *c == "decrypt"),
        "{opened:?}"
    );

    // The same cookies in another isolate (this one remembers what it opened, `cookie::memo`)
    // whose platform finds every value forged: no session, whatever Rust would have said.
    let other = edge(ports(FakeCipher::RefusesAll).with_idp(serde_json::json!({})));
    let read = call(
        &other,
        request("GET", "/auth/session", &[("cookie", &cookies)], ""),
    );
    assert_eq!(common::json(&read)["isLoggedIn"], false);
    assert_eq!(calls(other.ports()), ["decrypt"]);

    // And in one with no cipher, Rust opens them.
    let plain = edge(ports(FakeCipher::Absent).with_idp(serde_json::json!({})));
    let read = call(
        &plain,
        request("GET", "/auth/session", &[("cookie", &cookies)], ""),
    );
    assert_eq!(common::json(&read)["isLoggedIn"], true);
}
