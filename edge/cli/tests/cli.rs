//! The `edgeward` binary end to end: every certificate it makes is checked by openssl
//! (`verify -x509_strict -purpose sslclient`) and parsed back; every proof is decoded and its
//! signature checked against the client certificate's key.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::Value;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cli-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().expect(program)
}

/// Runs edgeward and requires success.
fn edgeward(args: &[&str]) -> String {
    let out = run(env!("CARGO_BIN_EXE_edgeward"), args);
    assert!(
        out.status.success(),
        "edgeward {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `openssl verify -x509_strict -purpose sslclient`; its output and whether it passed.
fn openssl_verify(root: &Path, untrusted: Option<&Path>, leaf: &Path) -> (bool, String) {
    let mut args = vec![
        "verify",
        "-x509_strict",
        "-purpose",
        "sslclient",
        "-CAfile",
        p(root),
    ];
    if let Some(u) = untrusted {
        args.extend(["-untrusted", p(u)]);
    }
    args.push(p(leaf));
    let out = run("openssl", &args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn pem_ders(path: &Path) -> Vec<Vec<u8>> {
    let text = std::fs::read(path).expect("pem file");
    x509_parser::pem::Pem::iter_from_buffer(&text)
        .map(|b| b.expect("pem").contents)
        .collect()
}

/// What a client certificate must be: CA:FALSE, KU digitalSignature only, EKU clientAuth,
/// AKI = the issuer's SKI, a random 16-byte serial, the SAN URIs asked for.
fn check_leaf(leaf_der: &[u8], issuer_der: &[u8], san_uris: &[&str]) {
    let (_, leaf) = X509Certificate::from_der(leaf_der).expect("leaf parses");
    let (_, issuer) = X509Certificate::from_der(issuer_der).expect("issuer parses");
    let bc = leaf.basic_constraints().expect("bc").expect("bc present");
    assert!(!bc.value.ca, "the leaf must be CA:FALSE");
    let ku = leaf.key_usage().expect("ku").expect("ku present").value;
    assert!(ku.digital_signature());
    assert!(
        !ku.key_cert_sign() && !ku.crl_sign(),
        "the leaf may not sign certificates"
    );
    let eku = leaf
        .extended_key_usage()
        .expect("eku")
        .expect("eku present")
        .value;
    assert!(eku.client_auth && !eku.server_auth && !eku.any);
    let aki = leaf
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
        .expect("AKI");
    let ski = issuer
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .expect("issuer SKI");
    assert_eq!(aki, ski, "AKI names the issuer's key");
    assert_eq!(leaf.raw_serial().len(), 16, "a 128-bit serial");
    let uris: Vec<String> = leaf
        .subject_alternative_name()
        .expect("san")
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::URI(u) => Some((*u).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(uris, san_uris);
}

#[test]
fn ec_root_signs_an_ec_client_that_openssl_accepts_strictly() {
    let dir = scratch("ec");
    let (ca, client) = (dir.join("ca"), dir.join("client"));
    edgeward(&["ca", "init", "--name", "Test Root", "--out", p(&ca)]);
    edgeward(&[
        "client",
        "key",
        "--subject",
        "runner-1",
        "--out",
        p(&client),
    ]);
    let signed = edgeward(&[
        "ca",
        "sign",
        "--ca",
        p(&ca),
        "--csr",
        p(&client.join("client.csr")),
        "--days",
        "30",
        "--san-uri",
        "spiffe://example.org/ci/runner-1",
        "--out",
        p(&client),
    ]);
    let (ok, text) = openssl_verify(&ca.join("ca.crt"), None, &client.join("client.crt"));
    assert!(ok, "openssl: {text}");
    let (ok, text) = openssl_verify(&client.join("ca.pem"), None, &client.join("chain.pem"));
    assert!(ok, "openssl: {text}");
    let leaf = pem_ders(&client.join("client.crt")).remove(0);
    let root = pem_ders(&ca.join("ca.crt")).remove(0);
    check_leaf(&leaf, &root, &["spiffe://example.org/ci/runner-1"]);
    // It prints what EDGEWARD_CLIENT_REVOKED would take: the serial and the fingerprint.
    let out = run(
        "openssl",
        &[
            "x509",
            "-in",
            p(&client.join("client.crt")),
            "-noout",
            "-serial",
            "-fingerprint",
            "-sha256",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    let serial = text
        .lines()
        .find_map(|l| l.strip_prefix("serial="))
        .expect("serial");
    let fp = text
        .lines()
        .find_map(|l| l.split_once("fingerprint="))
        .expect("fp")
        .1
        .replace(':', "");
    assert!(
        signed.contains(&format!("serial {}", serial.trim_start_matches('0'))),
        "{signed}"
    );
    assert!(signed.contains(&format!("sha256:{fp}")), "{signed}");
    // chain.pem is what goes in x5c: the client certificate only (the root is not sent).
    assert_eq!(pem_ders(&client.join("chain.pem")), vec![leaf]);
    // The root: CA, pathLen 1, keyCertSign + cRLSign, its own serial.
    let (_, root) = X509Certificate::from_der(&root).expect("root");
    let bc = root.basic_constraints().expect("bc").expect("bc").value;
    assert!(bc.ca && bc.path_len_constraint == Some(1));
    let ku = root.key_usage().expect("ku").expect("ku").value;
    assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
    // Private keys are the owner's only.
    #[cfg(unix)]
    for key in [ca.join("ca.key"), client.join("client.key")] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} is readable by others", key.display());
    }
}

#[test]
fn rsa_root_intermediate_and_rsa_client() {
    let dir = scratch("rsa");
    let (root, int, client) = (dir.join("root"), dir.join("int"), dir.join("client"));
    edgeward(&[
        "ca",
        "init",
        "--name",
        "RSA Root",
        "--rsa",
        "--out",
        p(&root),
    ]);
    edgeward(&[
        "ca",
        "intermediate",
        "--ca",
        p(&root),
        "--name",
        "Issuing",
        "--out",
        p(&int),
    ]);
    edgeward(&[
        "client",
        "key",
        "--subject",
        "batch-7",
        "--rsa",
        "--out",
        p(&client),
    ]);
    edgeward(&[
        "ca",
        "sign",
        "--ca",
        p(&int),
        "--csr",
        p(&client.join("client.csr")),
        "--out",
        p(&client),
    ]);
    let (ok, text) = openssl_verify(
        &client.join("ca.pem"),
        Some(&int.join("issuers.pem")),
        &client.join("client.crt"),
    );
    assert!(ok, "openssl: {text}");
    let chain = pem_ders(&client.join("chain.pem"));
    assert_eq!(chain.len(), 2, "client certificate and intermediate");
    check_leaf(&chain[0], &chain[1], &[]);
    let (_, int_cert) = X509Certificate::from_der(&chain[1]).expect("intermediate");
    let bc = int_cert.basic_constraints().expect("bc").expect("bc").value;
    assert!(bc.ca && bc.path_len_constraint == Some(0));
    // An intermediate with pathLen 0 may not make another CA.
    let out = run(
        env!("CARGO_BIN_EXE_edgeward"),
        &[
            "ca",
            "intermediate",
            "--ca",
            p(&int),
            "--name",
            "Deeper",
            "--out",
            p(&dir.join("deeper")),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pathLen 0"));
}

/// Attack: a client's CSR asks for CA:TRUE and keyCertSign (to issue certificates of its own).
/// The CA signs with its own parameters: the result is a CA:FALSE client certificate.
#[test]
fn a_csr_asking_to_be_a_ca_gets_a_client_certificate() {
    let dir = scratch("evil-csr");
    let (ca, client) = (dir.join("ca"), dir.join("client"));
    edgeward(&["ca", "init", "--name", "Test Root", "--out", p(&ca)]);
    std::fs::create_dir_all(&client).expect("dir");
    let key = client.join("evil.key");
    let csr = client.join("evil.csr");
    let out = run(
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            p(&key),
        ],
    );
    assert!(out.status.success());
    let out = run(
        "openssl",
        &[
            "req",
            "-new",
            "-key",
            p(&key),
            "-subj",
            "/CN=evil",
            "-out",
            p(&csr),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            "subjectAltName=URI:spiffe://example.org/admin",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = edgeward(&[
        "ca",
        "sign",
        "--ca",
        p(&ca),
        "--csr",
        p(&csr),
        "--out",
        p(&client),
    ]);
    assert!(
        said.contains("CA:TRUE") && said.contains("not copied"),
        "{said}"
    );
    let leaf = pem_ders(&client.join("client.crt")).remove(0);
    let root = pem_ders(&ca.join("ca.crt")).remove(0);
    // CA:FALSE, no keyCertSign, and no SAN the operator did not give.
    check_leaf(&leaf, &root, &[]);
    // It is still a good client certificate.
    let (ok, text) = openssl_verify(&client.join("ca.pem"), None, &client.join("client.crt"));
    assert!(ok, "the client certificate itself is fine: {text}");
}

fn jwt_parts(jwt: &str) -> (Value, Value, Vec<u8>, String) {
    let parts: Vec<&str> = jwt.trim().split('.').collect();
    assert_eq!(parts.len(), 3, "compact JWS");
    let json = |s: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).expect("b64url")).expect("json")
    };
    (
        json(parts[0]),
        json(parts[1]),
        URL_SAFE_NO_PAD.decode(parts[2]).expect("sig"),
        format!("{}.{}", parts[0], parts[1]),
    )
}

fn check_claims(claims: &Value, method: &str, htu: &str, lifetime: i64) {
    assert_eq!(claims["htm"], method);
    assert_eq!(claims["htu"], htu);
    let iat = claims["iat"].as_i64().expect("iat");
    let exp = claims["exp"].as_i64().expect("exp");
    assert_eq!(exp - iat, lifetime);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert!((now - iat).abs() < 120, "iat is now");
    let jti = claims["jti"].as_str().expect("jti");
    assert!(URL_SAFE_NO_PAD.decode(jti).expect("jti b64url").len() >= 16);
}

#[test]
fn ec_proof_carries_the_chain_and_is_signed_by_the_client_key() {
    use p256::ecdsa::signature::Verifier as _;
    let dir = scratch("pop-ec");
    let (root, int, client) = (dir.join("root"), dir.join("int"), dir.join("client"));
    edgeward(&["ca", "init", "--name", "Root", "--out", p(&root)]);
    edgeward(&[
        "ca",
        "intermediate",
        "--ca",
        p(&root),
        "--name",
        "Issuing",
        "--out",
        p(&int),
    ]);
    edgeward(&[
        "client",
        "key",
        "--subject",
        "runner-1",
        "--out",
        p(&client),
    ]);
    edgeward(&[
        "ca",
        "sign",
        "--ca",
        p(&int),
        "--csr",
        p(&client.join("client.csr")),
        "--out",
        p(&client),
    ]);
    let chain = client.join("chain.pem");
    let key = client.join("client.key");
    let jwt = edgeward(&[
        "pop",
        "--key",
        p(&key),
        "--chain",
        p(&chain),
        "--method",
        "post",
        "--url",
        "https://edge.example/api/jobs?id=1#frag",
        "--lifetime",
        "120",
    ]);
    let (header, claims, sig, signed) = jwt_parts(&jwt);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "edgeward-pop+jwt");
    let x5c: Vec<Vec<u8>> = header["x5c"]
        .as_array()
        .expect("x5c")
        .iter()
        .map(|c| {
            STANDARD
                .decode(c.as_str().expect("str"))
                .expect("standard base64")
        })
        .collect();
    assert_eq!(
        x5c,
        pem_ders(&chain),
        "x5c is chain.pem, client certificate first"
    );
    check_claims(&claims, "POST", "https://edge.example/api/jobs", 120);
    let (_, leaf) = X509Certificate::from_der(&x5c[0]).expect("leaf");
    let point = leaf.public_key().subject_public_key.data.to_vec();
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).expect("P-256 key");
    let sig = p256::ecdsa::Signature::from_slice(&sig).expect("r||s");
    vk.verify(signed.as_bytes(), &sig)
        .expect("signed by the client's key");

    // Two proofs never share a jti.
    let again = edgeward(&[
        "pop",
        "--key",
        p(&key),
        "--chain",
        p(&chain),
        "--url",
        "https://edge.example/api/jobs",
    ]);
    assert_ne!(jwt_parts(&again).1["jti"], claims["jti"]);
    assert_eq!(jwt_parts(&again).1["htm"], "GET");
}

#[test]
fn rsa_proof_is_rs256_and_openssl_checks_it() {
    let dir = scratch("pop-rsa");
    let (ca, client) = (dir.join("ca"), dir.join("client"));
    edgeward(&["ca", "init", "--name", "Root", "--out", p(&ca)]);
    edgeward(&[
        "client",
        "key",
        "--subject",
        "rsa-client",
        "--rsa",
        "--out",
        p(&client),
    ]);
    edgeward(&[
        "ca",
        "sign",
        "--ca",
        p(&ca),
        "--csr",
        p(&client.join("client.csr")),
        "--out",
        p(&client),
    ]);
    let jwt = edgeward(&[
        "pop",
        "--key",
        p(&client.join("client.key")),
        "--chain",
        p(&client.join("chain.pem")),
        "--url",
        "http://localhost:8820/api/whoami",
    ]);
    let (header, claims, sig, signed) = jwt_parts(&jwt);
    assert_eq!(header["alg"], "RS256");
    check_claims(&claims, "GET", "http://localhost:8820/api/whoami", 60);
    std::fs::write(dir.join("signed"), signed).expect("write");
    std::fs::write(dir.join("sig"), sig).expect("write");
    let out = run(
        "openssl",
        &[
            "x509",
            "-in",
            p(&client.join("client.crt")),
            "-pubkey",
            "-noout",
            "-out",
            p(&dir.join("pub.pem")),
        ],
    );
    assert!(out.status.success());
    let out = run(
        "openssl",
        &[
            "dgst",
            "-sha256",
            "-verify",
            p(&dir.join("pub.pem")),
            "-signature",
            p(&dir.join("sig")),
            p(&dir.join("signed")),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn refusals_say_why() {
    let dir = scratch("refusals");
    let (ca, a, b) = (dir.join("ca"), dir.join("a"), dir.join("b"));
    edgeward(&["ca", "init", "--name", "Root", "--out", p(&ca)]);
    edgeward(&["client", "key", "--subject", "a", "--out", p(&a)]);
    edgeward(&["client", "key", "--subject", "b", "--out", p(&b)]);
    edgeward(&[
        "ca",
        "sign",
        "--ca",
        p(&ca),
        "--csr",
        p(&a.join("client.csr")),
        "--out",
        p(&a),
    ]);
    let fails = |args: &[&str], says: &str| {
        let out = run(env!("CARGO_BIN_EXE_edgeward"), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(says),
            "{args:?}: {err}"
        );
    };
    let (a_chain, b_key) = (a.join("chain.pem"), b.join("client.key"));
    // Another client's key with a's chain: every proof would be refused, so none is made.
    fails(
        &[
            "pop",
            "--key",
            p(&b_key),
            "--chain",
            p(&a_chain),
            "--url",
            "https://e.example/api",
        ],
        "does not belong",
    );
    fails(
        &[
            "pop",
            "--key",
            p(&a.join("client.key")),
            "--chain",
            p(&a_chain),
            "--url",
            "https://e.example/api",
            "--lifetime",
            "301",
        ],
        "--lifetime",
    );
    fails(
        &[
            "pop",
            "--key",
            p(&a.join("client.key")),
            "--chain",
            p(&a_chain),
            "--url",
            "/api/relative",
        ],
        "--url",
    );
    // Files are never overwritten.
    fails(
        &["ca", "init", "--name", "Again", "--out", p(&ca)],
        "not overwritten",
    );
    // A CSR whose signature does not verify (its body altered).
    let csr = std::fs::read_to_string(b.join("client.csr")).expect("csr");
    let mut der = x509_parser::pem::parse_x509_pem(csr.as_bytes())
        .expect("pem")
        .1
        .contents;
    let at = der.len() - 3;
    der[at] ^= 1;
    let bad = format!(
        "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
        STANDARD.encode(&der)
    );
    std::fs::write(dir.join("bad.csr"), bad).expect("write");
    fails(
        &[
            "ca",
            "sign",
            "--ca",
            p(&ca),
            "--csr",
            p(&dir.join("bad.csr")),
            "--out",
            p(&dir.join("bad")),
        ],
        "not a usable CSR",
    );
}
