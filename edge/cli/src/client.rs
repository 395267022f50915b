//! The client's side of enrolment: a key pair that stays here (`client.key`, mode 0600) and a
//! certificate signing request for the operator (`client.csr`).

use std::path::Path;

use rcgen::{CertificateParams, DistinguishedName, DnType};

use crate::{ca, files};

/// Makes `out/client.key` and `out/client.csr`.
pub fn key(subject: &str, san_uris: &[String], rsa: bool, out: &Path) -> Result<(), String> {
    let key = ca::new_key(rsa)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, subject);
    params.distinguished_name = dn;
    params.subject_alt_names = san_uris
        .iter()
        .map(|uri| ca::san_uri(uri))
        .collect::<Result<_, _>>()?;
    let csr = params
        .serialize_request(&key)
        .and_then(|csr| csr.pem())
        .map_err(|e| format!("cannot make the CSR: {e}"))?;
    files::write_new(out, "client.key", &key.serialize_pem(), true)?;
    files::write_new(out, "client.csr", &csr, false)?;
    println!("send client.csr to the operator; client.key stays here");
    Ok(())
}
