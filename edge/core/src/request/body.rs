//! The bodies of the requests the core answers itself (everything but the proxied `/api/*`):
//! how large they may be, and which media type each endpoint takes. The dispatcher
//! (`routes.rs`) applies both before any handler runs; the adapter applies the size limit while
//! it reads the body, so an oversized one is never buffered.
//!
//! Proxied `/api/*` bodies are streamed to the upstream by the adapter and are not limited or
//! typed here: the upstream API decides what it takes.

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::HeaderMap;

use crate::platform::Error;

/// The largest body the core reads, in bytes: 16 KiB.
///
/// The largest legitimate bodies are `login/end`'s `pageUrl` (the callback URL: a code, a
/// 43-character state, `iss`, perhaps `session_state`; usually well under 2 KB, a few KB with
/// the longest codes providers issue), `login/start` (a `returnTo` of at most 2 KB plus a few
/// allowed parameters) and a back-channel logout token (a signed JWT of 1–2 KB). 16 KiB leaves
/// room for all of them several times over and keeps what an unauthenticated caller can make
/// the worker buffer small.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The media types the core's endpoints take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/json`: the SPA's calls. A request without a body may come without a
    /// `Content-Type` (the SPA's `refresh` sends none); a body needs it.
    Json,
    /// `application/x-www-form-urlencoded`: the back-channel logout (the IdP posts a form). Always
    /// required.
    Form,
}

impl MediaType {
    /// The media type's name, as the `Content-Type` header gives it.
    pub fn essence(self) -> &'static str {
        match self {
            MediaType::Json => "application/json",
            MediaType::Form => "application/x-www-form-urlencoded",
        }
    }
}

/// The length the request's `Content-Length` declares, if it has one; a value that is not one
/// decimal number (or is given twice) is refused.
pub fn declared_length(headers: &HeaderMap) -> Result<Option<u64>, Error> {
    let mut values = headers.get_all(CONTENT_LENGTH).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = || Error::InvalidRequest("the Content-Length header is not a length".into());
    if values.next().is_some() {
        return Err(invalid());
    }
    let text = value.to_str().map_err(|_| invalid())?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    // Too many digits for a u64 is too large, not malformed.
    Ok(Some(text.parse().unwrap_or(u64::MAX)))
}

/// Refuses a body longer than [`MAX_BODY_BYTES`], whether declared (`Content-Length`) or
/// actually received (`received` bytes).
pub fn check_length(headers: &HeaderMap, received: usize) -> Result<(), Error> {
    let too_large = Error::PayloadTooLarge {
        limit: MAX_BODY_BYTES,
    };
    let limit = MAX_BODY_BYTES as u64;
    match declared_length(headers)? {
        Some(declared) if declared > limit => Err(too_large),
        _ if received > MAX_BODY_BYTES => Err(too_large),
        _ => Ok(()),
    }
}

/// Refuses a request whose body is not of media type `expected`: the `Content-Type` must name
/// it (parameters such as `; charset=utf-8` allowed, case ignored), once. For
/// [`MediaType::Json`], a request with an empty body and no `Content-Type` passes (there is
/// nothing to read); for [`MediaType::Form`] the header is always required.
///
/// This is what makes a cross-site `<form enctype="text/plain">` or a `no-cors` fetch with a
/// JSON-looking `text/plain` body fail: a browser sends `application/json` across origins only
/// after a CORS preflight, which the worker never grants.
pub fn check_media_type(
    headers: &HeaderMap,
    body: &[u8],
    expected: MediaType,
) -> Result<(), Error> {
    let refused = Error::UnsupportedMediaType {
        expected: expected.essence(),
    };
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let Some(value) = values.next() else {
        return match expected {
            MediaType::Json if body.is_empty() => Ok(()),
            _ => Err(refused),
        };
    };
    if values.next().is_some() {
        return Err(refused);
    }
    let essence = value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match essence {
        Some(e) if e.eq_ignore_ascii_case(expected.essence()) => Ok(()),
        _ => Err(refused),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use edgeward_shared::ErrorCode;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn length_limit() {
        let at = MAX_BODY_BYTES.to_string();
        let over = (MAX_BODY_BYTES + 1).to_string();
        // (Content-Length fields, bytes received, the refusal's code or None)
        type Row<'a> = (&'a [(&'static str, &'a str)], usize, Option<ErrorCode>);
        let table: &[Row] = &[
            (&[], 0, None),
            (&[], MAX_BODY_BYTES, None),
            (&[("content-length", &at)], MAX_BODY_BYTES, None),
            (&[("content-length", "0")], 0, None),
            (&[], MAX_BODY_BYTES + 1, Some(ErrorCode::PayloadTooLarge)),
            // Declared too large: refused before the body is read.
            (
                &[("content-length", &over)],
                0,
                Some(ErrorCode::PayloadTooLarge),
            ),
            (
                &[("content-length", "99999999999999999999999")],
                0,
                Some(ErrorCode::PayloadTooLarge),
            ),
            // Declared small, received more.
            (
                &[("content-length", "2")],
                MAX_BODY_BYTES + 1,
                Some(ErrorCode::PayloadTooLarge),
            ),
            (
                &[("content-length", "-1")],
                0,
                Some(ErrorCode::InvalidRequest),
            ),
            (
                &[("content-length", "1e3")],
                0,
                Some(ErrorCode::InvalidRequest),
            ),
            (
                &[("content-length", "")],
                0,
                Some(ErrorCode::InvalidRequest),
            ),
            (
                &[("content-length", "2"), ("content-length", "2")],
                2,
                Some(ErrorCode::InvalidRequest),
            ),
        ];
        for (pairs, received, expected) in table {
            let result = check_length(&headers(pairs), *received);
            assert_eq!(
                result.err().map(|e| e.code()),
                *expected,
                "{pairs:?} {received}"
            );
        }
    }

    #[test]
    fn media_types() {
        use MediaType::{Form, Json};
        // (Content-Type fields, body, expected type, accepted)
        type Row<'a> = (&'a [(&'static str, &'a str)], &'a str, MediaType, bool);
        let table: &[Row] = &[
            (&[("content-type", "application/json")], "{}", Json, true),
            (
                &[("content-type", "application/json; charset=utf-8")],
                "{}",
                Json,
                true,
            ),
            (
                &[("content-type", "Application/JSON;charset=UTF-8")],
                "{}",
                Json,
                true,
            ),
            (&[("content-type", " application/json ")], "{}", Json, true),
            (&[("content-type", "application/json")], "", Json, true),
            // No body, no type: nothing to read (the SPA's refresh).
            (&[], "", Json, true),
            // What a cross-site form or a no-cors fetch can send without a preflight.
            (&[("content-type", "text/plain")], "{}", Json, false),
            (
                &[("content-type", "text/plain;charset=UTF-8")],
                "",
                Json,
                false,
            ),
            (
                &[("content-type", "application/x-www-form-urlencoded")],
                "{}",
                Json,
                false,
            ),
            (
                &[("content-type", "multipart/form-data; boundary=x")],
                "{}",
                Json,
                false,
            ),
            (&[], "{}", Json, false),
            (&[], " ", Json, false),
            (
                &[("content-type", "application/json-seq")],
                "{}",
                Json,
                false,
            ),
            (&[("content-type", "application/jsonx")], "{}", Json, false),
            (
                &[("content-type", "application/problem+json")],
                "{}",
                Json,
                false,
            ),
            (
                &[("content-type", "text/plain; application/json")],
                "{}",
                Json,
                false,
            ),
            (
                &[("content-type", "application/json, text/plain")],
                "{}",
                Json,
                false,
            ),
            (
                &[
                    ("content-type", "application/json"),
                    ("content-type", "text/plain"),
                ],
                "{}",
                Json,
                false,
            ),
            (
                &[("content-type", "application/x-www-form-urlencoded")],
                "logout_token=x",
                Form,
                true,
            ),
            (
                &[(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )],
                "logout_token=x",
                Form,
                true,
            ),
            (
                &[("content-type", "application/x-www-form-urlencoded")],
                "",
                Form,
                true,
            ),
            (&[], "", Form, false),
            (&[], "logout_token=x", Form, false),
            (
                &[("content-type", "text/plain")],
                "logout_token=x",
                Form,
                false,
            ),
            (&[("content-type", "application/json")], "{}", Form, false),
        ];
        for (pairs, body, expected, accepted) in table {
            let result = check_media_type(&headers(pairs), body.as_bytes(), *expected);
            if *accepted {
                assert_eq!(result, Ok(()), "{pairs:?} {body:?} {expected:?}");
            } else {
                let err = result.unwrap_err();
                assert_eq!(
                    err.code(),
                    ErrorCode::UnsupportedMediaType,
                    "{pairs:?} {body:?}"
                );
                assert!(err.to_string().contains(expected.essence()), "{err}");
            }
        }
    }
}
