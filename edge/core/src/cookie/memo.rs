//! Values opened once per isolate: a bounded memo of what a sealed value decrypted to, so a
//! browser that sends the same cookie on every request costs one decryption, not one per
//! request (the session read and the proxy open the same ID or access cookie again and again).
//!
//! What is remembered is a pure function's answer: with the isolate's keys (fixed for its life),
//! one sealed string under one cookie name always decrypts to the same plaintext, or never, and
//! that plaintext always parses to the same value. So the parsed value is what is kept (a hit
//! then costs a clone, not a JSON parse of a plaintext that still holds, for the ID cookie, the
//! whole raw ID token), and a hit is exactly as good as decrypting and parsing again: the entry is found by the value's last
//! characters (its GCM tag, in base64url) and used only when the whole sealed string is the
//! same; its expiry is checked on every use, as on every opening; whether the session it belongs
//! to has ended is decided after opening, as always. Only values that opened are remembered —
//! a forged value is decrypted (and refused) every time.
//!
//! What it costs: plaintexts held in the isolate's memory while they are in use — the session's
//! claims and CSRF value, and access tokens (the isolate holds them, and what they were
//! exchanged for, in the phantom-token cache already). Refresh tokens are never remembered: the
//! callers that use the memo open only the ID and access cookies. At most [`CAPACITY`] entries;
//! a full memo first drops what has expired, then an arbitrary entry.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

/// The most values one isolate remembers (about 2–6 KB each).
pub const CAPACITY: usize = 512;

/// How many of a sealed value's last characters find its entry (its 128-bit GCM tag is the last
/// 22 base64url characters).
const KEY_CHARS: usize = 24;

/// One remembered opening.
struct Entry {
    /// The cookie's name.
    name: String,
    /// The whole sealed value, compared on every hit.
    sealed: String,
    /// When it expires, seconds since the epoch.
    expires_at: u64,
    /// Its label's tag.
    tag: String,
    /// What it decrypted and parsed to (one type per cookie name; another type is a miss).
    value: Rc<dyn Any>,
}

/// Opened values by their sealed string's last characters (the name and the whole string are
/// compared on a hit). `Debug` shows the count only.
#[derive(Default)]
pub struct Memo {
    entries: RefCell<HashMap<String, Entry>>,
}

impl fmt::Debug for Memo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Memo({} values)", self.entries.borrow().len())
    }
}

/// A remembered opening: the value, its expiry and its tag.
pub struct Remembered<T> {
    /// What the sealed value opened to.
    pub value: T,
    /// When it expires.
    pub expires_at: u64,
    /// Its label's tag.
    pub tag: String,
}

impl<T> fmt::Debug for Remembered<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Remembered(expires {}, ***)", self.expires_at)
    }
}

fn key(sealed: &str) -> &str {
    let start = sealed.len().saturating_sub(KEY_CHARS);
    // Sealed values are ASCII; anything else is never remembered (see `put`).
    sealed.get(start..).unwrap_or(sealed)
}

/// Whether two sealed strings are the same, compared eight bytes at a time and to the end
/// (`==` is `memcmp`, byte by byte in wasm, and stops at the first difference: a hit compares
/// 1–2 KB on every request, and how far a guess matched is nobody's business).
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let (mut wa, mut wb) = (a.chunks_exact(8), b.chunks_exact(8));
    let mut diff = 0u64;
    for (x, y) in wa.by_ref().zip(wb.by_ref()) {
        let word = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        diff |= word(x) ^ word(y);
    }
    for (x, y) in wa.remainder().iter().zip(wb.remainder()) {
        diff |= u64::from(x ^ y);
    }
    diff == 0
}

impl Memo {
    /// What `sealed` (under cookie `name`) opened to, if it is remembered as a `T` and has not
    /// expired at `now`.
    pub fn get<T: Clone + 'static>(
        &self,
        name: &str,
        sealed: &str,
        now: u64,
    ) -> Option<Remembered<T>> {
        let entries = self.entries.borrow();
        let entry = entries.get(key(sealed))?;
        if entry.name != name || !same(&entry.sealed, sealed) || entry.expires_at <= now {
            return None;
        }
        Some(Remembered {
            value: entry.value.downcast_ref::<T>()?.clone(),
            expires_at: entry.expires_at,
            tag: entry.tag.clone(),
        })
    }

    /// Remembers that `sealed` (under cookie `name`) opened to `value`.
    pub fn put<T: 'static>(
        &self,
        name: &str,
        sealed: &str,
        expires_at: u64,
        tag: &str,
        value: T,
        now: u64,
    ) {
        if !sealed.is_ascii() {
            return;
        }
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| e.expires_at > now);
        }
        if entries.len() >= CAPACITY {
            if let Some(any) = entries.keys().next().cloned() {
                entries.remove(&any);
            }
        }
        entries.insert(
            key(sealed).to_owned(),
            Entry {
                name: name.to_owned(),
                sealed: sealed.to_owned(),
                expires_at,
                tag: tag.to_owned(),
                value: Rc::new(value),
            },
        );
    }

    /// How many values are remembered.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_needs_the_same_name_the_same_whole_value_and_time_left() {
        let memo = Memo::default();
        let sealed = format!("3.k1.t.100.{}", "A".repeat(60));
        memo.put("c", &sealed, 100, "t", "plain".to_owned(), 0);
        assert_eq!(memo.get::<String>("c", &sealed, 99).unwrap().value, "plain");
        assert!(memo.get::<String>("c", &sealed, 100).is_none(), "expired");
        assert!(
            memo.get::<String>("d", &sealed, 0).is_none(),
            "another cookie"
        );
        assert!(memo.get::<u32>("c", &sealed, 0).is_none(), "another type");
        // Same last characters, another value: not the remembered one.
        let other = format!("3.k1.u.100.{}", "A".repeat(60));
        assert!(memo.get::<String>("c", &other, 0).is_none());
    }

    #[test]
    fn same_compares_every_byte() {
        let base = "3.k1.t.100.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij";
        assert!(same(base, base));
        assert!(same("", ""));
        for at in 0..base.len() {
            let mut other = base.as_bytes().to_vec();
            other[at] ^= 1;
            assert!(
                !same(base, std::str::from_utf8(&other).unwrap()),
                "byte {at}"
            );
        }
        assert!(!same(base, &base[..base.len() - 1]));
        assert!(!same(&base[..7], &base[..8]));
    }

    #[test]
    fn it_stays_bounded_dropping_the_expired_first() {
        let memo = Memo::default();
        for i in 0..CAPACITY {
            memo.put(
                "c",
                &format!("{i:0>30}v"),
                if i == 7 { 5 } else { 100 },
                "",
                (),
                0,
            );
        }
        assert_eq!(memo.len(), CAPACITY);
        memo.put("c", &format!("{:0>30}w", 1), 100, "", (), 10);
        assert_eq!(memo.len(), CAPACITY, "the expired one made room");
        assert!(memo.get::<()>("c", &format!("{:0>30}v", 8), 10).is_some());
        memo.put("c", &format!("{:0>30}w", 2), 100, "", (), 10);
        assert_eq!(memo.len(), CAPACITY, "an arbitrary one made room");
        assert_eq!(format!("{memo:?}"), format!("Memo({CAPACITY} values)"));
    }
}
