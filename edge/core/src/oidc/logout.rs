//! OpenID Connect Back-Channel Logout 1.0: the logout token the identity provider posts when a
//! session (`sid`) or every session of a user (`sub`) has ended there.
//!
//! [`validate`] checks it: signature against the IdP's keys (RS256/ES256), `typ` `logout+jwt`
//! (or `JWT`) when present, `iss`, `aud` containing our client id, `iat` within the last
//! [`MAX_AGE`] seconds (and not in the future beyond the leeway), `exp` when present, the
//! back-channel logout member in `events`, `sub` or `sid`, a `jti`, and no `nonce`. What the
//! resulting [`LogoutOrder`] ends is the session registry's business.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::idtoken::{one_or_many, verify, IdTokenError, Jwks, LEEWAY};
use crate::platform::ports::SignatureVerifier;

/// The `events` member that makes a JWT a logout token.
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Oldest logout token accepted, seconds: a `jti` is remembered this long (plus leeway).
pub const MAX_AGE: u64 = 600;

#[derive(Debug, Deserialize)]
struct LogoutClaims {
    iss: String,
    #[serde(deserialize_with = "one_or_many")]
    aud: Vec<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    events: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    nonce: Option<Value>,
}

/// A validated logout: what to end, and the token's id for replay detection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutOrder {
    /// The token's `jti`.
    pub jti: String,
    /// The IdP session to end.
    pub sid: Option<String>,
    /// The user whose sessions (started before `issued_at`) end.
    pub sub: Option<String>,
    /// The token's `iat`.
    pub issued_at: u64,
}

/// Why a logout token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutTokenError {
    /// No key of the IdP's JWKS has its `kid` (the caller may re-fetch the keys once).
    UnknownKey,
    /// Anything else, in words.
    Invalid(String),
}

/// The `iss` a logout token claims, read without checking anything: only to choose which
/// provider's keys and rules [`validate`] it with (on one worker with several providers).
pub fn claimed_issuer(token: &str) -> Option<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    let payload = token.split('.').nth(1)?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Iss>(&json).ok().map(|c| c.iss)
}

/// Validates a logout token (see the module's documentation).
pub async fn validate<V: SignatureVerifier + ?Sized>(
    token: &str,
    jwks: &Jwks,
    issuer: &str,
    client_id: &str,
    now: u64,
    platform: &V,
) -> Result<LogoutOrder, LogoutTokenError> {
    let invalid = |why: &str| LogoutTokenError::Invalid(why.to_owned());
    let verified = verify::<LogoutClaims, V>(token, jwks, platform)
        .await
        .map_err(|e| match e {
            IdTokenError::UnknownKey => LogoutTokenError::UnknownKey,
            other => LogoutTokenError::Invalid(other.to_string()),
        })?;
    if let Some(typ) = verified.header().token_type.as_deref() {
        let typ = typ.to_ascii_lowercase();
        if typ != "logout+jwt" && typ != "jwt" && typ != "application/logout+jwt" {
            return Err(invalid("its typ is not logout+jwt"));
        }
    }
    let claims = verified.claims();
    let c = &claims.custom;
    if c.iss != issuer {
        return Err(invalid("it comes from another issuer"));
    }
    if !c.aud.iter().any(|a| a == client_id) {
        return Err(invalid("it is for another client"));
    }
    let leeway = LEEWAY.unsigned_abs();
    let issued_at = claims
        .issued_at
        .and_then(|t| u64::try_from(t.timestamp()).ok())
        .ok_or_else(|| invalid("it has no iat"))?;
    if issued_at > now + leeway || issued_at + MAX_AGE < now {
        return Err(invalid("its iat is in the future or too old"));
    }
    if let Some(exp) = claims.expiration {
        if u64::try_from(exp.timestamp()).unwrap_or(0) + leeway <= now {
            return Err(invalid("it has expired"));
        }
    }
    let is_logout = c
        .events
        .as_ref()
        .and_then(|events| events.get(EVENT))
        .is_some_and(Value::is_object);
    if !is_logout {
        return Err(invalid("its events claim has no back-channel logout event"));
    }
    if c.nonce.is_some() {
        return Err(invalid("it carries a nonce (it is not a logout token)"));
    }
    if c.sub.is_none() && c.sid.is_none() {
        return Err(invalid("it names neither sub nor sid"));
    }
    let jti = c
        .jti
        .clone()
        .filter(|j| !j.is_empty())
        .ok_or_else(|| invalid("it has no jti"))?;
    Ok(LogoutOrder {
        jti,
        sid: c.sid.clone(),
        sub: c.sub.clone(),
        issued_at,
    })
}

#[cfg(test)]
mod tests {
    use jwt_compact::alg::Es256;
    use jwt_compact::{AlgorithmExt, Claims, Header};
    use serde_json::json;

    use super::*;
    use crate::proxy::phantom::MintKey;

    /// Validation with every signature checked in Rust.
    fn validate(
        token: &str,
        jwks: &Jwks,
        issuer: &str,
        client_id: &str,
        now: u64,
    ) -> Result<LogoutOrder, LogoutTokenError> {
        let checked = super::validate(token, jwks, issuer, client_id, now, &crate::RustSignatures);
        futures_executor::block_on(checked)
    }

    const NOW: u64 = 1_700_000_000;
    const ISS: &str = "https://idp.example";

    fn key_pair(spec: &str) -> (p256::ecdsa::SigningKey, Jwks) {
        let key = MintKey::parse(spec).unwrap();
        let jwks = Jwks::parse(key.jwks_json().as_bytes()).unwrap();
        let (_, secret) = spec.split_once(':').unwrap();
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(secret)
            .unwrap();
        (p256::ecdsa::SigningKey::from_slice(&bytes).unwrap(), jwks)
    }

    const IDP: &str = "idp:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";

    fn token(claims: Value, typ: Option<&str>, signer: &str) -> String {
        let (key, _) = key_pair(signer);
        let mut header = Header::empty().with_key_id("idp");
        if let Some(typ) = typ {
            header = header.with_token_type(typ);
        }
        Es256.token(&header, &Claims::new(claims), &key).unwrap()
    }

    fn good() -> Value {
        json!({
            "iss": ISS, "aud": "edgeward", "iat": NOW - 5, "exp": NOW + 120, "jti": "j-1",
            "sid": "s-1", "sub": "demo", "events": {EVENT: {}},
        })
    }

    fn with(change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
        let mut v = good();
        change(v.as_object_mut().unwrap());
        v
    }

    #[test]
    fn logout_tokens_are_checked_claim_by_claim() {
        let (_, jwks) = key_pair(IDP);
        let order = validate(
            &token(good(), Some("logout+jwt"), IDP),
            &jwks,
            ISS,
            "edgeward",
            NOW,
        )
        .unwrap();
        assert_eq!(order.jti, "j-1");
        assert_eq!(order.sid.as_deref(), Some("s-1"));
        assert_eq!(order.sub.as_deref(), Some("demo"));
        assert_eq!(order.issued_at, NOW - 5);
        // An array audience, sid only, no typ: fine.
        let ok = with(|m| {
            m.insert("aud".into(), json!(["other", "edgeward"]));
            m.remove("sub");
        });
        assert!(validate(&token(ok, None, IDP), &jwks, ISS, "edgeward", NOW).is_ok());

        let refused: Vec<(Value, Option<&str>, &str)> = vec![
            (good(), Some("at+jwt"), "typ"),
            (
                with(|m| {
                    m.insert("iss".into(), json!("https://evil.example"));
                }),
                None,
                "another issuer",
            ),
            (
                with(|m| {
                    m.insert("aud".into(), json!("someone-else"));
                }),
                None,
                "another client",
            ),
            (
                with(|m| {
                    m.remove("iat");
                }),
                None,
                "no iat",
            ),
            (
                with(|m| {
                    m.insert("iat".into(), json!(NOW + 3600));
                }),
                None,
                "future or too old",
            ),
            (
                with(|m| {
                    m.insert("iat".into(), json!(NOW - 3600));
                }),
                None,
                "future or too old",
            ),
            (
                with(|m| {
                    m.insert("exp".into(), json!(NOW - 61));
                }),
                None,
                "expired",
            ),
            (
                with(|m| {
                    m.remove("events");
                }),
                None,
                "events",
            ),
            (
                with(|m| {
                    m.insert("events".into(), json!({"other": {}}));
                }),
                None,
                "events",
            ),
            (
                with(|m| {
                    m.insert("events".into(), json!({EVENT: "yes"}));
                }),
                None,
                "events",
            ),
            (
                with(|m| {
                    m.insert("nonce".into(), json!("n"));
                }),
                None,
                "nonce",
            ),
            (
                with(|m| {
                    m.remove("sub");
                    m.remove("sid");
                }),
                None,
                "neither sub nor sid",
            ),
            (
                with(|m| {
                    m.remove("jti");
                }),
                None,
                "no jti",
            ),
        ];
        for (claims, typ, why) in refused {
            let err = validate(
                &token(claims.clone(), typ, IDP),
                &jwks,
                ISS,
                "edgeward",
                NOW,
            )
            .unwrap_err();
            assert!(
                format!("{err:?}").contains(why),
                "{claims} {typ:?}: {err:?}"
            );
        }
        // Signed by another key under the same kid; an unknown kid; not a JWT.
        let forged = token(
            good(),
            None,
            "idp:BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ",
        );
        assert!(matches!(
            validate(&forged, &jwks, ISS, "edgeward", NOW),
            Err(LogoutTokenError::Invalid(_))
        ));
        let (_, other_jwks) = key_pair("x:BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ");
        assert_eq!(
            validate(&token(good(), None, IDP), &other_jwks, ISS, "edgeward", NOW),
            Err(LogoutTokenError::UnknownKey)
        );
        assert!(validate("a.b.c", &jwks, ISS, "edgeward", NOW).is_err());
    }
}
