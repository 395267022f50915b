//! Reading and writing edgeward's cookies with the `cookie` crate. Every cookie we set is
//! `__Host-` prefixed, `Secure; HttpOnly; SameSite=Strict; Path=/`, without `Domain`.

use cookie::time::Duration;
use cookie::{Cookie, SameSite};
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

/// The value of cookie `name` in the request, if present (the last one wins if repeated).
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .last()
}

/// A `Set-Cookie` value for `name=value` that lives `max_age` seconds.
pub fn set(name: &str, value: &str, max_age: u64) -> HeaderValue {
    let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
    build(Cookie::build((name, value)).max_age(Duration::seconds(max_age)))
}

/// A `Set-Cookie` value that deletes `name`.
pub fn clear(name: &str) -> HeaderValue {
    build(Cookie::build((name, "")).max_age(Duration::ZERO))
}

fn build(builder: cookie::CookieBuilder<'_>) -> HeaderValue {
    let cookie = builder
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .build();
    // Names are our constants and values are base64url: always valid header text.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_has_every_attribute_the_host_prefix_needs() {
        let v = set("__Host-edgeward-login", "1.k1.abc", 600);
        let s = v.to_str().unwrap();
        for part in [
            "__Host-edgeward-login=1.k1.abc",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Max-Age=600",
        ] {
            assert!(s.contains(part), "{s} lacks {part}");
        }
        assert!(!s.contains("Domain"), "{s}");
        assert!(clear("__Host-edgeward-login")
            .to_str()
            .unwrap()
            .contains("Max-Age=0"));
    }

    #[test]
    fn reads_among_other_cookies_and_headers() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1; __Host-edgeward-at=xyz; b=2"),
        );
        h.append(COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(read(&h, "__Host-edgeward-at").as_deref(), Some("xyz"));
        assert_eq!(read(&h, "c").as_deref(), Some("3"));
        assert_eq!(read(&h, "missing"), None);
        assert_eq!(read(&HeaderMap::new(), "a"), None);
    }
}
