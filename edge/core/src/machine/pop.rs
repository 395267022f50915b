//! The proof of possession a machine client sends with every request:
//! `Authorization: PoP <jwt>`, a compact JWS whose header says `typ: edgeward-pop+jwt`,
//! `alg` ES256 or RS256 and carries the client's chain in `x5c`, and whose claims bind it to
//! one request (RFC 9449 DPoP's `htm`, `htu`, `jti`, `iat`) for a short time (`exp`).
//!
//! Here: reading the header field and the JWT (bounded, before any decoding), the header's and
//! the claims' checks, and the isolate's memory of proofs seen ([`SeenProofs`], the first check
//! before the registry's). The chain is `chain`'s; putting them together is [`super::authenticate`].

use std::cell::RefCell;
use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::header::{self, HeaderMap};
use serde::Deserialize;
use url::Url;

/// The authorization scheme of a proof.
pub const SCHEME: &str = "PoP";
/// The proof's JWS `typ`, exactly: no other JWT (an ID token, an access token, a DPoP proof)
/// carries it, so none passes for a proof, and a proof passes for nothing else.
pub const POP_TYP: &str = "edgeward-pop+jwt";
/// A proof is at most this long (a chain of four RSA-4096 certificates fits).
pub const MAX_PROOF_BYTES: usize = 24 * 1024;
/// `iat` may be this far from now, either way, seconds.
pub const MAX_IAT_SKEW: u64 = 60;
/// `exp` may be at most this long after `iat`, seconds.
pub const MAX_LIFETIME: u64 = 300;
/// How long past its `exp` a proof's `jti` is remembered, seconds (covers clock skew).
pub const REMEMBER_AFTER_EXP: u64 = 60;
/// Proofs one isolate remembers before it starts over (the registry still knows them).
pub const SEEN_PROOFS_ENTRIES: usize = 8192;

/// The proof's header: what is read of it.
#[derive(Debug, Clone, Deserialize)]
pub struct PopHeader {
    /// ES256 or RS256.
    pub alg: String,
    /// [`POP_TYP`].
    #[serde(default)]
    pub typ: Option<String>,
    /// The chain: leaf first, standard base64 DER.
    #[serde(default)]
    pub x5c: Option<Vec<String>>,
    /// Critical header parameters: we understand none, so any is a refusal.
    #[serde(default)]
    pub crit: Option<serde_json::Value>,
}

/// The proof's claims.
#[derive(Debug, Clone, Deserialize)]
pub struct PopClaims {
    /// Issued at, seconds.
    pub iat: u64,
    /// Expires at, seconds.
    pub exp: u64,
    /// A random identifier (at least 16 bytes, base64url).
    pub jti: String,
    /// The request's method.
    pub htm: String,
    /// The request's URL without query and fragment.
    pub htu: String,
}

/// A proof, decoded but not yet trusted.
#[derive(Debug)]
pub struct Proof<'a> {
    /// Its header.
    pub header: PopHeader,
    /// Its claims.
    pub claims: PopClaims,
    /// What the signature covers: header and claims as they arrived.
    pub signed: &'a [u8],
    /// The signature (JWS encoding).
    pub signature: Vec<u8>,
}

/// The proof in `Authorization: PoP <jwt>`, if the request has one: `Some(Err(..))` when the
/// scheme is PoP but the value is not a usable JWT, `None` when the request sends no PoP.
pub fn proof_token(headers: &HeaderMap) -> Option<Result<&str, String>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let text = match value.to_str() {
        Ok(text) => text,
        // Not visible ASCII: it might have been anything, PoP included.
        Err(_) => return None,
    };
    let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        return Some(Err("more than one Authorization header".into()));
    }
    let token = token.trim();
    if token.is_empty() {
        return Some(Err("the PoP scheme carries no proof".into()));
    }
    if token.len() > MAX_PROOF_BYTES {
        return Some(Err(format!(
            "the proof is {} bytes (at most {MAX_PROOF_BYTES})",
            token.len()
        )));
    }
    Some(Ok(token))
}

/// Whether the request names the PoP scheme at all (then it is never a browser's or a bearer
/// client's request, whatever else it carries).
pub fn names_pop(headers: &HeaderMap) -> bool {
    headers.get_all(header::AUTHORIZATION).iter().any(|v| {
        let bytes = v.as_bytes();
        bytes.len() >= SCHEME.len()
            && bytes[..SCHEME.len()].eq_ignore_ascii_case(SCHEME.as_bytes())
            && bytes.get(SCHEME.len()).is_none_or(|b| *b == b' ')
    })
}

/// Decodes a proof and checks its header: three base64url parts, JSON header and claims,
/// `typ` [`POP_TYP`], `alg` ES256 or RS256 (never `none` or HMAC), no `crit`, an `x5c`.
pub fn decode(token: &str) -> Result<Proof<'_>, String> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the proof is not a compact JWS (three parts)".into());
    };
    let part = |text: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| format!("the proof's {what} is not base64url"))
    };
    let header: PopHeader = serde_json::from_slice(&part(h, "header")?)
        .map_err(|e| format!("the proof's header: {e}"))?;
    if header.typ.as_deref() != Some(POP_TYP) {
        return Err(format!(
            "the proof's typ is {:?}, not {POP_TYP:?}",
            header.typ
        ));
    }
    if header.alg != "ES256" && header.alg != "RS256" {
        return Err(format!("the proof's alg {:?} is not accepted", header.alg));
    }
    if header.crit.is_some() {
        return Err("the proof names critical header parameters".into());
    }
    if header.x5c.is_none() {
        return Err("the proof's header has no x5c".into());
    }
    let claims: PopClaims = serde_json::from_slice(&part(c, "claims")?)
        .map_err(|e| format!("the proof's claims: {e}"))?;
    let signature = part(s, "signature")?;
    Ok(Proof {
        header,
        claims,
        signed: &token.as_bytes()[..h.len() + 1 + c.len()],
        signature,
    })
}

/// The request URL as `htu` names it: without query and fragment.
pub fn request_htu(uri: &http::Uri) -> Option<Url> {
    let mut url = Url::parse(&uri.to_string()).ok()?;
    url.set_query(None);
    url.set_fragment(None);
    Some(url)
}

/// Checks the claims against this request and now: `iat` within [`MAX_IAT_SKEW`], `exp`
/// after now and at most [`MAX_LIFETIME`] after `iat`, `htm` the method exactly, `htu` this
/// URL (scheme and host compared as URLs compare them, the path exactly), a `jti` of 22 to 128
/// base64url characters (16 bytes or more).
pub fn check_claims(
    claims: &PopClaims,
    method: &http::Method,
    uri: &http::Uri,
    now: u64,
) -> Result<(), String> {
    if claims.iat.abs_diff(now) > MAX_IAT_SKEW {
        return Err(format!(
            "the proof's iat {} is more than {MAX_IAT_SKEW} s from now ({now})",
            claims.iat
        ));
    }
    if claims.exp <= now {
        return Err(format!("the proof expired at {}", claims.exp));
    }
    if claims.exp > claims.iat + MAX_LIFETIME {
        return Err(format!(
            "the proof's exp is more than {MAX_LIFETIME} s after its iat"
        ));
    }
    if claims.htm != method.as_str() {
        return Err(format!(
            "the proof is for {:?}, the request is {method}",
            claims.htm
        ));
    }
    let expected = request_htu(uri).ok_or_else(|| "the request has no absolute URL".to_owned())?;
    let htu = Url::parse(&claims.htu).map_err(|_| "the proof's htu is not a URL".to_owned())?;
    if htu.query().is_some() || htu.fragment().is_some() || htu != expected {
        // Quoted: the claim is not signed-for yet, and the URL parser read past any line
        // breaks in it, which must not reach the log as they came.
        return Err(format!(
            "the proof is for {:?}, the request went to {expected}",
            claims.htu
        ));
    }
    let jti_ok = (22..=128).contains(&claims.jti.len())
        && claims
            .jti
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !jti_ok {
        return Err("the proof's jti is not 16 to 96 bytes of base64url".into());
    }
    Ok(())
}

/// Proofs this isolate has seen, by the registry's key, each until it may be forgotten: the
/// first check, before the registry's (which every isolate shares).
#[derive(Debug, Default)]
pub struct SeenProofs {
    entries: RefCell<HashMap<String, u64>>,
}

impl SeenProofs {
    /// Whether `key` was seen and is still remembered.
    pub fn seen(&self, key: &str, now: u64) -> bool {
        self.entries
            .borrow()
            .get(key)
            .is_some_and(|until| *until > now)
    }

    /// Remembers `key` until `until`. When full, expired entries go first, then all.
    pub fn remember(&self, key: String, until: u64, now: u64) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= SEEN_PROOFS_ENTRIES {
            entries.retain(|_, u| *u > now);
            if entries.len() >= SEEN_PROOFS_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, until);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                header::AUTHORIZATION,
                http::HeaderValue::from_bytes(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn only_the_pop_scheme_names_a_proof() {
        let table: [(&[u8], bool); 8] = [
            (b"PoP abc", true),
            (b"pop abc", true),
            (b"POP abc", true),
            (b"PoP", true),
            (b"PoPx abc", false),
            (b"Bearer abc", false),
            (b"DPoP abc", false),
            (b"PoP \xff", true),
        ];
        for (value, pop) in table {
            assert_eq!(names_pop(&headers(&[value])), pop, "{value:?}");
        }
        assert!(!names_pop(&HeaderMap::new()));
    }

    #[test]
    fn a_proof_is_bounded_and_alone() {
        assert!(matches!(
            proof_token(&headers(&[b"PoP a.b.c"])),
            Some(Ok("a.b.c"))
        ));
        assert!(matches!(proof_token(&headers(&[b"PoP "])), Some(Err(_))));
        assert!(matches!(
            proof_token(&headers(&[b"PoP a.b.c", b"Bearer x"])),
            Some(Err(_))
        ));
        let big = format!("PoP {}", "a".repeat(MAX_PROOF_BYTES + 1));
        assert!(
            matches!(proof_token(&headers(&[big.as_bytes()])), Some(Err(w)) if w.contains("at most"))
        );
        assert!(proof_token(&headers(&[b"Bearer x"])).is_none());
    }

    #[test]
    fn htu_is_the_url_without_query_and_fragment() {
        let uri: http::Uri = "https://API.example:443/api/m/x?a=1".parse().unwrap();
        assert_eq!(
            request_htu(&uri).unwrap().as_str(),
            "https://api.example/api/m/x"
        );
    }
}
