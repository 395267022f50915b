//! Values opened once per isolate: a bounded memo of what a sealed value decrypted to, so a
//! browser that sends the same cookie on every request costs one decryption, not one per
//! request (the session read and the proxy open the same ID or access cookie again and again).
//!
//! What is remembered is a pure function's answer: with the isolate's keys (fixed for its life),
//! one sealed string under one cookie name always decrypts to the same plaintext, or never. So a
//! hit is exactly as good as decrypting again: the entry is found by the value's last
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

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

/// The most values one isolate remembers (about 2–6 KB each).
pub const CAPACITY: usize = 512;

/// How many of a sealed value's last characters find its entry (its 128-bit GCM tag is the last
/// 22 base64url characters).
const KEY_CHARS: usize = 24;

/// One remembered opening.
struct Entry {
    /// The whole sealed value, compared on every hit.
    sealed: String,
    /// When it expires, seconds since the epoch.
    expires_at: u64,
    /// Its label's tag.
    tag: String,
    /// What it decrypted to.
    plaintext: Vec<u8>,
}

/// Decrypted values by cookie name and sealed string. `Debug` shows the count only.
#[derive(Default)]
pub struct Memo {
    entries: RefCell<HashMap<(String, String), Entry>>,
}

impl fmt::Debug for Memo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Memo({} values)", self.entries.borrow().len())
    }
}

/// A remembered opening: the plaintext, its expiry and its tag.
pub struct Remembered {
    /// What the value decrypted to.
    pub plaintext: Vec<u8>,
    /// When it expires.
    pub expires_at: u64,
    /// Its label's tag.
    pub tag: String,
}

impl fmt::Debug for Remembered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Remembered(expires {}, ***)", self.expires_at)
    }
}

fn key(name: &str, sealed: &str) -> (String, String) {
    let start = sealed.len().saturating_sub(KEY_CHARS);
    // Sealed values are ASCII; anything else is never remembered (see `put`).
    let tail = sealed.get(start..).unwrap_or(sealed);
    (name.to_owned(), tail.to_owned())
}

impl Memo {
    /// What `sealed` (under cookie `name`) decrypted to, if it is remembered and has not expired
    /// at `now`.
    pub fn get(&self, name: &str, sealed: &str, now: u64) -> Option<Remembered> {
        let entries = self.entries.borrow();
        let entry = entries.get(&key(name, sealed))?;
        (entry.sealed == sealed && entry.expires_at > now).then(|| Remembered {
            plaintext: entry.plaintext.clone(),
            expires_at: entry.expires_at,
            tag: entry.tag.clone(),
        })
    }

    /// Remembers that `sealed` (under cookie `name`) opened to `plaintext`.
    pub fn put(
        &self,
        name: &str,
        sealed: &str,
        expires_at: u64,
        tag: &str,
        plaintext: &[u8],
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
            key(name, sealed),
            Entry {
                sealed: sealed.to_owned(),
                expires_at,
                tag: tag.to_owned(),
                plaintext: plaintext.to_vec(),
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
        memo.put("c", &sealed, 100, "t", b"plain", 0);
        assert_eq!(memo.get("c", &sealed, 99).unwrap().plaintext, b"plain");
        assert!(memo.get("c", &sealed, 100).is_none(), "expired");
        assert!(memo.get("d", &sealed, 0).is_none(), "another cookie");
        // Same last characters, another value: not the remembered one.
        let other = format!("3.k1.u.100.{}", "A".repeat(60));
        assert!(memo.get("c", &other, 0).is_none());
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
                b"p",
                0,
            );
        }
        assert_eq!(memo.len(), CAPACITY);
        memo.put("c", &format!("{:0>30}w", 1), 100, "", b"p", 10);
        assert_eq!(memo.len(), CAPACITY, "the expired one made room");
        assert!(memo.get("c", &format!("{:0>30}v", 8), 10).is_some());
        memo.put("c", &format!("{:0>30}w", 2), 100, "", b"p", 10);
        assert_eq!(memo.len(), CAPACITY, "an arbitrary one made room");
        assert_eq!(format!("{memo:?}"), format!("Memo({CAPACITY} values)"));
    }
}
