//! The machine-client tests' PKI and proofs (`machine_clients.rs`, `review5_machine.rs`):
//! chains made by rcgen (only the client's public key used; validity, serial and AKI set),
//! proofs signed with the client's key, and an edge that takes them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use edgeward_core::{Edge, Outcome};
use jwt_compact::alg::{Es256, Rsa};
use jwt_compact::{Algorithm, AlgorithmSignature};
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
    PKCS_RSA_SHA256,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super as common;
use super::{config_with, FakePorts, ORIGIN};
/// 2023-11-14: inside every valid certificate's window (2023-01-01 .. 2025-01-01).
pub const NOW: u64 = 1_700_000_000;
pub const MINT: &str = "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
pub const URI: &str = "spiffe://ci.example/runner-7";
pub const ROUTES: &str = r#"[
  {"prefix": "/api/m/", "upstream": "http://machines.test/", "methods": ["GET", "POST"], "clients": ["pop"], "scope": "orders:read"},
  {"prefix": "/api/b/", "upstream": "http://browsers.test/", "methods": ["GET", "POST"]}
]"#;

// ---------------------------------------------------------------- the PKI

pub struct Ca {
    pub issuer: Issuer<'static, KeyPair>,
    pub der: Vec<u8>,
}

pub fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "edgeward tests");
    dn.push(DnType::CommonName, cn);
    dn
}

pub fn base(cn: &str, serial: u64) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.not_before = date_time_ymd(2023, 1, 1);
    p.not_after = date_time_ymd(2025, 1, 1);
    p.serial_number = Some(SerialNumber::from(serial));
    p.use_authority_key_identifier_extension = true;
    p
}

pub fn ca_params(cn: &str, serial: u64, path_len: Option<u8>) -> CertificateParams {
    let mut p = base(cn, serial);
    p.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

pub fn leaf_params(cn: &str, serial: u64) -> CertificateParams {
    let mut p = base(cn, serial);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.subject_alt_names = vec![SanType::URI(URI.try_into().unwrap())];
    p
}

pub fn root(cn: &str, path_len: Option<u8>) -> Ca {
    let key = KeyPair::generate().unwrap();
    let params = ca_params(cn, 1, path_len);
    let cert = params.self_signed(&key).unwrap();
    Ca {
        der: cert.der().to_vec(),
        issuer: Issuer::new(params, key),
    }
}

pub fn intermediate(parent: &Ca, params: CertificateParams) -> Ca {
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &parent.issuer).unwrap();
    Ca {
        der: cert.der().to_vec(),
        issuer: Issuer::new(params, key),
    }
}

pub fn pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

pub enum ClientKey {
    Ec(p256::ecdsa::SigningKey),
    Rsa(Box<rsa::RsaPrivateKey>),
}

/// A machine client: its private key (which never left it) and the chain it sends.
pub struct Client {
    pub key: ClientKey,
    pub x5c: Vec<String>,
    pub leaf: Vec<u8>,
}

/// An EC client key as a CSR would carry it: rcgen sees only the public half.
pub fn ec_client_key() -> (KeyPair, ClientKey) {
    let pair = KeyPair::generate().unwrap();
    let signing = <p256::ecdsa::SigningKey as p256::pkcs8::DecodePrivateKey>::from_pkcs8_der(
        &pair.serialize_der(),
    )
    .unwrap();
    (pair, ClientKey::Ec(signing))
}

pub fn rsa_client_key() -> (KeyPair, ClientKey) {
    use rsa::pkcs8::EncodePrivateKey;
    let private = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
    let der = private.to_pkcs8_der().unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der.as_bytes())
    );
    let pair = KeyPair::from_pem_and_sign_algo(&pem, &PKCS_RSA_SHA256).unwrap();
    (pair, ClientKey::Rsa(Box::new(private)))
}

/// Issues `params` for `key` by `ca` and sends `[leaf, ...above]`.
pub fn issue(
    ca: &Ca,
    params: CertificateParams,
    key: (KeyPair, ClientKey),
    above: &[&Ca],
) -> Client {
    let (pair, key) = key;
    let leaf = params.signed_by(&pair, &ca.issuer).unwrap().der().to_vec();
    let mut x5c = vec![STANDARD.encode(&leaf)];
    x5c.extend(above.iter().map(|c| STANDARD.encode(&c.der)));
    Client { key, x5c, leaf }
}

/// Chain A of x509.md: EC root → EC intermediate (pathLen 0) → EC leaf.
pub struct Pki {
    pub root: Ca,
    pub int: Ca,
    pub client: Client,
}

pub fn pki() -> Pki {
    let root = root("edgeward test root", Some(1));
    let int = intermediate(&root, ca_params("edgeward test int", 2, Some(0)));
    let client = issue(&int, leaf_params("runner-7", 100), ec_client_key(), &[&int]);
    Pki { root, int, client }
}

// ---------------------------------------------------------------- proofs

pub fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// The client's signature of `message` with its own key's algorithm, whatever the header
/// claims (so that a header naming another algorithm is refused for the name, not for a bad
/// signature); none for `alg: none`.
pub fn sign(key: &ClientKey, alg: &str, message: &[u8]) -> Vec<u8> {
    match (key, alg) {
        (_, "none") => Vec::new(),
        (ClientKey::Ec(k), _) => Es256.sign(k, message).as_bytes().to_vec(),
        (ClientKey::Rsa(k), _) => Rsa::rs256().sign(k, message).as_bytes().to_vec(),
    }
}

pub fn alg_of(key: &ClientKey) -> &'static str {
    match key {
        ClientKey::Ec(_) => "ES256",
        ClientKey::Rsa(_) => "RS256",
    }
}

/// A proof for `method` `path` at `now`, after `edit` changes the header and claims.
pub fn proof_with(
    client: &Client,
    method: &str,
    path: &str,
    now: u64,
    edit: impl FnOnce(&mut Value, &mut Value),
) -> String {
    let mut header =
        json!({"alg": alg_of(&client.key), "typ": "edgeward-pop+jwt", "x5c": client.x5c});
    let mut jti = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut jti);
    let mut claims = json!({
        "iat": now, "exp": now + 120, "jti": URL_SAFE_NO_PAD.encode(jti),
        "htm": method, "htu": format!("{ORIGIN}{path}"),
    });
    edit(&mut header, &mut claims);
    let signed = format!("{}.{}", b64(&header), b64(&claims));
    let alg = header["alg"].as_str().unwrap_or_default().to_owned();
    let signature = sign(&client.key, &alg, signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

pub fn proof(client: &Client, method: &str, path: &str) -> String {
    proof_with(client, method, path, NOW, |_, _| {})
}

// ---------------------------------------------------------------- the edge

pub fn edge_for(pki: &Pki, extra: &[(&str, &str)]) -> Edge<FakePorts> {
    let ca = pem(&pki.root.der);
    let mut vars = vec![
        ("EDGEWARD_API_ROUTES", ROUTES),
        ("EDGEWARD_MINT_KEY", MINT),
        ("EDGEWARD_CLIENT_CA", ca.as_str()),
    ];
    vars.extend_from_slice(extra);
    let ports = FakePorts::default().with_registry();
    ports.now.set(NOW);
    Edge::new(config_with(&vars), ports)
}

/// Sends `method path` with `Authorization: PoP <proof>`: the minted token's claims, or the
/// error's (status, code).
pub fn send(
    edge: &Edge<FakePorts>,
    method: &str,
    path: &str,
    proof: &str,
) -> Result<Value, (u16, String)> {
    send_req(
        edge,
        common::request(
            method,
            path,
            &[("authorization", &format!("PoP {proof}"))],
            "",
        ),
    )
}

pub fn send_req(
    edge: &Edge<FakePorts>,
    req: edgeward_core::Request,
) -> Result<Value, (u16, String)> {
    match futures_executor::block_on(edge.handle(req)) {
        Outcome::Forward(f) => {
            let bearer = f.headers["authorization"].to_str().unwrap();
            let jwt = bearer.strip_prefix("Bearer ").unwrap();
            let claims = jwt.split('.').nth(1).unwrap();
            Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap())
        }
        Outcome::Respond(res) => {
            let body = common::json(&res);
            assert!(
                !body["message"].as_str().unwrap().contains("spiffe"),
                "details stay in the log"
            );
            Err((
                res.status().as_u16(),
                body["code"].as_str().unwrap().to_owned(),
            ))
        }
    }
}

pub fn refused(code: &str) -> Result<Value, (u16, String)> {
    let status = if code == "client_not_allowed" {
        403
    } else {
        401
    };
    Err((status, code.to_owned()))
}

pub fn fingerprint(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// Builds a client whose chain breaks one rule, and expects `code`.
pub fn chain_case(make: impl FnOnce(&Pki) -> Client, code: &str) {
    let pki = pki();
    let edge = edge_for(&pki, &[]);
    let client = make(&pki);
    let res = send(&edge, "GET", "/api/m/x", &proof(&client, "GET", "/api/m/x"));
    assert_eq!(res, refused(code));
    // Never forwarded, and the cause is in the log.
    assert!(
        edge.ports()
            .log_text()
            .contains("client_certificate_refused")
            || code != "client_certificate_refused"
    );
}
