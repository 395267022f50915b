//! Sealed cookie values: AES-256-GCM under a key derived for every value, a key id for
//! rotation, the deployment and the cookie's name bound in, and a label readable without the key.
//!
//! A sealed value reads `3.<kid>.<tag>.<exp>.<base64url(salt ‖ ciphertext ‖ tag)>`:
//! - `3` is the format version;
//! - `kid` names the configured key that sealed it, so keys can rotate without logging everyone
//!   out: [`CookieKeys`] holds a list, the first seals, every one opens;
//! - `tag` (0–43 of `A-Z a-z 0-9 _ -`) and `exp` (seconds since the epoch) are the value's
//!   [`Label`]: what its sealer says about it in clear. The session cookies put a tag of their
//!   session's binding there, so that a request's cookies can be seen to belong together
//!   without opening them, and the expiry lets an expired value be dropped, and an access
//!   token's expiry be reported, without opening it ([`CookieKeys::peek`]). Both are in the
//!   associated data: a value whose label was changed does not open. Read without opening,
//!   a label is only a claim; whatever grants anything is opened;
//! - `salt` is 128 random bits, fresh for every seal. The AES-256 key and the 96-bit nonce of
//!   this one value are HKDF-SHA256-Expand(configured key, `edgeward/cookie/3` ‖ salt) (RFC 5869;
//!   the configured key is already uniformly random, so the extract step is skipped). So no two
//!   values share a key, and the 2^32-values-per-key budget of random 96-bit nonces under one
//!   long-lived AES-GCM key does not apply; two values share a key only if their salts collide
//!   (about 2^64 seals);
//! - the associated data is `edgeward/3/<kid>/<deployment>/<cookie name>/<tag>/<exp>`, the
//!   deployment being the SPA's origin and the client id ([`CookieKeys::for_deployment`]): a
//!   value moved to another cookie, relabelled with another key id, tag or expiry, or taken from
//!   a deployment sharing the key (staging and production) does not open.
//!
//! Why HKDF and not AES-256-GCM-SIV: it keeps AES-GCM, which WebCrypto has, for two
//! HMAC-SHA256 blocks per value.
//!
//! The AES-GCM itself is the platform's when it has one ([`AeadCipher`]: WebCrypto in the
//! worker); the key and nonce are derived here either way, and the value is byte for byte the
//! same whichever side encrypted. When the platform answers `None` the cipher runs in Rust (the
//! `aes-gcm` crate). A value the platform finds forged is forged: it is not decrypted again in
//! Rust.
//!
//! Format 2 (`2.<kid>.<base64url(salt ‖ ciphertext ‖ tag)>`, HKDF label `edgeward/cookie/2`,
//! associated data `edgeward/2/<kid>/<deployment>/<cookie name>`, the expiry inside the
//! plaintext) still opens through [`CookieKeys::open_json`], so the sessions of the release
//! before stay signed in; nothing seals it. Its values have no label ([`Peeked::Unlabelled`]):
//! a reader that needs one opens them instead. Every format-2 value has expired 24 hours after
//! the upgrade (no session cookie lives longer), and a later release drops it. Format 1 (the
//! configured key used directly, no deployment bound) does not open.
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

use super::memo::Memo;
use crate::platform::ports::{AeadCipher, AuthenticationFailed, Random, RandomUnavailable};

/// Browsers keep at most about 4 KiB per cookie: anything longer was not written by us.
pub const MAX_SEALED_LEN: usize = 4096;
/// The format that seals.
const VERSION: &str = "3";
/// The format of the release before, opened only.
const VERSION_2: &str = "2";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const KEY_LABEL: &[u8] = b"edgeward/cookie/3";
const KEY_LABEL_2: &[u8] = b"edgeward/cookie/2";
/// The longest [`Label::tag`]: 32 bytes in base64url.
pub const MAX_TAG_LEN: usize = 43;

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

    /// The AES-256 key and the nonce of the value with this salt (under the format's HKDF
    /// label).
    fn derive(&self, label: &[u8], salt: &[u8]) -> Result<([u8; 32], [u8; NONCE_LEN]), ()> {
        let mut okm = [0u8; 32 + NONCE_LEN];
        self.hkdf
            .expand_multi_info(&[label, salt], &mut okm)
            .map_err(|_| ())?;
        let mut key = [0u8; 32];
        let mut nonce = [0u8; NONCE_LEN];
        key.copy_from_slice(&okm[..32]);
        nonce.copy_from_slice(&okm[32..]);
        Ok((key, nonce))
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
    /// The tag it was sealed with (empty for format 2, which has none).
    pub tag: String,
}

/// What a value says about itself in clear: a tag chosen by its sealer and its expiry. Sealed
/// into the associated data, so authenticated once the value is opened; read by
/// [`CookieKeys::peek`] without opening, only a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label<'a> {
    /// 0–[`MAX_TAG_LEN`] of `A-Z a-z 0-9 _ -`.
    pub tag: &'a str,
    /// When the value expires, seconds since the epoch.
    pub expires_at: u64,
}

/// A sealed value's clear part, read without the key ([`CookieKeys::peek`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peeked<'a> {
    /// A format-3 value: its label, as it claims.
    Labelled(Label<'a>),
    /// A format-2 value: no label; only opening it tells.
    Unlabelled,
}

/// Whether `tag` may be a label's tag.
fn valid_tag(tag: &str) -> bool {
    tag.len() <= MAX_TAG_LEN
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A label's expiry: 1–20 ASCII digits that fit a `u64`, in the one spelling [`CookieKeys::seal`]
/// writes (no leading zero). The associated data holds the number written back, so a second
/// spelling would be a changed label that still opens.
fn parse_exp(exp: &str) -> Option<u64> {
    if exp.is_empty()
        || exp.len() > 20
        || !exp.bytes().all(|b| b.is_ascii_digit())
        || (exp.len() > 1 && exp.starts_with('0'))
    {
        return None;
    }
    exp.parse().ok()
}

/// A sealed value split into its parts, not yet opened.
struct Parts<'a> {
    version: &'a str,
    kid: &'a str,
    /// Format 3 only.
    label: Option<Label<'a>>,
    payload: &'a str,
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    exp: u64,
    v: T,
}

/// The configured keys: the first seals, all open; and the deployment they seal for. Also what
/// this isolate opened with them and may open again without decrypting
/// ([`CookieKeys::open_json_remembered`]).
pub struct CookieKeys {
    keys: Vec<CookieKey>,
    deployment: String,
    memo: Memo,
}

impl fmt::Debug for CookieKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieKeys")
            .field("keys", &self.keys)
            .field("deployment", &self.deployment)
            .finish_non_exhaustive()
    }
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
            memo: Memo::default(),
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

    /// 32 bytes derived from the key that seals and the deployment ([`CookieKeys::for_deployment`]),
    /// for `label`'s use alone (HKDF-Expand under an info no sealed value uses): a secret of
    /// this deployment that changes with the key. `None` only if HKDF refused, which it does
    /// not for 32 bytes.
    pub fn derive_secret(&self, label: &str) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        let info: [&[u8]; 4] = [
            b"edgeward secret ",
            label.as_bytes(),
            b"\0",
            self.deployment.as_bytes(),
        ];
        self.keys[0].hkdf.expand_multi_info(&info, &mut out).ok()?;
        Some(out)
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `plaintext` for the cookie called `name`, with `label` in clear (format 3): the
    /// salt from `ports`' randomness, the encryption by `ports`' cipher or, when it has none, in
    /// Rust.
    pub async fn seal(
        &self,
        ports: &(impl Random + AeadCipher + ?Sized),
        name: &str,
        label: Label<'_>,
        plaintext: &[u8],
    ) -> Result<String, SealError> {
        if !valid_tag(label.tag) {
            return Err(SealError::Encrypt);
        }
        let key = &self.keys[0];
        let mut salt = [0u8; SALT_LEN];
        ports.fill(&mut salt).map_err(SealError::Random)?;
        let (aes_key, nonce) = key
            .derive(KEY_LABEL, &salt)
            .map_err(|_| SealError::Encrypt)?;
        let aad = self.associated_data(VERSION, &key.id, name, Some(label));
        let ciphertext = aes_gcm_encrypt(ports, &aes_key, &nonce, aad.as_bytes(), plaintext)
            .await
            .ok_or(SealError::Encrypt)?;
        let mut payload = Vec::with_capacity(SALT_LEN + ciphertext.len());
        payload.extend_from_slice(&salt);
        payload.extend_from_slice(&ciphertext);
        Ok(format!(
            "{VERSION}.{}.{}.{}.{}",
            key.id,
            label.tag,
            label.expires_at,
            URL_SAFE_NO_PAD.encode(payload)
        ))
    }

    /// Splits a sealed value and finds its key; nothing is decrypted.
    fn parts<'a>(&self, sealed: &'a str) -> Result<(Parts<'a>, &CookieKey), OpenError> {
        if sealed.len() > MAX_SEALED_LEN {
            return Err(OpenError::TooLarge);
        }
        let (version, rest) = sealed.split_once('.').ok_or(OpenError::Malformed)?;
        let (kid, label, payload) = match version {
            VERSION => {
                let mut fields = rest.splitn(4, '.');
                let (Some(kid), Some(tag), Some(exp), Some(payload)) =
                    (fields.next(), fields.next(), fields.next(), fields.next())
                else {
                    return Err(OpenError::Malformed);
                };
                let expires_at = parse_exp(exp).ok_or(OpenError::Malformed)?;
                if !valid_tag(tag) {
                    return Err(OpenError::Malformed);
                }
                (kid, Some(Label { tag, expires_at }), payload)
            }
            VERSION_2 => {
                let (kid, payload) = rest.split_once('.').ok_or(OpenError::Malformed)?;
                (kid, None, payload)
            }
            _ => return Err(OpenError::UnknownVersion),
        };
        let key = self
            .keys
            .iter()
            .find(|k| k.id == kid)
            .ok_or(OpenError::UnknownKey)?;
        let parts = Parts {
            version,
            kid,
            label,
            payload,
        };
        Ok((parts, key))
    }

    /// What a sealed value says about itself in clear, without opening it: its label (format 3)
    /// or none (format 2). Refused as [`CookieKeys::open`] would refuse it for its shape, its
    /// version or its key id; whether it opens is not known.
    pub fn peek<'a>(&self, sealed: &'a str) -> Result<Peeked<'a>, OpenError> {
        let (parts, _) = self.parts(sealed)?;
        Ok(parts.label.map_or(Peeked::Unlabelled, Peeked::Labelled))
    }

    /// Decrypts a value sealed for the cookie called `name` (either format; a format-3 value
    /// past its label's expiry at `now` is [`OpenError::Expired`] without being decrypted), by
    /// `ports`' cipher or, when it has none (this time), in Rust. A value the platform finds
    /// forged is forged: Rust is not asked again.
    async fn decrypt<'a>(
        &self,
        ports: &(impl AeadCipher + ?Sized),
        name: &str,
        sealed: &'a str,
        now: u64,
    ) -> Result<(Option<Label<'a>>, Vec<u8>), OpenError> {
        let (parts, key) = self.parts(sealed)?;
        if parts.label.is_some_and(|l| l.expires_at <= now) {
            return Err(OpenError::Expired);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(parts.payload)
            .map_err(|_| OpenError::Malformed)?;
        if payload.len() < SALT_LEN + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        let (salt, ciphertext) = payload.split_at(SALT_LEN);
        let hkdf_label = if parts.label.is_some() {
            KEY_LABEL
        } else {
            KEY_LABEL_2
        };
        let (aes_key, nonce) = key
            .derive(hkdf_label, salt)
            .map_err(|_| OpenError::Forged)?;
        let aad = self.associated_data(parts.version, parts.kid, name, parts.label);
        let opened = aes_gcm_decrypt(ports, &aes_key, &nonce, aad.as_bytes(), ciphertext)
            .await
            .map_err(|AuthenticationFailed| OpenError::Forged)?;
        Ok((parts.label, opened))
    }

    /// Opens a value sealed by [`CookieKeys::seal`] for the cookie called `name`, and checks it
    /// has not expired at `now`. Format-2 values carry no raw plaintext (their expiry is inside
    /// it): they open through [`CookieKeys::open_json`] only, and are [`OpenError::BadPayload`]
    /// here.
    pub async fn open(
        &self,
        ports: &(impl AeadCipher + ?Sized),
        name: &str,
        sealed: &str,
        now: u64,
    ) -> Result<Opened<Vec<u8>>, OpenError> {
        match self.decrypt(ports, name, sealed, now).await? {
            (Some(label), value) => Ok(Opened {
                value,
                expires_at: label.expires_at,
                tag: label.tag.to_owned(),
            }),
            (None, _) => Err(OpenError::BadPayload),
        }
    }

    /// Seals `value` as JSON, untagged, expiring at `expires_at`.
    pub async fn seal_json<T: Serialize>(
        &self,
        ports: &(impl Random + AeadCipher + ?Sized),
        name: &str,
        value: &T,
        expires_at: u64,
    ) -> Result<String, SealError> {
        self.seal_json_tagged(ports, name, "", value, expires_at)
            .await
    }

    /// Seals `value` as JSON with `tag` in its label, expiring at `expires_at`.
    pub async fn seal_json_tagged<T: Serialize>(
        &self,
        ports: &(impl Random + AeadCipher + ?Sized),
        name: &str,
        tag: &str,
        value: &T,
        expires_at: u64,
    ) -> Result<String, SealError> {
        let json = serde_json::to_vec(value).map_err(|_| SealError::Encrypt)?;
        self.seal(ports, name, Label { tag, expires_at }, &json)
            .await
    }

    /// Opens a value sealed by [`CookieKeys::seal_json`] (or by the release before, format 2)
    /// and checks it has not expired at `now`.
    pub async fn open_json<T: DeserializeOwned>(
        &self,
        ports: &(impl AeadCipher + ?Sized),
        name: &str,
        sealed: &str,
        now: u64,
    ) -> Result<Opened<T>, OpenError> {
        Ok(self.open_json_with(ports, name, sealed, now).await?.0)
    }

    /// [`CookieKeys::open_json`] for a value the isolate is likely to see again (the session's
    /// ID and access cookies): a format-3 value it opened before is not decrypted again
    /// ([`memo`](super::memo): the same sealed string under the same name, its expiry checked
    /// as always). Never for refresh cookies: their tokens are not kept in memory.
    pub async fn open_json_remembered<T: DeserializeOwned + Clone + 'static>(
        &self,
        ports: &(impl AeadCipher + ?Sized),
        name: &str,
        sealed: &str,
        now: u64,
    ) -> Result<Opened<T>, OpenError> {
        if let Some(known) = self.memo.get::<T>(name, sealed, now) {
            return Ok(Opened {
                value: known.value,
                expires_at: known.expires_at,
                tag: known.tag,
            });
        }
        let (opened, labelled) = self.open_json_with::<T>(ports, name, sealed, now).await?;
        if labelled {
            self.memo.put(
                name,
                sealed,
                opened.expires_at,
                &opened.tag,
                opened.value.clone(),
                now,
            );
        }
        Ok(opened)
    }

    /// The value and whether it was sealed with a label (format 3: only those are remembered).
    async fn open_json_with<T: DeserializeOwned>(
        &self,
        ports: &(impl AeadCipher + ?Sized),
        name: &str,
        sealed: &str,
        now: u64,
    ) -> Result<(Opened<T>, bool), OpenError> {
        match self.decrypt(ports, name, sealed, now).await? {
            (Some(label), json) => {
                let value = serde_json::from_slice(&json).map_err(|_| OpenError::BadPayload)?;
                Ok((
                    Opened {
                        value,
                        expires_at: label.expires_at,
                        tag: label.tag.to_owned(),
                    },
                    true,
                ))
            }
            (None, json) => {
                let envelope: Envelope<T> =
                    serde_json::from_slice(&json).map_err(|_| OpenError::BadPayload)?;
                if envelope.exp <= now {
                    return Err(OpenError::Expired);
                }
                Ok((
                    Opened {
                        value: envelope.v,
                        expires_at: envelope.exp,
                        tag: String::new(),
                    },
                    false,
                ))
            }
        }
    }

    /// How many opened values this isolate remembers (see [`CookieKeys::open_json_remembered`]).
    pub fn remembered(&self) -> usize {
        self.memo.len()
    }

    fn associated_data(
        &self,
        version: &str,
        kid: &str,
        name: &str,
        label: Option<Label<'_>>,
    ) -> String {
        let deployment = &self.deployment;
        match label {
            Some(Label { tag, expires_at }) => {
                format!("edgeward/{version}/{kid}/{deployment}/{name}/{tag}/{expires_at}")
            }
            None => format!("edgeward/{version}/{kid}/{deployment}/{name}"),
        }
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

/// AES-256-GCM as sealing does it: `plaintext` encrypted under `key`, `nonce` and `aad`, the
/// ciphertext followed by its 16-byte tag; by `ports`' cipher when it answers with that, else in
/// Rust. `None` only when Rust cannot either (a plaintext longer than GCM allows).
pub async fn aes_gcm_encrypt(
    ports: &(impl AeadCipher + ?Sized),
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> Option<Vec<u8>> {
    let by_platform = ports
        .aes_gcm_encrypt(key, nonce, aad, plaintext)
        .await
        // Anything but ciphertext ‖ tag would not open: Rust does it instead.
        .filter(|c| c.len() == plaintext.len() + TAG_LEN);
    match by_platform {
        Some(ciphertext) => Some(ciphertext),
        None => Aes256Gcm::new(key.into())
            .encrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .ok(),
    }
}

/// AES-256-GCM as opening does it: `ciphertext` (its tag at the end) decrypted and
/// authenticated under `key`, `nonce` and `aad`; by `ports`' cipher when it answers, else in
/// Rust. The platform's "forged" is final: asking Rust again would double the work of whoever
/// sends forged values, and would hide a disagreement between the two.
pub async fn aes_gcm_decrypt(
    ports: &(impl AeadCipher + ?Sized),
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, AuthenticationFailed> {
    match ports.aes_gcm_decrypt(key, nonce, aad, ciphertext).await {
        Some(answer) => answer,
        // The platform has no cipher (or could not, this time).
        None => Aes256Gcm::new(key.into())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| AuthenticationFailed),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use futures_executor::block_on;

    use super::*;
    use crate::platform::ports::RustCipher;

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
    impl AeadCipher for Counter {}
    struct Broken;
    impl Random for Broken {
        fn fill(&self, _: &mut [u8]) -> Result<(), RandomUnavailable> {
            Err(RandomUnavailable)
        }
    }
    impl AeadCipher for Broken {}

    /// Sealing and opening waited for, the cipher in Rust (no platform cipher: the port's own
    /// tests are `tests/cipher_port.rs`).
    trait Now {
        fn seal_now(
            &self,
            name: &str,
            label: Label<'_>,
            plaintext: &[u8],
            random: &(impl Random + AeadCipher),
        ) -> Result<String, SealError>;
        fn open_now(
            &self,
            name: &str,
            sealed: &str,
            now: u64,
        ) -> Result<Opened<Vec<u8>>, OpenError>;
        fn seal_json_now<T: Serialize>(
            &self,
            name: &str,
            value: &T,
            expires_at: u64,
            random: &(impl Random + AeadCipher),
        ) -> Result<String, SealError>;
        fn seal_json_tagged_now<T: Serialize>(
            &self,
            name: &str,
            tag: &str,
            value: &T,
            expires_at: u64,
            random: &(impl Random + AeadCipher),
        ) -> Result<String, SealError>;
        fn open_json_now<T: DeserializeOwned>(
            &self,
            name: &str,
            sealed: &str,
            now: u64,
        ) -> Result<Opened<T>, OpenError>;
    }
    impl Now for CookieKeys {
        fn seal_now(
            &self,
            name: &str,
            label: Label<'_>,
            plaintext: &[u8],
            random: &(impl Random + AeadCipher),
        ) -> Result<String, SealError> {
            block_on(self.seal(random, name, label, plaintext))
        }
        fn open_now(
            &self,
            name: &str,
            sealed: &str,
            now: u64,
        ) -> Result<Opened<Vec<u8>>, OpenError> {
            block_on(self.open(&RustCipher, name, sealed, now))
        }
        fn seal_json_now<T: Serialize>(
            &self,
            name: &str,
            value: &T,
            expires_at: u64,
            random: &(impl Random + AeadCipher),
        ) -> Result<String, SealError> {
            block_on(self.seal_json(random, name, value, expires_at))
        }
        fn seal_json_tagged_now<T: Serialize>(
            &self,
            name: &str,
            tag: &str,
            value: &T,
            expires_at: u64,
            random: &(impl Random + AeadCipher),
        ) -> Result<String, SealError> {
            block_on(self.seal_json_tagged(random, name, tag, value, expires_at))
        }
        fn open_json_now<T: DeserializeOwned>(
            &self,
            name: &str,
            sealed: &str,
            now: u64,
        ) -> Result<Opened<T>, OpenError> {
            block_on(self.open_json(&RustCipher, name, sealed, now))
        }
    }

    const K1: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    // 32 bytes of 0x2a, base64.
    const K2: &str = "k2:KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

    fn keys(spec: &str) -> CookieKeys {
        CookieKeys::parse(spec).unwrap()
    }

    const NOW: u64 = 1_000;

    fn label(tag: &str) -> Label<'_> {
        Label {
            tag,
            expires_at: 2_000,
        }
    }

    fn open(keys: &CookieKeys, name: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
        keys.open_now(name, sealed, NOW).map(|o| o.value)
    }

    /// Seals as the release before did (format 2): the expiry inside the plaintext, no label.
    fn seal_format_2(keys: &CookieKeys, name: &str, json: &str, salt: u8) -> String {
        let key = &keys.keys[0];
        let salt = [salt; SALT_LEN];
        let (aes_key, nonce) = key.derive(KEY_LABEL_2, &salt).unwrap();
        let cipher = Aes256Gcm::new(&aes_key.into());
        let aad = format!("edgeward/2/{}/{}/{name}", key.id, keys.deployment);
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: json.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .unwrap();
        let mut payload = salt.to_vec();
        payload.extend_from_slice(&ct);
        format!("2.{}.{}", key.id, URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn seal_then_open_round_trips_with_fresh_nonces() {
        let keys = keys(K1);
        let rng = Counter(Cell::new(0));
        let a = keys
            .seal_now("__Host-edgeward-at", label("t1"), b"token", &rng)
            .unwrap();
        let b = keys
            .seal_now("__Host-edgeward-at", label("t1"), b"token", &rng)
            .unwrap();
        assert_ne!(a, b, "same plaintext must not seal to the same value");
        assert!(a.starts_with("3.k1.t1.2000."), "{a}");
        assert!(!a.contains("token"));
        let opened = keys.open_now("__Host-edgeward-at", &a, NOW).unwrap();
        assert_eq!(opened.value, b"token");
        assert_eq!((opened.tag.as_str(), opened.expires_at), ("t1", 2_000));
        assert_eq!(open(&keys, "__Host-edgeward-at", &b).unwrap(), b"token");
        // The clear label, without the key.
        assert_eq!(
            keys.peek(&a),
            Ok(Peeked::Labelled(Label {
                tag: "t1",
                expires_at: 2_000
            }))
        );
    }

    #[test]
    fn rotation_new_key_seals_old_key_still_opens() {
        let rng = Counter(Cell::new(7));
        let old = keys(K1).seal_now("c", label(""), b"v", &rng).unwrap();
        let rotated = keys(&format!("{K2},{K1}"));
        assert_eq!(rotated.current_id(), "k2");
        assert_eq!(open(&rotated, "c", &old).unwrap(), b"v");
        assert!(rotated
            .seal_now("c", label(""), b"v", &rng)
            .unwrap()
            .starts_with("3.k2..2000."));
        // Once the old key is dropped, its cookies stop opening.
        assert_eq!(open(&keys(K2), "c", &old), Err(OpenError::UnknownKey));
        assert_eq!(keys(K2).peek(&old), Err(OpenError::UnknownKey));
    }

    #[test]
    fn bad_sealed_values_are_refused_with_their_reason() {
        let keys = keys(K1);
        let good = keys
            .seal_now(
                "name",
                label("tag"),
                b"secret value",
                &Counter(Cell::new(1)),
            )
            .unwrap();
        let payload = good.splitn(5, '.').nth(4).unwrap().to_owned();
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
            k.seal_now(
                "name",
                label("tag"),
                b"secret value",
                &Counter(Cell::new(1)),
            )
            .unwrap()
        };
        let relabelled = {
            // Same bytes, claimed to be from another configured key id.
            let both = CookieKeys::parse(&format!("{K1},{K2}")).unwrap();
            let v = format!("3.k2.tag.2000.{payload}");
            open(&both, "name", &v)
        };
        assert_eq!(relabelled, Err(OpenError::Forged));

        // Three bytes fewer of ciphertext, validly encoded.
        let truncated = {
            let mut bytes = URL_SAFE_NO_PAD.decode(&payload).unwrap();
            bytes.truncate(bytes.len() - 3);
            format!("3.k1.tag.2000.{}", URL_SAFE_NO_PAD.encode(bytes))
        };
        let table: Vec<(&str, String, OpenError)> = vec![
            ("tampered", tampered, OpenError::Forged),
            ("wrong key, same id", other_key, OpenError::Forged),
            ("truncated", truncated, OpenError::Forged),
            // The clear label is bound in: another tag or a later expiry does not open.
            (
                "another tag",
                good.replacen(".tag.", ".gat.", 1),
                OpenError::Forged,
            ),
            ("no tag", good.replacen(".tag.", "..", 1), OpenError::Forged),
            (
                "a later expiry",
                good.replacen(".2000.", ".9000.", 1),
                OpenError::Forged,
            ),
            // An earlier one is expired as it says, without opening.
            (
                "an earlier expiry",
                good.replacen(".2000.", ".999.", 1),
                OpenError::Expired,
            ),
            (
                "cut to the nonce",
                format!("3.k1.tag.2000.{}", &payload[..40]),
                OpenError::Malformed,
            ),
            ("empty", String::new(), OpenError::Malformed),
            ("no payload", "3.k1.tag.2000".into(), OpenError::Malformed),
            ("no label", format!("3.k1.{payload}"), OpenError::Malformed),
            (
                "expiry not a number",
                good.replacen(".2000.", ".2e3.", 1),
                OpenError::Malformed,
            ),
            (
                "expiry with a sign",
                good.replacen(".2000.", ".+2000.", 1),
                OpenError::Malformed,
            ),
            (
                "expiry with a leading zero",
                good.replacen(".2000.", ".02000.", 1),
                OpenError::Malformed,
            ),
            (
                "expiry too large",
                good.replacen(".2000.", ".99999999999999999999.", 1),
                OpenError::Malformed,
            ),
            (
                "tag with a character outside base64url",
                good.replacen(".tag.", ".t=g.", 1),
                OpenError::Malformed,
            ),
            (
                "tag too long",
                good.replacen(".tag.", &format!(".{}.", "t".repeat(44)), 1),
                OpenError::Malformed,
            ),
            (
                "not base64url",
                "3.k1.tag.2000.***".into(),
                OpenError::Malformed,
            ),
            (
                "version 4",
                good.replacen("3.", "4.", 1),
                OpenError::UnknownVersion,
            ),
            (
                "format 1 label on a format 3 value",
                good.replacen("3.", "1.", 1),
                OpenError::UnknownVersion,
            ),
            (
                "format 2 label on a format 3 value",
                good.replacen("3.", "2.", 1),
                OpenError::Malformed,
            ),
            (
                "unknown kid",
                good.replacen(".k1.", ".k9.", 1),
                OpenError::UnknownKey,
            ),
            (
                "huge",
                format!("3.k1.tag.2000.{}", "A".repeat(5000)),
                OpenError::TooLarge,
            ),
        ];
        for (what, value, expected) in table {
            assert_eq!(open(&keys, "name", &value), Err(expected), "{what}");
            // What peeking refuses, opening refuses for the same reason.
            if let Err(e) = keys.peek(&value) {
                assert_eq!(e, expected, "peek: {what}");
            }
        }
        // The same value under another cookie's name does not open.
        assert_eq!(open(&keys, "other-name", &good), Err(OpenError::Forged));
        assert_eq!(open(&keys, "name", &good).unwrap(), b"secret value");
        // A tag the label cannot carry is not sealed.
        assert_eq!(
            keys.seal_now("name", label("a.b"), b"v", &Counter(Cell::new(1))),
            Err(SealError::Encrypt)
        );
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
        let sealed = keys.seal_json_now("login", &v, 1_000, &rng).unwrap();
        let opened: Opened<Login> = keys.open_json_now("login", &sealed, 999).unwrap();
        assert_eq!(
            opened,
            Opened {
                value: v,
                expires_at: 1_000,
                tag: String::new(),
            }
        );
        assert_eq!(
            keys.open_json_now::<Login>("login", &sealed, 1_000),
            Err(OpenError::Expired)
        );
        assert_eq!(
            keys.open_json_now::<u32>("login", &sealed, 0),
            Err(OpenError::BadPayload)
        );
        // Raw (non-JSON) plaintext is refused as a typed value.
        let raw = keys
            .seal_now("login", label(""), b"not json", &rng)
            .unwrap();
        assert_eq!(
            keys.open_json_now::<Login>("login", &raw, 0),
            Err(OpenError::BadPayload)
        );
        let tagged = keys
            .seal_json_tagged_now("login", "abc", &Login { state: "t".into() }, 1_000, &rng)
            .unwrap();
        assert_eq!(
            keys.open_json_now::<Login>("login", &tagged, 0)
                .unwrap()
                .tag,
            "abc"
        );
    }

    #[test]
    fn format_2_values_of_the_release_before_still_open_as_json() {
        let keys = keys(K1).for_deployment("https://app.example", "edgeward");
        let v2 = seal_format_2(&keys, "c", r#"{"exp":1000,"v":{"state":"s"}}"#, 5);
        assert_eq!(keys.peek(&v2), Ok(Peeked::Unlabelled));
        let opened = keys
            .open_json_now::<serde_json::Value>("c", &v2, 999)
            .unwrap();
        assert_eq!(opened.value["state"], "s");
        assert_eq!((opened.expires_at, opened.tag.as_str()), (1_000, ""));
        // Its expiry inside still holds; another cookie's name or deployment does not open it.
        assert_eq!(
            keys.open_json_now::<serde_json::Value>("c", &v2, 1_000),
            Err(OpenError::Expired)
        );
        assert_eq!(
            keys.open_json_now::<serde_json::Value>("d", &v2, 0),
            Err(OpenError::Forged)
        );
        let staging = CookieKeys::parse(K1)
            .unwrap()
            .for_deployment("https://staging.app.example", "edgeward");
        assert_eq!(
            staging.open_json_now::<serde_json::Value>("c", &v2, 0),
            Err(OpenError::Forged)
        );
        // Raw opening needs a label: a format-2 value is not one.
        assert_eq!(keys.open_now("c", &v2, 0), Err(OpenError::BadPayload));
        // Relabelled as format 3 (a label added in clear), it does not open.
        let payload = v2.splitn(3, '.').nth(2).unwrap();
        let relabelled = format!("3.k1..1000.{payload}");
        assert_eq!(
            keys.open_json_now::<serde_json::Value>("c", &relabelled, 0),
            Err(OpenError::Forged)
        );
    }

    #[test]
    fn no_randomness_no_seal() {
        assert_eq!(
            keys(K1).seal_now("c", label(""), b"v", &Broken),
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
            "CookieKeys { keys: [CookieKey(k1, ***)], deployment: \"\", .. }"
        );
    }

    #[test]
    fn values_are_bound_to_their_deployment() {
        let rng = Counter(Cell::new(9));
        let production = keys(K1).for_deployment("https://app.example", "edgeward");
        let staging = keys(K1).for_deployment("https://staging.app.example", "edgeward");
        let other_client = keys(K1).for_deployment("https://app.example", "other");
        let sealed = production.seal_now("c", label(""), b"v", &rng).unwrap();
        assert_eq!(open(&production, "c", &sealed).unwrap(), b"v");
        assert_eq!(open(&staging, "c", &sealed), Err(OpenError::Forged));
        assert_eq!(open(&other_client, "c", &sealed), Err(OpenError::Forged));
        assert_eq!(open(&keys(K1), "c", &sealed), Err(OpenError::Forged));
    }

    #[test]
    fn every_value_has_its_own_key_and_nonce() {
        // Two values under one configured key: the salts differ, and so do the derived key and
        // nonce; a value's salt swapped for another's no longer opens it.
        let keys = keys(K1);
        let key = &keys.keys[0];
        let (_, n1) = key.derive(KEY_LABEL, &[1u8; SALT_LEN]).unwrap();
        let (_, n2) = key.derive(KEY_LABEL, &[2u8; SALT_LEN]).unwrap();
        assert_ne!(n1, n2);
        // The formats' HKDF labels differ: one salt, two formats, two keys and nonces.
        let (_, n1_2) = key.derive(KEY_LABEL_2, &[1u8; SALT_LEN]).unwrap();
        assert_ne!(n1, n1_2);
        let rng = Counter(Cell::new(0));
        let a = keys.seal_now("c", label(""), b"same", &rng).unwrap();
        let b = keys.seal_now("c", label(""), b"same", &rng).unwrap();
        let pa = URL_SAFE_NO_PAD
            .decode(a.splitn(5, '.').nth(4).unwrap())
            .unwrap();
        let pb = URL_SAFE_NO_PAD
            .decode(b.splitn(5, '.').nth(4).unwrap())
            .unwrap();
        assert_ne!(pa[..SALT_LEN], pb[..SALT_LEN], "fresh salts");
        assert_ne!(pa[SALT_LEN..], pb[SALT_LEN..], "different ciphertexts");
        let mut swapped = pb[..SALT_LEN].to_vec();
        swapped.extend_from_slice(&pa[SALT_LEN..]);
        let swapped = format!("3.k1..2000.{}", URL_SAFE_NO_PAD.encode(swapped));
        assert_eq!(open(&keys, "c", &swapped), Err(OpenError::Forged));
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
        assert_eq!(open(&keys, "c", &v1), Err(OpenError::UnknownVersion));
        assert_eq!(
            keys.open_json_now::<serde_json::Value>("c", &v1, NOW),
            Err(OpenError::UnknownVersion)
        );
        // Nothing seals format 1 (or 2) any more.
        assert!(keys
            .seal_now("c", label(""), b"new", &Counter(Cell::new(0)))
            .unwrap()
            .starts_with("3."));
    }
}
