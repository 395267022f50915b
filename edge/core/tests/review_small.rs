//! Found by the outside review of the issue-12 fixes (each test failed then; all pass since the
//! follow-up fix): smaller findings, and item-6 parts that were
//! still open on the reviewed branch.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edgeward_core::cookie::seal::CookieKeys;
use edgeward_core::request::guard;
use edgeward_core::sessions::EndedCache;
use edgeward_core::Config;

const HEX_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// cookie/seal.rs says "Messages never include key material", and the worker logs a
/// configuration error in full (`edgeward: invalid configuration: {e}`). An operator who writes
/// the pair the wrong way round (`<key>:<kid>`) gets the whole key in the log.
#[test]
fn review_a_swapped_cookie_key_spec_puts_the_key_into_the_error_and_the_log() {
    let err = CookieKeys::parse(&format!("{HEX_KEY}:k1")).unwrap_err();
    assert!(
        !err.to_string().contains(HEX_KEY),
        "CookieKeys error carries the key: {err}"
    );
    let config = Config::from_vars(|name| {
        Some(
            match name {
                "EDGEWARD_PROFILE" => "local".to_owned(),
                "EDGEWARD_ORIGIN" => "http://localhost:8787".to_owned(),
                "EDGEWARD_COOKIE_KEYS" => format!("{HEX_KEY}:k1"),
                "OIDC_ISSUER" => "http://idp.test".to_owned(),
                "OIDC_CLIENT_ID" => "edgeward".to_owned(),
                "OIDC_CLIENT_SECRET" => "secret".to_owned(),
                _ => return None,
            }
            .to_owned(),
        )
    });
    let logged = format!("edgeward: invalid configuration: {}", config.unwrap_err());
    assert!(!logged.contains(HEX_KEY), "{logged}");
}

/// README "Back-channel logout": "an ended session is remembered for good" (per isolate). The
/// isolate's memory forgets everything, ended sessions included, once it holds 4,096 entries
/// (sessions/registry.rs `EndedCache::put`), so any client that makes the isolate check 4,096
/// sessions flushes it. The deny-list in the registry still answers, so this costs round trips
/// (and turns a 401 into a 503 while the registry is down), not a revival.
#[test]
fn review_an_ended_session_is_not_remembered_for_good() {
    let cache = EndedCache::default();
    let ended = EndedCache::key(Some("victim"), Some("sid"), "victim", 1);
    cache.put(ended.clone(), true, 100);
    for n in 0..4096 {
        cache.put(
            EndedCache::key(Some(&n.to_string()), None, "x", 1),
            false,
            100,
        );
    }
    assert_eq!(
        cache.get(&ended, 100),
        Some(true),
        "the ended session was forgotten"
    );
}

/// Issue 12 item 6 (not fixed on this branch, as the brief says): returnTo still normalises
/// into a protocol-relative URL.
#[test]
fn review_still_open_return_to_normalises_to_another_host() {
    for attack in [
        "/a/..//evil.example",
        "/.//evil.example",
        "/%2e%2e//evil.example",
    ] {
        let got = guard::validate_return_to(attack, "http://localhost:8787");
        assert!(
            !matches!(&got, Ok(p) if p.starts_with("//")),
            "{attack} → {got:?}"
        );
    }
}
