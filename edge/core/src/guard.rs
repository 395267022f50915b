//! Request guards and the small secrets they compare: CSRF header, Origin and `Sec-Fetch-Site`
//! rules for state-changing requests, `returnTo` paths (no open redirects), and the random
//! values of a login (state, nonce, PKCE verifier, CSRF token).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use edgeward_shared::names;
use http::{HeaderMap, Method};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

use crate::error::Error;
use crate::ports::{Random, RandomUnavailable};

/// The longest `returnTo` accepted.
pub const MAX_RETURN_TO_LEN: usize = 2048;

/// `bytes` random bytes, base64url without padding (32 bytes → 43 characters, 256 bits).
pub fn random_token(random: &impl Random, bytes: usize) -> Result<String, RandomUnavailable> {
    let mut buf = vec![0u8; bytes];
    random.fill(&mut buf)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// The PKCE S256 challenge of a code verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whether `method` changes state (everything but GET, HEAD, OPTIONS).
pub fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Origin rules for a state-changing request: `Sec-Fetch-Site: cross-site` is refused outright;
/// otherwise the `Origin` header must be present and on the allow-list.
pub fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), Error> {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site == Some("cross-site") {
        return Err(Error::OriginRejected("cross-site request".into()));
    }
    let origin = headers
        .get(http::header::ORIGIN)
        .ok_or_else(|| Error::OriginRejected("the Origin header is missing".into()))?
        .to_str()
        .map_err(|_| Error::OriginRejected("the Origin header is not text".into()))?;
    if allowed.iter().any(|a| a == origin) {
        Ok(())
    } else {
        Err(Error::OriginRejected(format!(
            "origin {origin:?} is not allowed"
        )))
    }
}

/// The `x-edgeward-csrf` header must equal the session's CSRF value.
pub fn check_csrf(headers: &HeaderMap, expected: &str) -> Result<(), Error> {
    let given = headers
        .get(names::CSRF_HEADER)
        .ok_or_else(|| {
            Error::CsrfRejected(format!("the {} header is missing", names::CSRF_HEADER))
        })?
        .to_str()
        .unwrap_or("");
    if constant_time_eq(given, expected) {
        Ok(())
    } else {
        Err(Error::CsrfRejected(format!(
            "the {} header is wrong",
            names::CSRF_HEADER
        )))
    }
}

/// Accepts a same-origin path (`/x/y?q#f`) and returns it normalised; refuses everything that
/// could leave the origin: absolute URLs, `//host`, `/\host`, control characters, over-long.
pub fn validate_return_to(return_to: &str, origin: &str) -> Result<String, Error> {
    let refuse = |why: &str| Err(Error::InvalidRequest(format!("returnTo {why}")));
    if return_to.len() > MAX_RETURN_TO_LEN {
        return refuse("is too long");
    }
    if !return_to.starts_with('/') {
        return refuse("must be a path starting with /");
    }
    if return_to.starts_with("//") || return_to.starts_with("/\\") {
        return refuse("must not name another host");
    }
    if return_to.chars().any(|c| c.is_control() || c == '\\') {
        return refuse("must not contain control characters or backslashes");
    }
    let Ok(base) = Url::parse(origin) else {
        return refuse("cannot be checked against the configured origin");
    };
    match base.join(return_to) {
        Ok(url) if url.origin() == base.origin() => {
            let mut path = url.path().to_owned();
            if let Some(q) = url.query() {
                path.push('?');
                path.push_str(q);
            }
            if let Some(f) = url.fragment() {
                path.push('#');
                path.push_str(f);
            }
            Ok(path)
        }
        _ => refuse("must stay on this origin"),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    struct Fixed(u8);
    impl Random for Fixed {
        fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
            dest.fill(self.0);
            Ok(())
        }
    }

    #[test]
    fn tokens_have_256_bits_and_use_the_random_port() {
        let t = random_token(&Fixed(0), 32).unwrap();
        assert_eq!(t.len(), 43);
        assert_eq!(t, "A".repeat(43));
        assert_ne!(random_token(&Fixed(1), 32).unwrap(), t);
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        assert!(!constant_time_eq("", "a"));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_rules() {
        let allowed = vec![
            "http://localhost:8787".to_owned(),
            "https://admin.example".to_owned(),
        ];
        // (request headers, None when accepted or part of the refusal's reason)
        type Row<'a> = (&'a [(&'static str, &'static str)], Option<&'a str>);
        let table: &[Row] = &[
            (&[("origin", "http://localhost:8787")], None),
            (
                &[
                    ("origin", "https://admin.example"),
                    ("sec-fetch-site", "same-site"),
                ],
                None,
            ),
            (
                &[
                    ("origin", "http://localhost:8787"),
                    ("sec-fetch-site", "same-origin"),
                ],
                None,
            ),
            (&[], Some("missing")),
            (&[("origin", "https://evil.example")], Some("not allowed")),
            (
                &[("origin", "http://localhost:8787.evil.example")],
                Some("not allowed"),
            ),
            (&[("origin", "null")], Some("not allowed")),
            (
                &[
                    ("origin", "http://localhost:8787"),
                    ("sec-fetch-site", "cross-site"),
                ],
                Some("cross-site"),
            ),
        ];
        for (pairs, expected) in table {
            let result = check_origin(&headers(pairs), &allowed);
            match expected {
                None => assert_eq!(result, Ok(()), "{pairs:?}"),
                Some(why) => {
                    let err = result.unwrap_err();
                    assert_eq!(err.code(), edgeward_shared::ErrorCode::OriginRejected);
                    assert!(err.to_string().contains(why), "{pairs:?}: {err}");
                }
            }
        }
    }

    #[test]
    fn csrf_rules() {
        let ok = headers(&[("x-edgeward-csrf", "s3cret")]);
        assert_eq!(check_csrf(&ok, "s3cret"), Ok(()));
        for (pairs, why) in [
            (&[][..], "missing"),
            (&[("x-edgeward-csrf", "s3creT")][..], "wrong"),
            (&[("x-edgeward-csrf", "")][..], "wrong"),
            (&[("x-other", "s3cret")][..], "missing"),
        ] {
            let err = check_csrf(&headers(pairs), "s3cret").unwrap_err();
            assert_eq!(err.code(), edgeward_shared::ErrorCode::CsrfRejected);
            assert!(err.to_string().contains(why), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn state_changing_methods() {
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(is_state_changing(&m), "{m}");
        }
        for m in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(!is_state_changing(&m), "{m}");
        }
    }

    #[test]
    fn return_to_stays_on_the_origin() {
        let origin = "https://app.example";
        let ok = [
            ("/", "/"),
            ("/profile", "/profile"),
            ("/a/b?x=1#frag", "/a/b?x=1#frag"),
            ("/a/../b", "/b"),
            ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),
        ];
        for (input, normalised) in ok {
            assert_eq!(
                validate_return_to(input, origin).as_deref(),
                Ok(normalised),
                "{input}"
            );
        }
        let long = format!("/{}", "a".repeat(MAX_RETURN_TO_LEN));
        let bad = [
            "",
            "profile",
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "/a\\b",
            "/a\nb",
            "javascript:alert(1)",
            " /x",
            long.as_str(),
        ];
        for input in bad {
            let err = validate_return_to(input, origin).unwrap_err();
            assert_eq!(
                err.code(),
                edgeward_shared::ErrorCode::InvalidRequest,
                "{input:?}"
            );
        }
    }
}
