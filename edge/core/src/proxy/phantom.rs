//! The phantom token: an opaque access token (from the cookie, or from a non-browser client's
//! `Authorization` header when allowed) becomes a short-lived JWT the upstream API can verify.
//!
//! - [`introspect`]: RFC 7662 introspection over the [`HttpClient`] port, as a confidential
//!   client; `active: false` is [`Error::Unauthorized`]. Used by `introspect-mint`.
//! - [`TokenFacts::check`]: what an active token's answer must also say before it is exchanged
//!   for a route ([`TokenRules`], from the deployment's [`TokenPolicy`] and the route): an access
//!   token, not bound to a key, of the configured issuer, valid now, for one of the route's
//!   audiences, of an accepted client. Both introspecting modes apply it.
//! - [`MintKey`]: the worker's signing key (ES256 or RS256, [`MintAlg`]), its public JWKS, and
//!   [`MintKey::mint_with`], which makes RFC 9068 access tokens (`typ: at+jwt`, a random `jti`)
//!   whose `exp` is never later than the access token's own `exp` nor `now + max_ttl`, signed
//!   by the platform's [`Signer`] port when it can and in Rust ([`MintKey::mint`]) when not.
//! - [`introspect_jwt`] and [`read_introspection_jwt`]: `introspect-jwt` mode, where the IdP
//!   answers introspection with a signed JWT (`application/jwt` as Curity's phantom-token
//!   plugins ask for it, or RFC 9701 `application/token-introspection+jwt`), which the worker
//!   checks against the IdP's keys and the [`TokenRules`] and forwards as it is.
//! - [`CacheKey`] and [`PhantomCache`]: results keyed by the SHA-256 of (mode, audience, the
//!   rules checked, token), never the token itself; the per-isolate memory tier, bounded in size.
//!   The shared tier (Workers Cache API) is the platform's
//!   [`SharedCache`](crate::platform::ports::SharedCache) port, keyed the same way.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{TimeZone, Utc};
use jwt_compact::alg::Es256;
use jwt_compact::{Algorithm, Claims};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::oidc::idtoken::{IdTokenError, Jwks};
use crate::oidc::{client_post, client_post_accepting, Discovery, OidcClient};
use crate::platform::crypto::hex;
use crate::platform::ports::{Clock, HttpClient, Random, SignatureVerifier, Signer};
use crate::platform::Error;

/// What introspection says about a token (RFC 7662 §2.2): `active`, and the rest in
/// [`TokenFacts`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Introspection {
    /// Whether the token is active.
    pub active: bool,
    /// What the answer says about it.
    #[serde(flatten)]
    pub token: TokenFacts,
}

/// What an introspection answer says about a token, the members that are checked
/// ([`TokenFacts::check`]) or forwarded. RFC 7662 requires none of them; each is checked when
/// present (and some are required by the [`TokenRules`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TokenFacts {
    /// Subject.
    pub sub: Option<String>,
    /// Space-separated scopes.
    pub scope: Option<String>,
    /// The client the token was issued to.
    pub client_id: Option<String>,
    /// Expiry, seconds since the epoch.
    pub exp: Option<u64>,
    /// Not valid before, seconds since the epoch.
    pub nbf: Option<u64>,
    /// Who issued the token.
    pub iss: Option<String>,
    /// Whom the token is for: one string or a list, as in a JWT.
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Option<Vec<String>>,
    /// What kind of token it is (RFC 7662: e.g. `Bearer`; `refresh_token` at some providers).
    pub token_type: Option<String>,
    /// The same fact under ORY Hydra's name (`access_token` or `refresh_token`).
    pub token_use: Option<String>,
    /// The same fact under Curity's name, in its JWTs (`access_token`).
    pub purpose: Option<String>,
    /// Confirmation (RFC 7800): the token is bound to a key its holder must prove.
    pub cnf: Option<serde_json::Value>,
}

/// `aud` as a JWT carries it: one string, or a list of them.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(a)) => Some(vec![a]),
        Some(OneOrMany::Many(list)) => Some(list),
    })
}

/// The value the token-kind members (`token_use`, `purpose`) must have.
const ACCESS_TOKEN: &str = "access_token";

/// The deployment's rules for introspected tokens (the `EDGEWARD_TOKEN_*` variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// Accepted `token_type` values, in lower case (compared case-insensitively).
    pub types: Vec<String>,
    /// Whether an answer that does not say what kind of token it is passes (`none` in
    /// `EDGEWARD_TOKEN_TYPES`).
    pub untyped: bool,
    /// Clients accepted besides the worker's own; when set, `client_id` is required.
    pub client_ids: Option<Vec<String>>,
    /// Whether an answer without `aud` is refused.
    pub audience_required: bool,
}

impl Default for TokenPolicy {
    /// `Bearer` tokens that say so, of the worker's own client, for the route (or without `aud`).
    fn default() -> Self {
        Self {
            types: vec!["bearer".to_owned()],
            untyped: false,
            client_ids: None,
            audience_required: false,
        }
    }
}

impl TokenPolicy {
    /// Parses `EDGEWARD_TOKEN_TYPES`: comma-separated `token_type` values; `none` lets answers
    /// without any type through.
    pub fn parse_types(list: &str) -> Result<(Vec<String>, bool), String> {
        let mut types = Vec::new();
        let mut untyped = false;
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !item.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(format!("{item:?} is not a token type"));
            }
            let item = item.to_ascii_lowercase();
            if item == "none" {
                untyped = true;
            } else if !types.contains(&item) {
                types.push(item);
            }
        }
        if types.is_empty() {
            return Err("must name at least one token type (e.g. Bearer)".into());
        }
        Ok((types, untyped))
    }

    /// Everything the checks depend on, for the cache key: an entry made under other rules is
    /// never served.
    pub fn fingerprint(&self) -> String {
        format!(
            "types={};untyped={};clients={};aud-required={}",
            self.types.join(","),
            self.untyped,
            self.client_ids
                .as_ref()
                .map_or_else(|| "-".to_owned(), |c| c.join(",")),
            self.audience_required
        )
    }
}

/// An `nbf` later than `now` by more than [`crate::oidc::idtoken::LEEWAY`] is refused.
fn not_before(nbf: Option<u64>, now: u64) -> Result<(), String> {
    let leeway = u64::try_from(crate::oidc::idtoken::LEEWAY).unwrap_or(0);
    match nbf {
        Some(nbf) if nbf > now.saturating_add(leeway) => {
            Err(format!("the token is not valid yet (nbf {nbf}, now {now})"))
        }
        _ => Ok(()),
    }
}

/// What an introspected token must be to be exchanged for one route, at one time.
#[derive(Debug, Clone, Copy)]
pub struct TokenRules<'a> {
    /// The deployment's rules.
    pub policy: &'a TokenPolicy,
    /// The configured issuer: `iss`, when present, must be exactly this.
    pub issuer: &'a str,
    /// The worker's own client id (always accepted as `client_id`).
    pub own_client_id: &'a str,
    /// Audiences the route accepts: `aud`, when present, must name one of them.
    pub audiences: &'a [String],
    /// Whether an answer without `client_id` is refused (when minting, or with an allow-list).
    pub client_id_required: bool,
    /// The user of the session whose cookie held the token (`None` for a bearer client): a
    /// `sub` in the answer must be this user, whatever the mode.
    pub session_sub: Option<&'a str>,
    /// Now, seconds since the epoch.
    pub now: u64,
}

impl TokenFacts {
    /// Whether the answer describes a token this route may have: an access token (by
    /// `token_type`, `token_use` or `purpose`; every one present must say so, and one must be
    /// present unless the policy accepts untyped answers), not bound to a key (`cnf`), from the
    /// configured issuer, valid now (`nbf`, with [`crate::oidc::idtoken::LEEWAY`]), for one of the
    /// route's audiences, of an accepted client. The error is the cause, for the log; it names
    /// claim values of the answer, never the token.
    pub fn check(&self, rules: &TokenRules<'_>) -> Result<(), String> {
        self.check_marked(rules, false)
    }

    /// [`TokenFacts::check`], where `marked_access` says the answer is an access token by
    /// other means (a Curity-style JWT whose header `typ` is RFC 9068's `at+jwt`).
    pub(crate) fn check_marked(
        &self,
        rules: &TokenRules<'_>,
        marked_access: bool,
    ) -> Result<(), String> {
        let policy = rules.policy;
        if let Some(kind) = &self.token_type {
            if !policy.types.contains(&kind.to_ascii_lowercase()) {
                return Err(format!(
                    "token_type {kind:?} is not an accepted access-token type (EDGEWARD_TOKEN_TYPES)"
                ));
            }
        }
        for (name, value) in [("token_use", &self.token_use), ("purpose", &self.purpose)] {
            if let Some(value) = value {
                if value != ACCESS_TOKEN {
                    return Err(format!("{name} {value:?} is not {ACCESS_TOKEN}"));
                }
            }
        }
        let typed = marked_access
            || self.token_type.is_some()
            || self.token_use.is_some()
            || self.purpose.is_some();
        if !typed && !policy.untyped {
            return Err(
                "the answer does not say the token is an access token (no token_type: a refresh \
                 token's answer looks like this at some providers)"
                    .into(),
            );
        }
        if self.cnf.is_some() {
            return Err(
                "the token is sender-constrained (cnf): the worker cannot prove possession of its key"
                    .into(),
            );
        }
        if let Some(iss) = &self.iss {
            if iss != rules.issuer {
                return Err(format!("the token comes from another issuer ({iss:?})"));
            }
        }
        not_before(self.nbf, rules.now)?;
        match &self.aud {
            Some(aud) if !aud.iter().any(|a| rules.audiences.contains(a)) => {
                return Err(format!(
                    "the token's audience {aud:?} is none this route accepts {:?}",
                    rules.audiences
                ));
            }
            None if policy.audience_required => {
                return Err("the token names no audience (EDGEWARD_TOKEN_AUDIENCE_REQUIRED)".into())
            }
            _ => {}
        }
        match &self.client_id {
            Some(client) => {
                let listed = policy
                    .client_ids
                    .as_ref()
                    .is_some_and(|list| list.contains(client));
                if client != rules.own_client_id && !listed {
                    return Err(format!(
                        "the token's client {client:?} is not accepted (EDGEWARD_TOKEN_CLIENT_IDS)"
                    ));
                }
            }
            None if rules.client_id_required => {
                return Err("the answer names no client (client_id)".into())
            }
            None => {}
        }
        // A token of another user in this session's cookie: never exchanged for either.
        if let (Some(sub), Some(session)) = (&self.sub, rules.session_sub) {
            if sub != session {
                return Err("the token's subject is not the session's user".into());
            }
        }
        Ok(())
    }
}

/// Introspects `token` at `endpoint`, authenticated as the configured client.
pub async fn introspect(
    client: &OidcClient,
    http: &(impl HttpClient + Clock + Random),
    discovery: &Discovery,
    endpoint: &str,
    token: &str,
) -> Result<Introspection, Error> {
    let form = [("token", token), ("token_type_hint", "access_token")];
    let response = client_post(client, http, discovery, endpoint, &form)
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

/// The algorithm of minted tokens (`EDGEWARD_MINT_ALG`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MintAlg {
    /// ECDSA on P-256 with SHA-256 (the default).
    #[default]
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, for downstreams that accept nothing else.
    Rs256,
}

impl MintAlg {
    /// `ES256` or `RS256` (exactly: an allow-list).
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim() {
            "ES256" => Ok(Self::Es256),
            "RS256" => Ok(Self::Rs256),
            other => Err(format!("must be ES256 or RS256, not {other:?}")),
        }
    }

    /// The JWS name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }
}

/// RSA minting keys shorter than this are refused, nor longer than [`RSA_MAX_BITS`] (each
/// mint's cost grows with the cube of the size).
pub use crate::platform::crypto::{MAX_RSA_BITS as RSA_MAX_BITS, MIN_RSA_BITS as RSA_MIN_BITS};

/// The secret half of a [`MintKey`].
enum MintSecret {
    Es256(p256::ecdsa::SigningKey),
    Rs256(Box<rsa::RsaPrivateKey>),
}

/// The worker's signing key (ES256 or RS256), its public JWKS, and its private JWK for the
/// platform's [`Signer`]. `Debug` shows the key id only.
pub struct MintKey {
    kid: String,
    secret: MintSecret,
    /// The private JWK handed to the platform's signer (a secret).
    private_jwk: String,
    /// The public JWKS document.
    jwks: String,
}

impl fmt::Debug for MintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MintKey({}, ***)", self.kid)
    }
}

/// The claims of a minted token besides `exp`, `nbf` and `iat` (RFC 9068 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhantomClaims {
    /// The worker's issuer URL (its origin).
    pub iss: String,
    /// The audience (the upstream API).
    pub aud: String,
    /// Subject, from introspection; the client for tokens without one (client credentials).
    pub sub: String,
    /// The client the token was issued to, from introspection.
    pub client_id: String,
    /// Scopes, from introspection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A fresh identifier: 16 random bytes, base64url.
    pub jti: String,
    /// Confirmation (RFC 7800): for a proof-of-possession client, the SHA-256 thumbprint of
    /// its certificate (`x5t#S256`, RFC 8705). Introspected tokens never have one (a `cnf` in
    /// their answer is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<serde_json::Value>,
}

/// The JWS `typ` of a minted token (RFC 9068 §2.1).
pub const MINTED_TYP: &str = "at+jwt";

/// A phantom token and how long it may be reused (what both cache tiers hold).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Minted {
    /// The compact JWT.
    pub jwt: String,
    /// Until when it may be served from a cache: never after the JWT's own `exp`.
    pub expires_at: u64,
}

impl MintKey {
    /// An ES256 key from `kid:<32-byte P-256 secret scalar, base64url>`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        Self::parse_for(MintAlg::Es256, spec)
    }

    /// A key for `alg` from `kid:<secret>`: for ES256 the 32-byte P-256 secret scalar, for RS256
    /// an RSA private key of 2048 to 4096 bits, DER (PKCS#8 or PKCS#1); base64url or standard
    /// base64, padded or not. The error says what is wrong, never the secret.
    pub fn parse_for(alg: MintAlg, spec: &str) -> Result<Self, String> {
        let (kid, secret) = spec
            .trim()
            .split_once(':')
            .ok_or_else(|| "must be kid:<base64url secret>".to_owned())?;
        if kid.is_empty()
            || !kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            // Never echoed: written the wrong way round (`secret:kid`), it is the secret.
            return Err("the key id (before the colon: kid:secret) must be A-Z a-z 0-9 _ -".into());
        }
        let secret = secret.trim().trim_end_matches('=');
        let bytes = URL_SAFE_NO_PAD
            .decode(secret)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(secret))
            .map_err(|_| "the secret is not base64url (nor base64)".to_owned())?;
        let secret = match alg {
            MintAlg::Es256 => {
                MintSecret::Es256(p256::ecdsa::SigningKey::from_slice(&bytes).map_err(|_| {
                    if rsa_key(&bytes).is_some() {
                        "the secret is an RSA key: set EDGEWARD_MINT_ALG=RS256 to sign with it"
                            .to_owned()
                    } else {
                        "the secret is not a P-256 private key (32 bytes)".to_owned()
                    }
                })?)
            }
            MintAlg::Rs256 => {
                let key = rsa_key(&bytes).ok_or_else(|| {
                    "the secret is not an RSA private key (DER, PKCS#8 or PKCS#1, base64)"
                        .to_owned()
                })?;
                // The modulus's own length, not its byte length rounded up (2,047 bits is too short).
                let bits = rsa::traits::PublicKeyParts::n(&key).bits();
                if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
                    return Err(format!(
                        "the RSA key has {bits} bits; RS256 needs {RSA_MIN_BITS} to {RSA_MAX_BITS}"
                    ));
                }
                if rsa::traits::PrivateKeyParts::primes(&key).len() != 2 {
                    return Err("the RSA key has more than two primes".into());
                }
                MintSecret::Rs256(Box::new(key))
            }
        };
        let (public, private) = jwks_of(&secret)?;
        let public_jwk = |mut jwk: serde_json::Value| {
            jwk["kid"] = kid.into();
            jwk["use"] = "sig".into();
            jwk["alg"] = alg.name().into();
            jwk
        };
        Ok(Self {
            kid: kid.to_owned(),
            jwks: serde_json::json!({ "keys": [public_jwk(public.clone())] }).to_string(),
            private_jwk: private.to_string(),
            secret,
        })
    }

    /// Keys from `kid:<secret>[,kid:<secret>…]` ([`MintKey::parse_for`] each): the first signs;
    /// the others are retired keys, only their public halves kept, in the JWKS beside it, so that
    /// what they signed still verifies at the APIs until it expires (a rotation: `new,old`, then
    /// `new` once the old tokens are past their lifetime). Key ids must differ.
    pub fn parse_rotation(alg: MintAlg, spec: &str) -> Result<Self, String> {
        let several = spec.contains(',');
        let mut keys: Vec<Self> = Vec::new();
        for (i, part) in spec.split(',').enumerate() {
            let numbered = |e: String| {
                if several {
                    format!("key {}: {e}", i + 1)
                } else {
                    e
                }
            };
            let key = Self::parse_for(alg, part).map_err(numbered)?;
            if keys.iter().any(|k| k.kid == key.kid) {
                // The id is not echoed (written the wrong way round, it is a secret).
                return Err(numbered("its key id is an earlier key's".into()));
            }
            keys.push(key);
        }
        let mut keys = keys.into_iter();
        let mut signing = keys
            .next()
            .ok_or_else(|| "must be kid:<base64url secret>".to_owned())?;
        let retired: Vec<Self> = keys.collect();
        if !retired.is_empty() {
            let public = |key: &Self| -> Vec<serde_json::Value> {
                serde_json::from_str::<serde_json::Value>(&key.jwks)
                    .ok()
                    .and_then(|doc| doc.get("keys").and_then(|k| k.as_array()).cloned())
                    .unwrap_or_default()
            };
            let all: Vec<serde_json::Value> = std::iter::once(&signing)
                .chain(&retired)
                .flat_map(public)
                .collect();
            signing.jwks = serde_json::json!({ "keys": all }).to_string();
        }
        Ok(signing)
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm it signs with.
    pub fn alg(&self) -> MintAlg {
        match self.secret {
            MintSecret::Es256(_) => MintAlg::Es256,
            MintSecret::Rs256(_) => MintAlg::Rs256,
        }
    }

    /// The public JWKS document (`/.well-known/jwks.json`).
    pub fn jwks_json(&self) -> String {
        self.jwks.clone()
    }

    /// Mints an RFC 9068 access token (`typ: at+jwt`) for an active token whose answer passed
    /// [`TokenFacts::check`]: `exp` = min(token's exp, now + max_ttl), `iat` = `nbf` = now, a
    /// fresh `jti` from `random`. The answer must name the client (RFC 9068 requires
    /// `client_id`); without a `sub`, the client is the subject, as RFC 9068 §2.2 suggests for
    /// client-credentials tokens.
    pub fn mint<R: Random + ?Sized>(
        &self,
        introspection: &Introspection,
        issuer: &str,
        audience: &str,
        now: u64,
        max_ttl: u64,
        random: &R,
    ) -> Result<Minted, Error> {
        let (input, expires_at) =
            self.signing_input(introspection, issuer, audience, now, max_ttl, random)?;
        let signature = self.sign_in_rust(input.as_bytes())?;
        Ok(finish(input, &signature, expires_at))
    }

    /// [`MintKey::mint`], signed by the platform's [`Signer`] when it can (WebCrypto on
    /// Cloudflare), in Rust when it cannot. A signature of the wrong length is not used: the
    /// token is then signed in Rust.
    pub async fn mint_with<P: Random + Signer + ?Sized>(
        &self,
        introspection: &Introspection,
        issuer: &str,
        audience: &str,
        now: u64,
        max_ttl: u64,
        ports: &P,
    ) -> Result<Minted, Error> {
        let (input, expires_at) =
            self.signing_input(introspection, issuer, audience, now, max_ttl, ports)?;
        let signature = match ports
            .sign_message(self.alg().name(), &self.private_jwk, input.as_bytes())
            .await
        {
            Some(signature) if signature.len() == self.signature_len() => signature,
            _ => self.sign_in_rust(input.as_bytes())?,
        };
        Ok(finish(input, &signature, expires_at))
    }

    /// The length of a signature: 64 bytes (r‖s) for ES256, the modulus's for RS256.
    fn signature_len(&self) -> usize {
        match &self.secret {
            MintSecret::Es256(_) => 64,
            MintSecret::Rs256(key) => rsa::traits::PublicKeyParts::size(key.as_ref()),
        }
    }

    /// The signature of `input`, in Rust (the format WebCrypto gives too).
    fn sign_in_rust(&self, input: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.secret {
            MintSecret::Es256(key) => Ok(Es256.sign(key, input).to_bytes().to_vec()),
            MintSecret::Rs256(key) => {
                let digest = Sha256::digest(input);
                // Blinded with the OS's (on wasm: the host's) randomness, as jwt-compact does.
                key.sign_with_rng(
                    &mut rand_core::OsRng,
                    rsa::Pkcs1v15Sign::new::<Sha256>(),
                    &digest,
                )
                .map_err(|_| Error::Internal("minting the phantom token failed"))
            }
        }
    }

    /// The JWS signing input (`header.claims`, base64url) of the token minted for an active
    /// token whose answer passed [`TokenFacts::check`], and when it expires.
    fn signing_input<R: Random + ?Sized>(
        &self,
        introspection: &Introspection,
        issuer: &str,
        audience: &str,
        now: u64,
        max_ttl: u64,
        random: &R,
    ) -> Result<(String, u64), Error> {
        let token = &introspection.token;
        let expires_at = token
            .exp
            .map_or(now + max_ttl, |exp| exp.min(now + max_ttl));
        if expires_at <= now {
            return Err(Error::Unauthorized);
        }
        let client_id = token.client_id.clone().ok_or_else(|| {
            Error::TokenRefused(
                "the answer names no client (client_id), which a minted token needs".into(),
            )
        })?;
        let mut id = [0u8; 16];
        random
            .fill(&mut id)
            .map_err(|_| Error::Internal("no randomness for the minted token's jti"))?;
        let at = |secs: u64| {
            Utc.timestamp_opt(i64::try_from(secs).unwrap_or(i64::MAX), 0)
                .single()
        };
        let mut claims = Claims::new(PhantomClaims {
            iss: issuer.to_owned(),
            aud: audience.to_owned(),
            sub: token.sub.clone().unwrap_or_else(|| client_id.clone()),
            client_id,
            scope: token.scope.clone(),
            jti: URL_SAFE_NO_PAD.encode(id),
            cnf: token.cnf.clone(),
        });
        claims.issued_at = at(now);
        claims.not_before = at(now);
        claims.expiration = at(expires_at);
        let header = serde_json::json!({
            "alg": self.alg().name(),
            "kid": self.kid,
            "typ": MINTED_TYP,
        });
        let claims = serde_json::to_vec(&claims)
            .map_err(|_| Error::Internal("minting the phantom token failed"))?;
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims)
        );
        Ok((input, expires_at))
    }
}

/// The compact JWT: the signing input, a dot, the signature (base64url).
fn finish(input: String, signature: &[u8], expires_at: u64) -> Minted {
    let mut jwt = input;
    jwt.push('.');
    jwt.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Minted { jwt, expires_at }
}

/// An RSA private key from DER, PKCS#8 or PKCS#1.
fn rsa_key(der: &[u8]) -> Option<rsa::RsaPrivateKey> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    rsa::RsaPrivateKey::from_pkcs8_der(der)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_der(der))
        .ok()
}

/// The public JWK (no `kid`, `use`, `alg` yet) and the private JWK of `secret`.
fn jwks_of(secret: &MintSecret) -> Result<(serde_json::Value, serde_json::Value), String> {
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    match secret {
        MintSecret::Es256(key) => {
            let point = key.verifying_key().to_encoded_point(false);
            let coordinate = |c: Option<&p256::FieldBytes>| c.map(|b| b64(b)).unwrap_or_default();
            let public = serde_json::json!({
                "kty": "EC",
                "crv": "P-256",
                "x": coordinate(point.x()),
                "y": coordinate(point.y()),
            });
            let mut private = public.clone();
            private["d"] = b64(&key.to_bytes()).into();
            Ok((public, private))
        }
        MintSecret::Rs256(key) => {
            use rsa::traits::{PrivateKeyParts, PublicKeyParts};
            let int = |n: &rsa::BigUint| b64(&n.to_bytes_be());
            let public = serde_json::json!({
                "kty": "RSA",
                "n": int(key.n()),
                "e": int(key.e()),
            });
            let missing = || "the RSA key lacks its CRT parameters".to_owned();
            let (p, q) = match key.primes() {
                [p, q] => (p, q),
                _ => return Err("the RSA key has more than two primes".into()),
            };
            let mut private = public.clone();
            private["d"] = int(key.d()).into();
            private["p"] = int(p).into();
            private["q"] = int(q).into();
            private["dp"] = int(key.dp().ok_or_else(missing)?).into();
            private["dq"] = int(key.dq().ok_or_else(missing)?).into();
            private["qi"] = int(&key.crt_coefficient().ok_or_else(missing)?).into();
            Ok((public, private))
        }
    }
}

/// Where a phantom token is cached, in both tiers: the SHA-256 of the mode (which names the
/// minting key, so a new key starts a new cache), the audience, the rules the token was checked
/// under (the route's accepted audiences and the [`TokenPolicy`], so a token accepted under one
/// route's or configuration's rules is never served under stricter ones, and the caller: the
/// session's user or a bearer client, since a `sub`-less answer is minted for the session's
/// user) and the opaque token. The token itself is never a key, so neither tier can give one
/// back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key for `token` exchanged in `mode` for `audience` under `rules`: the SHA-256, hex,
    /// of `mode`, `audience`, `rules` and `token`, each after a newline but the first.
    pub fn new(mode: &str, audience: &str, rules: &str, token: &str) -> Self {
        Self::with_prefix(&CacheKeyPrefix::new(mode, audience, rules), token)
    }

    /// The key for `token` under a prefix hashed before ([`CacheKey::new`]'s value).
    pub fn with_prefix(prefix: &CacheKeyPrefix, token: &str) -> Self {
        Self::with_prefix_parts(prefix, &[token])
    }

    /// [`CacheKey::with_prefix`] for the token written as `parts` one after another (the
    /// same key as for their concatenation, without making it).
    pub fn with_prefix_parts(prefix: &CacheKeyPrefix, parts: &[&str]) -> Self {
        let mut hash = prefix.0.clone();
        for part in parts {
            hash.update(part.as_bytes());
        }
        Self(hex(&hash.finalize()))
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The part of a [`CacheKey`] that is the same for every token of one route (mode, audience,
/// rules), hashed once: a key then hashes only the token on top of it.
#[derive(Debug, Clone)]
pub struct CacheKeyPrefix(Sha256);

impl CacheKeyPrefix {
    /// The prefix of the keys of tokens exchanged in `mode` for `audience` under `rules`.
    pub fn new(mode: &str, audience: &str, rules: &str) -> Self {
        let mut hash = Sha256::new();
        for part in [mode, audience, rules] {
            hash.update(part.as_bytes());
            hash.update(b"\n");
        }
        Self(hash)
    }
}

/// The cache's entries and the order they were put in. Each entry carries the number it was
/// put with; `order` may hold numbers of entries since replaced, removed or expired, which are
/// skipped when met and swept out when `order` grows past twice the capacity (so each `put`
/// costs constant time, amortised).
#[derive(Debug, Default)]
struct Entries {
    map: HashMap<CacheKey, (Minted, u64)>,
    order: VecDeque<(u64, CacheKey)>,
    next: u64,
}

impl Entries {
    /// Removes the entry put first that is still held.
    fn evict_first(&mut self) {
        while let Some((number, key)) = self.order.pop_front() {
            if self.map.get(&key).is_some_and(|(_, n)| *n == number) {
                self.map.remove(&key);
                return;
            }
        }
    }

    fn insert(&mut self, key: &CacheKey, minted: Minted, capacity: usize) {
        let number = self.next;
        self.next += 1;
        self.map.insert(key.clone(), (minted, number));
        self.order.push_back((number, key.clone()));
        if self.order.len() > capacity.saturating_mul(2) {
            let map = &self.map;
            self.order
                .retain(|(number, key)| map.get(key).is_some_and(|(_, n)| n == number));
        }
    }
}

/// Phantom tokens by [`CacheKey`], at most `capacity` of them: the isolate's memory tier. When
/// full, the entry put first makes room (tokens live at most `EDGEWARD_PHANTOM_MAX_TTL`, so the
/// oldest is about the closest to expiry), in constant time per entry.
#[derive(Debug)]
pub struct PhantomCache {
    capacity: usize,
    entries: RefCell<Entries>,
    /// Each route's [`CacheKeyPrefix`], by provider id and route prefix (the configuration's:
    /// a handful, made once per isolate).
    prefixes: RefCell<Vec<((String, String), CacheKeyPrefix)>>,
}

impl PhantomCache {
    /// An empty cache holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: RefCell::new(Entries::default()),
            prefixes: RefCell::new(Vec::new()),
        }
    }

    /// The key of the token written as `token` (its parts one after another) on the route
    /// `route` (the provider's id and the route's prefix); `prefix` makes that route's
    /// [`CacheKeyPrefix`] the first time it is asked for.
    pub fn key(
        &self,
        (provider, route): (&str, &str),
        prefix: impl FnOnce() -> CacheKeyPrefix,
        token: &[&str],
    ) -> CacheKey {
        let mut prefixes = self.prefixes.borrow_mut();
        if let Some((_, known)) = prefixes
            .iter()
            .find(|((p, r), _)| p == provider && r == route)
        {
            return CacheKey::with_prefix_parts(known, token);
        }
        let made = prefix();
        let key = CacheKey::with_prefix_parts(&made, token);
        prefixes.push(((provider.to_owned(), route.to_owned()), made));
        key
    }

    /// The token cached under `key`, if still valid at `now`.
    pub fn get(&self, key: &CacheKey, now: u64) -> Option<Minted> {
        let mut entries = self.entries.borrow_mut();
        match entries.map.get(key) {
            Some((m, _)) if m.expires_at > now => Some(m.clone()),
            Some(_) => {
                entries.map.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remembers `minted` under `key`; when full, the entry put first makes room.
    pub fn put(&self, key: &CacheKey, minted: Minted) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.borrow_mut();
        if !entries.map.contains_key(key) && entries.map.len() >= self.capacity {
            entries.evict_first();
        }
        entries.insert(key, minted, self.capacity);
    }

    /// Forgets the entry under `key`.
    pub fn remove(&self, key: &CacheKey) {
        self.entries.borrow_mut().map.remove(key);
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.borrow().map.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().map.is_empty()
    }
}

/// What `introspect-jwt` asks for: Curity's `application/jwt` first, RFC 9701 second.
pub const JWT_ACCEPT: &str = "application/jwt, application/token-introspection+jwt";

/// What `introspect-jwt` asks for again when a provider answered [`JWT_ACCEPT`] with JSON for
/// an active token: Glewlwyd answers with a JWT only when `Accept` is exactly one JWT type
/// (`application/jwt`: its flat claims, which an API can take as they are).
pub const JWT_ACCEPT_ONE: &str = "application/jwt";

/// `introspect-jwt`: asks the IdP to answer introspection of `token` with a signed JWT and
/// returns it unchecked (see [`read_introspection_jwt`]). An inactive token (`204 No Content`,
/// or JSON `active: false`) is [`Error::Unauthorized`]. A JSON answer for an active token is
/// asked once more with [`JWT_ACCEPT_ONE`]; JSON again means the provider cannot do this mode,
/// which the error says.
pub async fn introspect_jwt(
    client: &OidcClient,
    http: &(impl HttpClient + Clock + Random),
    discovery: &Discovery,
    endpoint: &str,
    token: &str,
) -> Result<String, Error> {
    match introspect_jwt_accepting(client, http, discovery, endpoint, token, JWT_ACCEPT).await {
        // An active token answered in JSON: ask once more for one type alone (a provider
        // that compares `Accept` as a whole, as Glewlwyd does).
        Err(IntrospectJwtAnswer::Json) => {
            match introspect_jwt_accepting(client, http, discovery, endpoint, token, JWT_ACCEPT_ONE)
                .await
            {
                Err(IntrospectJwtAnswer::Json) => Err(Error::IdpUnavailable(
                    "the provider answered introspection with JSON, not a JWT: it does not \
                     support introspect-jwt (use introspect-mint)"
                        .into(),
                )),
                Err(IntrospectJwtAnswer::Failed(e)) => Err(e),
                Ok(jwt) => Ok(jwt),
            }
        }
        Err(IntrospectJwtAnswer::Failed(e)) => Err(e),
        Ok(jwt) => Ok(jwt),
    }
}

/// Why one introspection request of `introspect-jwt` gave no JWT.
enum IntrospectJwtAnswer {
    /// JSON saying the token is active: the provider did not answer with a JWT.
    Json,
    /// Anything else: an inactive token, a failing provider.
    Failed(Error),
}

/// One introspection request of [`introspect_jwt`] with `accept`.
async fn introspect_jwt_accepting(
    client: &OidcClient,
    http: &(impl HttpClient + Clock + Random),
    discovery: &Discovery,
    endpoint: &str,
    token: &str,
    accept: &str,
) -> Result<String, IntrospectJwtAnswer> {
    let failed = |e| IntrospectJwtAnswer::Failed(e);
    let form = [("token", token), ("token_type_hint", "access_token")];
    let response = client_post_accepting(client, http, discovery, endpoint, &form, accept)
        .await
        .map_err(|e| failed(Error::IdpUnavailable(format!("introspection: {e:?}"))))?;
    let status = response.status();
    if status == http::StatusCode::NO_CONTENT {
        return Err(failed(Error::Unauthorized));
    }
    if !status.is_success() {
        return Err(failed(Error::IdpUnavailable(format!(
            "introspection answered HTTP {}",
            status.as_u16()
        ))));
    }
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if media_type == "application/jwt" || media_type == "application/token-introspection+jwt" {
        let jwt = std::str::from_utf8(response.body()).map_err(|_| {
            failed(Error::IdpUnavailable(
                "the introspection JWT is not text".into(),
            ))
        })?;
        return Ok(jwt.trim().to_owned());
    }
    match serde_json::from_slice::<Introspection>(response.body()) {
        Ok(answer) if !answer.active => Err(failed(Error::Unauthorized)),
        Ok(_) => Err(IntrospectJwtAnswer::Json),
        Err(_) => Err(failed(Error::IdpUnavailable(format!(
            "introspection answered {media_type:?}, neither a JWT nor JSON"
        )))),
    }
}

/// The claims of an introspection JWT that matter here. Curity's style is the access token's
/// own claims at the top level (`exp` is the token's expiry, `active` implied); RFC 9701 nests
/// the RFC 7662 answer in `token_introspection` (the top level then describes the JWT itself).
/// `exp`, `nbf` and `iat` are jwt-compact's, so `top.exp` and `top.nbf` stay empty.
#[derive(Debug, Deserialize)]
struct IntrospectionJwtClaims {
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    token_introspection: Option<Introspection>,
    #[serde(flatten)]
    top: TokenFacts,
}

/// Why an introspection JWT was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntrospectionJwtError {
    /// No key of the IdP's JWKS has its `kid` (the caller may re-fetch the keys once).
    UnknownKey,
    /// The token is not active or has expired: the request is unauthorized.
    Inactive,
    /// The token is active but not one this route may have ([`TokenFacts::check`]): the request
    /// is unauthorized; the text is the cause, for the log.
    Refused(String),
    /// It is not a valid answer from this IdP (signature, issuer, no expiry).
    Invalid(String),
}

/// Checks an introspection JWT from [`introspect_jwt`]: signature against the IdP's `jwks`
/// (RS256/ES256), `iss` = the configured issuer, the JWT's own `nbf`, active, not expired, and
/// the token's facts against `rules` (the top-level claims in Curity's style, the nested answer
/// in RFC 9701's). Returns it with the time until which it may be cached: min(token expiry,
/// `now + max_ttl`).
pub async fn read_introspection_jwt<V: SignatureVerifier + ?Sized>(
    jwt: &str,
    jwks: &Jwks,
    rules: &TokenRules<'_>,
    max_ttl: u64,
    platform: &V,
) -> Result<Minted, IntrospectionJwtError> {
    let now = rules.now;
    let token = crate::oidc::idtoken::verify::<IntrospectionJwtClaims, V>(jwt, jwks, platform)
        .await
        .map_err(|e| match e {
            IdTokenError::UnknownKey => IntrospectionJwtError::UnknownKey,
            other => IntrospectionJwtError::Invalid(format!("introspection JWT: {other}")),
        })?;
    let claims = token.claims();
    let custom = &claims.custom;
    match custom.top.iss.as_deref() {
        Some(iss) if iss == rules.issuer => {}
        Some(_) => {
            return Err(IntrospectionJwtError::Invalid(
                "the introspection JWT comes from another issuer".into(),
            ))
        }
        None => {
            return Err(IntrospectionJwtError::Invalid(
                "introspection JWT: it has no iss".into(),
            ))
        }
    }
    let seconds =
        |t: Option<chrono::DateTime<Utc>>| t.and_then(|t| u64::try_from(t.timestamp()).ok());
    let (jwt_exp, jwt_nbf) = (seconds(claims.expiration), seconds(claims.not_before));
    let token_exp = match &custom.token_introspection {
        Some(nested) if !nested.active => return Err(IntrospectionJwtError::Inactive),
        Some(nested) => {
            // The JWT's own nbf, then the token's facts.
            not_before(jwt_nbf, now)
                .and_then(|()| nested.token.check(rules))
                .map_err(IntrospectionJwtError::Refused)?;
            nested.token.exp.or(jwt_exp)
        }
        None if custom.active == Some(false) => return Err(IntrospectionJwtError::Inactive),
        None => {
            let facts = TokenFacts {
                exp: jwt_exp,
                nbf: jwt_nbf,
                ..custom.top.clone()
            };
            // An RFC 9068 access token says what it is in its header.
            let at_jwt = token.header().token_type.as_deref().is_some_and(|typ| {
                typ.eq_ignore_ascii_case(MINTED_TYP)
                    || typ.eq_ignore_ascii_case("application/at+jwt")
            });
            facts
                .check_marked(rules, at_jwt)
                .map_err(IntrospectionJwtError::Refused)?;
            jwt_exp
        }
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
    use jwt_compact::{AlgorithmExt, Header, UntrustedToken};

    use super::*;
    use crate::platform::crypto::token_key;

    /// The P-256 key of an ES256 [`MintKey`].
    fn es256(key: &MintKey) -> &p256::ecdsa::SigningKey {
        match &key.secret {
            MintSecret::Es256(key) => key,
            MintSecret::Rs256(_) => panic!("not an ES256 key"),
        }
    }

    /// Reading with every signature checked in Rust, under the default rules for a route whose
    /// audience is `orders`.
    fn read_introspection_jwt(
        jwt: &str,
        jwks: &Jwks,
        issuer: &str,
        now: u64,
        max_ttl: u64,
    ) -> Result<Minted, IntrospectionJwtError> {
        let policy = TokenPolicy::default();
        let audiences = ["orders".to_owned(), "edgeward".to_owned()];
        let rules = TokenRules {
            policy: &policy,
            issuer,
            own_client_id: "edgeward",
            audiences: &audiences,
            client_id_required: false,
            session_sub: None,
            now,
        };
        let read =
            super::read_introspection_jwt(jwt, jwks, &rules, max_ttl, &crate::RustSignatures);
        futures_executor::block_on(read)
    }

    /// Counting bytes: enough randomness for tests.
    struct Counter(std::cell::Cell<u8>);

    impl Random for Counter {
        fn fill(&self, dest: &mut [u8]) -> Result<(), crate::platform::ports::RandomUnavailable> {
            for b in dest {
                *b = self.0.get();
                self.0.set(self.0.get().wrapping_add(1));
            }
            Ok(())
        }
    }

    struct NoRandom;

    impl Random for NoRandom {
        fn fill(&self, _: &mut [u8]) -> Result<(), crate::platform::ports::RandomUnavailable> {
            Err(crate::platform::ports::RandomUnavailable)
        }
    }

    // 32 bytes of 0x01: a valid P-256 scalar.
    const KEY: &str = "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
    const NOW: u64 = 1_700_000_000;

    fn active(exp: Option<u64>) -> Introspection {
        Introspection {
            active: true,
            token: TokenFacts {
                sub: Some("demo".into()),
                scope: Some("orders:read".into()),
                client_id: Some("edgeward".into()),
                exp,
                token_type: Some("Bearer".into()),
                ..TokenFacts::default()
            },
        }
    }

    #[test]
    fn minted_tokens_verify_against_the_published_jwks_and_never_outlive_the_token() {
        let key = MintKey::parse(KEY).unwrap();
        let jwks = crate::oidc::idtoken::Jwks::parse(key.jwks_json().as_bytes()).unwrap();
        assert_eq!(jwks.len(), 1);
        let random = Counter(std::cell::Cell::new(0));

        let table = [
            (Some(NOW + 3600), 60, NOW + 60), // capped by max_ttl
            (Some(NOW + 30), 60, NOW + 30),   // capped by the token's exp
            (None, 60, NOW + 60),             // no exp: max_ttl
        ];
        for (exp, max_ttl, expected) in table {
            let minted = key
                .mint(
                    &active(exp),
                    "https://app.example",
                    "orders",
                    NOW,
                    max_ttl,
                    &random,
                )
                .unwrap();
            assert_eq!(minted.expires_at, expected, "{exp:?}");
            let untrusted = UntrustedToken::new(&minted.jwt).unwrap();
            assert_eq!(untrusted.algorithm(), "ES256");
            assert_eq!(untrusted.header().token_type.as_deref(), Some(MINTED_TYP));
            assert_eq!(untrusted.header().key_id.as_deref(), Some("m1"));
            let public = es256(&key).verifying_key();
            let token = Es256
                .validator::<PhantomClaims>(public)
                .validate(&untrusted)
                .unwrap();
            let claims = token.claims();
            assert_eq!(claims.custom.sub, "demo");
            assert_eq!(claims.custom.client_id, "edgeward");
            assert_eq!(claims.custom.jti.len(), 22, "16 bytes, base64url");
            assert_eq!(claims.not_before, claims.issued_at);
            assert_eq!(claims.custom.scope.as_deref(), Some("orders:read"));
            assert_eq!(claims.custom.aud, "orders");
            assert_eq!(claims.custom.iss, "https://app.example");
            assert_eq!(claims.expiration.unwrap().timestamp() as u64, expected);
        }
        // A token already expired mints nothing; nor does one without a client, or a platform
        // without randomness.
        let err = key
            .mint(&active(Some(NOW)), "i", "a", NOW, 60, &random)
            .unwrap_err();
        assert_eq!(err, Error::Unauthorized);
        let mut anonymous = active(None);
        anonymous.token.client_id = None;
        let err = key
            .mint(&anonymous, "i", "a", NOW, 60, &random)
            .unwrap_err();
        assert!(matches!(err, Error::TokenRefused(_)), "{err:?}");
        let err = key
            .mint(&active(None), "i", "a", NOW, 60, &NoRandom)
            .unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err:?}");
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

    /// A rotation `new,old`: the new key signs; the JWKS publishes both, so what either signed
    /// verifies; no private part of either is published; a repeated key id, or a bad key in
    /// the list, is refused with its place (never the key).
    #[test]
    fn a_rotation_signs_with_the_first_key_and_publishes_both() {
        const OLD: &str = KEY;
        const NEW: &str = "m2:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";
        let random = Counter(std::cell::Cell::new(0));
        let mint = |key: &MintKey| {
            key.mint(
                &active(Some(NOW + 60)),
                "https://app.example",
                "orders",
                NOW,
                60,
                &random,
            )
            .unwrap()
            .jwt
        };
        let old = MintKey::parse(OLD).unwrap();
        let rotating = MintKey::parse_rotation(MintAlg::Es256, &format!("{NEW},{OLD}")).unwrap();
        assert_eq!(rotating.kid(), "m2");
        assert!(
            !rotating.jwks_json().contains("\"d\""),
            "no private part in the JWKS"
        );
        let jwks = crate::oidc::idtoken::Jwks::parse(rotating.jwks_json().as_bytes()).unwrap();
        assert_eq!(jwks.len(), 2);
        for (jwt, kid) in [(mint(&rotating), "m2"), (mint(&old), "m1")] {
            assert_eq!(
                UntrustedToken::new(&jwt)
                    .unwrap()
                    .header()
                    .key_id
                    .as_deref(),
                Some(kid)
            );
            let checked = crate::oidc::idtoken::verify::<serde_json::Value, _>(
                &jwt,
                &jwks,
                &crate::RustSignatures,
            );
            assert!(
                futures_executor::block_on(checked).is_ok(),
                "{kid} verifies"
            );
        }
        // After the rotation the old key is gone from the JWKS.
        let done = MintKey::parse_rotation(MintAlg::Es256, NEW).unwrap();
        let jwks = crate::oidc::idtoken::Jwks::parse(done.jwks_json().as_bytes()).unwrap();
        assert_eq!(jwks.len(), 1);
        let stale = mint(&old);
        let checked = crate::oidc::idtoken::verify::<serde_json::Value, _>(
            &stale,
            &jwks,
            &crate::RustSignatures,
        );
        assert!(futures_executor::block_on(checked).is_err());

        let twice = MintKey::parse_rotation(MintAlg::Es256, &format!("{OLD},{OLD}")).unwrap_err();
        assert_eq!(twice, "key 2: its key id is an earlier key's");
        let bad = MintKey::parse_rotation(MintAlg::Es256, &format!("{NEW},m1:***")).unwrap_err();
        assert!(bad.starts_with("key 2: ") && !bad.contains("AgIC"), "{bad}");
    }

    /// A key is the SHA-256 of the four parts joined by newlines, whether the prefix is hashed
    /// anew or remembered per route; each route remembers its own.
    #[test]
    fn cache_keys_hash_the_joined_parts_with_or_without_a_remembered_prefix() {
        let joined = crate::platform::crypto::token_key("mint:m1\norders\nrules\nopaque-1");
        assert_eq!(
            CacheKey::new("mint:m1", "orders", "rules", "opaque-1").as_str(),
            joined
        );
        let cache = PhantomCache::new(4);
        let made = std::cell::Cell::new(0);
        let prefix = |audience: &'static str| {
            let made = &made;
            move || {
                made.set(made.get() + 1);
                CacheKeyPrefix::new("mint:m1", audience, "rules")
            }
        };
        for _ in 0..3 {
            assert_eq!(
                cache
                    .key(("p", "/api/orders/"), prefix("orders"), &["opaque", "-1"])
                    .as_str(),
                joined
            );
        }
        assert_eq!(made.get(), 1, "one prefix per route, made once");
        assert_eq!(
            cache.key(("p", "/api/billing/"), prefix("billing"), &["opaque-1"]),
            CacheKey::new("mint:m1", "billing", "rules", "opaque-1")
        );
        assert_eq!(
            cache.key(("p", "/api/orders/"), prefix("orders"), &["opaque-2"]),
            CacheKey::new("mint:m1", "orders", "rules", "opaque-2")
        );
        assert_eq!(made.get(), 2);
        // Another provider's sessions on the same route: a prefix of its own.
        let _ = cache.key(("q", "/api/orders/"), prefix("orders"), &["opaque-1"]);
        assert_eq!(made.get(), 3);
    }

    #[test]
    fn the_cache_keys_by_hash_expires_and_stays_bounded() {
        let cache = PhantomCache::new(2);
        let minted = |exp| Minted {
            jwt: format!("jwt-{exp}"),
            expires_at: exp,
        };
        let key = |token: &str| CacheKey::new("mint-m1", "orders", "rules", token);
        cache.put(&key("opaque-1"), minted(NOW + 10));
        assert_eq!(
            cache.get(&key("opaque-1"), NOW).unwrap().jwt,
            format!("jwt-{}", NOW + 10)
        );
        // The key is a digest of mode, audience and token: none of them shows.
        assert_eq!(key("opaque-1").as_str().len(), 64);
        assert!(!key("opaque-1").as_str().contains("opaque"));
        assert_eq!(
            key("opaque-1"),
            CacheKey(token_key("mint-m1\norders\nrules\nopaque-1"))
        );
        for other in [
            CacheKey::new("mint-m2", "orders", "rules", "opaque-1"),
            CacheKey::new("mint-m1", "billing", "rules", "opaque-1"),
            CacheKey::new("mint-m1", "orders", "other rules", "opaque-1"),
        ] {
            assert_ne!(key("opaque-1"), other);
        }
        assert_eq!(
            token_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Expired entries are not served.
        assert_eq!(cache.get(&key("opaque-1"), NOW + 10), None);
        assert!(cache.is_empty());
        // Bounded: the entry put first makes room (one put again counts from then).
        cache.put(&key("a"), minted(NOW + 100));
        cache.put(&key("b"), minted(NOW + 50));
        cache.put(&key("a"), minted(NOW + 110));
        cache.put(&key("c"), minted(NOW + 200));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&key("b"), NOW).is_none());
        assert_eq!(cache.get(&key("a"), NOW).unwrap().expires_at, NOW + 110);
        assert!(cache.get(&key("c"), NOW).is_some());
        // Entries removed or replaced leave numbers behind in the order; they are swept, so
        // the order stays within twice the capacity however long the isolate runs.
        for i in 0..1_000 {
            let k = key(&format!("churn-{i}"));
            cache.put(&k, minted(NOW + 100));
            cache.remove(&k);
            cache.put(&key("c"), minted(NOW + 200 + i));
        }
        assert!(
            cache.entries.borrow().order.len() <= 4,
            "{}",
            cache.entries.borrow().order.len()
        );
        assert!(cache.get(&key("c"), NOW).is_some());
        // Capacity zero disables caching.
        let off = PhantomCache::new(0);
        off.put(&key("a"), minted(NOW + 100));
        assert!(off.get(&key("a"), NOW).is_none());
    }

    /// Signs `claims` as the IdP would (ES256, kid "idp").
    fn idp_jwt(claims: serde_json::Value) -> (String, Jwks) {
        let key = MintKey::parse("idp:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI").unwrap();
        let header = Header::empty().with_key_id("idp");
        let jwt = Es256
            .token(&header, &Claims::new(claims), es256(&key))
            .unwrap();
        (jwt, Jwks::parse(key.jwks_json().as_bytes()).unwrap())
    }

    #[test]
    fn introspection_jwts_in_both_styles() {
        use serde_json::json;
        let iss = "https://idp.example";
        // Curity style: the access token's claims, its exp at the top.
        let (jwt, jwks) =
            idp_jwt(json!({"iss": iss, "sub": "demo", "exp": NOW + 300, "token_type": "Bearer"}));
        let got = read_introspection_jwt(&jwt, &jwks, iss, NOW, 60).unwrap();
        assert_eq!(got.jwt, jwt, "forwarded as it came");
        assert_eq!(got.expires_at, NOW + 60, "cached no longer than max_ttl");
        let got = read_introspection_jwt(&jwt, &jwks, iss, NOW, 3600).unwrap();
        assert_eq!(got.expires_at, NOW + 300, "nor beyond the token's exp");
        // RFC 9701: the answer nested in token_introspection.
        let (jwt, jwks) = idp_jwt(json!({"iss": iss, "iat": NOW,
            "token_introspection": {"active": true, "sub": "demo", "exp": NOW + 30,
                "token_type": "Bearer"}}));
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
            (
                json!({"iss": iss, "sub": "demo", "exp": NOW, "token_type": "Bearer"}),
                "Inactive",
            ),
            (
                json!({"iss": "https://evil.example", "exp": NOW + 300}),
                "another issuer",
            ),
            (
                json!({"iss": iss, "sub": "demo", "token_type": "Bearer"}),
                "no expiry",
            ),
            // The token's facts are checked (TokenFacts::check, tested in tests/phantom_checks.rs).
            (json!({"iss": iss, "exp": NOW + 300}), "Refused"),
            (
                json!({"iss": iss, "iat": NOW, "token_introspection": {"active": true,
                    "exp": NOW + 300, "token_type": "Bearer", "aud": "billing"}}),
                "Refused",
            ),
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
