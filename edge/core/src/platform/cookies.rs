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
///
/// One of our names is found by the one-pass [`Jar`]; any other by the plain scan.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    if names::ALL_COOKIES.contains(&name) {
        return Jar::of(headers).get(name).map(str::to_owned);
    }
    read_by_scan(headers, name)
}

/// [`read`] by the plain scan, for any name: what the [`Jar`] must agree with for ours (the
/// `cookie_jar` fuzz target compares them).
pub fn read_by_scan(headers: &HeaderMap, name: &str) -> Option<String> {
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
    if names::ALL_COOKIES.contains(&name) {
        return Jar::of(headers).present(name);
    }
    present_by_scan(headers, name)
}

/// [`present`] by the plain scan, for any name (see [`read_by_scan`]).
pub fn present_by_scan(headers: &HeaderMap, name: &str) -> bool {
    values(headers, name).next().is_some()
}

/// Our cookies ([`names::ALL_COOKIES`]) as one request carries them, found in a single pass
/// over its `Cookie` fields: a request that needs three of them scans the header once, not
/// three times (the scan was most of a session read's CPU in wasm; README "Performance"). Reads
/// exactly as [`read`] and [`present`] do, duplicates included.
#[derive(Debug, Clone, Copy)]
pub struct Jar<'a> {
    slots: [Slot<'a>; names::ALL_COOKIES.len()],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot<'a> {
    Absent,
    Once(&'a str),
    Twice,
}

impl<'a> Jar<'a> {
    /// Finds our cookies in `headers`: one pass over each field that both checks it is text
    /// (as `HeaderValue::to_str` would; a field that is not is skipped whole, as [`values`]
    /// skips it) and cuts it at `;` and `,`. What a field gives counts only once the whole
    /// field has passed.
    pub fn of(headers: &'a HeaderMap) -> Self {
        let mut slots = [Slot::Absent; names::ALL_COOKIES.len()];
        for field in headers.get_all(COOKIE) {
            let bytes = field.as_bytes();
            // (index into ALL_COOKIES, start, end) of our pairs in this field.
            let mut ours: Vec<(usize, usize, usize)> = Vec::new();
            let mut start = 0;
            let mut text = true;
            let mut at = 0;
            while text && at < bytes.len() {
                // Eight plain bytes (no separator, nothing but visible ASCII) at once: most of a
                // field is our values' base64url.
                if let Some(word) = bytes.get(at..at + 8) {
                    if plain(u64::from_le_bytes(word.try_into().unwrap_or([b';'; 8]))) {
                        at += 8;
                        continue;
                    }
                }
                let end = (at + 8).min(bytes.len());
                for (i, b) in bytes.get(at..end).unwrap_or_default().iter().enumerate() {
                    match *b {
                        b';' | b',' => {
                            find_ours(bytes, start, at + i, &mut ours);
                            start = at + i + 1;
                        }
                        b'\t' | 0x20..=0x7e => {}
                        _ => {
                            text = false;
                            break;
                        }
                    }
                }
                at = end;
            }
            if !text {
                continue;
            }
            find_ours(bytes, start, bytes.len(), &mut ours);
            for (slot, from, to) in ours {
                // The field is visible ASCII, so every cut is a char boundary.
                let (Some(value), Some(s)) = (
                    std::str::from_utf8(bytes.get(from..to).unwrap_or_default()).ok(),
                    slots.get_mut(slot),
                ) else {
                    continue;
                };
                *s = match *s {
                    Slot::Absent => Slot::Once(value),
                    _ => Slot::Twice,
                };
            }
        }
        Self { slots }
    }

    /// The value of our cookie `name`, if the request carries it exactly once (see [`read`]).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        match self.slot(name) {
            Slot::Once(value) => Some(value),
            _ => None,
        }
    }

    /// Whether our cookie `name` is in the request, once or more (see [`present`]).
    pub fn present(&self, name: &str) -> bool {
        self.slot(name) != Slot::Absent
    }

    fn slot(&self, name: &str) -> Slot<'a> {
        names::ALL_COOKIES
            .iter()
            .position(|n| *n == name)
            .and_then(|at| self.slots.get(at).copied())
            .unwrap_or(Slot::Absent)
    }
}

/// Whether none of the eight bytes of `word` is `;`, `,` or outside visible ASCII (0x20–0x7e):
/// the classic word-at-a-time tests (a byte below 0x20, above 0x7e, equal to a given one), which
/// may flag a plain word (it is then looked at byte by byte) but never pass one that is not.
fn plain(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    let above_tilde = (word.wrapping_add(ONES) | word) & HIGHS;
    let separator =
        zero_byte(word ^ (ONES * u64::from(b';'))) | zero_byte(word ^ (ONES * u64::from(b',')));
    below_space | above_tilde | separator == 0
}

/// Adds the piece `bytes[start..end]` to `ours` when its name is one of ours: the index of the
/// name in [`names::ALL_COOKIES`] and where its trimmed value lies.
fn find_ours(bytes: &[u8], start: usize, end: usize, ours: &mut Vec<(usize, usize, usize)>) {
    let Some(piece) = bytes.get(start..end) else {
        return;
    };
    let Some(eq) = piece.iter().position(|b| *b == b'=') else {
        return;
    };
    let (name, value) = (
        piece.get(..eq).unwrap_or_default(),
        piece.get(eq + 1..).unwrap_or_default(),
    );
    let name = name.trim_ascii();
    // Every name of ours starts with the prefix: other cookies are passed over at once.
    if !name.starts_with(names::COOKIE_PREFIX.as_bytes()) {
        return;
    }
    let Some(slot) = names::ALL_COOKIES.iter().position(|n| n.as_bytes() == name) else {
        return;
    };
    let lead = value.len() - value.trim_ascii_start().len();
    let trimmed = value.trim_ascii().len();
    let from = start + eq + 1 + lead;
    ours.push((slot, from, from + trimmed));
}

/// A `name=value` piece cut at its first `=`, both trimmed; `None` without a `=`.
fn split_pair(pair: &str) -> Option<(&str, &str)> {
    let (n, v) = pair.split_at_checked(pair.bytes().position(|b| b == b'=')?)?;
    Some((n.trim_ascii(), v.get(1..).unwrap_or_default().trim_ascii()))
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
        .filter_map(split_pair)
        .filter_map(move |(n, v)| (n == name).then_some(v))
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

    /// Asserts that the jar of `h` gives every cookie of ours as the plain scan does.
    fn jar_reads_as_the_scan(h: &HeaderMap) -> Jar<'_> {
        let jar = Jar::of(h);
        for name in names::ALL_COOKIES {
            assert_eq!(
                jar.get(name),
                read_by_scan(h, name).as_deref(),
                "{h:?} {name}"
            );
            assert_eq!(jar.present(name), present_by_scan(h, name), "{h:?} {name}");
        }
        jar
    }

    /// The one-pass jar reads each of our cookies exactly as `read` and `present` do, over
    /// every shape of field above and our names among others', twice, malformed.
    #[test]
    fn the_jar_reads_what_read_and_present_read() {
        let fields: &[&[u8]] = &[
            b"",
            b"__Host-edgeward-at=A",
            b"__Host-edgeward-at=B; x=1",
            b" __Host-edgeward-id = C ,__Host-edgeward-rt=D",
            b"__Host-edgeward-id",
            b"__Host-edgeward-idx=E; x__Host-edgeward-id=F",
            b"__Host-edgeward-csrf=G;__Host-edgeward-login=H,__Host-edgeward-sid=I",
            b"__Host-edgeward-sid=J\xff",
            b"a=1, __Host-edgeward-login=K",
            b"__Host-edgeward-rt=",
        ];
        for first in fields {
            for second in fields {
                for third in fields {
                    let mut h = HeaderMap::new();
                    for field in [first, second, third] {
                        if let Ok(v) = HeaderValue::from_bytes(field) {
                            h.append(COOKIE, v);
                        }
                    }
                    let jar = jar_reads_as_the_scan(&h);
                    assert_eq!(jar.get("a"), None);
                    assert!(!jar.present("__Host-edgeward-idx"));
                }
            }
        }
    }

    /// Long fields, with every kind of byte at every place of an eight-byte word: the word at a
    /// time scan reads what `read` reads.
    #[test]
    fn the_jar_reads_long_fields_as_read_does() {
        let value = "3.k1.abcDEF-_.1700000000.QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo";
        for special in [b';', b',', b'\t', b' ', 0x1f, 0x7f, 0x80, 0xff, b'=', b'~'] {
            for at in 0..24 {
                let mut field = format!(
                    "__Host-edgeward-id={value}; __Host-edgeward-at={value}, x=1; __Host-edgeward-rt={value}"
                )
                .into_bytes();
                let at = at * 7 % field.len();
                field[at] = special;
                let mut h = HeaderMap::new();
                let Ok(v) = HeaderValue::from_bytes(&field) else {
                    continue;
                };
                h.append(COOKIE, v);
                h.append(COOKIE, HeaderValue::from_static("__Host-edgeward-csrf=c"));
                jar_reads_as_the_scan(&h);
            }
        }
        for word in [0u64, u64::MAX, 0x2020_2020_2020_2020, 0x7e7e_7e7e_7e7e_7e7e] {
            let bytes = word.to_le_bytes();
            let by_bytes = bytes
                .iter()
                .all(|b| (0x20..=0x7e).contains(b) && *b != b';' && *b != b',');
            assert_eq!(plain(word), by_bytes, "{word:#x}");
        }
        // Every single byte value in every lane, the others plain.
        for lane in 0..8 {
            for b in 0..=255u8 {
                let mut bytes = *b"abcdefgh";
                bytes[lane] = b;
                let ok = (0x20..=0x7e).contains(&b) && b != b';' && b != b',';
                assert_eq!(
                    plain(u64::from_le_bytes(bytes)),
                    ok,
                    "{b:#x} in lane {lane}"
                );
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
