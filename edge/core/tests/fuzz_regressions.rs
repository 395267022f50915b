//! Replays, natively and without the fuzz engine, every input under `fuzz/seeds/<target>/`
//! (the checked-in seed corpora) and `fuzz/regressions/<target>/` (every crash the fuzzers ever
//! found) through the same property functions the fuzz targets run (`fuzz/props.rs`).
//!
//! `EDGEWARD_WRITE_SEEDS=1 cargo test -p edgeward-core --test fuzz_regressions` rewrites the
//! seeds that are built (sealed cookies, signed tokens) rather than copied from the tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/props.rs"]
mod props;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(folder: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join(folder).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn replay(folder: &str) -> usize {
    let mut count = 0;
    for (target, property) in props::TARGETS {
        for (path, input) in inputs(folder, target) {
            let outcome = std::panic::catch_unwind(|| property(&input));
            assert!(outcome.is_ok(), "{} fails its property", path.display());
            count += 1;
        }
    }
    count
}

#[test]
fn the_id_token_seeds_validate_under_each_key() {
    let seeds = inputs("seeds", "jwt");
    for name in ["id-token", "id-token-rs256"] {
        let (path, token) = seeds
            .iter()
            .find(|(p, _)| p.file_name().is_some_and(|n| n == name))
            .unwrap_or_else(|| panic!("no seed {name}"));
        assert!(
            props::id_token_validates(token),
            "{} does not validate",
            path.display()
        );
    }
}

#[test]
fn every_crash_ever_found_holds_its_property() {
    replay("regressions");
}

#[test]
fn every_seed_holds_its_property() {
    if std::env::var_os("EDGEWARD_WRITE_SEEDS").is_some() {
        write_seeds();
    }
    let count = replay("seeds");
    assert!(count >= props::TARGETS.len(), "only {count} seeds");
    for (target, _) in props::TARGETS {
        assert!(!inputs("seeds", target).is_empty(), "no seeds for {target}");
    }
}

/// The seeds that are built rather than written by hand.
fn write_seeds() {
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = fuzz_dir().join("seeds").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    for which in 0..props::SEALED_FOR.len() {
        let sealed = props::sealed(which);
        for name in 0..props::SEALED_FOR.len() {
            let mut input = vec![name as u8];
            input.extend_from_slice(sealed.as_bytes());
            write(
                "cookie_value",
                &format!("sealed-{which}-opened-as-{name}"),
                &input,
            );
        }
        let jar = format!("theme=dark; {}={sealed}; b=1", props::SEALED_FOR[which].0);
        write("cookie_jar", &format!("sealed-{which}"), jar.as_bytes());
    }
    let claims = serde_json::json!({
        "iss": "https://idp.example", "aud": "edgeward-client", "sub": "alice",
        "nonce": "n-0S6_WzA2Mj", "iat": props::NOW - 10, "exp": props::NOW + 300,
    });
    for (name, alg, kid) in [
        ("id-token", "ES256", "k1"),
        ("id-token-rs256", "RS256", "r1"),
    ] {
        let header = serde_json::json!({"alg": alg, "kid": kid, "typ": "JWT"});
        let token = props::signed_token(&header, &claims);
        write("jwt", name, token.as_bytes());
    }
    let logout = serde_json::json!({
        "iss": "https://idp.example", "aud": "edgeward-client", "sid": "s1", "jti": "j1",
        "iat": props::NOW, "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    });
    let header = serde_json::json!({"alg": "ES256", "kid": "k1", "typ": "logout+jwt"});
    write(
        "jwt",
        "logout-token",
        props::signed_token(&header, &logout).as_bytes(),
    );
    let introspected = serde_json::json!({
        "iss": "https://idp.example", "active": true, "sub": "alice", "aud": "orders",
        "client_id": "spa", "scope": "orders:read", "iat": props::NOW, "exp": props::NOW + 600,
    });
    let header = serde_json::json!({"alg": "ES256", "kid": "k1", "typ": "token-introspection+jwt"});
    write(
        "jwt",
        "introspection-jwt",
        props::signed_token(&header, &introspected).as_bytes(),
    );
    let cert = rcgen::generate_simple_self_signed(vec!["client.example".to_owned()]).unwrap();
    let der = cert.cert.der().to_vec();
    write("x509", "self-signed", &der);
    use base64::Engine;
    let x5c = base64::engine::general_purpose::STANDARD.encode(&der);
    let header = serde_json::json!({"alg": "ES256", "typ": "edgeward-pop+jwt", "x5c": [x5c]});
    let claims = serde_json::json!({
        "iat": props::NOW, "exp": props::NOW + 60, "jti": "p1", "htm": "GET",
        "htu": "https://app.example/api/orders/42",
    });
    write(
        "pop",
        "proof",
        props::signed_token(&header, &claims).as_bytes(),
    );
}
