//! Service clients: callers that send `Authorization: Bearer <access token>` from the identity
//! provider (the client-credentials grant) to a route whose `clients` include `service`.
//!
//! This module owns what is particular to them: which kind of token arrived ([`TokenShape`]:
//! an RFC 9068 `at+jwt`, another JWT, or an opaque token), the edge's check of a JWT access
//! token ([`check_at_jwt`]: signature against the provider's JWKS through
//! [`crate::oidc::idtoken::verify`], then the same [`TokenFacts`] rules an introspection answer
//! meets, plus what RFC 9068 requires), the route's required scope ([`require_scope`]), and the
//! mapping of refusals to RFC 6750's answers ([`as_bearer_error`]). The exchange itself (cache,
//! introspection, minting) is the proxy's phantom-token path in `forward`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use serde::Deserialize;

use super::phantom::{Introspection, TokenFacts, TokenRules, MINTED_TYP};
use crate::oidc::idtoken::{verify, IdTokenError, Jwks, LEEWAY};
use crate::oidc::{KeyLookup, Provider};
use crate::platform::ports::{Clock, HttpClient, SignatureVerifier};
use crate::platform::Error;

/// What a bearer token looks like, read from its form alone (nothing is trusted yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenShape {
    /// A compact JWS whose header says `typ: at+jwt` (or `application/at+jwt`): checked at the
    /// edge.
    AtJwt,
    /// A compact JWS of another type (an ID token, a logout token, a JWT without `typ`):
    /// refused, never taken for an access token. The `typ` it gave, for the log.
    OtherJwt(Option<String>),
    /// Anything else: an opaque token, for introspection.
    Opaque,
}

/// The shape of `token`: three base64url parts whose first is a JSON object with `alg` make a
/// JWT.
pub fn shape(token: &str) -> TokenShape {
    #[derive(Deserialize)]
    struct Head {
        alg: Option<String>,
        typ: Option<String>,
    }
    let mut parts = token.split('.');
    let (Some(head), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return TokenShape::Opaque;
    };
    let head = URL_SAFE_NO_PAD
        .decode(head)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Head>(&bytes).ok());
    match head {
        Some(Head { alg: Some(_), typ }) => {
            let at_jwt = typ.as_deref().is_some_and(|t| {
                t.eq_ignore_ascii_case(MINTED_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
            });
            if at_jwt {
                TokenShape::AtJwt
            } else {
                TokenShape::OtherJwt(typ)
            }
        }
        _ => TokenShape::Opaque,
    }
}

/// Checks a JWT access token (RFC 9068) from `provider` against `rules` and returns what it
/// says, as an introspection answer would (so it is minted the same way): the signature
/// (RS256/ES256 only, a key of the provider's JWKS, fetched once more when the `kid` is
/// unknown), then `iss` (required, exactly the provider's), `exp` (required, in the future),
/// `iat` (required, not in the future beyond [`LEEWAY`]), `nbf`, `aud` (required, one the
/// route accepts), `client_id` (required, the worker's or on `EDGEWARD_TOKEN_CLIENT_IDS`),
/// no `cnf`, and `token_type`/`token_use` when present. The error is the cause, for the log.
pub async fn check_at_jwt(
    provider: Provider<'_>,
    ports: &(impl Clock + HttpClient + SignatureVerifier),
    token: &str,
    rules: &TokenRules<'_>,
) -> Result<Introspection, Error> {
    let discovery = provider.discovery(ports).await?;
    let (jwks, fetched) = provider.jwks(&discovery, ports, KeyLookup::Cached).await?;
    let verified = match verify_with(token, &jwks, ports).await {
        Err(IdTokenError::UnknownKey) if !fetched => {
            // The provider may have rolled its keys: look once more.
            let (jwks, _) = provider
                .jwks(&discovery, ports, KeyLookup::PresentedWithUnknownKey)
                .await?;
            verify_with(token, &jwks, ports).await
        }
        other => other,
    }
    .map_err(|e| Error::InvalidToken(format!("JWT access token: {}", describe(&e))))?;
    let claims = verified.claims();
    let seconds =
        |t: Option<chrono::DateTime<Utc>>| t.and_then(|t| u64::try_from(t.timestamp()).ok());
    let facts = TokenFacts {
        exp: seconds(claims.expiration),
        nbf: seconds(claims.not_before),
        ..claims.custom.clone()
    };
    let refuse = |why: &str| Err(Error::InvalidToken(format!("JWT access token: {why}")));
    if facts.iss.is_none() {
        return refuse("no iss");
    }
    if facts.aud.is_none() {
        return refuse("no aud");
    }
    let Some(exp) = facts.exp else {
        return refuse("no exp");
    };
    if exp <= rules.now {
        return refuse("expired");
    }
    let leeway = u64::try_from(LEEWAY).unwrap_or(0);
    match seconds(claims.issued_at) {
        Some(iat) if iat <= rules.now.saturating_add(leeway) => {}
        Some(_) => return refuse("iat is in the future"),
        None => return refuse("no iat"),
    }
    facts
        .check_marked(rules, true)
        .map_err(|why| Error::InvalidToken(format!("JWT access token: {why}")))?;
    if facts.client_id.is_none() {
        return refuse("no client_id");
    }
    Ok(Introspection {
        active: true,
        token: facts,
    })
}

async fn verify_with<V: SignatureVerifier + ?Sized>(
    token: &str,
    jwks: &Jwks,
    platform: &V,
) -> Result<crate::oidc::idtoken::Verified<TokenFacts>, IdTokenError> {
    verify::<TokenFacts, V>(token, jwks, platform).await
}

/// The log's words for a signature failure (the [`IdTokenError`] texts speak of ID tokens).
fn describe(e: &IdTokenError) -> String {
    match e {
        IdTokenError::Malformed => "not a JWT".into(),
        IdTokenError::UnsupportedAlgorithm(alg) => format!("algorithm {alg:?} is not accepted"),
        IdTokenError::UnknownKey => "signed with a key the provider does not publish".into(),
        IdTokenError::BadSignature => "the signature does not verify".into(),
        other => other.to_string(),
    }
}

/// Every scope of `required` (space-separated) must be in `granted`; else 403
/// `insufficient_scope` naming the route's scope.
pub fn require_scope(required: Option<&str>, granted: Option<&str>) -> Result<(), Error> {
    let Some(required) = required else {
        return Ok(());
    };
    let granted: Vec<&str> = granted.unwrap_or("").split(' ').collect();
    if required
        .split(' ')
        .filter(|s| !s.is_empty())
        .all(|s| granted.contains(&s))
    {
        Ok(())
    } else {
        Err(Error::InsufficientScope(required.to_owned()))
    }
}

/// The scope an introspection JWT (`introspect-jwt`, already verified) grants: its top-level
/// `scope` (Curity's style) or `token_introspection.scope` (RFC 9701).
pub fn scope_of_introspection_jwt(jwt: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Scoped {
        scope: Option<String>,
        token_introspection: Option<Box<Scoped>>,
    }
    let payload = jwt.split('.').nth(1)?;
    let claims: Scoped = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims
        .token_introspection
        .and_then(|nested| nested.scope)
        .or(claims.scope)
}

/// A refusal of a service client's token, as RFC 6750 says to answer it: the proxy's "no valid
/// session" answers become `invalid_token` (the cause kept for the log); everything else (the
/// provider unreachable, a scope missing) stays as it is.
pub fn as_bearer_error(e: Error) -> Error {
    match e {
        Error::Unauthorized => Error::InvalidToken("the token is not active".into()),
        Error::TokenRefused(why) => Error::InvalidToken(why),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(head: &str) -> String {
        format!("{}.e30.sig", URL_SAFE_NO_PAD.encode(head))
    }

    #[test]
    fn shapes() {
        let cases = [
            (jwt(r#"{"alg":"RS256","typ":"at+jwt"}"#), TokenShape::AtJwt),
            (
                jwt(r#"{"alg":"ES256","typ":"application/at+JWT"}"#),
                TokenShape::AtJwt,
            ),
            (
                jwt(r#"{"alg":"RS256","typ":"JWT"}"#),
                TokenShape::OtherJwt(Some("JWT".into())),
            ),
            (jwt(r#"{"alg":"RS256"}"#), TokenShape::OtherJwt(None)),
            (jwt(r#"{"typ":"at+jwt"}"#), TokenShape::Opaque),
            ("opaque-token_value".into(), TokenShape::Opaque),
            ("a.b".into(), TokenShape::Opaque),
            ("a.b.c.d".into(), TokenShape::Opaque),
        ];
        for (token, want) in cases {
            assert_eq!(shape(&token), want, "{token}");
        }
    }

    #[test]
    fn scopes() {
        let ok = [
            (None, None),
            (Some("a"), Some("a")),
            (Some("a b"), Some("b c a")),
        ];
        for (required, granted) in ok {
            assert!(require_scope(required, granted).is_ok(), "{required:?}");
        }
        let missing = [
            (Some("a"), None),
            (Some("a"), Some("")),
            (Some("a b"), Some("a")),
            (Some("a"), Some("ab")),
        ];
        for (required, granted) in missing {
            assert_eq!(
                require_scope(required, granted),
                Err(Error::InsufficientScope(required.unwrap_or("").into()))
            );
        }
    }
}
