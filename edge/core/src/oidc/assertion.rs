//! `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): the client's signing key, read
//! from a secret and checked at start, and the short-lived client assertion it signs for each
//! call to the provider's token, revocation, introspection and pushed-authorization endpoints.
//!
//! The key is ES256 (an EC P-256 key) or RS256 (an RSA key of at least 2,048 bits), given as a
//! private JWK or a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). Its public half is registered at
//! the provider, not published by edgeward; the `kid` the provider knows it by comes from the
//! configuration (or the JWK's own `kid`). Nothing here ever prints the key: errors name the
//! variable and say what is wrong, never what it holds.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{TimeZone, Utc};
use jwt_compact::alg::{Es256, Rsa};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{AlgorithmExt, Claims, Header};
use rsa::pkcs8::{DecodePrivateKey, PrivateKeyInfo};
use serde::Serialize;

use crate::platform::settings::{invalid, ConfigError};

/// How long a client assertion is good for, in seconds: long enough for one request to
/// travel, short enough that a copied one is useless soon (the provider also refuses a `jti`
/// it has seen).
pub const ASSERTION_TTL: u64 = 60;

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub use crate::platform::crypto::MIN_RSA_BITS;

/// The algorithm and the private key. `Debug` never shows the key.
enum KeyKind {
    Es256(p256::ecdsa::SigningKey),
    Rs256(Box<rsa::RsaPrivateKey>),
}

/// The client's signing key for `private_key_jwt`, with the `kid` the provider knows it by.
pub struct ClientKey {
    kind: KeyKind,
    kid: String,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("alg", &self.alg())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The claims of a client assertion besides the times (RFC 7523 §3).
#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: &'a str,
}

impl ClientKey {
    /// Reads the key from `text` (a private JWK, or a PKCS#8 PEM) found in the variable
    /// `variable`; `kid` is the configured key id, else the JWK's own `kid`, read from
    /// `kid_variable` — one of them must be there. Errors name the variable, never the value.
    pub fn parse(
        variable: &'static str,
        text: &str,
        kid: Option<String>,
        kid_variable: &'static str,
    ) -> Result<Self, ConfigError> {
        // A PEM pasted into a one-line variable often has its line breaks written as `\n`.
        let unescaped;
        let text = if text.contains("\\n") && !text.contains('\n') && text.starts_with("-----") {
            unescaped = text.replace("\\n", "\n");
            unescaped.trim()
        } else {
            text.trim()
        };
        let (kind, jwk_kid) = if text.starts_with('{') {
            parse_jwk(variable, text)?
        } else if text.starts_with("-----BEGIN") {
            (parse_pem(variable, text)?, None)
        } else {
            return Err(invalid(
                variable,
                "must be a private JWK (JSON) or a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)",
            ));
        };
        let kid = kid.or(jwk_kid).ok_or_else(|| {
            invalid(
                kid_variable,
                "is not set, and the key has no kid: set the key id the provider registered",
            )
        })?;
        if kid.len() > 200 || kid.chars().any(|c| c.is_control()) {
            return Err(invalid(
                kid_variable,
                "must be at most 200 printable characters",
            ));
        }
        Ok(ClientKey { kind, kid })
    }

    /// The JWS algorithm the key signs with: `ES256` or `RS256`.
    pub fn alg(&self) -> &'static str {
        match self.kind {
            KeyKind::Es256(_) => "ES256",
            KeyKind::Rs256(_) => "RS256",
        }
    }

    /// The key id put in each assertion's header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A client assertion: `iss` = `sub` = `client_id`, `aud`, `jti`, `iat` = `now` and `exp` =
    /// `now` + [`ASSERTION_TTL`], signed, with the key's `kid` in the header. `None` only when
    /// the time cannot be represented or signing failed (never expected).
    pub fn assertion(&self, client_id: &str, aud: &str, jti: &str, now: u64) -> Option<String> {
        let at = |secs: u64| Utc.timestamp_opt(i64::try_from(secs).ok()?, 0).single();
        let mut claims = Claims::new(AssertionClaims {
            iss: client_id,
            sub: client_id,
            aud,
            jti,
        });
        claims.issued_at = Some(at(now)?);
        claims.expiration = Some(at(now.checked_add(ASSERTION_TTL)?)?);
        let header = Header::empty()
            .with_key_id(self.kid.clone())
            .with_token_type("JWT");
        match &self.kind {
            KeyKind::Es256(key) => Es256.token(&header, &claims, key).ok(),
            KeyKind::Rs256(key) => Rsa::rs256().token(&header, &claims, key.as_ref()).ok(),
        }
    }
}

fn parse_jwk(variable: &'static str, text: &str) -> Result<(KeyKind, Option<String>), ConfigError> {
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(default)]
        kid: Option<String>,
        #[serde(default)]
        alg: Option<String>,
    }
    let not_jwk = || {
        invalid(
            variable,
            "is not a JWK (JSON with kty and the key's members)",
        )
    };
    let meta: Meta = serde_json::from_str(text).map_err(|_| not_jwk())?;
    let jwk: JsonWebKey<'_> = serde_json::from_str(text).map_err(|_| not_jwk())?;
    let kind = match &jwk {
        JsonWebKey::EllipticCurve { .. } => {
            let key = p256::ecdsa::SigningKey::try_from(&jwk).map_err(|_| {
                invalid(
                    variable,
                    "is not a usable private EC key: it must be on curve P-256 (ES256) and \
                     have d",
                )
            })?;
            KeyKind::Es256(key)
        }
        JsonWebKey::Rsa { .. } => {
            let key = rsa::RsaPrivateKey::try_from(&jwk).map_err(|_| {
                invalid(
                    variable,
                    "is not a usable private RSA key: it needs n, e, d, p and q, consistent",
                )
            })?;
            rsa_kind(variable, key)?
        }
        _ => {
            return Err(invalid(
                variable,
                "must be an EC P-256 (ES256) or RSA (RS256) private key",
            ))
        }
    };
    if let Some(alg) = meta.alg.as_deref() {
        let expected = match kind {
            KeyKind::Es256(_) => "ES256",
            KeyKind::Rs256(_) => "RS256",
        };
        if alg != expected {
            return Err(invalid(
                variable,
                format!("says alg {alg:?}; edgeward signs with this key as {expected}"),
            ));
        }
    }
    Ok((kind, meta.kid))
}

fn rsa_kind(variable: &'static str, mut key: rsa::RsaPrivateKey) -> Result<KeyKind, ConfigError> {
    use rsa::traits::PublicKeyParts;
    // In bits: `size()` is whole bytes, so 2041 to 2047 bits would read as 2048.
    if key.n().bits() < MIN_RSA_BITS {
        return Err(invalid(
            variable,
            format!("is an RSA key shorter than {MIN_RSA_BITS} bits"),
        ));
    }
    // The CRT values make each signature about three times faster.
    key.precompute()
        .map_err(|_| invalid(variable, "is not a usable private RSA key"))?;
    Ok(KeyKind::Rs256(Box::new(key)))
}

/// id-ecPublicKey (RFC 5480), rsaEncryption (RFC 8017), and the P-256 curve (secp256r1).
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";

fn parse_pem(variable: &'static str, text: &str) -> Result<KeyKind, ConfigError> {
    let not_pkcs8 = || {
        invalid(
            variable,
            "is not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----; convert others with \
             openssl pkcs8 -topk8 -nocrypt)",
        )
    };
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    if lines.next() != Some("-----BEGIN PRIVATE KEY-----") {
        return Err(not_pkcs8());
    }
    let mut b64 = String::new();
    let mut ended = false;
    for line in lines {
        if line == "-----END PRIVATE KEY-----" {
            ended = true;
            break;
        }
        b64.push_str(line);
    }
    if !ended {
        return Err(not_pkcs8());
    }
    let der = STANDARD.decode(b64).map_err(|_| not_pkcs8())?;
    let info = PrivateKeyInfo::try_from(der.as_slice()).map_err(|_| not_pkcs8())?;
    match info.algorithm.oid.to_string().as_str() {
        OID_EC => {
            let curve = info
                .algorithm
                .parameters_oid()
                .map(|oid| oid.to_string())
                .unwrap_or_default();
            if curve != OID_P256 {
                return Err(invalid(
                    variable,
                    "is an EC key on another curve than P-256 (ES256)",
                ));
            }
            let secret = p256::SecretKey::from_sec1_der(info.private_key)
                .map_err(|_| invalid(variable, "is not a usable private EC key"))?;
            Ok(KeyKind::Es256(secret.into()))
        }
        OID_RSA => {
            let key = rsa::RsaPrivateKey::from_pkcs8_der(&der)
                .map_err(|_| invalid(variable, "is not a usable private RSA key"))?;
            rsa_kind(variable, key)
        }
        _ => Err(invalid(
            variable,
            "must be an EC P-256 (ES256) or RSA (RS256) private key",
        )),
    }
}
