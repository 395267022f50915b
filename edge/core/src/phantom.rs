//! The phantom token, `introspect-mint` mode: an opaque access token from the cookie becomes a
//! short-lived JWT signed by the worker's own ES256 key, which APIs verify against the worker's
//! published JWKS. Three pure parts:
//!
//! - [`introspect`]: RFC 7662 introspection over the [`HttpClient`] port, as a confidential
//!   client; `active: false` is [`Error::Unauthorized`].
//! - [`MintKey`]: the signing key, its public JWKS, and [`MintKey::mint`], whose `exp` is never
//!   later than the access token's own `exp` nor `now + max_ttl`.
//! - [`PhantomCache`]: results keyed by the SHA-256 of the opaque token (never the token
//!   itself), bounded in size, each entry dropped at its JWT's expiry.
//!
//! Not yet wired into the request path; see the proxy issue.

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
use crate::oidc::client_post;
use crate::ports::HttpClient;

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

/// A minted token and its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    /// The compact JWT.
    pub jwt: String,
    /// Its `exp`.
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

/// SHA-256 of an opaque token, hex: the only form in which a token is ever a cache key.
pub fn token_key(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Minted tokens by [`token_key`], at most `capacity` of them.
#[derive(Debug)]
pub struct PhantomCache {
    capacity: usize,
    entries: RefCell<HashMap<String, Minted>>,
}

impl PhantomCache {
    /// An empty cache holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: RefCell::new(HashMap::new()),
        }
    }

    /// The minted token for `token`, if cached and still valid at `now`.
    pub fn get(&self, token: &str, now: u64) -> Option<Minted> {
        let key = token_key(token);
        let mut entries = self.entries.borrow_mut();
        match entries.get(&key) {
            Some(m) if m.expires_at > now => Some(m.clone()),
            Some(_) => {
                entries.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Remembers `minted` for `token`. When full, expired entries go first, then the entry
    /// closest to expiry.
    pub fn put(&self, token: &str, minted: Minted, now: u64) {
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
        entries.insert(token_key(token), minted);
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    /// Whether any key equals `s` (tests use it to prove raw tokens are never keys).
    pub fn has_key(&self, s: &str) -> bool {
        self.entries.borrow().contains_key(s)
    }
}

#[cfg(test)]
mod tests {
    use jwt_compact::UntrustedToken;

    use super::*;

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
        cache.put("opaque-1", minted(NOW + 10), NOW);
        assert_eq!(
            cache.get("opaque-1", NOW).unwrap().jwt,
            format!("jwt-{}", NOW + 10)
        );
        assert!(!cache.has_key("opaque-1"), "the raw token is never a key");
        assert!(cache.has_key(&token_key("opaque-1")));
        assert_eq!(
            token_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Expired entries are not served.
        assert_eq!(cache.get("opaque-1", NOW + 10), None);
        assert!(cache.is_empty());
        // Bounded: the entry closest to expiry makes room.
        cache.put("a", minted(NOW + 100), NOW);
        cache.put("b", minted(NOW + 50), NOW);
        cache.put("c", minted(NOW + 200), NOW);
        assert_eq!(cache.len(), 2);
        assert!(cache.get("b", NOW).is_none());
        assert!(cache.get("a", NOW).is_some() && cache.get("c", NOW).is_some());
        // Capacity zero disables caching.
        let off = PhantomCache::new(0);
        off.put("a", minted(NOW + 100), NOW);
        assert!(off.get("a", NOW).is_none());
    }
}
