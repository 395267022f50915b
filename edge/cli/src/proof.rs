//! The proof of possession a client sends with every request, `Authorization: PoP <jwt>`: a
//! JWS signed with the client's key (ES256 for a P-256 key, RS256 for RSA) whose header says
//! `typ: edgeward-pop+jwt` and carries the chain in `x5c` (standard base64 DER, client
//! certificate first), and whose claims bind it to one request for a short time: `iat`, `exp`,
//! a random `jti`, `htm` (the method) and `htu` (the URL without query and fragment), as
//! RFC 9449 DPoP proofs do. `call` makes one and sends the request with it.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::DateTime;
use jwt_compact::alg::{Es256, Rsa};
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde::Serialize;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::files;

/// The proof's `typ`.
pub const POP_TYP: &str = "edgeward-pop+jwt";
/// The longest lifetime edgeward accepts, seconds.
pub const MAX_LIFETIME: u64 = 300;

/// What a proof is made for.
#[derive(Debug)]
pub struct ProofRequest<'a> {
    /// The client's private key file.
    pub key: &'a Path,
    /// The chain file (client certificate first).
    pub chain: &'a Path,
    /// The request's method.
    pub method: &'a str,
    /// The request's URL.
    pub url: &'a str,
    /// Seconds from `iat` to `exp`.
    pub lifetime: u64,
}

#[derive(Serialize)]
struct X5c {
    x5c: Vec<String>,
}

#[derive(Serialize)]
struct Binding<'a> {
    jti: String,
    htm: &'a str,
    htu: String,
}

/// A client's signing key.
enum SigningKey {
    Ec(p256::ecdsa::SigningKey),
    Rsa(Box<rsa::RsaPrivateKey>),
}

/// The proof JWT for one request.
pub fn make(request: &ProofRequest<'_>) -> Result<String, String> {
    if request.lifetime == 0 || request.lifetime > MAX_LIFETIME {
        return Err(format!("--lifetime must be 1 to {MAX_LIFETIME} seconds"));
    }
    let method = request.method.to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!(
            "--method {:?} is not an HTTP method",
            request.method
        ));
    }
    let htu = htu(request.url)?;
    let chain = files::certificates(&files::read(request.chain)?, "the chain")?;
    let key = load_key(&files::read(request.key)?)?;
    let leaf = chain.first().ok_or("the chain is empty")?;
    check_key_fits(&key, leaf)?;

    let mut jti = [0u8; 24];
    getrandom::getrandom(&mut jti).map_err(|e| format!("no randomness: {e}"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| "the clock is before 1970")?
        .as_secs();
    let at = |secs: u64| {
        i64::try_from(secs)
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .ok_or("the clock is out of range")
    };
    let mut claims = Claims::new(Binding {
        jti: URL_SAFE_NO_PAD.encode(jti),
        htm: &method,
        htu,
    });
    claims.issued_at = Some(at(now)?);
    claims.expiration = Some(at(now + request.lifetime)?);
    let header = Header::new(X5c {
        x5c: chain.iter().map(|der| STANDARD.encode(der)).collect(),
    })
    .with_token_type(POP_TYP);
    match &key {
        SigningKey::Ec(key) => Es256.token(&header, &claims, key),
        SigningKey::Rsa(key) => Rsa::rs256().token(&header, &claims, key),
    }
    .map_err(|e| format!("cannot sign the proof: {e}"))
}

/// Makes the request with a fresh proof; prints the body to stdout and the status to stderr.
/// Exits non-zero unless the status is 2xx.
pub fn call(
    request: &ProofRequest<'_>,
    data: Option<&str>,
    headers: &[String],
) -> Result<ExitCode, String> {
    let proof = make(request)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut builder = ureq::http::Request::builder()
        .method(request.method.to_ascii_uppercase().as_str())
        .uri(request.url)
        .header("authorization", format!("PoP {proof}"));
    for header in headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("--header {header:?} is not `Name: value`"))?;
        builder = builder.header(name.trim(), value.trim());
    }
    let sent = match data {
        Some(body) => builder
            .body(body.as_bytes().to_vec())
            .map_err(|e| format!("the request: {e}"))
            .and_then(|r| agent.run(r).map_err(|e| format!("the request failed: {e}"))),
        None => builder
            .body(())
            .map_err(|e| format!("the request: {e}"))
            .and_then(|r| agent.run(r).map_err(|e| format!("the request failed: {e}"))),
    };
    let mut response = sent?;
    let status = response.status();
    let body = response
        .body_mut()
        .read_to_vec()
        .map_err(|e| format!("reading the response: {e}"))?;
    eprintln!("{status}");
    std::io::stdout()
        .write_all(&body)
        .map_err(|e| format!("writing the response: {e}"))?;
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `htu`: the URL without query and fragment (an absolute http or https URL).
fn htu(url: &str) -> Result<String, String> {
    let mut url = url::Url::parse(url).map_err(|e| format!("--url {url:?}: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err("--url must be an absolute http(s) URL".into());
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url.into())
}

/// The client's key from PEM: PKCS#8 (what this tool and `openssl genpkey` write), SEC1 (EC
/// PRIVATE KEY) or PKCS#1 (RSA PRIVATE KEY).
fn load_key(pem: &str) -> Result<SigningKey, String> {
    use p256::pkcs8::DecodePrivateKey as _;
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    if let Ok(key) =
        p256::SecretKey::from_pkcs8_pem(pem).or_else(|_| p256::SecretKey::from_sec1_pem(pem))
    {
        return Ok(SigningKey::Ec(key.into()));
    }
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|_| "the key is neither a P-256 nor an RSA private key (PEM)".to_owned())?;
    Ok(SigningKey::Rsa(Box::new(key)))
}

/// The key must be the one the client certificate certifies (else every proof is refused).
fn check_key_fits(key: &SigningKey, leaf: &[u8]) -> Result<(), String> {
    let (_, cert) = X509Certificate::from_der(leaf)
        .map_err(|e| format!("the chain's first certificate does not parse: {e}"))?;
    let spki = cert.public_key();
    let fits = match (key, spki.parsed()) {
        (SigningKey::Ec(key), Ok(PublicKey::EC(point))) => {
            key.verifying_key().to_encoded_point(false).as_bytes() == point.data()
        }
        (SigningKey::Rsa(key), Ok(PublicKey::RSA(public))) => {
            use rsa::traits::PublicKeyParts as _;
            key.n().to_bytes_be() == trim_zeros(public.modulus)
        }
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err("the key does not belong to the chain's first certificate".into())
    }
}

fn trim_zeros(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}
