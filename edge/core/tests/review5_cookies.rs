//! Review 5 (issue 16 as merged): the one-pass cookie jar and the memo of opened values.
//!
//! HELD: `Jar::of` (word-at-a-time scan) reads exactly what the plain per-name scan reads, on
//! generated `Cookie` fields mixing our names, look-alike names, separators, whitespace, long
//! base64 runs (the 8-byte path) and non-ASCII bytes (a field that is not text is skipped
//! whole), one to three fields per request: duplicates in one field or across fields are never
//! read, a name is never matched by a prefix or a suffix.
//!
//! HELD: a memo entry is served only for the cookie name, the whole sealed string and the type
//! it was stored under.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edgeward_core::cookie::memo::Memo;
use edgeward_core::platform::cookies::{self, Jar};
use edgeward_shared::names;
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

/// What the plain scan reads for `name`: every text field split on `;` and `,`, each piece cut
/// at its first `=` and trimmed; (values found).
fn reference(fields: &[Vec<u8>], name: &str) -> Vec<String> {
    let mut found = Vec::new();
    for field in fields {
        let text = field
            .iter()
            .all(|b| *b == b'\t' || (0x20..0x7f).contains(b));
        if !text {
            continue;
        }
        let field = std::str::from_utf8(field).unwrap();
        for piece in field.split([';', ',']) {
            let Some((n, v)) = piece.split_once('=') else {
                continue;
            };
            if n.trim_ascii() == name {
                found.push(v.trim_ascii().to_owned());
            }
        }
    }
    found
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[(self.next() % from.len() as u64) as usize]
    }
}

#[test]
fn the_jar_reads_exactly_what_the_scan_reads() {
    let vocabulary: Vec<Vec<u8>> = names::ALL_COOKIES
        .iter()
        .flat_map(|n| {
            [
                n.as_bytes().to_vec(),
                format!("{n}=AAAAAAAAAAAAAAAAAAAAAAAA.BBBBBBBB_cc-dd").into_bytes(),
                format!(" {n}\t= v ").into_bytes(),
                format!("; {n}=").into_bytes(),
            ]
        })
        .chain(
            [
                &b"__Host-edgeward-"[..],
                b"__Host-edgeward-atx",
                b"x__Host-edgeward-at",
                b"__host-edgeward-at",
                b"=",
                b"=",
                b"=",
                b";",
                b"; ",
                b",",
                b", ",
                b" ",
                b"\t",
                b"v1",
                b"AAAAAAAAAAAAAAAA",
                b"abc.def_ghi-JKL0123456789",
                b"\xc3\xa9",
                b"\x80",
                b"\xff",
                b"~",
                b"\"q\"",
            ]
            .iter()
            .map(|b| b.to_vec()),
        )
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut checked = 0;
    // How often a name was found once, and more than once (so the table is not vacuous).
    let (mut once, mut twice) = (0, 0);
    for _ in 0..30_000 {
        let field_count = 1 + rng.next() % 3;
        let mut fields = Vec::new();
        for _ in 0..field_count {
            let mut field = Vec::new();
            for _ in 0..(rng.next() % 24) {
                let word: &Vec<u8> = rng.pick(&vocabulary);
                field.extend_from_slice(word);
            }
            fields.push(field);
        }
        let mut headers = HeaderMap::new();
        let mut ok = true;
        for field in &fields {
            match HeaderValue::from_bytes(field) {
                Ok(v) => headers.append(COOKIE, v),
                Err(_) => {
                    ok = false;
                    false
                }
            };
        }
        if !ok {
            continue;
        }
        let jar = Jar::of(&headers);
        for name in names::ALL_COOKIES {
            let want = reference(&fields, name);
            let got = jar.get(name);
            let expect = (want.len() == 1).then(|| want[0].as_str());
            once += usize::from(want.len() == 1);
            twice += usize::from(want.len() > 1);
            assert_eq!(got, expect, "{name} in {fields:?}");
            assert_eq!(jar.present(name), !want.is_empty(), "{name} in {fields:?}");
            assert_eq!(cookies::read(&headers, name).as_deref(), expect);
        }
        checked += 1;
    }
    assert!(checked > 10_000, "{checked} requests checked");
    assert!(once > 1_000 && twice > 500, "once {once}, twice {twice}");
}

#[test]
fn a_memo_entry_is_served_for_its_own_name_value_and_type_only() {
    let memo = Memo::default();
    let sealed = format!("3.k1.t.100.{}", "B".repeat(80));
    memo.put(names::COOKIE_ID, &sealed, 100, "t", "id".to_owned(), 0);
    assert_eq!(
        memo.get::<String>(names::COOKIE_ID, &sealed, 1)
            .unwrap()
            .value,
        "id"
    );
    for other in names::ALL_COOKIES
        .iter()
        .filter(|n| **n != names::COOKIE_ID)
    {
        assert!(memo.get::<String>(other, &sealed, 1).is_none(), "{other}");
    }
    // Another value under the same name whose last characters (the GCM tag) are the same.
    let lookalike = format!("3.k1.u.100.{}", "B".repeat(80));
    assert!(memo
        .get::<String>(names::COOKIE_ID, &lookalike, 1)
        .is_none());
    // The same tail, shorter or longer.
    assert!(memo
        .get::<String>(names::COOKIE_ID, &sealed[1..], 1)
        .is_none());
    assert!(memo
        .get::<String>(names::COOKIE_ID, &format!("x{sealed}"), 1)
        .is_none());
    // Storing the access cookie under the same tail replaces the entry; the ID cookie then
    // misses (it is opened again), it is never served the access cookie's value.
    memo.put(names::COOKIE_ACCESS, &sealed, 100, "t", "at".to_owned(), 0);
    assert!(memo.get::<String>(names::COOKIE_ID, &sealed, 1).is_none());
    assert_eq!(
        memo.get::<String>(names::COOKIE_ACCESS, &sealed, 1)
            .unwrap()
            .value,
        "at"
    );
}
