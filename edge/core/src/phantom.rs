//! The phantom token: an opaque access token (from the cookie, or from a non-browser client's
//! `Authorization` header when allowed) becomes a short-lived JWT the upstream API can verify.
//!
//! - [`introspect`]: RFC 7662 introspection over the [`HttpClient`] port, as a confidential
//!   client; `active: false` is [`Error::Unauthorized`]. Used by `introspect-mint`.
//! - [`MintKey`]: the worker's signing key, its public JWKS, and [`MintKey::mint`], whose `exp`
//!   is never later than the access token's own `exp` nor `now + max_ttl`.
//! - [`introspect_jwt`] and [`read_introspection_jwt`]: `introspect-jwt` mode, where the IdP
//!   answers introspection with a signed JWT (`application/jwt` as Curity's phantom-token
//!   plugins ask for it, or RFC 9701 `application/token-introspection+jwt`), which the worker
//!   checks against the IdP's keys and forwards as it is.
//! - [`CacheKey`] and [`PhantomCache`]: results keyed by the SHA-256 of (mode, audience, token),
//!   never the token itself; the per-isolate memory tier, bounded in size. The shared tier
//!   (Workers Cache API) is the [`crate::ports::SharedCache`] port, keyed the same way.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{TimeZone, Utc};
use jwt_compact::alg::Es256;
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::Error;
use crate::idtoken::{IdTokenError, Jwks};
use crate::oidc::{client_post, client_post_accepting};
use crate::ports::HttpClient;
use crate::ports::SignatureVerifier;

/// What introspection says about an active token (RFC 7662 §2.2), the parts we forward.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Introspection {
    /// Whether the token is active.
    pub active: bool,
    /// Subject.
    #[serde(default)]
    pub sub: Option<String>,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Expiry, seconds since the epoch.
    #[serde(default)]
    pub exp: Option<u64>,
}

/// Introspects `token` at `endpoint`, authenticated as the configured client.
pub async fn introspect(
    config: &Config,
    http: &impl HttpClient,
    endpoint: &str,
    token: &str,
) -> Result<Introspection, Error> {
    let form = [("token", token), ("token_type_hint", "access_token")];
    let response = client_post(config, http, endpoint, &form)
        .await
        .map_err(|e| Error::IdpUnavailable(format!("introspection: {e:?}")))?;
    if !response.status().is_success() {
        return Err(Error::IdpUnavailable(format!(
            "introspection answered HTTP {}",
            response.status().as_u16()
        )));
    }
    let result: Introspection = serde_json::from_slice(response.body())
        .map_err(|_| Error::IdpUnavailable("introspection did not answer JSON".into()))?;
    if result.active {
        Ok(result)
    } else {
        Err(Error::Unauthorized)
    }
}

/// The worker's ES256 signing key. `Debug` shows the key id only.
pub struct MintKey {
    kid: String,
    key: p256::ecdsa::SigningKey,
}

impl fmt::Debug for MintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MintKey({}, ***)", self.kid)
    }
}

/// The claims of a minted token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhantomClaims {
    /// The worker's issuer URL (its origin).
    pub iss: String,
    /// The audience (the upstream API).
    pub aud: String,
    /// Subject, from introspection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Scopes, from introspection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Client id, from introspection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A phantom token and how long it may be reused (what both cache tiers hold).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Minted {
    /// The compact JWT.
    pub jwt: String,
    /// Until when it may be served from a cache: never after the JWT's own `exp`.
    pub expires_at: u64,
}

impl MintKey {
    /// A key from `kid:<32-byte P-256 secret scalar, base64url>`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (kid, secret) = spec
            .trim()
            .split_once(':')
            .ok_or_else(|| "must be kid:<base64url secret>".to_owned())?;
        if kid.is_empty()
            || !kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!("key id {kid:?} must be A-Z a-z 0-9 _ -"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(secret.trim().trim_end_matches('='))
            .map_err(|_| "the secret is not base64url".to_owned())?;
        let key = p256::ecdsa::SigningKey::from_slice(&bytes)
            .map_err(|_| "the secret is not a P-256 private key (32 bytes)".to_owned())?;
        Ok(Self {
            kid: kid.to_owned(),
            key,
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWKS document (`/.well-known/jwks.json`).
    pub fn jwks_json(&self) -> String {
        let point = self.key.verifying_key().to_encoded_point(false);
        let coordinate =
            |c: Option<&p256::FieldBytes>| c.map(|b| URL_SAFE_NO_PAD.encode(b)).unwrap_or_default();
        serde_json::json!({
            "keys": [{
                "kty": "EC",
                "crv": "P-256",
                "x": coordinate(point.x()),
                "y": coordinate(point.y()),
                "kid": self.kid,
                "use": "sig",
                "alg": "ES256",
            }]
        })
        .to_string()
    }

    /// Mints a JWT for an active token; `exp` = min(token's exp, now + max_ttl).
    pub fn mint(
        &self,
        introspection: &Introspection,
        issuer: &str,
        audience: &str,
        now: u64,
        max_ttl: u64,
    ) -> Result<Minted, Error> {
        let expires_at = introspection
            .exp
            .map_or(now + max_ttl, |exp| exp.min(now + max_ttl));
        if expires_at <= now {
            return Err(Error::Unauthorized);
        }
        let at = |secs: u64| {
            Utc.timestamp_opt(i64::try_from(secs).unwrap_or(i64::MAX), 0)
                .single()
        };
        let mut claims = Claims::new(PhantomClaims {
            iss: issuer.to_owned(),
            aud: audience.to_owned(),
            sub: introspection.sub.clone(),
            scope: introspection.scope.clone(),
            client_id: introspection.client_id.clone(),
        });
        claims.issued_at = at(now);
        claims.expiration = at(expires_at);
        let header = Header::empty()
            .with_key_id(&self.kid)
            .with_token_type("JWT");
        let jwt = Es256
            .token(&header, &claims, &self.key)
            .map_err(|_| Error::Internal("minting the phantom token failed"))?;
        Ok(Minted { jwt, expires_at })
    }
}

/// SHA-256 of `s`, hex.
pub fn token_key(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where a phantom token is cached, in both tiers: the SHA-256 of the mode (which names the
/// minting key, so a new key starts a new cache), the audience and the opaque token. The token
/// itself is never a key, so neither tier can give one back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key for `token` exchanged in `mode` for `audience`.
    pub fn new(mode: &str, audience: &str, token: &str) -> Self {
        Self(token_key(&format!("{mode}\n{audience}\n{token}")))
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Phantom tokens by [`CacheKey`], at most `capacity` of them: the isolate's memory tier.
#[derive(Debug)]
pub struct PhantomCache {
    capacity: usize,
    entries: RefCell<HashMap<CacheKey, Minted>>,
}

impl PhantomCache {
    /// An empty cache holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: RefCell::new(HashMap::new()),
        }
    }

    /// The token cached under `key`, if still valid at `now`.
    pub fn get(&self, key: &CacheKey, now: u64) -> Option<Minted> {
        let mut entries = self.entries.borrow_mut();
        match entries.get(key) {
            Some(m) if m.expires_at > now => Some(m.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remembers `minted` under `key`. When full, expired entries go first, then the entry
    /// closest to expiry (a linear scan, only when full: at the default 1,024 entries that
    /// costs microseconds, and only on a miss).
    pub fn put(&self, key: &CacheKey, minted: Minted, now: u64) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= self.capacity {
            entries.retain(|_, m| m.expires_at > now);
        }
        if entries.len() >= self.capacity {
            if let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, m)| m.expires_at)
                .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(key.clone(), minted);
    }

    /// Forgets the entry under `key`.
    pub fn remove(&self, key: &CacheKey) {
        self.entries.borrow_mut().remove(key);
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }
}

/// What `introspect-jwt` asks for: Curity's `application/jwt` first, RFC 9701 second.
pub const JWT_ACCEPT: &str = "application/jwt, application/token-introspection+jwt";

/// `introspect-jwt`: asks the IdP to answer introspection of `token` with a signed JWT and
/// returns it unchecked (see [`read_introspection_jwt`]). An inactive token (`204 No Content`,
/// or JSON `active: false`) is [`Error::Unauthorized`]; a JSON answer for an active token means
/// the provider cannot do this mode, which the error says.
pub async fn introspect_jwt(
    config: &Config,
    http: &impl HttpClient,
    endpoint: &str,
    token: &str,
) -> Result<String, Error> {
    let form = [("token", token), ("token_type_hint", "access_token")];
    let response = client_post_accepting(config, http, endpoint, &form, JWT_ACCEPT)
        .await
        .map_err(|e| Error::IdpUnavailable(format!("introspection: {e:?}")))?;
    let status = response.status();
    if status == http::StatusCode::NO_CONTENT {
        return Err(Error::Unauthorized);
    }
    if !status.is_success() {
        return Err(Error::IdpUnavailable(format!(
            "introspection answered HTTP {}",
            status.as_u16()
        )));
    }
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if media_type == "application/jwt" || media_type == "application/token-introspection+jwt" {
        let jwt = std::str::from_utf8(response.body())
            .map_err(|_| Error::IdpUnavailable("the introspection JWT is not text".into()))?;
        return Ok(jwt.trim().to_owned());
    }
    match serde_json::from_slice::<Introspection>(response.body()) {
        Ok(answer) if !answer.active => Err(Error::Unauthorized),
        Ok(_) => Err(Error::IdpUnavailable(
            "the provider answered introspection with JSON, not a JWT: it does not support \
             introspect-jwt (use introspect-mint)"
                .into(),
        )),
        Err(_) => Err(Error::IdpUnavailable(format!(
            "introspection answered {media_type:?}, neither a JWT nor JSON"
        ))),
    }
}

/// The claims of an introspection JWT that matter here. Curity's style is the access token's
/// own claims at the top level (`exp` is the token's expiry); RFC 9701 nests the RFC 7662
/// answer in `token_introspection`.
#[derive(Debug, Deserialize)]
struct IntrospectionJwtClaims {
    iss: String,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    token_introspection: Option<Introspection>,
}

/// Why an introspection JWT was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntrospectionJwtError {
    /// No key of the IdP's JWKS has its `kid` (the caller may re-fetch the keys once).
    UnknownKey,
    /// The token is not active or has expired: the request is unauthorized.
    Inactive,
    /// It is not a valid answer from this IdP (signature, issuer, no expiry).
    Invalid(String),
}

/// Checks an introspection JWT from [`introspect_jwt`]: signature against the IdP's `jwks`
/// (RS256/ES256), `iss` = the configured issuer, active, not expired. Returns it with the time
/// until which it may be cached: min(token expiry, `now + max_ttl`).
pub async fn read_introspection_jwt<V: SignatureVerifier + ?Sized>(
    jwt: &str,
    jwks: &Jwks,
    issuer: &str,
    now: u64,
    max_ttl: u64,
    platform: &V,
) -> Result<Minted, IntrospectionJwtError> {
    let token = crate::idtoken::verify::<IntrospectionJwtClaims, V>(jwt, jwks, platform)
        .await
        .map_err(|e| match e {
            IdTokenError::UnknownKey => IntrospectionJwtError::UnknownKey,
            other => IntrospectionJwtError::Invalid(format!("introspection JWT: {other}")),
        })?;
    let claims = token.claims();
    if claims.custom.iss != issuer {
        return Err(IntrospectionJwtError::Invalid(
            "the introspection JWT comes from another issuer".into(),
        ));
    }
    let jwt_exp = claims
        .expiration
        .and_then(|e| u64::try_from(e.timestamp()).ok());
    let token_exp = match &claims.custom.token_introspection {
        Some(nested) if !nested.active => return Err(IntrospectionJwtError::Inactive),
        Some(nested) => nested.exp.or(jwt_exp),
        None if claims.custom.active == Some(false) => return Err(IntrospectionJwtError::Inactive),
        None => jwt_exp,
    };
    let token_exp = token_exp.ok_or_else(|| {
        IntrospectionJwtError::Invalid("the introspection JWT has no expiry".into())
    })?;
    if token_exp <= now {
        return Err(IntrospectionJwtError::Inactive);
    }
    Ok(Minted {
        jwt: jwt.to_owned(),
        expires_at: token_exp.min(now + max_ttl),
    })
}

#[cfg(test)]
mod tests {
    use jwt_compact::UntrustedToken;

    use super::*;

    /// Reading with every signature checked in Rust.
    fn read_introspection_jwt(
        jwt: &str,
        jwks: &Jwks,
        issuer: &str,
        now: u64,
        max_ttl: u64,
    ) -> Result<Minted, IntrospectionJwtError> {
        let read =
            super::read_introspection_jwt(jwt, jwks, issuer, now, max_ttl, &crate::RustSignatures);
        futures_executor::block_on(read)
    }

    // 32 bytes of 0x01: a valid P-256 scalar.
    const KEY: &str = "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
    const NOW: u64 = 1_700_000_000;

    fn active(exp: Option<u64>) -> Introspection {
        Introspection {
            active: true,
            sub: Some("demo".into()),
            scope: Some("orders:read".into()),
            client_id: Some("edgeward".into()),
            exp,
        }
    }

    #[test]
    fn minted_tokens_verify_against_the_published_jwks_and_never_outlive_the_token() {
        let key = MintKey::parse(KEY).unwrap();
        let jwks = crate::idtoken::Jwks::parse(key.jwks_json().as_bytes()).unwrap();
        assert_eq!(jwks.len(), 1);

        let table = [
            (Some(NOW + 3600), 60, NOW + 60), // capped by max_ttl
            (Some(NOW + 30), 60, NOW + 30),   // capped by the token's exp
            (None, 60, NOW + 60),             // no exp: max_ttl
        ];
        for (exp, max_ttl, expected) in table {
            let minted = key
                .mint(&active(exp), "https://app.example", "orders", NOW, max_ttl)
                .unwrap();
            assert_eq!(minted.expires_at, expected, "{exp:?}");
            let untrusted = UntrustedToken::new(&minted.jwt).unwrap();
            assert_eq!(untrusted.algorithm(), "ES256");
            assert_eq!(untrusted.header().key_id.as_deref(), Some("m1"));
            let public = key.key.verifying_key();
            let token = Es256
                .validator::<PhantomClaims>(public)
                .validate(&untrusted)
                .unwrap();
            let claims = token.claims();
            assert_eq!(claims.custom.sub.as_deref(), Some("demo"));
            assert_eq!(claims.custom.scope.as_deref(), Some("orders:read"));
            assert_eq!(claims.custom.aud, "orders");
            assert_eq!(claims.custom.iss, "https://app.example");
            assert_eq!(claims.expiration.unwrap().timestamp() as u64, expected);
        }
        // A token already expired mints nothing.
        let err = key.mint(&active(Some(NOW)), "i", "a", NOW, 60).unwrap_err();
        assert_eq!(err.code(), edgeward_shared::ErrorCode::Unauthorized);
    }

    #[test]
    fn mint_key_specs() {
        assert!(MintKey::parse("nocolon").is_err());
        assert!(MintKey::parse("m1:***").is_err());
        assert!(MintKey::parse("m1:AAAA").is_err());
        // Zero is not a valid scalar.
        assert!(MintKey::parse("m1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").is_err());
        let key = MintKey::parse(KEY).unwrap();
        assert_eq!(format!("{key:?}"), "MintKey(m1, ***)");
        assert!(
            !key.jwks_json().contains("\"d\""),
            "no private part in the JWKS"
        );
    }

    #[test]
    fn the_cache_keys_by_hash_expires_and_stays_bounded() {
        let cache = PhantomCache::new(2);
        let minted = |exp| Minted {
            jwt: format!("jwt-{exp}"),
            expires_at: exp,
        };
        let key = |token: &str| CacheKey::new("mint-m1", "orders", token);
        cache.put(&key("opaque-1"), minted(NOW + 10), NOW);
        assert_eq!(
            cache.get(&key("opaque-1"), NOW).unwrap().jwt,
            format!("jwt-{}", NOW + 10)
        );
        // The key is a digest of mode, audience and token: none of them shows.
        assert_eq!(key("opaque-1").as_str().len(), 64);
        assert!(!key("opaque-1").as_str().contains("opaque"));
        assert_eq!(
            key("opaque-1"),
            CacheKey(token_key("mint-m1\norders\nopaque-1"))
        );
        assert_ne!(
            key("opaque-1"),
            CacheKey::new("mint-m2", "orders", "opaque-1")
        );
        assert_ne!(
            key("opaque-1"),
            CacheKey::new("mint-m1", "billing", "opaque-1")
        );
        assert_eq!(
            token_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Expired entries are not served.
        assert_eq!(cache.get(&key("opaque-1"), NOW + 10), None);
        assert!(cache.is_empty());
        // Bounded: the entry closest to expiry makes room.
        cache.put(&key("a"), minted(NOW + 100), NOW);
        cache.put(&key("b"), minted(NOW + 50), NOW);
        cache.put(&key("c"), minted(NOW + 200), NOW);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&key("b"), NOW).is_none());
        assert!(cache.get(&key("a"), NOW).is_some() && cache.get(&key("c"), NOW).is_some());
        // Capacity zero disables caching.
        let off = PhantomCache::new(0);
        off.put(&key("a"), minted(NOW + 100), NOW);
        assert!(off.get(&key("a"), NOW).is_none());
    }

    /// Signs `claims` as the IdP would (ES256, kid "idp").
    fn idp_jwt(claims: serde_json::Value) -> (String, Jwks) {
        let key = MintKey::parse("idp:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI").unwrap();
        let header = Header::empty().with_key_id("idp");
        let jwt = Es256
            .token(&header, &Claims::new(claims), &key.key)
            .unwrap();
        (jwt, Jwks::parse(key.jwks_json().as_bytes()).unwrap())
    }

    #[test]
    fn introspection_jwts_in_both_styles() {
        use serde_json::json;
        let iss = "https://idp.example";
        // Curity style: the access token's claims, its exp at the top.
        let (jwt, jwks) = idp_jwt(json!({"iss": iss, "sub": "demo", "exp": NOW + 300}));
        let got = read_introspection_jwt(&jwt, &jwks, iss, NOW, 60).unwrap();
        assert_eq!(got.jwt, jwt, "forwarded as it came");
        assert_eq!(got.expires_at, NOW + 60, "cached no longer than max_ttl");
        let got = read_introspection_jwt(&jwt, &jwks, iss, NOW, 3600).unwrap();
        assert_eq!(got.expires_at, NOW + 300, "nor beyond the token's exp");
        // RFC 9701: the answer nested in token_introspection.
        let (jwt, jwks) = idp_jwt(json!({"iss": iss, "iat": NOW,
            "token_introspection": {"active": true, "sub": "demo", "exp": NOW + 30}}));
        let got = read_introspection_jwt(&jwt, &jwks, iss, NOW, 60).unwrap();
        assert_eq!(got.expires_at, NOW + 30);

        let refused = [
            (
                json!({"iss": iss, "iat": NOW, "token_introspection": {"active": false}}),
                "Inactive",
            ),
            (
                json!({"iss": iss, "active": false, "exp": NOW + 300}),
                "Inactive",
            ),
            (json!({"iss": iss, "sub": "demo", "exp": NOW}), "Inactive"),
            (
                json!({"iss": "https://evil.example", "exp": NOW + 300}),
                "another issuer",
            ),
            (json!({"iss": iss, "sub": "demo"}), "no expiry"),
            (
                json!({"sub": "demo", "exp": NOW + 300}),
                "introspection JWT:",
            ),
        ];
        for (claims, why) in refused {
            let (jwt, jwks) = idp_jwt(claims.clone());
            let err = read_introspection_jwt(&jwt, &jwks, iss, NOW, 60).unwrap_err();
            assert!(format!("{err:?}").contains(why), "{claims}: {err:?}");
        }
        // Signed by another key with the same kid: refused; an unknown kid says so.
        let (jwt, _) = idp_jwt(json!({"iss": iss, "exp": NOW + 300}));
        let other = MintKey::parse(KEY).unwrap();
        let other_jwks =
            Jwks::parse(other.jwks_json().replace("\"m1\"", "\"idp\"").as_bytes()).unwrap();
        let err = read_introspection_jwt(&jwt, &other_jwks, iss, NOW, 60).unwrap_err();
        assert!(matches!(err, IntrospectionJwtError::Invalid(_)), "{err:?}");
        let unknown = Jwks::parse(other.jwks_json().as_bytes()).unwrap();
        let err = read_introspection_jwt(&jwt, &unknown, iss, NOW, 60).unwrap_err();
        assert_eq!(err, IntrospectionJwtError::UnknownKey);
        // Not a JWT at all.
        assert!(read_introspection_jwt("not.a.jwt", &unknown, iss, NOW, 60).is_err());
    }
}
