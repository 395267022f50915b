//! Machine clients with proof-of-possession JWTs and X.509 chains, through `Edge::handle` with
//! fake ports: chains made by rcgen (only the CSR's public key is used, validity, serial and
//! AKI set), every "Bad input" case of issue 16 that belongs to the core, the minted token,
//! the chain cache, replay, and the mTLS binding.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Instant;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::pki::*;
use common::{config_result, FakePorts, ORIGIN};
use edgeward_core::machine::chain::{self, Revoked};
use edgeward_core::machine::TlsClientAuth;
use edgeward_core::{Edge, Outcome};
use rcgen::{
    date_time_ymd, BasicConstraints, CustomExtension, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256,
};
use serde_json::{json, Value};

// ---------------------------------------------------------------- accepted

#[test]
fn a_client_with_a_chain_of_three_gets_a_minted_token_bound_to_its_certificate() {
    let pki = pki();
    let edge = edge_for(&pki, &[]);
    let claims = send(
        &edge,
        "GET",
        "/api/m/orders",
        &proof(&pki.client, "GET", "/api/m/orders"),
    )
    .unwrap();
    assert_eq!(claims["sub"], URI);
    assert_eq!(claims["client_id"], URI);
    assert_eq!(claims["scope"], "orders:read");
    assert_eq!(claims["aud"], "http://machines.test");
    assert_eq!(claims["iss"], ORIGIN);
    assert_eq!(
        claims["cnf"]["x5t#S256"],
        URL_SAFE_NO_PAD.encode(fingerprint(&pki.client.leaf))
    );
    // The root may be sent too; a POST is bound to its own method.
    let mut with_root = pki.client.x5c.clone();
    with_root.push(STANDARD.encode(&pki.root.der));
    let p = proof_with(&pki.client, "POST", "/api/m/orders", NOW, |h, _| {
        h["x5c"] = json!(with_root)
    });
    assert!(send(&edge, "POST", "/api/m/orders", &p).is_ok());
}

#[test]
fn an_rsa_leaf_from_an_rsa_root_signs_rs256_and_a_cn_is_the_subject_without_a_san() {
    let key = KeyPair::generate_for(&PKCS_RSA_SHA256);
    // ring cannot make RSA keys: the root's comes from the rsa crate too.
    let root_key = match key {
        Ok(k) => k,
        Err(_) => rsa_client_key().0,
    };
    let params = ca_params("rsa root", 1, None);
    let root_der = params.self_signed(&root_key).unwrap().der().to_vec();
    let root = Ca {
        der: root_der,
        issuer: Issuer::new(params, root_key),
    };
    let mut lp = leaf_params("rsa-runner", 9);
    lp.subject_alt_names.clear();
    let client = issue(&root, lp, rsa_client_key(), &[]);
    let pki = Pki {
        int: intermediate(&root, ca_params("unused", 3, Some(0))),
        root,
        client,
    };
    let edge = edge_for(&pki, &[]);
    let claims = send(
        &edge,
        "GET",
        "/api/m/x",
        &proof(&pki.client, "GET", "/api/m/x"),
    )
    .unwrap();
    assert_eq!(claims["sub"], "rsa-runner");
    // ES256 with the RSA leaf: refused.
    let p = proof_with(&pki.client, "GET", "/api/m/x", NOW, |h, _| {
        h["alg"] = json!("ES256")
    });
    assert_eq!(
        send(&edge, "GET", "/api/m/x", &p),
        refused("invalid_client_proof")
    );
}

// ---------------------------------------------------------------- bad chains

#[test]
fn a_chain_to_another_ca_is_refused() {
    chain_case(
        |_| {
            let other = root("edgeward test root", Some(1)); // same DN, other key
            let int = intermediate(&other, ca_params("edgeward test int", 2, Some(0)));
            issue(&int, leaf_params("r", 5), ec_client_key(), &[&int])
        },
        "client_certificate_refused",
    );
    // A forged intermediate: the real one's name, another key, sent with the real one's
    // certificate.
    chain_case(
        |p| {
            let forged = intermediate(&p.root, ca_params("edgeward test int", 2, Some(0)));
            issue(&forged, leaf_params("r", 5), ec_client_key(), &[&p.int])
        },
        "client_certificate_refused",
    );
    // Names that do not chain, though the signature would verify: the intermediate's key
    // signs a leaf naming another issuer.
    chain_case(
        |p| {
            let key = KeyPair::from_pem(&p.int.issuer.key().serialize_pem()).unwrap();
            let renamed = Issuer::new(ca_params("not the intermediate", 2, Some(0)), key);
            let int = Ca {
                issuer: renamed,
                der: p.int.der.clone(),
            };
            issue(&int, leaf_params("r", 5), ec_client_key(), &[&p.int])
        },
        "client_certificate_refused",
    );
    chain_case(
        |_| {
            let other = root("another root", None);
            issue(&other, leaf_params("r", 5), ec_client_key(), &[])
        },
        "client_certificate_refused",
    );
}

#[test]
fn an_expired_or_not_yet_valid_certificate_is_refused() {
    chain_case(
        |p| {
            let mut lp = leaf_params("r", 6);
            lp.not_after = date_time_ymd(2023, 6, 1);
            issue(&p.int, lp, ec_client_key(), &[&p.int])
        },
        "client_certificate_refused",
    );
    chain_case(
        |p| {
            let mut lp = leaf_params("r", 7);
            lp.not_before = date_time_ymd(2024, 1, 1);
            issue(&p.int, lp, ec_client_key(), &[&p.int])
        },
        "client_certificate_refused",
    );
    chain_case(
        |p| {
            let mut ip = ca_params("edgeward test int", 2, Some(0));
            ip.not_after = date_time_ymd(2023, 6, 1);
            let int = intermediate(&p.root, ip);
            issue(&int, leaf_params("r", 8), ec_client_key(), &[&int])
        },
        "client_certificate_refused",
    );
}

#[test]
fn a_leaf_used_as_an_issuer_is_refused() {
    // The leaf (CA:FALSE) signs another "leaf": with its keyUsage as issued, and with
    // keyCertSign added (so that only basicConstraints stands in the way).
    for key_usages in [
        vec![KeyUsagePurpose::DigitalSignature],
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
        ],
    ] {
        chain_case(
            |p| {
                // Issued by the root itself, so that no pathLen stands in the way either.
                let pair = KeyPair::generate().unwrap();
                let mut params = leaf_params("runner-7", 100);
                params.key_usages = key_usages;
                let leaf_ca = Ca {
                    der: params
                        .signed_by(&pair, &p.root.issuer)
                        .unwrap()
                        .der()
                        .to_vec(),
                    issuer: Issuer::new(params, pair),
                };
                issue(&leaf_ca, leaf_params("r", 11), ec_client_key(), &[&leaf_ca])
            },
            "client_certificate_refused",
        );
    }
}

#[test]
fn an_intermediate_without_basic_constraints_is_refused() {
    chain_case(
        |p| {
            let mut ip = ca_params("edgeward test int", 2, None);
            ip.is_ca = IsCa::NoCa;
            let int = intermediate(&p.root, ip);
            issue(&int, leaf_params("r", 12), ec_client_key(), &[&int])
        },
        "client_certificate_refused",
    );
}

#[test]
fn a_path_longer_than_path_len_allows_is_refused() {
    // The intermediate allows none below it; a second intermediate sits there.
    chain_case(
        |p| {
            let lower = intermediate(&p.int, ca_params("lower int", 13, None));
            issue(
                &lower,
                leaf_params("r", 14),
                ec_client_key(),
                &[&lower, &p.int],
            )
        },
        "client_certificate_refused",
    );
    // The root allows none (pathLen 0) and an intermediate hangs from it.
    let root0 = root("root zero", Some(0));
    let int = intermediate(&root0, ca_params("int under zero", 2, None));
    let client = issue(&int, leaf_params("r", 15), ec_client_key(), &[&int]);
    let pki = Pki {
        root: root0,
        int,
        client,
    };
    let edge = edge_for(&pki, &[]);
    assert_eq!(
        send(
            &edge,
            "GET",
            "/api/m/x",
            &proof(&pki.client, "GET", "/api/m/x")
        ),
        refused("client_certificate_refused")
    );
}

#[test]
fn a_leaf_without_client_auth_or_digital_signature_is_refused() {
    for (eku, ku) in [
        (Some(vec![ExtendedKeyUsagePurpose::ServerAuth]), None),
        (Some(vec![]), None), // no EKU at all: required
        (None, Some(vec![KeyUsagePurpose::KeyCertSign])),
    ] {
        chain_case(
            |p| {
                let mut lp = leaf_params("r", 16);
                if let Some(eku) = eku {
                    lp.extended_key_usages = eku;
                }
                if let Some(ku) = ku {
                    lp.key_usages = ku;
                }
                issue(&p.int, lp, ec_client_key(), &[&p.int])
            },
            "client_certificate_refused",
        );
    }
}

#[test]
fn an_unknown_critical_extension_is_refused_and_a_ca_leaf_too() {
    chain_case(
        |p| {
            let mut lp = leaf_params("r", 17);
            let mut ext =
                CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![0x05, 0x00]);
            ext.set_criticality(true);
            lp.custom_extensions.push(ext);
            issue(&p.int, lp, ec_client_key(), &[&p.int])
        },
        "client_certificate_refused",
    );
    // What signing a CSR's own parameters gives: a CA:TRUE leaf.
    chain_case(
        |p| {
            let mut lp = leaf_params("r", 18);
            lp.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            issue(&p.int, lp, ec_client_key(), &[&p.int])
        },
        "client_certificate_refused",
    );
}

#[test]
fn fifty_certificates_a_megabyte_base64_or_der_garbage_are_refused_before_parsing() {
    let pki = pki();
    let edge = edge_for(&pki, &[]);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "fifty",
            json!(vec!["MAA="; 50]),
            "x5c holds 50 certificates (at most 4)",
        ),
        (
            "a megabyte",
            json!([STANDARD.encode(vec![0x30u8; 1 << 20])]),
            "bytes (at most 24576)",
        ),
        (
            "big but under the header bound",
            json!(vec![STANDARD.encode(vec![0x30u8; 3100]); 4]),
            "bytes (at most 16384)",
        ),
        ("base64 garbage", json!(["!!!not base64!!!"]), "not base64"),
        (
            "DER garbage",
            json!([STANDARD.encode(b"\x30\x82\xff\xffgarbage")]),
            "malformed certificate chain",
        ),
        ("empty", json!([]), "x5c is empty"),
        ("not a list", json!("abc"), "header"),
    ];
    for (what, x5c, logged) in cases {
        let p = proof_with(&pki.client, "GET", "/api/m/x", NOW, |h, _| h["x5c"] = x5c);
        let res = send(&edge, "GET", "/api/m/x", &p);
        assert!(
            matches!(&res, Err((401, c)) if c == "client_certificate_refused" || c == "invalid_client_proof"),
            "{what}: {res:?}"
        );
        let log = edge.ports().log_text();
        assert!(
            log.lines().last().unwrap().contains(logged),
            "{what}: {log}"
        );
    }
}

#[test]
fn a_revoked_certificate_is_refused_by_serial_or_fingerprint_even_when_cached() {
    let pki = pki();
    // Cached first, on an edge that does not know of the revocation...
    let edge = edge_for(&pki, &[]);
    assert!(send(
        &edge,
        "GET",
        "/api/m/x",
        &proof(&pki.client, "GET", "/api/m/x")
    )
    .is_ok());
    // ... then refused by a configuration that revokes the leaf (serial 100 = 0x64).
    let fp = format!(
        "sha256:{}",
        edgeward_core::platform::crypto::hex(&fingerprint(&pki.client.leaf))
    );
    for list in ["64", "00:64", fp.as_str(), "02"] {
        let edge = edge_for(&pki, &[("EDGEWARD_CLIENT_REVOKED", list)]);
        assert_eq!(
            send(
                &edge,
                "GET",
                "/api/m/x",
                &proof(&pki.client, "GET", "/api/m/x")
            ),
            refused("client_certificate_refused"),
            "{list}"
        );
    }
    // Revocation is checked on a cached chain too.
    let revoked = Revoked::parse("64").unwrap();
    let cache = chain::ChainCache::default();
    let key = chain::chain_key(&pki.client.x5c);
    let ders = chain::decode_x5c(&pki.client.x5c).unwrap();
    let anchors = chain::parse_anchors(&pem(&pki.root.der)).unwrap();
    let verified = futures_executor::block_on(chain::verify_chain(
        &ders,
        &anchors,
        &Revoked::default(),
        NOW,
        &edgeward_core::RustSignatures,
    ))
    .unwrap();
    cache.put(key, std::rc::Rc::new(verified), NOW);
    assert!(cache.get(&key, &Revoked::default(), NOW).is_some());
    assert!(cache.get(&key, &revoked, NOW).is_none());
}

// ---------------------------------------------------------------- bad proofs

#[test]
fn proofs_that_are_not_this_requests_or_not_the_leafs_are_refused() {
    let pki = pki();
    let edge = edge_for(&pki, &[]);
    let other = issue(
        &pki.int,
        leaf_params("other", 101),
        ec_client_key(),
        &[&pki.int],
    );
    type Edit = Box<dyn FnOnce(&mut Value, &mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "alg none",
            Box::new(|h, _| h["alg"] = json!("none")),
            "invalid_client_proof",
        ),
        (
            "alg HS256",
            Box::new(|h, _| h["alg"] = json!("HS256")),
            "invalid_client_proof",
        ),
        (
            "RS256 with an EC leaf",
            Box::new(|h, _| h["alg"] = json!("RS256")),
            "invalid_client_proof",
        ),
        (
            "typ JWT",
            Box::new(|h, _| h["typ"] = json!("JWT")),
            "invalid_client_proof",
        ),
        (
            "typ at+jwt",
            Box::new(|h, _| h["typ"] = json!("at+jwt")),
            "invalid_client_proof",
        ),
        (
            "typ dpop+jwt",
            Box::new(|h, _| h["typ"] = json!("dpop+jwt")),
            "invalid_client_proof",
        ),
        (
            "no typ",
            Box::new(|h, _| {
                h.as_object_mut().unwrap().remove("typ");
            }),
            "invalid_client_proof",
        ),
        (
            "crit",
            Box::new(|h, _| h["crit"] = json!(["b64"])),
            "invalid_client_proof",
        ),
        (
            "no x5c",
            Box::new(|h, _| {
                h.as_object_mut().unwrap().remove("x5c");
            }),
            "invalid_client_proof",
        ),
        (
            "wrong htm",
            Box::new(|_, c| c["htm"] = json!("POST")),
            "invalid_client_proof",
        ),
        (
            "lower-case htm",
            Box::new(|_, c| c["htm"] = json!("get")),
            "invalid_client_proof",
        ),
        (
            "wrong htu path",
            Box::new(|_, c| c["htu"] = json!(format!("{ORIGIN}/api/m/y"))),
            "invalid_client_proof",
        ),
        (
            "wrong htu host",
            Box::new(|_, c| c["htu"] = json!("http://elsewhere.test/api/m/x")),
            "invalid_client_proof",
        ),
        (
            "htu with a query",
            Box::new(|_, c| c["htu"] = json!(format!("{ORIGIN}/api/m/x?a=1"))),
            "invalid_client_proof",
        ),
        (
            "iat an hour old",
            Box::new(|_, c| {
                c["iat"] = json!(NOW - 3600);
                c["exp"] = json!(NOW + 60);
            }),
            "invalid_client_proof",
        ),
        (
            "iat in the future",
            Box::new(|_, c| {
                c["iat"] = json!(NOW + 120);
                c["exp"] = json!(NOW + 200);
            }),
            "invalid_client_proof",
        ),
        (
            "expired",
            Box::new(|_, c| {
                c["iat"] = json!(NOW - 50);
                c["exp"] = json!(NOW - 1);
            }),
            "invalid_client_proof",
        ),
        (
            "exp too far",
            Box::new(|_, c| c["exp"] = json!(NOW + 301)),
            "invalid_client_proof",
        ),
        (
            "no exp",
            Box::new(|_, c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            "invalid_client_proof",
        ),
        (
            "short jti",
            Box::new(|_, c| c["jti"] = json!("abc")),
            "invalid_client_proof",
        ),
        (
            "no jti",
            Box::new(|_, c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            "invalid_client_proof",
        ),
        (
            "iat as text",
            Box::new(|_, c| c["iat"] = json!(NOW.to_string())),
            "invalid_client_proof",
        ),
    ];
    for (what, edit, code) in cases {
        let p = proof_with(&pki.client, "GET", "/api/m/x", NOW, edit);
        assert_eq!(send(&edge, "GET", "/api/m/x", &p), refused(code), "{what}");
    }
    // Signed by another key than the leaf's (another client's), with this client's chain.
    let stolen = proof_with(&other, "GET", "/api/m/x", NOW, |h, _| {
        h["x5c"] = json!(pki.client.x5c)
    });
    assert_eq!(
        send(&edge, "GET", "/api/m/x", &stolen),
        refused("invalid_client_proof"),
        "other key"
    );
    // A tampered signature; a proof that is not a JWT; the scheme without a proof.
    let good = proof(&pki.client, "GET", "/api/m/x");
    let (signed, sig) = good.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    bytes[10] ^= 1;
    let tampered = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes));
    for (what, p) in [
        ("tampered", tampered.as_str()),
        ("garbage", "a.b.c"),
        ("two parts", "a.b"),
        ("empty", ""),
    ] {
        assert_eq!(
            send(&edge, "GET", "/api/m/x", p),
            refused("invalid_client_proof"),
            "{what}"
        );
    }
    // Wrong scheme spellings are not PoP at all: this route takes no browser, so 403.
    let res = send_req(
        &edge,
        common::request("GET", "/api/m/x", &[("authorization", "Bearer x")], ""),
    );
    assert_eq!(res, refused("client_not_allowed"));
}

#[test]
fn a_replayed_jti_is_refused_here_and_in_another_isolate() {
    let pki = pki();
    let edge = edge_for(&pki, &[]);
    let p = proof(&pki.client, "GET", "/api/m/x");
    assert!(send(&edge, "GET", "/api/m/x", &p).is_ok());
    assert_eq!(
        send(&edge, "GET", "/api/m/x", &p),
        refused("proof_replayed")
    );
    // Another isolate (its own memory), the same registry.
    let other = edge_for(&pki, &[]);
    *other.ports().registry.borrow_mut() = edge.ports().registry.borrow().clone();
    assert_eq!(
        send(&other, "GET", "/api/m/x", &p),
        refused("proof_replayed")
    );
    // The registry keeps it until exp + 60 s, sharded by the leaf's fingerprint, keyed by hash.
    let keys = edge.ports().shards().keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].contains("/proof:"), "{keys:?}");
    assert!(!keys[0].contains(&p[p.len() - 20..]));
}

#[test]
fn without_the_registry_a_proof_fails_closed() {
    let pki = pki();
    let edge = edge_for(&pki, &[]);
    edge.ports().shards().down.set(true);
    let res = futures_executor::block_on(edge.handle(common::request(
        "GET",
        "/api/m/x",
        &[(
            "authorization",
            &format!("PoP {}", proof(&pki.client, "GET", "/api/m/x")),
        )],
        "",
    )));
    match res {
        Outcome::Respond(r) => assert_eq!(r.status(), 503),
        Outcome::Forward(_) => panic!("forwarded without a replay check"),
    }
}

// ---------------------------------------------------------------- routes and kinds of client

#[test]
fn pop_on_a_browser_route_is_401_and_a_cookie_on_a_machine_route_is_403() {
    let pki = pki();
    let edge = edge_for(&pki, &[]);
    let p = proof(&pki.client, "GET", "/api/b/x");
    assert_eq!(
        send(&edge, "GET", "/api/b/x", &p),
        refused("invalid_client_proof")
    );
    // With a cookie too, it never falls through to the cookie.
    let req = common::request(
        "GET",
        "/api/b/x",
        &[
            ("authorization", &format!("PoP {p}")),
            ("cookie", "__Host-edgeward-at=x"),
        ],
        "",
    );
    assert_eq!(send_req(&edge, req), refused("invalid_client_proof"));
    let req = common::request("GET", "/api/m/x", &[("cookie", "__Host-edgeward-at=x")], "");
    assert_eq!(send_req(&edge, req), refused("client_not_allowed"));
}

#[test]
fn a_pop_route_needs_the_ca_bundle_and_a_minting_key_and_a_bad_bundle_names_its_variable() {
    let pki = pki();
    let ca = pem(&pki.root.der);
    let err =
        config_result(&[("EDGEWARD_API_ROUTES", ROUTES), ("EDGEWARD_MINT_KEY", MINT)]).unwrap_err();
    assert_eq!(err.variable, "EDGEWARD_CLIENT_CA");
    let err = config_result(&[
        ("EDGEWARD_API_ROUTES", ROUTES),
        ("EDGEWARD_CLIENT_CA", &ca),
        ("EDGEWARD_PHANTOM_MODE", "passthrough"),
    ])
    .unwrap_err();
    assert_eq!(err.variable, "EDGEWARD_API_ROUTES");
    for bad in [
        "not pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
        &pem(&pki.client.leaf),
    ] {
        let err = config_result(&[("EDGEWARD_CLIENT_CA", bad)]).unwrap_err();
        assert_eq!(err.variable, "EDGEWARD_CLIENT_CA", "{bad}");
    }
    let err = config_result(&[("EDGEWARD_CLIENT_REVOKED", "sha256:zz")]).unwrap_err();
    assert_eq!(err.variable, "EDGEWARD_CLIENT_REVOKED");
    // A bundle pasted into one line with literal \n, and two anchors.
    let two = format!("{}{}", ca, pem(&pki.int.der)).replace('\n', "\\n");
    assert!(config_result(&[("EDGEWARD_CLIENT_CA", &two)]).is_ok());
}

// ---------------------------------------------------------------- mTLS

fn with_mtls(req: edgeward_core::Request, auth: TlsClientAuth) -> edgeward_core::Request {
    let mut req = req;
    req.extensions_mut().insert(auth);
    req
}

#[test]
fn a_verified_tls_client_certificate_must_be_the_proofs_leaf() {
    let pki = pki();
    let edge = edge_for(&pki, &[]);
    let leaf_hex = edgeward_core::platform::crypto::hex(&fingerprint(&pki.client.leaf));
    let verified = |fp: &str| TlsClientAuth {
        cert_presented: "1".into(),
        cert_verified: "SUCCESS".into(),
        cert_fingerprint_sha256: fp.into(),
    };
    let req = |auth| {
        with_mtls(
            common::request(
                "GET",
                "/api/m/x",
                &[(
                    "authorization",
                    &format!("PoP {}", proof(&pki.client, "GET", "/api/m/x")),
                )],
                "",
            ),
            auth,
        )
    };
    // The same certificate: accepted, and cnf carries it.
    let claims = send_req(&edge, req(verified(&leaf_hex))).unwrap();
    assert_eq!(
        claims["cnf"]["x5t#S256"],
        URL_SAFE_NO_PAD.encode(fingerprint(&pki.client.leaf))
    );
    // Another verified certificate: refused.
    let other = edgeward_core::platform::crypto::hex(&fingerprint(&pki.int.der));
    assert_eq!(
        send_req(&edge, req(verified(&other))),
        refused("client_certificate_refused")
    );
    // Cloudflare's other answers (no certificate, failed verification) bind nothing.
    for (presented, outcome) in [("0", "NONE"), ("1", "FAILED:self signed certificate")] {
        let auth = TlsClientAuth {
            cert_presented: presented.into(),
            cert_verified: outcome.into(),
            cert_fingerprint_sha256: other.clone(),
        };
        assert!(send_req(&edge, req(auth)).is_ok(), "{outcome}");
    }
}

// ---------------------------------------------------------------- cost

/// Numbers, not assertions: a first chain of three (two certificate signatures and the proof's)
/// and a returning client (the proof's only), native, Rust signatures.
#[test]
fn cost_of_a_first_chain_and_of_a_cached_one() {
    let pki = pki();
    let rounds = 30;
    let mut first = Vec::new();
    let mut cached = Vec::new();
    for _ in 0..rounds {
        let edge = edge_for(&pki, &[]);
        let p = proof(&pki.client, "GET", "/api/m/x");
        let t = Instant::now();
        assert!(send(&edge, "GET", "/api/m/x", &p).is_ok());
        first.push(t.elapsed());
        let p = proof(&pki.client, "GET", "/api/m/x");
        let t = Instant::now();
        assert!(send(&edge, "GET", "/api/m/x", &p).is_ok());
        cached.push(t.elapsed());
    }
    first.sort();
    cached.sort();
    println!(
        "machine clients, native (debug build unless --release), median of {rounds}: first chain of 3 {:?}, cached chain {:?}",
        first[rounds / 2],
        cached[rounds / 2]
    );
}

#[test]
fn every_signature_goes_through_the_port_and_a_cached_chain_costs_one() {
    let pki = pki();
    let edge = edge_for(&pki, &[]);
    let checks = || edge.ports().signature_checks.borrow().clone();
    assert!(send(
        &edge,
        "GET",
        "/api/m/x",
        &proof(&pki.client, "GET", "/api/m/x")
    )
    .is_ok());
    let first = checks();
    // The leaf's and the intermediate's certificate signatures, then the proof's: each asked of
    // the platform first (it answered None here, so Rust checked them), with the issuer's key
    // as a public JWK.
    assert_eq!(first.len(), 3, "{first:?}");
    for (alg, jwk) in &first {
        assert_eq!(alg, "ES256");
        let jwk: Value = serde_json::from_str(jwk).unwrap();
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert!(jwk.get("d").is_none());
    }
    assert!(send(
        &edge,
        "GET",
        "/api/m/x",
        &proof(&pki.client, "GET", "/api/m/x")
    )
    .is_ok());
    assert_eq!(
        checks().len(),
        4,
        "a returning client: the proof's signature only"
    );
    // When the platform says a signature is bad, it is bad (no second opinion from Rust).
    let edge = edge_for(&pki, &[]);
    edge.ports().signature_verdict.set(Some(false));
    assert_eq!(
        send(
            &edge,
            "GET",
            "/api/m/x",
            &proof(&pki.client, "GET", "/api/m/x")
        ),
        refused("client_certificate_refused")
    );
}

// ---------------------------------------------------------------- revoked at run time

const ADMIN: &str = "admin-token-admin-token-admin-token-0001";

/// The admin endpoint's answer to `method /auth/admin/clients/revoked?query`: (status, body).
fn admin(edge: &Edge<FakePorts>, method: &str, query: &str, bearer: &str) -> (u16, Value) {
    let path = format!("/auth/admin/clients/revoked{query}");
    let auth = format!("Bearer {bearer}");
    match futures_executor::block_on(edge.handle(common::request(
        method,
        &path,
        &[("authorization", auth.as_str())],
        "",
    ))) {
        Outcome::Respond(res) => (res.status().as_u16(), common::json(&res)),
        Outcome::Forward(_) => panic!("the admin endpoint forwarded"),
    }
}

/// A certificate revoked through the admin endpoint is refused at the next proof, in every
/// isolate and although this isolate has its chain cached (the replay check carries the
/// chain's certificates to the registry object, which holds the revocations); taken back, it
/// is accepted again.
#[test]
fn a_certificate_revoked_through_the_admin_endpoint_is_refused_at_once_everywhere() {
    let pki = pki();
    let extra = [
        ("EDGEWARD_ADMIN_TOKEN", ADMIN),
        ("EDGEWARD_SESSION_SHARDS", "4"),
    ];
    let edge = edge_for(&pki, &extra);
    let call = |edge: &Edge<FakePorts>| {
        send(
            edge,
            "GET",
            "/api/m/x",
            &proof(&pki.client, "GET", "/api/m/x"),
        )
    };
    assert!(call(&edge).is_ok(), "the chain is cached now");
    let other = edge_for(&pki, &extra);
    *other.ports().registry.borrow_mut() = edge.ports().registry.borrow().clone();
    assert!(call(&other).is_ok());

    // The leaf by serial (100 = 0x64, written with colons and a leading zero).
    let (status, body) = admin(&edge, "PUT", "?certificate=00:64", ADMIN);
    assert_eq!((status, &body), (200, &json!({"revoked": ["serial:64"]})));
    assert_eq!(call(&edge), refused("client_certificate_refused"));
    assert_eq!(call(&other), refused("client_certificate_refused"));
    // Kept in every registry object, whichever the leaf's proofs go to.
    let shards = edge.ports().shards();
    for n in 0..4 {
        let store = shards.store(&format!("sessions-{n:03}"));
        assert!(
            store.0.borrow().values().any(|v| v.contains("serial:64")),
            "shard {n}"
        );
    }
    let (status, body) = admin(&edge, "GET", "", ADMIN);
    assert_eq!((status, body), (200, json!({"revoked": ["serial:64"]})));

    // Taken back: accepted again.
    let (status, _) = admin(&edge, "DELETE", "?certificate=64", ADMIN);
    assert_eq!(status, 200);
    assert!(call(&edge).is_ok());
    assert_eq!(admin(&edge, "GET", "", ADMIN).1, json!({"revoked": []}));

    // The intermediate by fingerprint: every chain through it is refused.
    let int_fp = format!(
        "sha256:{}",
        edgeward_core::platform::crypto::hex(&fingerprint(&pki.int.der)).to_uppercase()
    );
    let (status, _) = admin(&edge, "PUT", &format!("?certificate={int_fp}"), ADMIN);
    assert_eq!(status, 200);
    assert_eq!(call(&other), refused("client_certificate_refused"));

    // What an administrator can get wrong: each a clear error, nothing changed.
    for (method, query, bearer, status) in [
        ("PUT", "?certificate=64", "wrong-token", 401),
        ("PUT", "", ADMIN, 400),
        ("PUT", "?certificate=zz", ADMIN, 400),
        ("PUT", "?certificate=64,65", ADMIN, 400),
        ("PUT", "?certificate=sha256:abcd", ADMIN, 400),
        ("POST", "?certificate=64", ADMIN, 405),
    ] {
        let (got, body) = admin(&edge, method, query, bearer);
        assert_eq!(got, status, "{method} {query}: {body}");
    }
    assert_eq!(
        admin(&edge, "GET", "", ADMIN).1["revoked"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A registry that cannot be reached: the change is not made, 503, to be sent again.
    shards.down.set(true);
    let (status, body) = admin(&edge, "PUT", "?certificate=65", ADMIN);
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("session_store_unavailable"))
    );
    shards.down.set(false);

    // Without the admin token configured the endpoint does not exist.
    let plain = edge_for(&pki, &[]);
    assert_eq!(admin(&plain, "GET", "", ADMIN).0, 404);
}
