//! Reading and writing edgeward's cookies. Every cookie we set is `__Host-` prefixed,
//! `Secure; HttpOnly; SameSite=Strict; Path=/`, without `Domain` (written with the `cookie`
//! crate).
//!
//! Reading takes every `Cookie` field of the request as one list, split on `;` and on `,`: an
//! HTTP/2 browser may send one field per cookie (RFC 9113 §8.2.3), some proxies pass them on that
//! way, and workerd hands the worker such fields joined with `, `. Our names are constants and
//! our values are base64url and `.`, so neither separator can occur inside them; other cookies
//! may be cut wrongly by the `,` split, but we never read them. A name of ours found more than
//! once is not read at all (see [`read`]).

use cookie::time::Duration;
use cookie::{Cookie, SameSite};
use edgeward_shared::names;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};

/// The value of cookie `name` in the request, if it is there exactly once.
///
/// A `__Host-` cookie exists at most once per host, so a second one can only be smuggled in:
/// inside another cookie's value (browsers accept `,` there, and the `,` split then reads the
/// rest as a cookie of its own), set by a sibling subdomain or over plain HTTP. Reading neither
/// copy keeps such a cookie from replacing one of ours; the request reads as signed out.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = values(headers, name);
    let value = found.next()?;
    if found.next().is_some() {
        return None;
    }
    Some(value.to_owned())
}

/// Whether cookie `name` is in the request at all, once or more (whether [`read`] would give
/// its value or not): a request carrying any cookie of ours comes from a browser.
pub fn present(headers: &HeaderMap, name: &str) -> bool {
    values(headers, name).next().is_some()
}

/// Every value given for cookie `name`, over all `Cookie` fields, split on `;` and `,`.
///
/// A field that is not text (`HeaderValue::to_str`: visible ASCII and tabs) is skipped whole.
/// What is left is ASCII, so the fields are cut and trimmed byte by byte: splitting on a set of
/// `char`s decodes every character, which made this scan most of a session read's CPU in wasm
/// (README "Performance").
fn values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(pairs)
        .filter_map(move |pair| {
            let (n, v) = pair.split_at_checked(pair.bytes().position(|b| b == b'=')?)?;
            (n.trim_ascii() == name).then(|| v.get(1..).unwrap_or_default().trim_ascii())
        })
}

/// The pieces of a `Cookie` field between `;` and `,` separators, found byte by byte.
fn pairs(field: &str) -> impl Iterator<Item = &str> {
    let bytes = field.as_bytes();
    let mut start = Some(0);
    std::iter::from_fn(move || {
        let from = start?;
        let rest = bytes.get(from..)?;
        let end = match rest.iter().position(|b| *b == b';' || *b == b',') {
            Some(at) => {
                start = Some(from + at + 1);
                from + at
            }
            None => {
                start = None;
                bytes.len()
            }
        };
        field.get(from..end)
    })
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

/// Appends `Set-Cookie` headers that delete every cookie of ours (the session's and a pending
/// login).
pub fn clear_all(headers: &mut HeaderMap) {
    for name in names::ALL_COOKIES {
        headers.append(SET_COOKIE, clear(name));
    }
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

    /// A browser on HTTP/2 sends one `Cookie` field per cookie (RFC 9113 §8.2.3), and some
    /// proxies pass them on that way; workerd hands the worker the fields joined with `, `.
    #[test]
    fn reads_cookies_from_split_and_comma_joined_fields() {
        let (at, id) = ("1.k1.QUJD-_x", "1.k1.ZGVm_-y");
        // (the Cookie fields as sent)
        let table: &[&[&str]] = &[
            &["__Host-edgeward-at=1.k1.QUJD-_x; __Host-edgeward-id=1.k1.ZGVm_-y"],
            // Joined by the runtime, as workerd does.
            &["__Host-edgeward-at=1.k1.QUJD-_x, __Host-edgeward-id=1.k1.ZGVm_-y"],
            &["a=1; __Host-edgeward-at=1.k1.QUJD-_x, b=2; __Host-edgeward-id=1.k1.ZGVm_-y, c=3"],
            &["__Host-edgeward-at=1.k1.QUJD-_x,__Host-edgeward-id=1.k1.ZGVm_-y"],
            // One field per cookie, as an HTTP/2 browser sends them.
            &[
                "__Host-edgeward-at=1.k1.QUJD-_x",
                "__Host-edgeward-id=1.k1.ZGVm_-y",
            ],
            &[
                "a=1",
                "__Host-edgeward-at=1.k1.QUJD-_x",
                "b=2",
                "__Host-edgeward-id=1.k1.ZGVm_-y",
            ],
        ];
        for fields in table {
            let mut h = HeaderMap::new();
            for field in *fields {
                h.append(COOKIE, HeaderValue::from_str(field).unwrap());
            }
            assert_eq!(
                read(&h, "__Host-edgeward-at").as_deref(),
                Some(at),
                "{fields:?}"
            );
            assert_eq!(
                read(&h, "__Host-edgeward-id").as_deref(),
                Some(id),
                "{fields:?}"
            );
            assert_eq!(read(&h, "__Host-edgeward-rt"), None, "{fields:?}");
        }
    }

    /// The byte-wise scan reads every field exactly as splitting on the `char`s `;` and `,` and
    /// trimming did (the scan before it, kept here as the reference).
    #[test]
    fn the_byte_scan_reads_what_the_char_split_read() {
        fn reference<'a>(headers: &'a HeaderMap, name: &'a str) -> Vec<&'a str> {
            headers
                .get_all(COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split([';', ',']))
                .filter_map(|pair| pair.split_once('='))
                .filter(move |(n, _)| n.trim() == name)
                .map(|(_, v)| v.trim())
                .collect()
        }
        let fields: &[&[u8]] = &[
            b"",
            b";",
            b",,;;",
            b"a",
            b"a=",
            b"=a",
            b"a=b=c; a = d ;a\t=\te\t",
            b" a=1;a=2,a=3 ; ,a=4,",
            b"a=1;",
            b";a=1",
            b"xa=1; ax=2; a=3",
            b"a=\"q;uoted\"",
            b"a=caf\xc3\xa9",
            b"b=\xff; a=1",
            b"a=1\x7f",
        ];
        for first in fields {
            for second in fields {
                let mut h = HeaderMap::new();
                for field in [first, second] {
                    if let Ok(v) = HeaderValue::from_bytes(field) {
                        h.append(COOKIE, v);
                    }
                }
                for name in ["a", "b", "x", ""] {
                    let got: Vec<&str> = values(&h, name).collect();
                    assert_eq!(got, reference(&h, name), "{h:?} {name:?}");
                }
            }
        }
    }

    /// A second copy of one of our cookies can only be smuggled in (see `read`): neither is read.
    #[test]
    fn a_cookie_of_ours_found_twice_is_not_read() {
        let table: &[&[&str]] = &[
            &["__Host-edgeward-at=A", "__Host-edgeward-at=B"],
            &["__Host-edgeward-at=A; __Host-edgeward-at=B"],
            // Another cookie's value carrying `, <our name>=…` (a cookie tossed from a sibling
            // subdomain), before or after ours.
            &["x=1, __Host-edgeward-at=B; __Host-edgeward-at=A"],
            &["__Host-edgeward-at=A; x=1, __Host-edgeward-at=B"],
        ];
        for fields in table {
            let mut h = HeaderMap::new();
            for field in *fields {
                h.append(COOKIE, HeaderValue::from_str(field).unwrap());
            }
            assert_eq!(read(&h, "__Host-edgeward-at"), None, "{fields:?}");
            assert!(present(&h, "__Host-edgeward-at"), "{fields:?}");
            assert!(!present(&h, "__Host-edgeward-rt"), "{fields:?}");
        }
    }
}
