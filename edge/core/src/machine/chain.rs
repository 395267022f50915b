//! Client certificate chains: a DER parser for the few fields the policy reads (der and spki,
//! no X.509 crate: see README "Machine clients"), the trust anchors and the deny-list, the
//! policy, and the per-isolate cache of verified chains.
//!
//! A chain is `x5c` as the proof's header carries it: the leaf, then its issuers, the root
//! optional. It is accepted when
//! - it holds 1 to [`MAX_CERTS`] certificates of at most [`MAX_X5C_BYTES`] in all (checked
//!   before anything is decoded), each a v3 certificate whose inner and outer signature
//!   algorithms agree (ECDSA P-256 with SHA-256, or RSA PKCS#1 v1.5 with SHA-256), with no
//!   extension twice and no critical extension but basicConstraints, keyUsage,
//!   extendedKeyUsage, subjectAltName, and the key identifiers;
//! - every certificate, and the anchor, is valid now (with [`LEEWAY`] seconds either side);
//! - each issuer's subject is, byte for byte, the issuer name of the certificate below it, and
//!   the last one's issuer is a configured anchor's subject;
//! - the leaf is not a CA (basicConstraints absent or cA false), its keyUsage (when present)
//!   has digitalSignature, and it has an extendedKeyUsage that lists clientAuth (required: a
//!   certificate without one is good for every purpose, a TLS server's too);
//! - every issuer (intermediates and the anchor) has cA true, a pathLen (when present) that
//!   allows the intermediates below it, keyCertSign when it has a keyUsage, and clientAuth
//!   when it has an extendedKeyUsage;
//! - no certificate of it (nor the anchor) is on the deny-list, by serial or SHA-256
//!   fingerprint;
//! - and only then, every signature verifies, through the platform's verifier when it answers
//!   (WebCrypto), in Rust otherwise ([`verify_raw`]).
//!
//! Keys: P-256 or RSA of 2048 to 4096 bits; nothing else is read.

use std::cell::RefCell;
use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use der::asn1::{
    AnyRef, BitStringRef, GeneralizedTime, ObjectIdentifier, OctetStringRef, UintRef, UtcTime,
};
use der::{Choice, Decode, Reader, Sequence, SliceReader, Tag, TagNumber, Tagged};
use rsa::pkcs1::DecodeRsaPublicKey;
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

use crate::oidc::idtoken::{verify_raw, PublicKey, LEEWAY};
use crate::platform::crypto::{hex, MAX_RSA_BITS, MIN_RSA_BITS};
use crate::platform::ports::SignatureVerifier;

/// At most this many certificates in `x5c` (leaf, two intermediates, root).
pub const MAX_CERTS: usize = 4;
/// At most this many bytes of base64 in `x5c`, all entries together (four RSA-4096
/// certificates with room to spare).
pub const MAX_X5C_BYTES: usize = 16 * 1024;
/// Verified chains one isolate remembers.
pub const CHAIN_CACHE_ENTRIES: usize = 256;

const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
const ANY_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// The critical extensions we understand; any other critical one refuses the certificate.
const UNDERSTOOD: [ObjectIdentifier; 6] = [
    BASIC_CONSTRAINTS,
    KEY_USAGE,
    EXT_KEY_USAGE,
    SUBJECT_ALT_NAME,
    SUBJECT_KEY_ID,
    AUTHORITY_KEY_ID,
];

/// Why a chain was refused (for the log; the client is told only that it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// Not decodable: base64, DER, an unsupported algorithm or key, too many or too large.
    Malformed(String),
    /// Decoded, but the policy or a signature refuses it.
    Refused(String),
}

impl std::fmt::Display for ChainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainError::Malformed(why) => write!(f, "malformed certificate chain: {why}"),
            ChainError::Refused(why) => write!(f, "certificate chain refused: {why}"),
        }
    }
}

fn malformed(why: impl Into<String>) -> ChainError {
    ChainError::Malformed(why.into())
}

fn refused(why: impl Into<String>) -> ChainError {
    ChainError::Refused(why.into())
}

#[derive(Sequence)]
struct CertRef<'a> {
    tbs: AnyRef<'a>,
    alg: AlgorithmIdentifierRef<'a>,
    sig: BitStringRef<'a>,
}

#[derive(Sequence)]
struct TbsRef<'a> {
    #[asn1(context_specific = "0", default = "Default::default")]
    version: u8,
    serial: UintRef<'a>,
    signature: AlgorithmIdentifierRef<'a>,
    issuer: AnyRef<'a>,
    validity: Validity,
    subject: AnyRef<'a>,
    spki: SubjectPublicKeyInfoRef<'a>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    issuer_uid: Option<BitStringRef<'a>>,
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    subject_uid: Option<BitStringRef<'a>>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<Vec<ExtRef<'a>>>,
}

#[derive(Sequence)]
struct Validity {
    not_before: Time,
    not_after: Time,
}

#[derive(Choice)]
enum Time {
    #[asn1(type = "UTCTime")]
    Utc(UtcTime),
    #[asn1(type = "GeneralizedTime")]
    General(GeneralizedTime),
}

impl Time {
    fn unix(&self) -> u64 {
        match self {
            Time::Utc(t) => t.to_unix_duration().as_secs(),
            Time::General(t) => t.to_unix_duration().as_secs(),
        }
    }
}

#[derive(Sequence)]
struct ExtRef<'a> {
    id: ObjectIdentifier,
    #[asn1(default = "Default::default")]
    critical: bool,
    value: OctetStringRef<'a>,
}

#[derive(Sequence)]
struct BasicConstraints {
    #[asn1(default = "Default::default")]
    ca: bool,
    path_len: Option<u32>,
}

#[derive(Sequence)]
struct AttributeRef<'a> {
    id: ObjectIdentifier,
    value: AnyRef<'a>,
}

#[derive(Sequence)]
struct EcdsaSig<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// One certificate, with what the policy reads of it.
#[derive(Debug)]
pub struct Certificate {
    /// SHA-256 of its DER.
    pub fingerprint: [u8; 32],
    /// The serial number, lower-case hex without leading zeros.
    pub serial: String,
    tbs: Vec<u8>,
    /// `ES256` or `RS256`: how its issuer signed it.
    sig_alg: &'static str,
    /// The signature in JWS encoding (r‖s for ECDSA).
    signature: Vec<u8>,
    issuer: Vec<u8>,
    subject: Vec<u8>,
    not_before: u64,
    not_after: u64,
    /// Its public key.
    pub key: PublicKey,
    /// basicConstraints: (cA, pathLen).
    basic: Option<(bool, Option<u32>)>,
    /// keyUsage: (digitalSignature, keyCertSign).
    key_usage: Option<(bool, bool)>,
    /// extendedKeyUsage: whether it lists clientAuth (or anyExtendedKeyUsage).
    eku_client_auth: Option<bool>,
    /// The first URI in subjectAltName.
    san_uri: Option<String>,
    /// The subject's first common name.
    common_name: Option<String>,
}

impl Certificate {
    /// Parses one DER certificate (no policy yet).
    pub fn from_der(der: &[u8]) -> Result<Self, ChainError> {
        let cert = CertRef::from_der(der).map_err(|e| malformed(format!("certificate: {e}")))?;
        let tbs_der = der::Encode::to_der(&cert.tbs).map_err(|e| malformed(e.to_string()))?;
        let tbs = TbsRef::from_der(&tbs_der).map_err(|e| malformed(format!("tbs: {e}")))?;
        if tbs.version != 2 {
            return Err(malformed("not an X.509 v3 certificate"));
        }
        if cert.alg != tbs.signature {
            return Err(malformed("the inner and outer signature algorithms differ"));
        }
        let sig_alg = signature_algorithm(&cert.alg)?;
        let raw_sig = cert
            .sig
            .as_bytes()
            .ok_or_else(|| malformed("the signature has unused bits"))?;
        let signature = match sig_alg {
            "ES256" => ecdsa_to_jws(raw_sig)?,
            _ => raw_sig.to_vec(),
        };
        let key = public_key(&tbs.spki)?;
        let der_of =
            |any: &AnyRef<'_>| der::Encode::to_der(any).map_err(|e| malformed(e.to_string()));
        let mut parsed = Self {
            fingerprint: Sha256::digest(der).into(),
            serial: serial_hex(tbs.serial.as_bytes()),
            tbs: tbs_der.clone(),
            sig_alg,
            signature,
            issuer: der_of(&tbs.issuer)?,
            subject: der_of(&tbs.subject)?,
            not_before: tbs.validity.not_before.unix(),
            not_after: tbs.validity.not_after.unix(),
            key,
            basic: None,
            key_usage: None,
            eku_client_auth: None,
            san_uri: None,
            common_name: common_name(&tbs.subject)?,
        };
        let mut seen: Vec<ObjectIdentifier> = Vec::new();
        for ext in tbs.extensions.iter().flatten() {
            if seen.contains(&ext.id) {
                return Err(malformed(format!("extension {} appears twice", ext.id)));
            }
            seen.push(ext.id);
            let value = ext.value.as_bytes();
            fn bad(what: &'static str) -> impl Fn(der::Error) -> ChainError {
                move |e| malformed(format!("{what}: {e}"))
            }
            match ext.id {
                BASIC_CONSTRAINTS => {
                    let bc = BasicConstraints::from_der(value).map_err(bad("basicConstraints"))?;
                    parsed.basic = Some((bc.ca, bc.path_len));
                }
                KEY_USAGE => {
                    let bits = BitStringRef::from_der(value).map_err(bad("keyUsage"))?;
                    let first = bits.raw_bytes().first().copied().unwrap_or(0);
                    parsed.key_usage = Some((first & 0x80 != 0, first & 0x04 != 0));
                }
                EXT_KEY_USAGE => {
                    let oids =
                        Vec::<ObjectIdentifier>::from_der(value).map_err(bad("extKeyUsage"))?;
                    parsed.eku_client_auth =
                        Some(oids.iter().any(|o| *o == CLIENT_AUTH || *o == ANY_EKU));
                }
                SUBJECT_ALT_NAME => {
                    let names =
                        Vec::<AnyRef<'_>>::from_der(value).map_err(bad("subjectAltName"))?;
                    let uri = Tag::ContextSpecific {
                        constructed: false,
                        number: TagNumber::N6,
                    };
                    parsed.san_uri = names
                        .iter()
                        .find(|n| n.tag() == uri)
                        .and_then(|n| std::str::from_utf8(n.value()).ok())
                        .map(str::to_owned);
                }
                id if ext.critical && !UNDERSTOOD.contains(&id) => {
                    return Err(refused(format!("unknown critical extension {id}")));
                }
                _ => {}
            }
        }
        Ok(parsed)
    }

    /// Who the certificate names: its subjectAltName URI if it has one, else its subject's
    /// common name.
    pub fn subject_name(&self) -> Option<&str> {
        self.san_uri.as_deref().or(self.common_name.as_deref())
    }

    fn valid_at(&self, now: u64) -> bool {
        let leeway = LEEWAY.unsigned_abs();
        self.not_before <= now + leeway && now <= self.not_after + leeway
    }

    fn is_ca_for(&self, below: usize) -> Result<(), String> {
        match self.basic {
            Some((true, path_len)) => {
                if path_len.is_some_and(|n| (n as usize) < below) {
                    return Err(format!(
                        "pathLen {} allows fewer than the {below} intermediates below it",
                        path_len.unwrap_or(0)
                    ));
                }
            }
            _ => return Err("an issuer is not a CA (basicConstraints cA)".into()),
        }
        if self.key_usage.is_some_and(|(_, cert_sign)| !cert_sign) {
            return Err("an issuer's keyUsage lacks keyCertSign".into());
        }
        if self.eku_client_auth == Some(false) {
            return Err("an issuer's extendedKeyUsage excludes clientAuth".into());
        }
        Ok(())
    }
}

fn signature_algorithm(alg: &AlgorithmIdentifierRef<'_>) -> Result<&'static str, ChainError> {
    if alg.oid == ECDSA_SHA256 && alg.parameters.is_none() {
        Ok("ES256")
    } else if alg.oid == RSA_SHA256 && alg.parameters.as_ref().is_none_or(|p| p.tag() == Tag::Null)
    {
        Ok("RS256")
    } else {
        Err(malformed(format!("signature algorithm {}", alg.oid)))
    }
}

fn public_key(spki: &SubjectPublicKeyInfoRef<'_>) -> Result<PublicKey, ChainError> {
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| malformed("the public key has unused bits"))?;
    let alg = &spki.algorithm;
    if alg.oid == EC_PUBLIC_KEY {
        let curve = alg
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        if curve != Some(P256) {
            return Err(malformed("an EC key on a curve other than P-256"));
        }
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(bits)
            .map_err(|_| malformed("not a P-256 point"))?;
        Ok(PublicKey::es256(key))
    } else if alg.oid == RSA_ENCRYPTION {
        let key =
            rsa::RsaPublicKey::from_pkcs1_der(bits).map_err(|_| malformed("not an RSA key"))?;
        // The modulus's length in bits (`size()` is whole bytes: 2041 to 2048 bits all read
        // as 256 bytes).
        let bits = rsa::traits::PublicKeyParts::n(&key).bits();
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(refused(format!("an RSA key of {bits} bits")));
        }
        Ok(PublicKey::rs256(key))
    } else {
        Err(malformed(format!("key algorithm {}", alg.oid)))
    }
}

/// X.509's ECDSA signature, DER `SEQUENCE { r, s }`, as JWS wants it: r‖s, 32 bytes each.
fn ecdsa_to_jws(der: &[u8]) -> Result<Vec<u8>, ChainError> {
    let sig = EcdsaSig::from_der(der).map_err(|e| malformed(format!("ECDSA signature: {e}")))?;
    let mut out = vec![0u8; 64];
    for (half, int) in [(0, sig.r), (32, sig.s)] {
        let bytes = int.as_bytes();
        if bytes.len() > 32 {
            return Err(malformed("ECDSA signature integer too long"));
        }
        out[half + 32 - bytes.len()..half + 32].copy_from_slice(bytes);
    }
    Ok(out)
}

fn serial_hex(bytes: &[u8]) -> String {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let text = hex(&trimmed);
    let text = text.trim_start_matches('0');
    if text.is_empty() {
        "0".into()
    } else {
        text.to_owned()
    }
}

/// The first common name of a DER `Name` (when it is text).
fn common_name(name: &AnyRef<'_>) -> Result<Option<String>, ChainError> {
    let bad = |e: der::Error| malformed(format!("name: {e}"));
    let mut rdns = SliceReader::new(name.value()).map_err(bad)?;
    while !rdns.is_finished() {
        let set = AnyRef::decode(&mut rdns).map_err(bad)?;
        if set.tag() != Tag::Set {
            return Err(malformed("a name's component is not a SET"));
        }
        let mut atvs = SliceReader::new(set.value()).map_err(bad)?;
        while !atvs.is_finished() {
            let atv = AttributeRef::decode(&mut atvs).map_err(bad)?;
            let text = matches!(
                atv.value.tag(),
                Tag::Utf8String | Tag::PrintableString | Tag::Ia5String
            );
            if atv.id == COMMON_NAME && text {
                return Ok(std::str::from_utf8(atv.value.value())
                    .ok()
                    .map(str::to_owned));
            }
        }
    }
    Ok(None)
}

/// A configured trust anchor: a CA certificate from `EDGEWARD_CLIENT_CA`.
#[derive(Debug)]
pub struct Anchor {
    cert: Certificate,
    der: Vec<u8>,
}

/// Parses a PEM bundle of CA certificates (every one must be a CA that may sign
/// certificates). Literal `\n` sequences count as line breaks (a bundle pasted into one line).
pub fn parse_anchors(pem: &str) -> Result<Vec<Anchor>, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let text = pem.replace("\\n", "\n");
    let mut anchors = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find(BEGIN) {
        let body = &rest[start + BEGIN.len()..];
        let end = body
            .find(END)
            .ok_or_else(|| format!("certificate {} has no END line", anchors.len() + 1))?;
        let b64: String = body[..end].split_whitespace().collect();
        let der = STANDARD
            .decode(b64)
            .map_err(|_| format!("certificate {} is not base64", anchors.len() + 1))?;
        let cert = Certificate::from_der(&der)
            .map_err(|e| format!("certificate {}: {e}", anchors.len() + 1))?;
        cert.is_ca_for(0)
            .map_err(|e| format!("certificate {}: {e}", anchors.len() + 1))?;
        anchors.push(Anchor { cert, der });
        rest = &body[end + END.len()..];
    }
    if !rest.trim().is_empty() && anchors.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    if anchors.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    Ok(anchors)
}

/// Revoked certificates (`EDGEWARD_CLIENT_REVOKED`): serials and SHA-256 fingerprints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revoked {
    serials: Vec<String>,
    fingerprints: Vec<[u8; 32]>,
}

impl Revoked {
    /// Parses a comma-separated list: hex serials (colons allowed) or `sha256:<64 hex>`.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut revoked = Self::default();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some(fp) = item.strip_prefix("sha256:") {
                let clean: String = fp.chars().filter(|c| *c != ':').collect();
                revoked.fingerprints.push(
                    hex_bytes(&clean)
                        .and_then(|b| <[u8; 32]>::try_from(b).ok())
                        .ok_or_else(|| format!("{item:?} is not sha256:<64 hex digits>"))?,
                );
            } else {
                let clean: String = item.chars().filter(|c| *c != ':').collect();
                let bytes =
                    hex_bytes(&clean).ok_or_else(|| format!("{item:?} is not a hex serial"))?;
                revoked.serials.push(serial_hex(&bytes));
            }
        }
        Ok(revoked)
    }

    /// One certificate as the admin endpoint names it (`serial:<hex>` or `sha256:<hex>`, in
    /// the form [`VerifiedChain::revocation_names`] gives): a hex serial (colons allowed) or
    /// `sha256:<64 hex>`, as in [`CLIENT_REVOKED`](super::CLIENT_REVOKED).
    pub fn name_of(item: &str) -> Result<String, String> {
        let item = item.trim();
        if item.is_empty() || item.contains(',') {
            return Err("name one certificate: a hex serial or sha256:<64 hex digits>".into());
        }
        let parsed = Self::parse(item)?;
        match (parsed.serials.as_slice(), parsed.fingerprints.as_slice()) {
            ([serial], []) => Ok(format!("serial:{serial}")),
            ([], [fp]) => Ok(format!("sha256:{}", hex(fp))),
            _ => Err("name one certificate: a hex serial or sha256:<64 hex digits>".into()),
        }
    }

    /// Whether `cert` is on the list.
    fn contains(&self, cert: &Certificate) -> bool {
        self.serials.contains(&cert.serial) || self.fingerprints.contains(&cert.fingerprint)
    }
}

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let text = if text.len() % 2 == 1 {
        format!("0{text}")
    } else {
        text.to_owned()
    };
    if text.is_empty() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// What a verified chain gives the proof check: the leaf's key, who it names, its
/// fingerprint, and what revocation and expiry are checked against while it is cached.
#[derive(Debug)]
pub struct VerifiedChain {
    /// The leaf's public key (the proof must be signed by it).
    pub key: PublicKey,
    /// The subject: the leaf's SAN URI, else its common name.
    pub subject: String,
    /// The leaf's SHA-256 fingerprint.
    pub fingerprint: [u8; 32],
    /// Serials and fingerprints of every certificate in the path, anchor included.
    members: Vec<(String, [u8; 32])>,
    /// The earliest `notAfter` of the path.
    not_after: u64,
}

impl VerifiedChain {
    /// The leaf's fingerprint, base64url (the `x5t#S256` of `cnf`).
    pub fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.fingerprint)
    }

    /// Every certificate of the path, anchor included, as the admin endpoint's revocations
    /// name them: `serial:<hex>` and `sha256:<hex>` each ([`Revoked::name_of`]).
    pub fn revocation_names(&self) -> Vec<String> {
        self.members
            .iter()
            .flat_map(|(serial, fp)| [format!("serial:{serial}"), format!("sha256:{}", hex(fp))])
            .collect()
    }

    fn revoked_by(&self, revoked: &Revoked) -> bool {
        self.members.iter().any(|(serial, fp)| {
            revoked.serials.contains(serial) || revoked.fingerprints.contains(fp)
        })
    }
}

/// Decodes `x5c` (standard base64, padded) within the bounds, before any parsing.
pub fn decode_x5c(x5c: &[String]) -> Result<Vec<Vec<u8>>, ChainError> {
    if x5c.is_empty() {
        return Err(malformed("x5c is empty"));
    }
    if x5c.len() > MAX_CERTS {
        return Err(malformed(format!(
            "x5c holds {} certificates (at most {MAX_CERTS})",
            x5c.len()
        )));
    }
    let size: usize = x5c.iter().map(String::len).sum();
    if size > MAX_X5C_BYTES {
        return Err(malformed(format!(
            "x5c is {size} bytes (at most {MAX_X5C_BYTES})"
        )));
    }
    x5c.iter()
        .map(|c| {
            STANDARD
                .decode(c)
                .map_err(|_| malformed("an x5c entry is not base64"))
        })
        .collect()
}

/// Checks the chain `ders` (leaf first) against `anchors` and `revoked` at `now`: the policy
/// first, then every signature through `verifier`.
pub async fn verify_chain<V: SignatureVerifier + ?Sized>(
    ders: &[Vec<u8>],
    anchors: &[Anchor],
    revoked: &Revoked,
    now: u64,
    verifier: &V,
) -> Result<VerifiedChain, ChainError> {
    // The root may be sent as the last entry: it is a configured anchor, not a link.
    let mut ders: Vec<&Vec<u8>> = ders.iter().collect();
    if ders.len() > 1 && anchors.iter().any(|a| Some(&&a.der) == ders.last()) {
        ders.pop();
    }
    let certs = ders
        .iter()
        .map(|d| Certificate::from_der(d))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = certs.first().ok_or_else(|| malformed("x5c is empty"))?;

    // The leaf.
    if leaf.basic.is_some_and(|(ca, _)| ca) {
        return Err(refused("the leaf is a CA certificate"));
    }
    if leaf.key_usage.is_some_and(|(signature, _)| !signature) {
        return Err(refused("the leaf's keyUsage lacks digitalSignature"));
    }
    match leaf.eku_client_auth {
        Some(true) => {}
        Some(false) => return Err(refused("the leaf's extendedKeyUsage lacks clientAuth")),
        None => {
            return Err(refused(
                "the leaf has no extendedKeyUsage (clientAuth required)",
            ))
        }
    }
    let subject = leaf
        .subject_name()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| refused("the leaf names no subject (SAN URI or CN)"))?
        .to_owned();

    // Names and CA rules up the path.
    for (i, pair) in certs.windows(2).enumerate() {
        let (below, issuer) = (&pair[0], &pair[1]);
        if below.issuer != issuer.subject {
            return Err(refused(format!(
                "certificate {} is not issued by certificate {}",
                i + 1,
                i + 2
            )));
        }
        issuer
            .is_ca_for(i)
            .map_err(|e| refused(format!("certificate {}: {e}", i + 2)))?;
    }
    let top = certs.last().ok_or_else(|| malformed("x5c is empty"))?;
    let candidates: Vec<&Anchor> = anchors
        .iter()
        .filter(|a| a.cert.subject == top.issuer)
        .collect();
    if candidates.is_empty() {
        return Err(refused("the chain does not lead to a configured anchor"));
    }
    for cert in &certs {
        if !cert.valid_at(now) {
            return Err(refused(format!(
                "a certificate is outside its validity ({}..{}, now {now})",
                cert.not_before, cert.not_after
            )));
        }
        if revoked.contains(cert) {
            return Err(refused(format!(
                "certificate serial {} is revoked",
                cert.serial
            )));
        }
    }

    // Signatures, last: every link, then the top one against an anchor.
    for (i, pair) in certs.windows(2).enumerate() {
        let (below, issuer) = (&pair[0], &pair[1]);
        if !verify_raw(
            &issuer.key,
            below.sig_alg,
            &below.tbs,
            &below.signature,
            verifier,
        )
        .await
        {
            return Err(refused(format!(
                "certificate {}'s signature does not verify",
                i + 1
            )));
        }
    }
    let intermediates = certs.len() - 1;
    let mut last_why = String::from("the top certificate's signature does not verify");
    for anchor in candidates {
        if let Err(why) = anchor.cert.is_ca_for(intermediates) {
            last_why = format!("the anchor: {why}");
            continue;
        }
        if !anchor.cert.valid_at(now) {
            last_why = "the anchor is outside its validity".into();
            continue;
        }
        if revoked.contains(&anchor.cert) {
            last_why = "the anchor is revoked".into();
            continue;
        }
        if verify_raw(
            &anchor.cert.key,
            top.sig_alg,
            &top.tbs,
            &top.signature,
            verifier,
        )
        .await
        {
            let mut members: Vec<(String, [u8; 32])> = certs
                .iter()
                .map(|c| (c.serial.clone(), c.fingerprint))
                .collect();
            members.push((anchor.cert.serial.clone(), anchor.cert.fingerprint));
            let not_after = certs
                .iter()
                .map(|c| c.not_after)
                .chain([anchor.cert.not_after])
                .min()
                .unwrap_or(0);
            let leaf = certs.into_iter().next().ok_or_else(|| malformed("empty"))?;
            return Ok(VerifiedChain {
                key: leaf.key,
                subject,
                fingerprint: leaf.fingerprint,
                members,
                not_after,
            });
        }
    }
    Err(refused(last_why))
}

/// The key of a chain in the cache: SHA-256 of the `x5c` entries, each after a newline.
pub fn chain_key(x5c: &[String]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for entry in x5c {
        hash.update(b"\n");
        hash.update(entry.as_bytes());
    }
    hash.finalize().into()
}

/// Verified chains of one isolate, by [`chain_key`], each until the earliest `notAfter` of
/// its path; at most [`CHAIN_CACHE_ENTRIES`] (expired entries go first, then all).
#[derive(Debug, Default)]
pub struct ChainCache {
    entries: RefCell<HashMap<[u8; 32], std::rc::Rc<VerifiedChain>>>,
}

impl ChainCache {
    /// A chain verified before, still within its validity and not revoked since.
    pub fn get(
        &self,
        key: &[u8; 32],
        revoked: &Revoked,
        now: u64,
    ) -> Option<std::rc::Rc<VerifiedChain>> {
        let mut entries = self.entries.borrow_mut();
        let hit = entries.get(key)?.clone();
        if hit.not_after + LEEWAY.unsigned_abs() < now || hit.revoked_by(revoked) {
            entries.remove(key);
            return None;
        }
        Some(hit)
    }

    /// Remembers a verified chain.
    pub fn put(&self, key: [u8; 32], chain: std::rc::Rc<VerifiedChain>, now: u64) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= CHAIN_CACHE_ENTRIES {
            entries.retain(|_, c| c.not_after + LEEWAY.unsigned_abs() >= now);
            if entries.len() >= CHAIN_CACHE_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, chain);
    }

    /// How many chains it holds.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn ecdsa_der_becomes_r_and_s_of_32_bytes_each() {
        // r with its sign byte (33 bytes in DER), s short (31 bytes): both come out 32.
        let mut der = vec![0x30, 0x44, 0x02, 0x21, 0x00];
        der.extend([0x80; 32]);
        der.extend([0x02, 0x1f]);
        der.extend([0x01; 31]);
        der[1] = (der.len() - 2) as u8;
        let jws = ecdsa_to_jws(&der).unwrap();
        assert_eq!(jws.len(), 64);
        assert_eq!(&jws[..32], &[0x80; 32]);
        assert_eq!(jws[32], 0);
        assert_eq!(&jws[33..], &[0x01; 31]);
        // An integer longer than 32 bytes, or not DER at all: refused.
        let mut long = vec![0x30, 0x26, 0x02, 0x21, 0x01];
        long.extend([0x01; 32]);
        long.extend([0x02, 0x01, 0x01]);
        assert!(ecdsa_to_jws(&long).is_err());
        assert!(ecdsa_to_jws(b"garbage").is_err());
    }

    #[test]
    fn serials_and_fingerprints_on_the_deny_list_are_read_one_way() {
        let table = [
            ("64", Some("64")),
            ("00:64", Some("64")),
            ("0x64", None),
            ("ABCDEF", Some("abcdef")),
            ("0", Some("0")),
            ("abc", Some("abc")),
            ("xyz", None),
        ];
        for (item, serial) in table {
            match (Revoked::parse(item), serial) {
                (Ok(r), Some(s)) => assert_eq!(r.serials, [s], "{item}"),
                (Err(_), None) => {}
                (other, _) => panic!("{item}: {other:?}"),
            }
        }
        let fp = "sha256:".to_owned() + &"ab".repeat(32);
        assert_eq!(Revoked::parse(&fp).unwrap().fingerprints, [[0xab; 32]]);
        assert!(Revoked::parse("sha256:abcd").is_err());
        assert_eq!(Revoked::parse(" , ").unwrap(), Revoked::default());
    }

    #[test]
    fn bounds_come_before_decoding() {
        let many = vec!["!".to_owned(); MAX_CERTS + 1];
        assert!(
            matches!(decode_x5c(&many), Err(ChainError::Malformed(w)) if w.contains("at most 4"))
        );
        let big = vec!["A".repeat(MAX_X5C_BYTES + 4)];
        assert!(matches!(decode_x5c(&big), Err(ChainError::Malformed(w)) if w.contains("bytes")));
        assert!(decode_x5c(&[]).is_err());
        assert_eq!(
            decode_x5c(&["MAA=".to_owned()]).unwrap(),
            [vec![0x30, 0x00]]
        );
    }

    #[test]
    fn an_anchor_bundle_without_a_certificate_is_refused() {
        for bundle in ["", "junk", "-----BEGIN CERTIFICATE-----\nMAA=\n"] {
            assert!(parse_anchors(bundle).is_err(), "{bundle:?}");
        }
    }
}
