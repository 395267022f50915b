//! Review 5 (issue 16 as merged): attacks on machine clients, through `Edge::handle` with fake
//! ports. Helpers copied from `machine_clients.rs`. Every test here is an attack that HELD
//! unless its header says otherwise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unused_imports
)]

mod common;

use std::time::Instant;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::{config_result, config_with, FakePorts, ORIGIN};
use edgeward_core::machine::chain::{self, Revoked};
use edgeward_core::machine::TlsClientAuth;
use edgeward_core::{Edge, Outcome};
use jwt_compact::alg::{Es256, Rsa};
use jwt_compact::{Algorithm, AlgorithmSignature};
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
    PKCS_RSA_SHA256,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// 2023-11-14: inside every valid certificate's window (2023-01-01 .. 2025-01-01).
use common::pki::*;

// ---------------------------------------------------------------- accepted
// ---------------------------------------------------------------- review 5 attacks

/// HELD: `htu` must be this request's URL. Host case and an explicit default port spell the
/// same URL (URL comparison, as RFC 9449 says); scheme, port, a trailing slash, a
/// percent-encoded letter, an empty query or fragment are other URLs and are refused.
#[test]
fn htu_tricks_are_refused_and_equal_spellings_accepted() {
    let pki = pki();
    let edge = edge_for(&pki, &[]);
    let table = [
        ("http://LOCALHOST:8787/api/m/x", true),
        ("https://localhost:8787/api/m/x", false),
        ("http://localhost/api/m/x", false),
        ("http://localhost:8788/api/m/x", false),
        ("http://localhost:8787/api/m/x/", false),
        ("http://localhost:8787/api/m/%78", false),
        ("http://localhost:8787/api/M/x", false),
        ("http://localhost:8787/api/m/x?", false),
        ("http://localhost:8787/api/m/x#", false),
        ("http://user@localhost:8787/api/m/x", false),
        ("//localhost:8787/api/m/x", false),
        ("/api/m/x", false),
    ];
    for (htu, ok) in table {
        let p = proof_with(&pki.client, "GET", "/api/m/x", NOW, |_, c| {
            c["htu"] = json!(htu);
        });
        let res = send(&edge, "GET", "/api/m/x", &p);
        if ok {
            assert!(res.is_ok(), "{htu}: {res:?}");
        } else {
            assert_eq!(res, refused("invalid_client_proof"), "{htu}");
        }
    }
}

/// HELD: the anchor itself sent as the leaf (alone, or twice), an intermediate left out, and
/// an intermediate forged under the real one's name (same subject, the attacker's key) are
/// refused.
#[test]
fn anchor_as_leaf_omitted_or_forged_intermediates_are_refused() {
    // The root alone: the leaf would be a CA.
    chain_case(
        |pki| Client {
            key: ec_client_key().1,
            x5c: vec![STANDARD.encode(&pki.root.der)],
            leaf: pki.root.der.clone(),
        },
        "client_certificate_refused",
    );
    // The root twice: the last copy is dropped as the anchor; the first is a CA leaf.
    chain_case(
        |pki| Client {
            key: ec_client_key().1,
            x5c: vec![
                STANDARD.encode(&pki.root.der),
                STANDARD.encode(&pki.root.der),
            ],
            leaf: pki.root.der.clone(),
        },
        "client_certificate_refused",
    );
    // The leaf without its intermediate.
    chain_case(
        |pki| Client {
            key: ec_client_key().1,
            x5c: vec![pki.client.x5c[0].clone()],
            leaf: pki.client.leaf.clone(),
        },
        "client_certificate_refused",
    );
    // An intermediate of the same name, self-made (signed by a look-alike root of the same
    // name too), issuing the attacker's leaf.
    chain_case(
        |pki| {
            let fake_root = root("edgeward test root", Some(1));
            let fake_int = intermediate(&fake_root, ca_params("edgeward test int", 2, Some(0)));
            let _ = pki;
            issue(
                &fake_int,
                leaf_params("runner-7", 100),
                ec_client_key(),
                &[&fake_int],
            )
        },
        "client_certificate_refused",
    );
    // The same forged intermediate with the real root appended.
    chain_case(
        |pki| {
            let fake_root = root("edgeward test root", Some(1));
            let fake_int = intermediate(&fake_root, ca_params("edgeward test int", 2, Some(0)));
            issue(
                &fake_int,
                leaf_params("runner-7", 100),
                ec_client_key(),
                &[&fake_int, &pki.root],
            )
        },
        "client_certificate_refused",
    );
}

/// HELD: a certificate with a byte after its DER, or with a non-minimal (long-form) outer
/// length, is refused before any signature is checked.
#[test]
fn der_with_trailing_bytes_or_long_form_lengths_is_refused() {
    chain_case(
        |pki| {
            let mut c = issue(
                &pki.int,
                leaf_params("runner-7", 100),
                ec_client_key(),
                &[&pki.int],
            );
            let mut der = c.leaf.clone();
            der.push(0);
            c.x5c[0] = STANDARD.encode(&der);
            c
        },
        "client_certificate_refused",
    );
    chain_case(
        |pki| {
            let mut c = issue(
                &pki.int,
                leaf_params("runner-7", 100),
                ec_client_key(),
                &[&pki.int],
            );
            // 30 82 LL LL -> 30 83 00 LL LL: the same length, not minimally encoded.
            let der = &c.leaf;
            assert_eq!(&der[..2], &[0x30, 0x82]);
            let mut long = vec![0x30, 0x83, 0x00];
            long.extend_from_slice(&der[2..]);
            c.x5c[0] = STANDARD.encode(&long);
            c
        },
        "client_certificate_refused",
    );
}

/// HELD: the validity leeway is the ID tokens' (60 s) and no more: a leaf 59 s past its
/// notAfter passes, 61 s past is refused; the same for a chain cached while it was valid.
#[test]
fn validity_leeway_is_sixty_seconds_and_the_cache_honours_it() {
    let pki = pki();
    let not_after = 1_735_689_600; // 2025-01-01T00:00:00Z
    let edge = edge_for(&pki, &[]);
    // Cached while valid (the proof at NOW).
    assert!(send(
        &edge,
        "GET",
        "/api/m/x",
        &proof(&pki.client, "GET", "/api/m/x")
    )
    .is_ok());
    for (at, ok) in [(not_after + 59, true), (not_after + 61, false)] {
        edge.ports().now.set(at);
        let p = proof_with(&pki.client, "GET", "/api/m/x", at, |_, _| {});
        let res = send(&edge, "GET", "/api/m/x", &p);
        assert_eq!(res.is_ok(), ok, "{at}: {res:?}");
        // A fresh isolate decides the same.
        let fresh = edge_for(&pki, &[]);
        fresh.ports().now.set(at);
        let p = proof_with(&pki.client, "GET", "/api/m/x", at, |_, _| {});
        assert_eq!(
            send(&fresh, "GET", "/api/m/x", &p).is_ok(),
            ok,
            "fresh {at}"
        );
    }
}

/// HELD: a Bearer header ahead of a PoP header, or a PoP proof sent as a Bearer token, is never
/// a machine client: refused, nothing minted.
#[test]
fn pop_next_to_a_bearer_or_as_a_bearer_is_refused() {
    let pki = pki();
    let edge = edge_for(&pki, &[]);
    let p = proof(&pki.client, "GET", "/api/m/x");
    let req = common::request(
        "GET",
        "/api/m/x",
        &[
            ("authorization", "Bearer abc"),
            ("authorization", &format!("PoP {p}")),
        ],
        "",
    );
    assert!(send_req(&edge, req).is_err());
    let req = common::request(
        "GET",
        "/api/m/x",
        &[("authorization", &format!("Bearer {p}"))],
        "",
    );
    assert!(send_req(&edge, req).is_err());
}

/// HELD: the minted token of a machine whose CN equals a user's `sub` says so with `cnf`
/// (a session's never carries one); the collision itself is the operator's to avoid (README
/// "Machine clients": give machines SAN URIs).
#[test]
fn a_machine_named_like_a_user_carries_cnf() {
    let pki = pki();
    let edge = edge_for(&pki, &[]);
    let mut params = leaf_params("demo", 101);
    params.subject_alt_names = vec![];
    let client = issue(&pki.int, params, ec_client_key(), &[&pki.int]);
    let claims = send(&edge, "GET", "/api/m/x", &proof(&client, "GET", "/api/m/x")).unwrap();
    assert_eq!(claims["sub"], "demo");
    assert!(claims["cnf"]["x5t#S256"].is_string(), "{claims}");
}

/// An RSA public key as rcgen's [`rcgen::PublicKeyData`] (PKCS#1 `RSAPublicKey`), for key
/// sizes rcgen's own key parsing would not take.
struct RawRsa(Vec<u8>);

impl rcgen::PublicKeyData for RawRsa {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &PKCS_RSA_SHA256
    }
}

/// A client whose leaf holds an RSA key of exactly `bits` bits (modulus), issued by `ca`.
fn rsa_client_of(ca: &Ca, bits: usize, serial: u64) -> Client {
    use rsa::pkcs1::EncodeRsaPublicKey;
    use rsa::traits::PublicKeyParts;
    let private = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, bits).unwrap();
    assert_eq!(private.n().bits(), bits);
    let public = RawRsa(
        private
            .to_public_key()
            .to_pkcs1_der()
            .unwrap()
            .as_bytes()
            .to_vec(),
    );
    let leaf = leaf_params("runner-rsa", serial)
        .signed_by(&public, &ca.issuer)
        .unwrap()
        .der()
        .to_vec();
    Client {
        key: ClientKey::Rsa(Box::new(private)),
        x5c: vec![STANDARD.encode(&leaf), STANDARD.encode(&ca.der)],
        leaf,
    }
}

/// FOUND (low): an RSA key shorter than 2048 bits passed the policy when its modulus still
/// took 256 bytes (2041 to 2047 bits): the size was read in whole bytes (`size() * 8`).
/// Before the fix: `assertion `left == right` failed: 2047 bits: Ok(Object {"aud":
/// String("http://machines.test"), ...})` (a token was minted).
/// A 2048-bit key passes.
#[test]
fn an_rsa_leaf_key_of_2047_bits_is_refused() {
    let pki = pki();
    let edge = edge_for(&pki, &[]);
    let short = rsa_client_of(&pki.int, 2047, 300);
    let res = send(&edge, "GET", "/api/m/x", &proof(&short, "GET", "/api/m/x"));
    assert_eq!(
        res,
        refused("client_certificate_refused"),
        "2047 bits: {res:?}"
    );
    let full = rsa_client_of(&pki.int, 2048, 301);
    let res = send(&edge, "GET", "/api/m/x", &proof(&full, "GET", "/api/m/x"));
    assert!(res.is_ok(), "2048 bits: {res:?}");
}

/// FOUND (low): an unsigned proof's `htu` reached the log as it came: the URL parser drops
/// tabs and line breaks, so `http://localhost:8787/api/m/y<LF>edgeward: forged line` parses, is
/// refused as another URL, and its raw text (line break included) was written into the log
/// line, before any signature was checked: anyone could forge log lines. Before the fix:
/// `a log line holds a line break: "edgeward: /api/m/x: invalid_client_proof: the proof is for
/// http://localhost:8787/api/m/y\nedgeward: /api/m/x: forged, the request went to
/// http://localhost:8787/api/m/x"`.
#[test]
fn an_unsigned_htu_cannot_write_lines_into_the_log() {
    let pki = pki();
    let edge = edge_for(&pki, &[]);
    for htu in [
        "http://localhost:8787/api/m/y\nedgeward: /api/m/x: forged",
        "http://localhost:8787/api/m/y\r\nedgeward: /api/m/x: forged",
        "http://localhost:8787/api/m/y\tx",
    ] {
        let p = proof_with(&pki.client, "GET", "/api/m/x", NOW, |_, c| {
            c["htu"] = json!(htu);
        });
        assert_eq!(
            send(&edge, "GET", "/api/m/x", &p),
            refused("invalid_client_proof")
        );
    }
    for (_, line) in edge.ports().logs.borrow().iter() {
        assert!(
            !line.contains(['\n', '\r', '\t']),
            "a log line holds a line break: {line:?}"
        );
    }
}
