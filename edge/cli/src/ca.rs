//! The operator's certificate authority: a root (`ca init`), an intermediate below it
//! (`ca intermediate`), and client certificates from CSRs (`ca sign`).
//!
//! A CA directory holds `ca.key` (its private key, mode 0600), `ca.crt` (its certificate),
//! `root.crt` (the root at the top of its chain: what `EDGEWARD_CLIENT_CA` trusts) and, for an
//! intermediate, `issuers.pem` (its certificate and any intermediates above it, leaf side
//! first: what a client sends in `x5c` after its own certificate).
//!
//! Every certificate gets a random 128-bit serial, a subject key identifier, an authority key
//! identifier (openssl's strict mode requires it) and a validity from five minutes ago (clock
//! skew) for the days asked, never past the issuer's own end. A client certificate gets the
//! CA's parameters only: rcgen's `CertificateSigningRequestParams::signed_by` would copy the
//! extensions the CSR asks for, CA:TRUE included, so only the CSR's public key is used.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::files;

/// How far back a new certificate's `notBefore` lies (other machines' clocks).
const BACKDATE: Duration = Duration::minutes(5);

/// Makes a root CA in `out`.
pub fn init(name: &str, out: &Path, days: u32, path_len: u8, rsa: bool) -> Result<(), String> {
    let key = new_key(rsa)?;
    let now = OffsetDateTime::now_utc();
    let params = ca_params(name, path_len, now, now + Duration::days(days.into()))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("cannot sign the root: {e}"))?;
    files::write_new(out, "ca.key", &key.serialize_pem(), true)?;
    files::write_new(out, "ca.crt", &cert.pem(), false)?;
    files::write_new(out, "root.crt", &cert.pem(), false)?;
    Ok(())
}

/// Makes an intermediate CA (pathLen 0) in `out`, signed by the CA in `parent`.
pub fn intermediate(
    parent: &Path,
    name: &str,
    out: &Path,
    days: u32,
    rsa: bool,
) -> Result<(), String> {
    let issuer = Ca::load(parent)?;
    let facts = issuer.facts()?;
    if facts.path_len == Some(0) {
        return Err(format!(
            "{} has pathLen 0: it may not sign another CA",
            parent.display()
        ));
    }
    let key = new_key(rsa)?;
    let now = OffsetDateTime::now_utc();
    let not_after = (now + Duration::days(days.into())).min(facts.not_after);
    let params = ca_params(name, 0, now, not_after)?;
    let cert = params
        .signed_by(&key, &issuer.issuer)
        .map_err(|e| format!("cannot sign the intermediate: {e}"))?;
    let mut issuers = cert.pem();
    issuers.push_str(&issuer.issuers);
    files::write_new(out, "ca.key", &key.serialize_pem(), true)?;
    files::write_new(out, "ca.crt", &cert.pem(), false)?;
    files::write_new(out, "issuers.pem", &issuers, false)?;
    files::write_new(out, "root.crt", &issuer.root, false)?;
    Ok(())
}

/// What `ca sign` is asked.
#[derive(Debug)]
pub struct SignRequest<'a> {
    /// The signing CA's directory.
    pub ca: &'a Path,
    /// The CSR file.
    pub csr: &'a Path,
    /// Validity in days.
    pub days: u32,
    /// The subject CN, when the operator names it.
    pub subject: Option<&'a str>,
    /// The SAN URIs to certify.
    pub san_uris: &'a [String],
    /// Where client.crt, chain.pem and ca.pem go.
    pub out: &'a Path,
}

/// Signs a client's CSR: the CA's own parameters and the CSR's public key.
pub fn sign(request: &SignRequest<'_>) -> Result<(), String> {
    let ca = Ca::load(request.ca)?;
    let facts = ca.facts()?;
    let csr_pem = files::read(request.csr)?;
    // Parsing checks the CSR's own signature (the client holds the key).
    let csr = CertificateSigningRequestParams::from_pem(&csr_pem)
        .map_err(|e| format!("{}: not a usable CSR: {e}", request.csr.display()))?;
    let requested = requested_subject(&csr_pem)?;
    let asked = ignored_requests(&csr.params);
    if !asked.is_empty() {
        println!(
            "the CSR asks for {}: not copied (the CA decides)",
            asked.join(", ")
        );
    }
    let subject = match (request.subject, requested.as_deref()) {
        (Some(subject), _) => subject.to_owned(),
        (None, Some(cn)) => cn.to_owned(),
        (None, None) => return Err("the CSR names no CN: give --subject".into()),
    };
    if subject.is_empty() || subject.chars().any(char::is_control) {
        return Err("the subject CN is empty or has control characters".into());
    }

    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();
    params.distinguished_name = name(&subject);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.subject_alt_names = request
        .san_uris
        .iter()
        .map(|uri| san_uri(uri))
        .collect::<Result<_, _>>()?;
    params.not_before = now - BACKDATE;
    params.not_after = (now + Duration::days(request.days.into())).min(facts.not_after);
    params.serial_number = Some(random_serial()?);
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&csr.public_key, &ca.issuer)
        .map_err(|e| format!("cannot sign the client certificate: {e}"))?;

    let mut chain = cert.pem();
    chain.push_str(&ca.issuers);
    files::write_new(request.out, "client.crt", &cert.pem(), false)?;
    files::write_new(request.out, "chain.pem", &chain, false)?;
    files::write_new(request.out, "ca.pem", &ca.root, false)?;
    println!(
        "signed CN={subject}{} until {} (UTC)",
        request
            .san_uris
            .iter()
            .map(|u| format!(", URI:{u}"))
            .collect::<String>(),
        params.not_after.date()
    );
    // What EDGEWARD_CLIENT_REVOKED takes, should this certificate have to be revoked.
    let (serial, fingerprint) = revocation_ids(cert.der())?;
    println!("serial {serial}");
    println!("sha256:{fingerprint}");
    Ok(())
}

/// A CA loaded from its directory.
struct Ca {
    /// Its name and key, for signing.
    issuer: Issuer<'static, KeyPair>,
    /// Its certificate, DER.
    cert: Vec<u8>,
    /// `issuers.pem` (empty for a root: the root is not sent).
    issuers: String,
    /// `root.crt`.
    root: String,
}

/// What is read back from a CA certificate.
struct CaFacts {
    not_after: OffsetDateTime,
    path_len: Option<u32>,
}

impl Ca {
    fn load(dir: &Path) -> Result<Self, String> {
        let key_pem = files::read(&dir.join("ca.key"))?;
        let key = KeyPair::from_pem(&key_pem)
            .map_err(|e| format!("{}/ca.key: not a usable key: {e}", dir.display()))?;
        let cert_pem = files::read(&dir.join("ca.crt"))?;
        let cert = files::certificates(&cert_pem, "ca.crt")?
            .into_iter()
            .next()
            .ok_or("ca.crt holds no certificate")?;
        let issuer = Issuer::from_ca_cert_der(&cert.clone().into(), key)
            .map_err(|e| format!("{}/ca.crt: {e}", dir.display()))?;
        Ok(Self {
            issuer,
            cert,
            issuers: files::read_optional(dir, "issuers.pem")?.unwrap_or_default(),
            root: files::read(&dir.join("root.crt"))?,
        })
    }

    /// Its end of validity and pathLen; refuses a certificate that is no CA.
    fn facts(&self) -> Result<CaFacts, String> {
        let (_, cert) = X509Certificate::from_der(&self.cert)
            .map_err(|e| format!("ca.crt does not parse: {e}"))?;
        let constraints = cert
            .basic_constraints()
            .map_err(|e| format!("ca.crt: {e}"))?
            .map(|ext| ext.value.clone());
        let Some(constraints) = constraints.filter(|bc| bc.ca) else {
            return Err("ca.crt is not a CA certificate (basicConstraints)".into());
        };
        let not_after = OffsetDateTime::from_unix_timestamp(cert.validity().not_after.timestamp())
            .map_err(|e| format!("ca.crt: {e}"))?;
        if not_after <= OffsetDateTime::now_utc() {
            return Err("the CA certificate has expired".into());
        }
        Ok(CaFacts {
            not_after,
            path_len: constraints.path_len_constraint,
        })
    }
}

/// A new key: ECDSA P-256, or RSA-2048 (ring cannot make RSA keys: the rsa crate does).
pub fn new_key(rsa: bool) -> Result<KeyPair, String> {
    if rsa {
        use rsa::pkcs8::{EncodePrivateKey, LineEnding};
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
            .map_err(|e| format!("cannot make an RSA key: {e}"))?;
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| format!("cannot encode the RSA key: {e}"))?;
        KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256)
            .map_err(|e| format!("cannot load the RSA key: {e}"))
    } else {
        KeyPair::generate().map_err(|e| format!("cannot make a key: {e}"))
    }
}

/// A CA's parameters: basicConstraints CA with `path_len`, keyCertSign and cRLSign.
fn ca_params(
    cn: &str,
    path_len: u8,
    now: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<CertificateParams, String> {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - BACKDATE;
    params.not_after = not_after;
    params.serial_number = Some(random_serial()?);
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// A SAN URI: an absolute URI (scheme, colon, no spaces), ASCII.
pub fn san_uri(uri: &str) -> Result<SanType, String> {
    let parsed = url::Url::parse(uri).map_err(|e| format!("--san-uri {uri:?}: {e}"))?;
    if parsed.as_str().chars().any(|c| c.is_whitespace()) {
        return Err(format!("--san-uri {uri:?}: not a URI"));
    }
    let ia5 = uri
        .try_into()
        .map_err(|e| format!("--san-uri {uri:?}: {e}"))?;
    Ok(SanType::URI(ia5))
}

/// 16 random bytes, positive and of full length.
fn random_serial() -> Result<SerialNumber, String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

/// A certificate's serial (hex, no leading zeros) and SHA-256 fingerprint (hex): the two ways
/// `EDGEWARD_CLIENT_REVOKED` names a certificate.
pub fn revocation_ids(der: &[u8]) -> Result<(String, String), String> {
    use sha2::{Digest, Sha256};
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| format!("the certificate: {e}"))?;
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let serial = hex(cert.raw_serial());
    let serial = serial.trim_start_matches('0');
    Ok((
        if serial.is_empty() { "0" } else { serial }.to_owned(),
        hex(&Sha256::digest(der)),
    ))
}

/// What a CSR asks for beyond its name and key, which `sign` never copies.
fn ignored_requests(params: &CertificateParams) -> Vec<String> {
    let mut asked = Vec::new();
    if matches!(params.is_ca, IsCa::Ca(_)) {
        asked.push("CA:TRUE".to_owned());
    }
    if !params.key_usages.is_empty() {
        asked.push(format!("key usages {:?}", params.key_usages));
    }
    if !params.extended_key_usages.is_empty() {
        asked.push(format!(
            "extended key usages {:?}",
            params.extended_key_usages
        ));
    }
    if !params.subject_alt_names.is_empty() {
        asked.push(format!(
            "subject alternative names {:?}",
            params.subject_alt_names
        ));
    }
    asked
}

/// The CN a CSR asks for.
fn requested_subject(csr_pem: &str) -> Result<Option<String>, String> {
    use x509_parser::certification_request::X509CertificationRequest;
    let der = x509_parser::pem::parse_x509_pem(csr_pem.as_bytes())
        .map_err(|e| format!("the CSR is not PEM: {e}"))?
        .1
        .contents;
    let (_, csr) = X509CertificationRequest::from_der(&der).map_err(|e| format!("the CSR: {e}"))?;
    let cn = csr
        .certification_request_info
        .subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    Ok(cn)
}
