//! Sealed cookie values: AES-256-GCM, a key id for rotation, and the cookie's name bound in.
//!
//! A sealed value reads `1.<kid>.<base64url(nonce ‖ ciphertext ‖ tag)>`:
//! - `1` is the format version;
//! - `kid` names the key that sealed it, so keys can rotate without logging everyone out:
//!   [`CookieKeys`] holds a list, the first seals, every one opens;
//! - the nonce is 96 random bits, fresh for every seal;
//! - the associated data is `edgeward/1/<kid>/<cookie name>`: a value moved to another cookie, or
//!   relabelled with another key id, fails to open.
//!
//! [`CookieKeys::seal_json`] / [`CookieKeys::open_json`] wrap a typed value with its expiry, so a
//! cookie kept past its `Max-Age` (the browser's promise, not ours) is refused too. An
//! [`Opened<T>`] exists only after decryption, authentication and the expiry check succeeded.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ports::{Random, RandomUnavailable};

/// Browsers keep at most about 4 KiB per cookie: anything longer was not written by us.
pub const MAX_SEALED_LEN: usize = 4096;
const VERSION: &str = "1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// One AES-256 key and its id. `Debug` shows the id only.
pub struct CookieKey {
    id: String,
    cipher: Aes256Gcm,
}

impl fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CookieKey({}, ***)", self.id)
    }
}

impl CookieKey {
    /// A key from its id (1–16 of `A-Z a-z 0-9 _ -`) and 32 bytes of key material.
    pub fn new(id: &str, material: &[u8; 32]) -> Result<Self, KeyError> {
        let valid_id = !id.is_empty()
            && id.len() <= 16
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_id {
            return Err(KeyError::BadId(id.chars().take(16).collect()));
        }
        Ok(Self {
            id: id.to_owned(),
            cipher: Aes256Gcm::new(material.into()),
        })
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A cookie key specification could not be used. Messages never include key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The list is empty.
    Empty,
    /// An entry is not `kid:key`.
    NotKidColonKey,
    /// A key id has characters other than `A-Z a-z 0-9 _ -`, or is longer than 16.
    BadId(String),
    /// Two entries share an id.
    DuplicateId(String),
    /// The key for this id is not 32 bytes of hex or base64.
    BadKey(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Empty => f.write_str("no keys given"),
            KeyError::NotKidColonKey => f.write_str("each entry must be kid:key"),
            KeyError::BadId(id) => write!(f, "key id {id:?} must be 1-16 of A-Z a-z 0-9 _ -"),
            KeyError::DuplicateId(id) => write!(f, "key id {id:?} appears twice"),
            KeyError::BadKey(id) => {
                write!(
                    f,
                    "the key for id {id:?} is not 32 bytes in hex (64 digits) or base64"
                )
            }
        }
    }
}

impl std::error::Error for KeyError {}

/// Why a sealed value did not open. Callers treat every variant as "no cookie".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Longer than any cookie we write.
    TooLarge,
    /// Not `version.kid.payload`, or the payload is not base64url, or too short.
    Malformed,
    /// A format version this build does not know.
    UnknownVersion,
    /// Sealed with a key that is not (or no longer) configured.
    UnknownKey,
    /// Authentication failed: tampered, truncated, wrong key, or moved from another cookie.
    Forged,
    /// The plaintext is not the expected JSON.
    BadPayload,
    /// Opened fine, but past its expiry.
    Expired,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OpenError::TooLarge => "sealed value too large",
            OpenError::Malformed => "sealed value malformed",
            OpenError::UnknownVersion => "unknown sealed format version",
            OpenError::UnknownKey => "sealed with an unknown key",
            OpenError::Forged => "sealed value failed authentication",
            OpenError::BadPayload => "sealed payload has the wrong shape",
            OpenError::Expired => "sealed value expired",
        })
    }
}

impl std::error::Error for OpenError {}

/// Sealing failed: no randomness, or a value the cipher refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealError {
    /// The platform's random source failed.
    Random(RandomUnavailable),
    /// The value could not be serialised or encrypted.
    Encrypt,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::Random(e) => e.fmt(f),
            SealError::Encrypt => f.write_str("value could not be sealed"),
        }
    }
}

impl std::error::Error for SealError {}

/// A value that was opened and checked: decrypted, authenticated, not expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened<T> {
    /// The value.
    pub value: T,
    /// When it expires, in seconds since the Unix epoch.
    pub expires_at: u64,
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    exp: u64,
    v: T,
}

/// The configured keys: the first seals, all open.
#[derive(Debug)]
pub struct CookieKeys {
    keys: Vec<CookieKey>,
}

impl CookieKeys {
    /// Keys in order; the first seals. Fails on an empty list or a repeated id.
    pub fn new(keys: Vec<CookieKey>) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|k| k.id == key.id) {
                return Err(KeyError::DuplicateId(key.id.clone()));
            }
        }
        Ok(Self { keys })
    }

    /// Parses `kid:key[,kid:key…]`, each key 32 bytes as 64 hex digits or base64 (standard or
    /// URL-safe, padded or not).
    pub fn parse(spec: &str) -> Result<Self, KeyError> {
        let mut keys = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, material) = entry.split_once(':').ok_or(KeyError::NotKidColonKey)?;
            let (id, material) = (id.trim(), material.trim());
            let bytes = decode_key(material).ok_or_else(|| KeyError::BadKey(id.to_owned()))?;
            keys.push(CookieKey::new(id, &bytes)?);
        }
        Self::new(keys)
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `plaintext` for the cookie called `name`.
    pub fn seal(
        &self,
        name: &str,
        plaintext: &[u8],
        random: &impl Random,
    ) -> Result<String, SealError> {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce).map_err(SealError::Random)?;
        let aad = associated_data(&key.id, name);
        let ciphertext = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Encrypt)?;
        let mut payload = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(&ciphertext);
        Ok(format!(
            "{VERSION}.{}.{}",
            key.id,
            URL_SAFE_NO_PAD.encode(payload)
        ))
    }

    /// Opens a value sealed for the cookie called `name`.
    pub fn open(&self, name: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
        if sealed.len() > MAX_SEALED_LEN {
            return Err(OpenError::TooLarge);
        }
        let mut parts = sealed.splitn(3, '.');
        let (Some(version), Some(kid), Some(payload)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(OpenError::Malformed);
        };
        if version != VERSION {
            return Err(OpenError::UnknownVersion);
        }
        let key = self
            .keys
            .iter()
            .find(|k| k.id == kid)
            .ok_or(OpenError::UnknownKey)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| OpenError::Malformed)?;
        if payload.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        let (nonce, ciphertext) = payload.split_at(NONCE_LEN);
        let aad = associated_data(kid, name);
        key.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Forged)
    }

    /// Seals `value` as JSON together with its expiry.
    pub fn seal_json<T: Serialize>(
        &self,
        name: &str,
        value: &T,
        expires_at: u64,
        random: &impl Random,
    ) -> Result<String, SealError> {
        let json = serde_json::to_vec(&Envelope {
            exp: expires_at,
            v: value,
        })
        .map_err(|_| SealError::Encrypt)?;
        self.seal(name, &json, random)
    }

    /// Opens a value sealed by [`CookieKeys::seal_json`] and checks it has not expired at `now`.
    pub fn open_json<T: DeserializeOwned>(
        &self,
        name: &str,
        sealed: &str,
        now: u64,
    ) -> Result<Opened<T>, OpenError> {
        let json = self.open(name, sealed)?;
        let envelope: Envelope<T> =
            serde_json::from_slice(&json).map_err(|_| OpenError::BadPayload)?;
        if envelope.exp <= now {
            return Err(OpenError::Expired);
        }
        Ok(Opened {
            value: envelope.v,
            expires_at: envelope.exp,
        })
    }
}

fn associated_data(kid: &str, name: &str) -> String {
    format!("edgeward/{VERSION}/{kid}/{name}")
}

fn decode_key(material: &str) -> Option<[u8; 32]> {
    let bytes = if material.len() == 64 && material.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&material[2 * i..2 * i + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()?
    } else {
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(material).ok())?
    };
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// Distinct "random" bytes on every call, so nonces differ as they must.
    struct Counter(Cell<u8>);
    impl Random for Counter {
        fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
            for b in dest.iter_mut() {
                *b = self.0.get();
                self.0.set(self.0.get().wrapping_add(1));
            }
            Ok(())
        }
    }
    struct Broken;
    impl Random for Broken {
        fn fill(&self, _: &mut [u8]) -> Result<(), RandomUnavailable> {
            Err(RandomUnavailable)
        }
    }

    const K1: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    // 32 bytes of 0x2a, base64.
    const K2: &str = "k2:KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

    fn keys(spec: &str) -> CookieKeys {
        CookieKeys::parse(spec).unwrap()
    }

    #[test]
    fn seal_then_open_round_trips_with_fresh_nonces() {
        let keys = keys(K1);
        let rng = Counter(Cell::new(0));
        let a = keys.seal("__Host-edgeward-at", b"token", &rng).unwrap();
        let b = keys.seal("__Host-edgeward-at", b"token", &rng).unwrap();
        assert_ne!(a, b, "same plaintext must not seal to the same value");
        assert!(a.starts_with("1.k1."), "{a}");
        assert!(!a.contains("token"));
        assert_eq!(keys.open("__Host-edgeward-at", &a).unwrap(), b"token");
        assert_eq!(keys.open("__Host-edgeward-at", &b).unwrap(), b"token");
    }

    #[test]
    fn rotation_new_key_seals_old_key_still_opens() {
        let rng = Counter(Cell::new(7));
        let old = keys(K1).seal("c", b"v", &rng).unwrap();
        let rotated = keys(&format!("{K2},{K1}"));
        assert_eq!(rotated.current_id(), "k2");
        assert_eq!(rotated.open("c", &old).unwrap(), b"v");
        assert!(rotated.seal("c", b"v", &rng).unwrap().starts_with("1.k2."));
        // Once the old key is dropped, its cookies stop opening.
        assert_eq!(keys(K2).open("c", &old), Err(OpenError::UnknownKey));
    }

    #[test]
    fn bad_sealed_values_are_refused_with_their_reason() {
        let keys = keys(K1);
        let good = keys
            .seal("name", b"secret value", &Counter(Cell::new(1)))
            .unwrap();
        let payload = good.splitn(3, '.').nth(2).unwrap().to_owned();
        // Flip one character in the middle of the ciphertext.
        let mut tampered = good.clone().into_bytes();
        let mid = good.len() - payload.len() / 2;
        tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        let other_key = {
            let k = CookieKeys::parse(
                "k1:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            )
            .unwrap();
            k.seal("name", b"secret value", &Counter(Cell::new(1)))
                .unwrap()
        };
        let relabelled = {
            // Same bytes, claimed to be from another configured key id.
            let both = CookieKeys::parse(&format!("{K1},{K2}")).unwrap();
            let v = format!("1.k2.{payload}");
            both.open("name", &v)
        };
        assert_eq!(relabelled, Err(OpenError::Forged));

        // Three bytes fewer of ciphertext, validly encoded.
        let truncated = {
            let mut bytes = URL_SAFE_NO_PAD.decode(&payload).unwrap();
            bytes.truncate(bytes.len() - 3);
            format!("1.k1.{}", URL_SAFE_NO_PAD.encode(bytes))
        };
        let table: Vec<(&str, String, OpenError)> = vec![
            ("tampered", tampered, OpenError::Forged),
            ("wrong key, same id", other_key, OpenError::Forged),
            ("truncated", truncated, OpenError::Forged),
            (
                "cut to the nonce",
                format!("1.k1.{}", &payload[..10]),
                OpenError::Malformed,
            ),
            ("empty", String::new(), OpenError::Malformed),
            ("no payload", "1.k1".into(), OpenError::Malformed),
            ("not base64url", "1.k1.***".into(), OpenError::Malformed),
            (
                "version 2",
                good.replacen("1.", "2.", 1),
                OpenError::UnknownVersion,
            ),
            (
                "unknown kid",
                good.replacen(".k1.", ".k9.", 1),
                OpenError::UnknownKey,
            ),
            (
                "huge",
                format!("1.k1.{}", "A".repeat(5000)),
                OpenError::TooLarge,
            ),
        ];
        for (what, value, expected) in table {
            assert_eq!(keys.open("name", &value), Err(expected), "{what}");
        }
        // The same value under another cookie's name does not open.
        assert_eq!(keys.open("other-name", &good), Err(OpenError::Forged));
        assert_eq!(keys.open("name", &good).unwrap(), b"secret value");
    }

    #[test]
    fn json_values_carry_and_enforce_their_expiry() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Login {
            state: String,
        }
        let keys = keys(K1);
        let rng = Counter(Cell::new(3));
        let v = Login { state: "s".into() };
        let sealed = keys.seal_json("login", &v, 1_000, &rng).unwrap();
        let opened: Opened<Login> = keys.open_json("login", &sealed, 999).unwrap();
        assert_eq!(
            opened,
            Opened {
                value: v,
                expires_at: 1_000
            }
        );
        assert_eq!(
            keys.open_json::<Login>("login", &sealed, 1_000),
            Err(OpenError::Expired)
        );
        assert_eq!(
            keys.open_json::<u32>("login", &sealed, 0),
            Err(OpenError::BadPayload)
        );
        // Raw (non-envelope) plaintext is refused as a typed value.
        let raw = keys.seal("login", b"not json", &rng).unwrap();
        assert_eq!(
            keys.open_json::<Login>("login", &raw, 0),
            Err(OpenError::BadPayload)
        );
    }

    #[test]
    fn no_randomness_no_seal() {
        assert_eq!(
            keys(K1).seal("c", b"v", &Broken),
            Err(SealError::Random(RandomUnavailable))
        );
    }

    #[test]
    fn key_specs() {
        let ok = [
            K1,
            K2,
            "a:KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio",
            " a : KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio= , b:KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio ",
        ];
        for spec in ok {
            assert!(CookieKeys::parse(spec).is_ok(), "{spec}");
        }
        let bad = [
            ("", KeyError::Empty),
            (" , ", KeyError::Empty),
            ("nocolon", KeyError::NotKidColonKey),
            ("k1:abcd", KeyError::BadKey("k1".into())),
            ("k1:KioqKioq", KeyError::BadKey("k1".into())),
            (
                "bad id:KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio",
                KeyError::BadId("bad id".into()),
            ),
            (&format!("{K1},{K1}"), KeyError::DuplicateId("k1".into())),
        ];
        for (spec, expected) in bad {
            let err = CookieKeys::parse(spec).unwrap_err();
            assert_eq!(err, expected, "{spec}");
            // Key material never appears in the message.
            assert!(!err.to_string().contains("Kioq"), "{err}");
        }
        assert_eq!(
            format!("{:?}", keys(K1)),
            "CookieKeys { keys: [CookieKey(k1, ***)] }"
        );
    }
}
