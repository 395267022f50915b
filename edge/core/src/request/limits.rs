//! What a request may carry in its head, in the same style as the body limit: the number and
//! size of its cookies (every request the core reads cookies from), and the size of the whole
//! head on `/auth/*`. Over a limit is 431 `request_headers_too_large`, before anything is read
//! or opened.
//!
//! The numbers: a browser keeps at most 4,096 bytes of name and value per cookie, and ours are
//! at most 4,096 bytes of sealed text; a session is at most three of
//! ours plus the login cookie. 50 cookies of 4 KiB each, and 32 KiB of head, are several
//! times what the SPA's origin needs and little for an unauthenticated caller to make the
//! worker parse.

use http::header::COOKIE;
use http::HeaderMap;

use crate::platform::Error;

/// Cookies a request may carry (all `Cookie` fields together).
pub const MAX_COOKIES: usize = 50;
/// Bytes of one cookie (`name=value`).
pub const MAX_COOKIE_BYTES: usize = 4096 + 64;
/// Bytes of a request's head (every header's name and value) on `/auth/*`.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;

/// Refuses a request with too many cookies, or one too large.
pub fn check_cookies(headers: &HeaderMap) -> Result<(), Error> {
    let mut count = 0usize;
    for field in headers.get_all(COOKIE) {
        for pair in field
            .as_bytes()
            .split(|b| *b == b';' || *b == b',')
            .map(<[u8]>::trim_ascii)
            .filter(|p| !p.is_empty())
        {
            count += 1;
            if count > MAX_COOKIES {
                return Err(Error::HeadersTooLarge(format!(
                    "more than {MAX_COOKIES} cookies"
                )));
            }
            if pair.len() > MAX_COOKIE_BYTES {
                return Err(Error::HeadersTooLarge(format!(
                    "a cookie of more than {MAX_COOKIE_BYTES} bytes"
                )));
            }
        }
    }
    Ok(())
}

/// Refuses a request whose head (names and values) is over [`MAX_HEAD_BYTES`].
pub fn check_head(headers: &HeaderMap) -> Result<(), Error> {
    let size: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size > MAX_HEAD_BYTES {
        return Err(Error::HeadersTooLarge(format!(
            "request headers of more than {MAX_HEAD_BYTES} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn cookies(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, value.parse().unwrap());
        h
    }

    #[test]
    fn cookie_limits() {
        let many = (0..=MAX_COOKIES)
            .map(|i| format!("c{i}=v"))
            .collect::<Vec<_>>()
            .join("; ");
        let enough = (0..MAX_COOKIES)
            .map(|i| format!("c{i}=v"))
            .collect::<Vec<_>>()
            .join("; ");
        let big = format!("a={}", "x".repeat(MAX_COOKIE_BYTES));
        let fits = format!("a={}", "x".repeat(MAX_COOKIE_BYTES - 2));
        assert!(check_cookies(&cookies(&many)).is_err());
        assert!(check_cookies(&cookies(&enough)).is_ok());
        assert!(check_cookies(&cookies(&big)).is_err());
        assert!(check_cookies(&cookies(&fits)).is_ok());
    }
}
