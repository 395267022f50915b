//! Sealed cookie values: AES-256-GCM under a key derived for every value, a key id for
//! rotation, and the deployment and the cookie's name bound in.
//!
//! A sealed value reads `2.<kid>.<base64url(salt ‖ ciphertext ‖ tag)>`:
//! - `2` is the format version;
//! - `kid` names the configured key that sealed it, so keys can rotate without logging everyone
//!   out: [`CookieKeys`] holds a list, the first seals, every one opens;
//! - `salt` is 128 random bits, fresh for every seal. The AES-256 key and the 96-bit nonce of
//!   this one value are HKDF-SHA256-Expand(configured key, `edgeward/cookie/2` ‖ salt) (RFC 5869;
//!   the configured key is already uniformly random, so the extract step is skipped). So no two
//!   values share a key, and the 2^32-values-per-key budget of random 96-bit nonces under one
//!   long-lived AES-GCM key does not apply; two values share a key only if their salts collide
//!   (about 2^64 seals);
//! - the associated data is `edgeward/2/<kid>/<deployment>/<cookie name>`, the deployment being
//!   the SPA's origin and the client id ([`CookieKeys::for_deployment`]): a value moved to another
//!   cookie, relabelled with another key id, or taken from a deployment sharing the key (staging
//!   and production) does not open.
//!
//! Why HKDF and not AES-256-GCM-SIV: it keeps AES-GCM, which WebCrypto has (the worker can hand
//! the cipher to the platform, as it does signatures), for two HMAC-SHA256 blocks per value.
//!
//! Format 1 (`1.<kid>.<base64url(nonce ‖ ciphertext ‖ tag)>`, the configured key used directly,
//! associated data `edgeward/1/<kid>/<cookie name>`) no longer opens: the only format-1 values
//! worth reading would be session cookies, which carry no session binding and cannot be used,
//! and login cookies of logins in flight at the upgrade (they start again); and format 1 binds
//! no deployment, so opening it would accept another deployment's values. The version in front
//! of every value stays, so a later format can be read beside this one.
//!
//! [`CookieKeys::seal_json`] / [`CookieKeys::open_json`] wrap a typed value with its expiry, so a
//! cookie kept past its `Max-Age` (the browser's promise, not ours) is refused too. An
//! [`Opened<T>`] exists only after decryption, authentication and the expiry check succeeded.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use hkdf::Hkdf;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::platform::ports::{Random, RandomUnavailable};

/// Browsers keep at most about 4 KiB per cookie: anything longer was not written by us.
pub const MAX_SEALED_LEN: usize = 4096;
const VERSION: &str = "2";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const KEY_LABEL: &[u8] = b"edgeward/cookie/2";

/// One AES-256 key and its id. `Debug` shows the id only.
pub struct CookieKey {
    id: String,
    /// HKDF over the configured key.
    hkdf: Hkdf<Sha256>,
}

impl fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CookieKey({}, ***)", self.id)
    }
}

impl CookieKey {
    /// A key from its id (1–16 of `A-Z a-z 0-9 _ -`) and 32 bytes of key material.
    pub fn new(id: &str, material: &[u8; 32]) -> Result<Self, KeyError> {
        if !valid_id(id) {
            return Err(KeyError::BadId { entry: 1 });
        }
        let hkdf = Hkdf::<Sha256>::from_prk(material).map_err(|_| KeyError::BadKey(id.into()))?;
        Ok(Self {
            id: id.to_owned(),
            hkdf,
        })
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The cipher and nonce of the value with this salt.
    fn derive(&self, salt: &[u8]) -> Result<(Aes256Gcm, [u8; NONCE_LEN]), ()> {
        let mut okm = [0u8; 32 + NONCE_LEN];
        self.hkdf
            .expand_multi_info(&[KEY_LABEL, salt], &mut okm)
            .map_err(|_| ())?;
        let (key, nonce) = okm.split_at(32);
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| ())?;
        let mut n = [0u8; NONCE_LEN];
        n.copy_from_slice(nonce);
        Ok((cipher, n))
    }
}

/// Whether `id` is a key id: 1–16 of `A-Z a-z 0-9 _ -` (so never key material, which is
/// longer: an error may show it).
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 16
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A cookie key specification could not be used. Messages never include key material: an
/// entry is named by its position unless its id is a valid key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The list is empty.
    Empty,
    /// An entry is not `kid:key`.
    NotKidColonKey,
    /// The id of this entry (counted from 1) has characters other than `A-Z a-z 0-9 _ -`, or is
    /// longer than 16 (written `key:kid`, the wrong way round, perhaps).
    BadId {
        /// The entry's position.
        entry: usize,
    },
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
            KeyError::BadId { entry } => write!(
                f,
                "entry {entry}: the key id (before the colon: kid:key) must be 1-16 of \
                 A-Z a-z 0-9 _ -"
            ),
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

/// The configured keys: the first seals, all open; and the deployment they seal for.
#[derive(Debug)]
pub struct CookieKeys {
    keys: Vec<CookieKey>,
    deployment: String,
}

impl CookieKeys {
    /// Keys in order; the first seals. Fails on an empty list or a repeated id. The deployment
    /// is empty until [`CookieKeys::for_deployment`] names it.
    pub fn new(keys: Vec<CookieKey>) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|k| k.id == key.id) {
                return Err(KeyError::DuplicateId(key.id.clone()));
            }
        }
        Ok(Self {
            keys,
            deployment: String::new(),
        })
    }

    /// Parses `kid:key[,kid:key…]`, each key 32 bytes as 64 hex digits or base64 (standard or
    /// URL-safe, padded or not).
    pub fn parse(spec: &str) -> Result<Self, KeyError> {
        let mut keys = Vec::new();
        let entries = spec.split(',').map(str::trim).filter(|e| !e.is_empty());
        for (n, entry) in entries.enumerate() {
            let (id, material) = entry.split_once(':').ok_or(KeyError::NotKidColonKey)?;
            let (id, material) = (id.trim(), material.trim());
            // The id first: only a valid id may appear in a message.
            if !valid_id(id) {
                return Err(KeyError::BadId { entry: n + 1 });
            }
            let bytes = decode_key(material).ok_or_else(|| KeyError::BadKey(id.to_owned()))?;
            keys.push(CookieKey::new(id, &bytes)?);
        }
        Self::new(keys)
    }

    /// These keys, sealing for one deployment: the SPA's origin and the worker's client id go
    /// into every value's associated data, so another deployment with the same keys (staging
    /// and production, say) cannot open them.
    pub fn for_deployment(mut self, origin: &str, client_id: &str) -> Self {
        self.deployment = format!("{origin} {client_id}");
        self
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
        let mut salt = [0u8; SALT_LEN];
        random.fill(&mut salt).map_err(SealError::Random)?;
        let (cipher, nonce) = key.derive(&salt).map_err(|_| SealError::Encrypt)?;
        let aad = self.associated_data(&key.id, name);
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Encrypt)?;
        let mut payload = Vec::with_capacity(SALT_LEN + ciphertext.len());
        payload.extend_from_slice(&salt);
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
        if payload.len() < SALT_LEN + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        let (salt, ciphertext) = payload.split_at(SALT_LEN);
        let (cipher, nonce) = key.derive(salt).map_err(|_| OpenError::Forged)?;
        let aad = self.associated_data(kid, name);
        let opened = cipher.decrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: ciphertext,
                aad: aad.as_bytes(),
            },
        );
        opened.map_err(|_| OpenError::Forged)
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

    fn associated_data(&self, kid: &str, name: &str) -> String {
        format!("edgeward/{VERSION}/{kid}/{}/{name}", self.deployment)
    }
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
        assert!(a.starts_with("2.k1."), "{a}");
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
        assert!(rotated.seal("c", b"v", &rng).unwrap().starts_with("2.k2."));
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
            let v = format!("2.k2.{payload}");
            both.open("name", &v)
        };
        assert_eq!(relabelled, Err(OpenError::Forged));

        // Three bytes fewer of ciphertext, validly encoded.
        let truncated = {
            let mut bytes = URL_SAFE_NO_PAD.decode(&payload).unwrap();
            bytes.truncate(bytes.len() - 3);
            format!("2.k1.{}", URL_SAFE_NO_PAD.encode(bytes))
        };
        let table: Vec<(&str, String, OpenError)> = vec![
            ("tampered", tampered, OpenError::Forged),
            ("wrong key, same id", other_key, OpenError::Forged),
            ("truncated", truncated, OpenError::Forged),
            (
                "cut to the nonce",
                format!("2.k1.{}", &payload[..40]),
                OpenError::Malformed,
            ),
            ("empty", String::new(), OpenError::Malformed),
            ("no payload", "2.k1".into(), OpenError::Malformed),
            ("not base64url", "2.k1.***".into(), OpenError::Malformed),
            (
                "version 3",
                good.replacen("2.", "3.", 1),
                OpenError::UnknownVersion,
            ),
            (
                "format 1 label on a format 2 value",
                good.replacen("2.", "1.", 1),
                OpenError::UnknownVersion,
            ),
            (
                "unknown kid",
                good.replacen(".k1.", ".k9.", 1),
                OpenError::UnknownKey,
            ),
            (
                "huge",
                format!("2.k1.{}", "A".repeat(5000)),
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
                KeyError::BadId { entry: 1 },
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
            "CookieKeys { keys: [CookieKey(k1, ***)], deployment: \"\" }"
        );
    }

    #[test]
    fn values_are_bound_to_their_deployment() {
        let rng = Counter(Cell::new(9));
        let production = keys(K1).for_deployment("https://app.example", "edgeward");
        let staging = keys(K1).for_deployment("https://staging.app.example", "edgeward");
        let other_client = keys(K1).for_deployment("https://app.example", "other");
        let sealed = production.seal("c", b"v", &rng).unwrap();
        assert_eq!(production.open("c", &sealed).unwrap(), b"v");
        assert_eq!(staging.open("c", &sealed), Err(OpenError::Forged));
        assert_eq!(other_client.open("c", &sealed), Err(OpenError::Forged));
        assert_eq!(keys(K1).open("c", &sealed), Err(OpenError::Forged));
    }

    #[test]
    fn every_value_has_its_own_key_and_nonce() {
        // Two values under one configured key: the salts differ, and so do the derived key and
        // nonce; a value's salt swapped for another's no longer opens it.
        let keys = keys(K1);
        let key = &keys.keys[0];
        let (_, n1) = key.derive(&[1u8; SALT_LEN]).unwrap();
        let (_, n2) = key.derive(&[2u8; SALT_LEN]).unwrap();
        assert_ne!(n1, n2);
        let rng = Counter(Cell::new(0));
        let a = keys.seal("c", b"same", &rng).unwrap();
        let b = keys.seal("c", b"same", &rng).unwrap();
        let pa = URL_SAFE_NO_PAD
            .decode(a.splitn(3, '.').nth(2).unwrap())
            .unwrap();
        let pb = URL_SAFE_NO_PAD
            .decode(b.splitn(3, '.').nth(2).unwrap())
            .unwrap();
        assert_ne!(pa[..SALT_LEN], pb[..SALT_LEN], "fresh salts");
        assert_ne!(pa[SALT_LEN..], pb[SALT_LEN..], "different ciphertexts");
        let mut swapped = pb[..SALT_LEN].to_vec();
        swapped.extend_from_slice(&pa[SALT_LEN..]);
        let swapped = format!("2.k1.{}", URL_SAFE_NO_PAD.encode(swapped));
        assert_eq!(keys.open("c", &swapped), Err(OpenError::Forged));
    }

    #[test]
    fn format_1_values_are_refused() {
        // Sealed as the previous release did: the configured key itself, a random nonce, and
        // `edgeward/1/<kid>/<name>` as associated data (no deployment: it would open anywhere
        // the key is configured).
        let material: [u8; 32] = core::array::from_fn(|i| i as u8);
        let cipher = Aes256Gcm::new((&material).into());
        let nonce = [7u8; NONCE_LEN];
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: b"old",
                    aad: b"edgeward/1/k1/c",
                },
            )
            .unwrap();
        let mut payload = nonce.to_vec();
        payload.extend_from_slice(&ct);
        let v1 = format!("1.k1.{}", URL_SAFE_NO_PAD.encode(&payload));
        let keys = keys(K1).for_deployment("https://app.example", "edgeward");
        assert_eq!(keys.open("c", &v1), Err(OpenError::UnknownVersion));
        // Nothing seals format 1 any more.
        assert!(keys
            .seal("c", b"new", &Counter(Cell::new(0)))
            .unwrap()
            .starts_with("2."));
    }
}
