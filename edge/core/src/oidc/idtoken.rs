//! ID tokens: the identity provider's signing keys (JWKS) and validation of the ID token a code
//! exchange returns, with jwt-compact.
//!
//! The token arrives untrusted ([`jwt_compact::UntrustedToken`]); [`validate`] is the only way
//! to a [`ValidatedIdToken`], and it checks, in order: the algorithm is on our list (RS256,
//! ES256: never `none`, never an HMAC keyed with a public key), a key with the token's `kid` and
//! a matching type exists, the signature, `iss`, `aud` (and `azp` when there are several
//! audiences or `azp` is present), `exp` and `iat` with [`LEEWAY`] seconds of leeway, `nonce`.
//!
//! The signature is checked by the platform when it offers to ([`SignatureVerifier`]: WebCrypto
//! in the worker, several times faster than Rust in wasm), otherwise in Rust by jwt-compact.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use jwt_compact::alg::{Es256, Rsa, RsaPublicKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm, AlgorithmSignature, Claims, Header, TimeOptions, UntrustedToken};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::platform::crypto::MIN_RSA_BITS;
use crate::platform::ports::SignatureVerifier;

/// Clock skew tolerated on `exp` and `iat`, in seconds.
pub const LEEWAY: i64 = 60;

enum KeyMaterial {
    Rs256(Box<RsaPublicKey>),
    Es256(p256::ecdsa::VerifyingKey),
}

struct SigningKey {
    kid: Option<String>,
    key: PublicKey,
}

/// A public key that checks RS256 or ES256 signatures: in Rust, and as a JWK with only its
/// public parameters for the platform's verifier ([`verify_raw`]). The provider's keys are
/// these, and so are the keys of client certificates (`machine`).
pub struct PublicKey {
    material: KeyMaterial,
    public_jwk: String,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.alg())
    }
}

impl PublicKey {
    /// A P-256 key (ES256).
    pub fn es256(key: p256::ecdsa::VerifyingKey) -> Self {
        let point = key.to_encoded_point(false);
        let coordinate =
            |c: Option<&p256::FieldBytes>| c.map(|b| URL_SAFE_NO_PAD.encode(b)).unwrap_or_default();
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": coordinate(point.x()), "y": coordinate(point.y())
        });
        Self {
            material: KeyMaterial::Es256(key),
            public_jwk: jwk.to_string(),
        }
    }

    /// An RSA key (RS256).
    pub fn rs256(key: RsaPublicKey) -> Self {
        use rsa::traits::PublicKeyParts;
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        });
        Self {
            material: KeyMaterial::Rs256(Box::new(key)),
            public_jwk: jwk.to_string(),
        }
    }

    /// The one JWS algorithm this key checks: `ES256` or `RS256`.
    pub fn alg(&self) -> &'static str {
        match self.material {
            KeyMaterial::Rs256(_) => "RS256",
            KeyMaterial::Es256(_) => "ES256",
        }
    }

    /// The key as a JWK with only its public parameters.
    pub fn jwk(&self) -> &str {
        &self.public_jwk
    }
}

/// Whether `signature` (JWS encoding: r‖s for ES256) is `alg`'s signature of `message` under
/// `key`: by `platform` when it answers, else in Rust. An `alg` that does not fit the key's
/// type is `false`, never a question.
pub async fn verify_raw<V: SignatureVerifier + ?Sized>(
    key: &PublicKey,
    alg: &str,
    message: &[u8],
    signature: &[u8],
    platform: &V,
) -> bool {
    if alg != key.alg() {
        return false;
    }
    if let Some(answer) = platform
        .verify_signature(alg, &key.public_jwk, message, signature)
        .await
    {
        return answer;
    }
    match &key.material {
        KeyMaterial::Rs256(k) => {
            let rsa = Rsa::rs256();
            <Rsa as Algorithm>::Signature::try_from_slice(signature)
                .is_ok_and(|sig| rsa.verify_signature(&sig, k, message))
        }
        KeyMaterial::Es256(k) => <Es256 as Algorithm>::Signature::try_from_slice(signature)
            .is_ok_and(|sig| Es256.verify_signature(&sig, k, message)),
    }
}

/// The provider's signing keys. Keys we cannot use (encryption keys, other curves, other key
/// types) are skipped, not fatal: providers publish many kinds.
pub struct Jwks {
    keys: Vec<SigningKey>,
}

impl fmt::Debug for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<_> = self
            .keys
            .iter()
            .map(|k| k.kid.as_deref().unwrap_or("-"))
            .collect();
        write!(f, "Jwks({kids:?})")
    }
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

impl Jwks {
    /// Parses a JWKS document. Fails only when it is not a JWKS at all.
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        let raw: RawJwks =
            serde_json::from_slice(json).map_err(|e| format!("not a JWKS document: {e}"))?;
        let keys = raw.keys.iter().filter_map(signing_key).collect();
        Ok(Self { keys })
    }

    /// How many usable keys it holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn signing_key(value: &serde_json::Value) -> Option<SigningKey> {
    if value
        .get("use")
        .and_then(|u| u.as_str())
        .is_some_and(|u| u != "sig")
    {
        return None;
    }
    let kid = value.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
    let jwk: JsonWebKey<'_> = serde_json::from_value(value.clone()).ok()?;
    let field = |name: &str| value.get(name).cloned().unwrap_or_default();
    let (material, public) = match &jwk {
        JsonWebKey::Rsa { .. } => {
            let key = RsaPublicKey::try_from(&jwk).ok()?;
            // A short modulus can be factored: nothing it signed is believed (so the key is
            // not one of the provider's usable keys, and a token naming it finds none).
            if rsa::traits::PublicKeyParts::n(&key).bits() < MIN_RSA_BITS {
                return None;
            }
            (
                KeyMaterial::Rs256(Box::new(key)),
                serde_json::json!({ "kty": "RSA", "n": field("n"), "e": field("e") }),
            )
        }
        JsonWebKey::EllipticCurve { curve, x, y, .. } if curve == "P-256" => {
            let mut point = Vec::with_capacity(65);
            point.push(0x04);
            point.extend_from_slice(x);
            point.extend_from_slice(y);
            (
                KeyMaterial::Es256(p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).ok()?),
                serde_json::json!({ "kty": "EC", "crv": "P-256", "x": field("x"), "y": field("y") }),
            )
        }
        _ => return None,
    };
    Some(SigningKey {
        kid,
        key: PublicKey {
            material,
            public_jwk: public.to_string(),
        },
    })
}

/// The claims edgeward reads from an ID token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject.
    pub sub: String,
    /// Audiences (a string or an array on the wire).
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Authorized party.
    #[serde(default)]
    pub azp: Option<String>,
    /// The nonce of the authorization request.
    #[serde(default)]
    pub nonce: Option<String>,
    /// The IdP session id (for logout).
    #[serde(default)]
    pub sid: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Preferred user name.
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// When the user authenticated.
    #[serde(default)]
    pub auth_time: Option<u64>,
    /// The authentication context class the provider says it met.
    #[serde(default)]
    pub acr: Option<String>,
    /// The user's tenant at a multi-tenant provider (Entra ID).
    #[serde(default)]
    pub tid: Option<String>,
}

pub(crate) fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// Where a multi-tenant provider's issuer template names the tenant (Entra ID).
pub const TENANT_SLOT: &str = "{tenantid}";

/// What the ID token must say.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The configured issuer.
    pub issuer: &'a str,
    /// At a multi-tenant provider: discovery's issuer template (with `{tenantid}`) and the
    /// allowed tenants. The token's `iss` is then the template filled with its `tid`, which
    /// must be allowed; `issuer` is not compared.
    pub tenants: Option<(&'a str, &'a [String])>,
    /// Our client id (the audience).
    pub client_id: &'a str,
    /// The nonce sent in the authorization request.
    pub nonce: &'a str,
    /// The `acr_values` sent in the authorization request, space-separated: the token's `acr`
    /// must be one of them.
    pub acr_values: Option<&'a str>,
    /// Now, in seconds since the Unix epoch.
    pub now: u64,
}

/// An ID token whose signature and claims were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedIdToken {
    /// Its claims.
    pub claims: IdTokenClaims,
    /// Its `exp`, in seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Why an ID token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdTokenError {
    /// Not a compact JWT.
    Malformed,
    /// An algorithm we do not accept (`none`, HMAC, or anything but RS256/ES256).
    UnsupportedAlgorithm(String),
    /// No key with the token's `kid` (and type): the provider may have rotated its keys.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` does not contain our client id, or `azp` names another client.
    WrongAudience,
    /// `nonce` is missing or not ours.
    WrongNonce,
    /// Past `exp` (with leeway), or no `exp`.
    Expired,
    /// `iat` is missing or in the future (beyond the leeway).
    BadIssuedAt,
    /// `acr_values` were asked for and `acr` is missing or not one of them.
    WrongAcr,
}

impl fmt::Display for IdTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdTokenError::Malformed => f.write_str("the ID token is not a JWT"),
            IdTokenError::UnsupportedAlgorithm(a) => {
                write!(f, "ID token algorithm {a:?} is not accepted")
            }
            IdTokenError::UnknownKey => {
                f.write_str("the ID token's signing key is not in the provider's JWKS")
            }
            IdTokenError::BadSignature => f.write_str("the ID token's signature does not verify"),
            IdTokenError::WrongIssuer => f.write_str("the ID token comes from another issuer"),
            IdTokenError::WrongAudience => f.write_str("the ID token is for another client"),
            IdTokenError::WrongNonce => {
                f.write_str("the ID token's nonce does not match this login")
            }
            IdTokenError::Expired => f.write_str("the ID token has expired"),
            IdTokenError::BadIssuedAt => {
                f.write_str("the ID token's issue time is missing or in the future")
            }
            IdTokenError::WrongAcr => {
                f.write_str("the ID token's acr is not one of the acr_values asked for")
            }
        }
    }
}

impl std::error::Error for IdTokenError {}

/// A JWT whose signature checked out: its header and its claims, parsed as `T` but not yet
/// checked (callers check them).
#[derive(Debug)]
pub struct Verified<T> {
    header: Header,
    claims: Claims<T>,
}

impl<T> Verified<T> {
    /// The token's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The token's claims.
    pub fn claims(&self) -> &Claims<T> {
        &self.claims
    }
}

/// Checks a JWT's algorithm (RS256 or ES256 only), finds its key in `jwks` by `kid` and type,
/// and verifies the signature (by `platform` when it offers to, else in Rust). Claims are
/// parsed as `T` but not checked: callers check them.
pub async fn verify<T: DeserializeOwned, V: SignatureVerifier + ?Sized>(
    token: &str,
    jwks: &Jwks,
    platform: &V,
) -> Result<Verified<T>, IdTokenError> {
    let untrusted = UntrustedToken::new(token).map_err(|_| IdTokenError::Malformed)?;
    let alg = untrusted.algorithm().to_owned();
    if alg != "RS256" && alg != "ES256" {
        return Err(IdTokenError::UnsupportedAlgorithm(alg));
    }
    // What the signature covers: the two first parts, as they arrived.
    let signed = token
        .rsplit_once('.')
        .map(|(signed, _)| signed.as_bytes())
        .ok_or(IdTokenError::Malformed)?;
    let kid = untrusted.header().key_id.as_deref();
    let mut tried = false;
    for key in jwks
        .keys
        .iter()
        .filter(|k| k.key.alg() == alg && (kid.is_none() || k.kid.as_deref() == kid))
    {
        tried = true;
        let good = verify_raw(
            &key.key,
            &alg,
            signed,
            untrusted.signature_bytes(),
            platform,
        )
        .await;
        if good {
            let claims = untrusted
                .deserialize_claims_unchecked::<T>()
                .map_err(|_| IdTokenError::Malformed)?;
            return Ok(Verified {
                header: untrusted.header().clone(),
                claims,
            });
        }
    }
    Err(if tried {
        IdTokenError::BadSignature
    } else {
        IdTokenError::UnknownKey
    })
}

/// Validates `token` against `jwks` and `expected`; `platform` may check the signature.
pub async fn validate<V: SignatureVerifier + ?Sized>(
    token: &str,
    jwks: &Jwks,
    expected: &Expected<'_>,
    platform: &V,
) -> Result<ValidatedIdToken, IdTokenError> {
    let token = verify::<IdTokenClaims, V>(token, jwks, platform).await?;
    let claims: &Claims<IdTokenClaims> = token.claims();
    let custom = &claims.custom;

    // Exactly the configured issuer (OpenID Connect Core §3.1.3.7), or at a multi-tenant
    // provider exactly the issuer of an allowed tenant, the one the token says it is from.
    let issuer_ok = match expected.tenants {
        None => custom.iss == expected.issuer,
        Some((template, allowed)) => custom.tid.as_deref().is_some_and(|tid| {
            allowed.iter().any(|t| t.eq_ignore_ascii_case(tid))
                && custom.iss == template.replace(TENANT_SLOT, tid)
        }),
    };
    if !issuer_ok {
        return Err(IdTokenError::WrongIssuer);
    }
    if !custom.aud.iter().any(|a| a == expected.client_id) {
        return Err(IdTokenError::WrongAudience);
    }
    let needs_azp = custom.aud.len() > 1 || custom.azp.is_some();
    if needs_azp && custom.azp.as_deref() != Some(expected.client_id) {
        return Err(IdTokenError::WrongAudience);
    }

    let now = Utc
        .timestamp_opt(i64::try_from(expected.now).unwrap_or(i64::MAX), 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let options = TimeOptions::new(chrono::Duration::seconds(LEEWAY), move || now);
    claims
        .validate_expiration(&options)
        .map_err(|_| IdTokenError::Expired)?;
    match claims.issued_at {
        Some(iat) if iat <= now + chrono::Duration::seconds(LEEWAY) => {}
        _ => return Err(IdTokenError::BadIssuedAt),
    }

    let nonce_ok = custom
        .nonce
        .as_deref()
        .is_some_and(|n| crate::platform::crypto::constant_time_eq(n, expected.nonce));
    if !nonce_ok {
        return Err(IdTokenError::WrongNonce);
    }

    if let Some(asked) = expected.acr_values {
        let met = custom
            .acr
            .as_deref()
            .is_some_and(|acr| asked.split(' ').any(|a| a == acr));
        if !met {
            return Err(IdTokenError::WrongAcr);
        }
    }

    let expires_at = claims
        .expiration
        .map(|e| u64::try_from(e.timestamp()).unwrap_or(0))
        .ok_or(IdTokenError::Expired)?;
    Ok(ValidatedIdToken {
        claims: custom.clone(),
        expires_at,
    })
}
