//! The session registry: what has been logged out, and the server-side sessions.
//!
//! - [`Registry`]: the registry's logic on a [`RegistryStore`] (on Cloudflare the storage of one
//!   Durable Object): `jti`s of logout tokens seen (a replay is refused and changes nothing),
//!   ended `sid`s, per `sub` the time before which sessions are ended (a logout token with a
//!   `sid` ends that session only; one with just a `sub` ends all of the user's sessions), the
//!   binding ids of stateless sessions logged out here, and the server-side sessions with their
//!   indexes. Entries are keyed by SHA-256, so the store never holds the IdP's identifiers as
//!   such. Stateless cookies cannot be recalled; this list is the deny-list that gives a logout
//!   the same effect.
//! - [`shard_of`] and [`ask`]: which registry object keeps a user's entries, and the JSON
//!   exchanged with it over the platform's session-registry port.
//! - [`EndedCache`]: the worker's per-isolate memory of answers (an ended session stays ended
//!   while the memory holds fewer than 4,096 ended sessions; a live one is asked about again
//!   after [`CHECK_TTL`] seconds).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::oidc::idtoken::LEEWAY;
use crate::oidc::logout::{LogoutOrder, MAX_AGE};
use crate::platform::crypto::token_key;
use crate::platform::ports::TransportError;

/// How long a worker trusts "this session is live" before asking again, seconds: a
/// back-channel logout reaches every isolate within this time (at once in the isolate that
/// received it).
pub const CHECK_TTL: u64 = 10;

/// A question for, or an order to, the registry (the JSON the worker sends its Durable Object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RegistryRequest {
    /// Record a logout (refused if its `jti` was seen). Server-side sessions it ends are
    /// deleted, and their refresh tokens handed back for revocation.
    Record {
        /// The validated order.
        order: LogoutOrder,
        /// Now, seconds.
        now: u64,
        /// How long a session can live, seconds (how long an ended `sid` is remembered).
        session_ttl: u64,
    },
    /// A stateless session was logged out: its binding id is ended until the session would
    /// have ended anyway, so copies of its cookies are refused.
    EndSession {
        /// The session's binding id.
        id: String,
        /// When the session ends, seconds.
        until: u64,
    },
    /// Stores a server-side session under its handle.
    PutSession {
        /// The SHA-256 of the session id.
        handle: String,
        /// The session.
        record: Box<super::server::SessionRecord>,
    },
    /// Reads a server-side session (an expired or ended one is deleted); records the use when
    /// the last one is a minute old.
    GetSession {
        /// The SHA-256 of the session id.
        handle: String,
        /// Now, seconds.
        now: u64,
    },
    /// Writes a refresh's new tokens into a server-side session, only if the session is still
    /// there and not ended (a revoke that came in while the grant ran wins).
    UpdateTokens {
        /// The SHA-256 of the session id.
        handle: String,
        /// The new access token.
        access_token: String,
        /// When it expires.
        access_expires_at: u64,
        /// The rotated refresh token, if the provider rotated it.
        refresh_token: Option<String>,
        /// Now, seconds.
        now: u64,
    },
    /// Deletes one server-side session.
    DeleteSession {
        /// The SHA-256 of the session id.
        handle: String,
    },
    /// Lists a user's server-side sessions.
    ListSessions {
        /// The user.
        sub: String,
    },
    /// Ends every session of a user: deletes the server-side ones and denies the stateless ones
    /// begun up to `now`.
    EndUser {
        /// The user.
        sub: String,
        /// Now, seconds.
        now: u64,
    },
    /// Deletes what no longer matters — `jti`s, ended `sid`s and sessions past their keeping
    /// time, `sub` denials older than the longest session, expired server-side sessions —
    /// looking at no more than `budget` entries, from where the last sweep stopped.
    Sweep {
        /// Now, seconds.
        now: u64,
        /// How long a session can live, seconds.
        session_ttl: u64,
        /// How many entries this call may look at.
        budget: usize,
    },
    /// A machine client's proof of possession: `Revoked` if one of its chain's certificates
    /// was revoked through the admin endpoint, `Replayed` if its key was seen and is still
    /// remembered, else `Stored` and remembered until `until` (the proof's `exp` plus a minute).
    SeenProof {
        /// The SHA-256 (hex) of the leaf's fingerprint and the proof's `jti`.
        key: String,
        /// Until when it is remembered, seconds.
        until: u64,
        /// Now, seconds.
        now: u64,
        /// The chain's certificates as revocations name them (`serial:<hex>`,
        /// `sha256:<hex>`; `machine::chain::VerifiedChain::revocation_names`).
        #[serde(default)]
        certificates: Vec<String>,
    },
    /// Adds a client certificate (`serial:<hex>` or `sha256:<hex>`) to the revocations this
    /// object keeps (the admin endpoint sends it to every object).
    RevokeCertificate {
        /// The certificate, as revocations name it.
        certificate: String,
    },
    /// Takes a client certificate off the revocations.
    UnrevokeCertificate {
        /// The certificate, as revocations name it.
        certificate: String,
    },
    /// The client certificates this object holds revoked.
    RevokedCertificates,
    /// Stores a connected account's record (token broker) for a user, replacing the one
    /// before. The registry does not read it: it is the broker's, its tokens sealed.
    PutConnection {
        /// The user: the SHA-256 (hex) of their scoped `sub`.
        user: String,
        /// The connection's name.
        name: String,
        /// The record (JSON made by the broker).
        record: String,
        /// Write only over a record that is there (a refresh's update): a disconnect that came
        /// in while the grant ran wins. Answered `Connection(None)` when nothing was written.
        #[serde(default)]
        only_if_present: bool,
    },
    /// Reads a user's record of one connection.
    GetConnection {
        /// The user: the SHA-256 (hex) of their scoped `sub`.
        user: String,
        /// The connection's name.
        name: String,
    },
    /// Deletes a user's record of one connection.
    DeleteConnection {
        /// The user: the SHA-256 (hex) of their scoped `sub`.
        user: String,
        /// The connection's name.
        name: String,
    },
    /// Every connection record of a user.
    ListConnections {
        /// The user: the SHA-256 (hex) of their scoped `sub`.
        user: String,
    },
    /// Has this session ended?
    Check {
        /// The session's binding id (stateless sessions).
        #[serde(default)]
        session: Option<String>,
        /// The session's IdP session id, if the ID token had one.
        sid: Option<String>,
        /// The session's subject.
        sub: String,
        /// When the session began, seconds.
        started_at: u64,
    },
}

/// The registry's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistryAnswer {
    /// A server-side session, if there is one.
    Session(Option<Box<super::server::SessionRecord>>),
    /// A user's server-side sessions.
    Sessions(Vec<super::server::SessionSummary>),
    /// Server-side sessions were deleted: how many, and their refresh tokens (to revoke).
    Deleted {
        /// How many.
        count: u32,
        /// Their refresh tokens.
        revoke: Vec<String>,
    },
    /// The logout was recorded; the refresh tokens of the server-side sessions it ended.
    Recorded {
        /// Refresh tokens to revoke at the provider.
        revoke: Vec<String>,
    },
    /// The logout token's `jti` was seen before: nothing changed.
    Replayed,
    /// Stored.
    Stored,
    /// Swept: entries deleted, and whether the sweep went through everything.
    Swept {
        /// Entries deleted.
        deleted: u32,
        /// Whether this call reached the end of the storage.
        done: bool,
    },
    /// The session has ended.
    Ended,
    /// The session is live.
    Live,
    /// A machine client's chain holds a certificate revoked through the admin endpoint.
    Revoked,
    /// The client certificates revoked through the admin endpoint.
    Certificates(Vec<String>),
    /// A connection record, if there is one.
    Connection(Option<String>),
    /// A user's connection records.
    Connections(Vec<String>),
}

/// Where the registry keeps its entries: `key` → text (on Cloudflare, the Durable Object's
/// storage).
pub trait RegistryStore {
    /// The value under `key`.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<String>, TransportError>>;
    /// Stores `value` under `key`.
    fn put(&self, key: &str, value: String) -> impl Future<Output = Result<(), TransportError>>;
    /// Removes `key`.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), TransportError>>;
    /// At most `limit` entries whose keys start with `prefix` and sort after `after` (when
    /// given), in key order: one page.
    fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(String, String)>, TransportError>>;
}

/// Entries read per page when the registry walks its storage.
pub const PAGE: usize = 128;

/// Every key starting with `prefix`, page by page, at most `cap` of them.
async fn keys_with_prefix(
    store: &impl RegistryStore,
    prefix: &str,
    cap: usize,
) -> Result<Vec<String>, TransportError> {
    let mut keys: Vec<String> = Vec::new();
    loop {
        let page = store
            .list(prefix, keys.last().map(String::as_str), PAGE)
            .await?;
        let full = page.len() == PAGE;
        keys.extend(page.into_iter().map(|(k, _)| k));
        if !full || keys.len() >= cap {
            keys.truncate(cap);
            return Ok(keys);
        }
    }
}

/// A number stored as text.
async fn get_number(store: &impl RegistryStore, key: &str) -> Result<Option<u64>, TransportError> {
    Ok(store.get(key).await?.and_then(|v| v.parse().ok()))
}

/// A store in memory: for native tests, and for running the registry without a platform.
#[derive(Debug, Default)]
pub struct MemoryStore(pub RefCell<BTreeMap<String, String>>);

impl RegistryStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<String>, TransportError> {
        Ok(self.0.borrow().get(key).cloned())
    }

    async fn put(&self, key: &str, value: String) -> Result<(), TransportError> {
        self.0.borrow_mut().insert(key.to_owned(), value);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), TransportError> {
        self.0.borrow_mut().remove(key);
        Ok(())
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, TransportError> {
        let entries = self.0.borrow();
        Ok(entries
            .range::<str, _>((
                after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
                std::ops::Bound::Unbounded,
            ))
            .skip_while(|(k, _)| !k.starts_with(prefix) && k.as_str() < prefix)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// The registry's logic, over any store.
#[derive(Debug)]
pub struct Registry;

fn key(kind: &str, value: &str) -> String {
    format!("{kind}:{}", token_key(&format!("{kind}\n{value}")))
}

/// What the registry knows a user (`sub`) or an IdP session (`sid`) of a session by: the value
/// itself for the default provider's sessions (`provider` `None`: as before there were several
/// providers, so adding providers keeps what was recorded), else the provider's id, U+001F and
/// the value. So a logout token of one provider never names another's user or session
/// (django-oauth-toolkit's `sub` is a database id: two providers may well both have a user 42).
/// No value of the default provider holds a control character (which could spell another
/// provider's scoped value): login refuses such an ID token, back-channel logout such a logout
/// token, the admin endpoint such a `sub=`.
pub fn scoped(provider: Option<&str>, value: &str) -> String {
    match provider {
        None => value.to_owned(),
        Some(id) => format!("{id}\u{1f}{value}"),
    }
}

/// The most server-side sessions one user's listing or revoke-all looks at.
const MAX_USER_SESSIONS: usize = 1000;

/// Where the sweep stopped last (a key of this store).
const SWEEP_CURSOR: &str = "meta:sweep-cursor";
/// The client certificates revoked through the admin endpoint, one JSON list per object (a
/// `meta:` key: the sweep leaves it alone; revocations last until they are taken back).
const CLIENT_REVOCATIONS: &str = "meta:client-revocations";

/// The revoked client certificates this object holds; an unreadable list fails the request
/// (the proof is then refused as if the registry were down: failing closed).
async fn revoked_certificates(store: &impl RegistryStore) -> Result<Vec<String>, TransportError> {
    match store.get(CLIENT_REVOCATIONS).await? {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|_| TransportError {
            reason: "the client revocation list does not parse".into(),
        }),
    }
}

fn json_list(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

impl Registry {
    /// Answers `request` from `store`. Keys: `jti:` (until when it is remembered), `proof:`
    /// (a machine client's proof, until when it is remembered), `sid:` (until
    /// when the IdP session id is ended), `ended:` (until when a logged-out stateless session is
    /// ended), `sub:` (sessions of this user that began before this time are ended),
    /// `session:<handle>` (a server-side session), `user:…:<handle>` and `isid:…:<handle>`
    /// (indexes of server-side sessions by user and by IdP session), `meta:` (the sweep's
    /// cursor).
    pub async fn handle(
        store: &impl RegistryStore,
        request: &RegistryRequest,
    ) -> Result<RegistryAnswer, TransportError> {
        match request {
            RegistryRequest::Record {
                order,
                now,
                session_ttl,
            } => {
                let jti = key("jti", &order.jti);
                if get_number(store, &jti)
                    .await?
                    .is_some_and(|until| until > *now)
                {
                    return Ok(RegistryAnswer::Replayed);
                }
                // With a sid, that one session ends (the user may be signed in elsewhere);
                // with only a sub, every session of the user begun before the token. The jti is
                // stored last: if a write fails on the way, the provider's retry is not taken
                // for a replay and applies the order (again: ending a session twice is harmless).
                let mut revoke = Vec::new();
                if let Some(sid) = &order.sid {
                    store
                        .put(&key("sid", sid), (now + session_ttl).to_string())
                        .await?;
                    let prefix = format!("{}:", key("isid", sid));
                    for k in keys_with_prefix(store, &prefix, MAX_USER_SESSIONS).await? {
                        if let Some(handle) = k.strip_prefix(&prefix) {
                            revoke.extend(end_stored(store, handle).await?.flatten());
                        }
                    }
                } else if let Some(sub) = &order.sub {
                    let sub_key = key("sub", sub);
                    let before = get_number(store, &sub_key).await?.unwrap_or(0);
                    store
                        .put(&sub_key, before.max(order.issued_at).to_string())
                        .await?;
                    for handle in user_handles(store, sub).await? {
                        if let Some(record) = read_session(store, &handle).await? {
                            if record.created_at <= order.issued_at {
                                revoke.extend(end_stored(store, &handle).await?.flatten());
                            }
                        }
                    }
                }
                store
                    .put(&jti, (now + MAX_AGE + LEEWAY.unsigned_abs()).to_string())
                    .await?;
                Ok(RegistryAnswer::Recorded { revoke })
            }
            RegistryRequest::EndSession { id, until } => {
                store.put(&key("ended", id), until.to_string()).await?;
                Ok(RegistryAnswer::Recorded { revoke: Vec::new() })
            }
            RegistryRequest::PutSession { handle, record } => {
                write_session(store, handle, record).await?;
                store
                    .put(
                        &index_key("user", &record.registry_sub(), handle),
                        String::new(),
                    )
                    .await?;
                if let Some(sid) = &record.registry_sid() {
                    store
                        .put(&index_key("isid", sid, handle), String::new())
                        .await?;
                }
                Ok(RegistryAnswer::Stored)
            }
            RegistryRequest::GetSession { handle, now } => {
                let Some(mut record) = live_session(store, handle, *now).await? else {
                    return Ok(RegistryAnswer::Session(None));
                };
                if record.last_used_at + 60 <= *now {
                    record.last_used_at = *now;
                    write_session(store, handle, &record).await?;
                }
                Ok(RegistryAnswer::Session(Some(Box::new(record))))
            }
            RegistryRequest::UpdateTokens {
                handle,
                access_token,
                access_expires_at,
                refresh_token,
                now,
            } => {
                // Read and write with no await on anything but this store in between: a Durable
                // Object runs them without another request's storage operations interleaving, so
                // a revoke either came before (no session: nothing is written) or comes after.
                let Some(mut record) = live_session(store, handle, *now).await? else {
                    return Ok(RegistryAnswer::Session(None));
                };
                record.access_token = access_token.clone();
                record.access_expires_at = *access_expires_at;
                record.refreshed_at = *now;
                if let Some(rt) = refresh_token {
                    record.refresh_token = Some(rt.clone());
                }
                write_session(store, handle, &record).await?;
                Ok(RegistryAnswer::Session(Some(Box::new(record))))
            }
            RegistryRequest::DeleteSession { handle } => {
                let ended = end_stored(store, handle).await?;
                Ok(RegistryAnswer::Deleted {
                    count: u32::from(ended.is_some()),
                    revoke: ended.into_iter().flatten().collect(),
                })
            }
            RegistryRequest::ListSessions { sub } => {
                let mut list = Vec::new();
                for handle in user_handles(store, sub).await? {
                    if let Some(record) = read_session(store, &handle).await? {
                        list.push(record.summary(&handle));
                    }
                }
                list.sort_by_key(|s| s.created_at);
                Ok(RegistryAnswer::Sessions(list))
            }
            RegistryRequest::EndUser { sub, now } => {
                let mut count = 0;
                let mut revoke = Vec::new();
                for handle in user_handles(store, sub).await? {
                    if let Some(rt) = end_stored(store, &handle).await? {
                        count += 1;
                        revoke.extend(rt);
                    }
                }
                let sub_key = key("sub", sub);
                let before = get_number(store, &sub_key).await?.unwrap_or(0);
                store.put(&sub_key, before.max(*now).to_string()).await?;
                Ok(RegistryAnswer::Deleted { count, revoke })
            }
            RegistryRequest::Sweep {
                now,
                session_ttl,
                budget,
            } => sweep(store, *now, *session_ttl, *budget).await,
            RegistryRequest::SeenProof {
                key: proof,
                until,
                now,
                certificates,
            } => {
                if !certificates.is_empty() {
                    let revoked = revoked_certificates(store).await?;
                    if certificates.iter().any(|c| revoked.contains(c)) {
                        return Ok(RegistryAnswer::Revoked);
                    }
                }
                let entry = key("proof", proof);
                if get_number(store, &entry)
                    .await?
                    .is_some_and(|until| until > *now)
                {
                    return Ok(RegistryAnswer::Replayed);
                }
                store.put(&entry, until.to_string()).await?;
                Ok(RegistryAnswer::Stored)
            }
            RegistryRequest::RevokeCertificate { certificate } => {
                let mut revoked = revoked_certificates(store).await?;
                if !revoked.contains(certificate) {
                    revoked.push(certificate.clone());
                    revoked.sort();
                    store.put(CLIENT_REVOCATIONS, json_list(&revoked)).await?;
                }
                Ok(RegistryAnswer::Stored)
            }
            RegistryRequest::UnrevokeCertificate { certificate } => {
                let mut revoked = revoked_certificates(store).await?;
                let before = revoked.len();
                revoked.retain(|c| c != certificate);
                if revoked.len() != before {
                    store.put(CLIENT_REVOCATIONS, json_list(&revoked)).await?;
                }
                Ok(RegistryAnswer::Stored)
            }
            RegistryRequest::RevokedCertificates => Ok(RegistryAnswer::Certificates(
                revoked_certificates(store).await?,
            )),
            RegistryRequest::PutConnection {
                user,
                name,
                record,
                only_if_present,
            } => {
                let key = connection_key(user, name)?;
                // No await on anything but this store between the read and the write (see
                // `UpdateTokens`): a delete either came before or comes after.
                if *only_if_present && store.get(&key).await?.is_none() {
                    return Ok(RegistryAnswer::Connection(None));
                }
                store.put(&key, record.clone()).await?;
                Ok(RegistryAnswer::Stored)
            }
            RegistryRequest::GetConnection { user, name } => Ok(RegistryAnswer::Connection(
                store.get(&connection_key(user, name)?).await?,
            )),
            RegistryRequest::DeleteConnection { user, name } => {
                store.delete(&connection_key(user, name)?).await?;
                Ok(RegistryAnswer::Stored)
            }
            RegistryRequest::ListConnections { user } => {
                let prefix = connection_key(user, "")?;
                let page = store.list(&prefix, None, MAX_USER_CONNECTIONS).await?;
                Ok(RegistryAnswer::Connections(
                    page.into_iter().map(|(_, v)| v).collect(),
                ))
            }
            RegistryRequest::Check {
                session,
                sid,
                sub,
                started_at,
            } => {
                let ended = match session {
                    Some(id) => get_number(store, &key("ended", id))
                        .await?
                        .is_some_and(|until| until > 0),
                    None => false,
                } || is_ended(store, sid.as_deref(), sub, *started_at).await?;
                Ok(if ended {
                    RegistryAnswer::Ended
                } else {
                    RegistryAnswer::Live
                })
            }
        }
    }
}

/// The most connection records one user's listing returns (a deployment configures a few).
const MAX_USER_CONNECTIONS: usize = 64;

/// Where a user's record of a connection lives: `conn:<user>:<name>` (`name` empty: the
/// prefix of all of the user's). The user must be a SHA-256 in hex and the name of the
/// connection alphabet (`a-z 0-9 -`), so no key of another kind can be spelled; the sweep
/// leaves `conn:` keys alone (a connection lasts until it is disconnected).
fn connection_key(user: &str, name: &str) -> Result<String, TransportError> {
    let hex = user.len() == 64 && user.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let named = name.len() <= 64
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'));
    if !hex || !named {
        return Err(TransportError {
            reason: "a connection key that is not a user digest and a connection name".into(),
        });
    }
    Ok(format!("conn:{user}:{name}"))
}

/// One step of the sweep: at most `budget` entries from where the last one stopped.
async fn sweep(
    store: &impl RegistryStore,
    now: u64,
    session_ttl: u64,
    budget: usize,
) -> Result<RegistryAnswer, TransportError> {
    let mut cursor = store.get(SWEEP_CURSOR).await?;
    let mut seen = 0;
    let mut deleted = 0;
    loop {
        let page = store
            .list("", cursor.as_deref(), PAGE.min(budget - seen).max(1))
            .await?;
        let full = !page.is_empty() && page.len() == PAGE.min(budget - seen).max(1);
        for (k, value) in &page {
            let number = || value.parse::<u64>().ok();
            let expired = if k.starts_with("jti:")
                || k.starts_with("sid:")
                || k.starts_with("ended:")
                || k.starts_with("proof:")
            {
                number().is_some_and(|until| until <= now)
            } else if k.starts_with("sub:") {
                // The time before which sessions ended matters while such a session could live.
                number().is_some_and(|before| before + session_ttl <= now)
            } else if let Some(handle) = k.strip_prefix("session:") {
                match serde_json::from_str::<super::server::SessionRecord>(value) {
                    Ok(record) if record.expires_at <= now => {
                        delete_session(store, handle, &record).await?;
                        deleted += 1;
                    }
                    Ok(_) => {}
                    // Unreadable: nothing can use it.
                    Err(_) => {
                        store.delete(k).await?;
                        deleted += 1;
                    }
                }
                false
            } else {
                // Indexes go with their sessions; meta: stays.
                false
            };
            if expired {
                store.delete(k).await?;
                deleted += 1;
            }
        }
        seen += page.len();
        cursor = page.last().map(|(k, _)| k.clone()).or(cursor);
        if !full {
            store.delete(SWEEP_CURSOR).await?;
            return Ok(RegistryAnswer::Swept {
                deleted,
                done: true,
            });
        }
        if seen >= budget {
            if let Some(c) = &cursor {
                store.put(SWEEP_CURSOR, c.clone()).await?;
            }
            return Ok(RegistryAnswer::Swept {
                deleted,
                done: false,
            });
        }
    }
}

/// Whether a session (its IdP session id, user, start) was ended by a logout or an admin.
async fn is_ended(
    store: &impl RegistryStore,
    sid: Option<&str>,
    sub: &str,
    started_at: u64,
) -> Result<bool, TransportError> {
    if let Some(sid) = sid {
        if store.get(&key("sid", sid)).await?.is_some() {
            return Ok(true);
        }
    }
    let ended_before = get_number(store, &key("sub", sub)).await?.unwrap_or(0);
    Ok(started_at <= ended_before)
}

fn session_key(handle: &str) -> String {
    format!("session:{handle}")
}

fn index_key(kind: &str, value: &str, handle: &str) -> String {
    format!("{}:{handle}", key(kind, value))
}

async fn read_session(
    store: &impl RegistryStore,
    handle: &str,
) -> Result<Option<super::server::SessionRecord>, TransportError> {
    Ok(store
        .get(&session_key(handle))
        .await?
        .and_then(|json| serde_json::from_str(&json).ok()))
}

async fn write_session(
    store: &impl RegistryStore,
    handle: &str,
    record: &super::server::SessionRecord,
) -> Result<(), TransportError> {
    let json = serde_json::to_string(record).map_err(|e| TransportError {
        reason: e.to_string(),
    })?;
    store.put(&session_key(handle), json).await
}

/// The stored session, unless it expired or was ended by a back-channel logout or an admin (it
/// is deleted then, so the worker needs no second round trip to ask about it).
async fn live_session(
    store: &impl RegistryStore,
    handle: &str,
    now: u64,
) -> Result<Option<super::server::SessionRecord>, TransportError> {
    let Some(record) = read_session(store, handle).await? else {
        return Ok(None);
    };
    let ended = is_ended(
        store,
        record.registry_sid().as_deref(),
        &record.registry_sub(),
        record.created_at,
    )
    .await?;
    if ended || record.expires_at <= now {
        delete_session(store, handle, &record).await?;
        return Ok(None);
    }
    Ok(Some(record))
}

/// Deletes a stored session: `None` when there was none, else its refresh token (if any).
async fn end_stored(
    store: &impl RegistryStore,
    handle: &str,
) -> Result<Option<Option<String>>, TransportError> {
    match read_session(store, handle).await? {
        Some(record) => {
            delete_session(store, handle, &record).await?;
            Ok(Some(record.refresh_token))
        }
        None => Ok(None),
    }
}

async fn delete_session(
    store: &impl RegistryStore,
    handle: &str,
    record: &super::server::SessionRecord,
) -> Result<(), TransportError> {
    store.delete(&session_key(handle)).await?;
    store
        .delete(&index_key("user", &record.registry_sub(), handle))
        .await?;
    if let Some(sid) = &record.registry_sid() {
        store.delete(&index_key("isid", sid, handle)).await?;
    }
    Ok(())
}

async fn user_handles(
    store: &impl RegistryStore,
    sub: &str,
) -> Result<Vec<String>, TransportError> {
    let prefix = format!("{}:", key("user", sub));
    Ok(keys_with_prefix(store, &prefix, MAX_USER_SESSIONS)
        .await?
        .into_iter()
        .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
        .collect())
}

/// Which registry object (shard) keeps what belongs to user `sub`, of `shards` objects: the
/// first four bytes of SHA-256(`edgeward/shard\n` ‖ sub), modulo `shards`, named
/// `sessions-<n>` (three digits). Everything of one user — the deny-list entries that end their
/// sessions, their server-side sessions and the index to list them — lives in one object, so
/// every check is one round trip.
pub fn shard_of(sub: &str, shards: u32) -> String {
    let digest = Sha256::digest(format!("edgeward/shard\n{sub}").as_bytes());
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % shards.max(1);
    format!("sessions-{n:03}")
}

/// Every shard's name, for orders that name no user (a logout token with only a `sid`).
pub fn all_shards(shards: u32) -> impl Iterator<Item = String> {
    (0..shards.max(1)).map(|n| format!("sessions-{n:03}"))
}

/// Sends `request` to the registry object `shard` (over the platform's
/// [`SessionRegistry`](crate::platform::ports::SessionRegistry) port) and reads its answer.
pub async fn ask(
    ports: &impl crate::platform::ports::SessionRegistry,
    shard: &str,
    request: &RegistryRequest,
) -> Result<RegistryAnswer, TransportError> {
    let body = serde_json::to_string(request).map_err(|e| TransportError {
        reason: format!("registry request: {e}"),
    })?;
    let answer = ports.registry(shard, &body).await?;
    serde_json::from_str(&answer).map_err(|e| TransportError {
        reason: format!("registry answer: {e}"),
    })
}

/// The isolate's memory of registry answers, by session.
#[derive(Debug, Default)]
pub struct EndedCache {
    entries: RefCell<HashMap<String, (bool, u64)>>,
}

/// At most this many sessions are remembered per isolate (then the memory starts over).
const ENDED_CACHE_ENTRIES: usize = 4096;

impl EndedCache {
    /// The cache key of a session: its binding id, its IdP session, user and start, written as
    /// a JSON array (unambiguous whatever the IdP's strings hold; no digest per request: this
    /// runs on every session read and proxied call).
    pub fn key(session: Option<&str>, sid: Option<&str>, sub: &str, started_at: u64) -> String {
        serde_json::to_string(&(session, sid, sub, started_at)).unwrap_or_default()
    }

    /// What is known: `Some(true)` ended, `Some(false)` live as of less than [`CHECK_TTL`] ago.
    pub fn get(&self, key: &str, now: u64) -> Option<bool> {
        match self.entries.borrow().get(key) {
            Some((true, _)) => Some(true),
            Some((false, at)) if now < at + CHECK_TTL => Some(false),
            _ => None,
        }
    }

    /// Forgets every "live" answer (after a logout was recorded here, so this isolate asks
    /// again at once).
    pub fn forget_live(&self) {
        self.entries.borrow_mut().retain(|_, (ended, _)| *ended);
    }

    /// Remembers an answer. When the memory is full, "live" answers go first (they would be
    /// asked again soon anyway); only when it holds nothing but ended sessions does it start
    /// over (the registry still knows them: it costs round trips, never a revival).
    pub fn put(&self, key: String, ended: bool, now: u64) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= ENDED_CACHE_ENTRIES {
            entries.retain(|_, (ended, _)| *ended);
            if entries.len() >= ENDED_CACHE_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (ended, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    type MemStore = MemoryStore;

    fn run(store: &MemStore, request: RegistryRequest) -> RegistryAnswer {
        futures_executor::block_on(Registry::handle(store, &request)).unwrap()
    }

    fn check(sid: Option<&str>, sub: &str, started_at: u64) -> RegistryRequest {
        RegistryRequest::Check {
            session: None,
            sid: sid.map(str::to_owned),
            sub: sub.into(),
            started_at,
        }
    }

    #[test]
    fn the_registry_ends_sessions_by_sid_or_sub_and_refuses_replays() {
        let store = MemStore::default();
        let record = |jti: &str, sid: Option<&str>, sub: Option<&str>| RegistryRequest::Record {
            order: LogoutOrder {
                jti: jti.into(),
                sid: sid.map(str::to_owned),
                sub: sub.map(str::to_owned),
                issued_at: NOW,
            },
            now: NOW,
            session_ttl: 86_400,
        };
        assert_eq!(
            run(&store, check(Some("s-1"), "demo", NOW - 100)),
            RegistryAnswer::Live
        );
        assert_eq!(
            run(&store, record("j-1", Some("s-1"), None)),
            RegistryAnswer::Recorded { revoke: vec![] }
        );
        assert_eq!(
            run(&store, check(Some("s-1"), "demo", NOW - 100)),
            RegistryAnswer::Ended
        );
        assert_eq!(
            run(&store, check(Some("s-2"), "demo", NOW - 100)),
            RegistryAnswer::Live
        );
        // A replayed jti changes nothing, even when it names something else.
        assert_eq!(
            run(&store, record("j-1", None, Some("demo"))),
            RegistryAnswer::Replayed
        );
        assert_eq!(
            run(&store, check(Some("s-2"), "demo", NOW - 100)),
            RegistryAnswer::Live
        );
        // Both sid and sub: only that session.
        assert_eq!(
            run(&store, record("j-3", Some("s-3"), Some("demo"))),
            RegistryAnswer::Recorded { revoke: vec![] }
        );
        assert_eq!(
            run(&store, check(Some("s-2"), "demo", NOW - 100)),
            RegistryAnswer::Live
        );
        // By sub: sessions begun up to the logout end; a later login lives.
        assert_eq!(
            run(&store, record("j-2", None, Some("demo"))),
            RegistryAnswer::Recorded { revoke: vec![] }
        );
        assert_eq!(
            run(&store, check(Some("s-2"), "demo", NOW - 100)),
            RegistryAnswer::Ended
        );
        assert_eq!(
            run(&store, check(None, "demo", NOW + 1)),
            RegistryAnswer::Live
        );
        assert_eq!(
            run(&store, check(None, "someone", NOW - 100)),
            RegistryAnswer::Live
        );
        // A day later the sweep forgets the jtis and the ended sid (no session can outlive it);
        // the sub denial stays while a session begun before it could live.
        let sweep = |now| RegistryRequest::Sweep {
            now,
            session_ttl: 86_400,
            budget: 1000,
        };
        assert_eq!(
            run(&store, sweep(NOW + 3600)),
            RegistryAnswer::Swept {
                deleted: 3,
                done: true
            },
            "the jtis"
        );
        assert_eq!(
            run(&store, sweep(NOW + 86_400)),
            RegistryAnswer::Swept {
                deleted: 3,
                done: true
            },
            "two sids and the sub"
        );
        assert!(store.0.borrow().is_empty());
        // The store never holds the identifiers themselves.
        for k in store.0.borrow().keys() {
            assert!(
                !k.contains("s-1") && !k.contains("demo") && !k.contains("j-1"),
                "{k}"
            );
        }
    }

    fn record(sub: &str, created_at: u64) -> crate::sessions::server::SessionRecord {
        crate::sessions::server::SessionRecord {
            claims: edgeward_shared::api::UserClaims {
                sub: sub.into(),
                ..Default::default()
            },
            sid: None,
            issuer: "https://idp.example".into(),
            provider: None,
            id_token: "id.token.sig".into(),
            access_token: "opaque-at".into(),
            access_expires_at: created_at + 300,
            refresh_token: Some("opaque-rt".into()),
            csrf: "c".into(),
            created_at,
            last_used_at: created_at,
            expires_at: created_at + 86_400,
            refreshed_at: 0,
            user_agent: Some("test".into()),
        }
    }

    #[test]
    fn server_sessions_are_stored_listed_touched_and_deleted_by_handle() {
        let store = MemStore::default();
        let put =
            |handle: &str, r: crate::sessions::server::SessionRecord| RegistryRequest::PutSession {
                handle: handle.into(),
                record: Box::new(r),
            };
        let get = |handle: &str, now: u64| RegistryRequest::GetSession {
            handle: handle.into(),
            now,
        };
        run(&store, put("h1", record("demo", NOW)));
        run(&store, put("h2", record("demo", NOW + 10)));
        run(&store, put("h3", record("other", NOW)));
        let RegistryAnswer::Session(Some(got)) = run(&store, get("h1", NOW + 30)) else {
            panic!("h1 is stored");
        };
        assert_eq!(got.last_used_at, NOW, "not touched within the minute");
        let RegistryAnswer::Session(Some(got)) = run(&store, get("h1", NOW + 61)) else {
            panic!("h1 is stored");
        };
        assert_eq!(got.last_used_at, NOW + 61);
        // Listing shows handles and times, never a token.
        let RegistryAnswer::Sessions(list) =
            run(&store, RegistryRequest::ListSessions { sub: "demo".into() })
        else {
            panic!("a list");
        };
        assert_eq!(
            list.iter().map(|s| s.handle.as_str()).collect::<Vec<_>>(),
            ["h1", "h2"]
        );
        assert!(!serde_json::to_string(&list).unwrap().contains("opaque"));
        // One revoked; then all of the user's.
        assert_eq!(
            run(
                &store,
                RegistryRequest::DeleteSession {
                    handle: "h1".into()
                }
            ),
            RegistryAnswer::Deleted {
                count: 1,
                revoke: vec!["opaque-rt".into()]
            }
        );
        assert_eq!(
            run(&store, get("h1", NOW + 62)),
            RegistryAnswer::Session(None)
        );
        assert_eq!(
            run(
                &store,
                RegistryRequest::EndUser {
                    sub: "demo".into(),
                    now: NOW + 100
                }
            ),
            RegistryAnswer::Deleted {
                count: 1,
                revoke: vec!["opaque-rt".into()]
            }
        );
        assert_eq!(
            run(&store, get("h2", NOW + 101)),
            RegistryAnswer::Session(None)
        );
        assert!(matches!(
            run(&store, get("h3", NOW + 101)),
            RegistryAnswer::Session(Some(_))
        ));
        // Ending the user also denies their stateless sessions begun before.
        assert_eq!(
            run(&store, check(None, "demo", NOW + 50)),
            RegistryAnswer::Ended
        );
        // A back-channel logout of its IdP session deletes the stored session at once and hands
        // back its refresh token, to be revoked at the provider.
        let mut with_sid = record("demo", NOW + 200);
        with_sid.sid = Some("s-9".into());
        run(&store, put("h4", with_sid));
        assert!(matches!(
            run(&store, get("h4", NOW + 201)),
            RegistryAnswer::Session(Some(_))
        ));
        let order = LogoutOrder {
            jti: "j-9".into(),
            sid: Some("s-9".into()),
            sub: None,
            issued_at: NOW + 202,
        };
        let logout = RegistryRequest::Record {
            order,
            now: NOW + 202,
            session_ttl: 86_400,
        };
        assert_eq!(
            run(&store, logout),
            RegistryAnswer::Recorded {
                revoke: vec!["opaque-rt".into()]
            }
        );
        assert!(
            store.0.borrow().keys().all(|k| !k.starts_with("isid:")),
            "its index went with it"
        );
        assert_eq!(
            run(&store, get("h4", NOW + 203)),
            RegistryAnswer::Session(None)
        );
        assert!(!store.0.borrow().contains_key("session:h4"), "and deleted");
        // An expired session is gone.
        assert_eq!(
            run(&store, get("h3", NOW + 86_400)),
            RegistryAnswer::Session(None)
        );
        assert!(store.0.borrow().keys().all(|k| !k.starts_with("session:")));
    }

    #[test]
    fn ended_is_remembered_and_live_is_asked_again() {
        let cache = EndedCache::default();
        let live = EndedCache::key(Some("b1"), Some("s"), "u", 1);
        let ended = EndedCache::key(Some("b2"), None, "u", 1);
        assert_ne!(live, ended);
        cache.put(live.clone(), false, NOW);
        cache.put(ended.clone(), true, NOW);
        assert_eq!(cache.get(&live, NOW + CHECK_TTL - 1), Some(false));
        assert_eq!(cache.get(&live, NOW + CHECK_TTL), None);
        assert_eq!(cache.get(&ended, NOW + 86_400), Some(true));
    }

    #[test]
    fn a_logged_out_stateless_session_is_ended_by_its_binding_id_only() {
        let store = MemStore::default();
        let check = |session: &str| RegistryRequest::Check {
            session: Some(session.into()),
            sid: Some("idp-session".into()),
            sub: "demo".into(),
            started_at: NOW,
        };
        assert_eq!(run(&store, check("b-1")), RegistryAnswer::Live);
        run(
            &store,
            RegistryRequest::EndSession {
                id: "b-1".into(),
                until: NOW + 100,
            },
        );
        assert_eq!(run(&store, check("b-1")), RegistryAnswer::Ended);
        // Another session of the same user and IdP session lives on.
        assert_eq!(run(&store, check("b-2")), RegistryAnswer::Live);
        // Kept until the session would have ended anyway, then swept.
        let sweep = |now| RegistryRequest::Sweep {
            now,
            session_ttl: 86_400,
            budget: 1000,
        };
        assert_eq!(
            run(&store, sweep(NOW + 99)),
            RegistryAnswer::Swept {
                deleted: 0,
                done: true
            }
        );
        assert_eq!(
            run(&store, sweep(NOW + 100)),
            RegistryAnswer::Swept {
                deleted: 1,
                done: true
            }
        );
    }

    #[test]
    fn a_refresh_never_writes_into_a_session_revoked_while_it_ran() {
        let store = MemStore::default();
        run(
            &store,
            RegistryRequest::PutSession {
                handle: "h".into(),
                record: Box::new(record("demo", NOW)),
            },
        );
        let update = |access: &str| RegistryRequest::UpdateTokens {
            handle: "h".into(),
            access_token: access.into(),
            access_expires_at: NOW + 600,
            refresh_token: Some(format!("rt-{access}")),
            now: NOW + 10,
        };
        let RegistryAnswer::Session(Some(updated)) = run(&store, update("at-2")) else {
            panic!("the session is there");
        };
        assert_eq!(updated.access_token, "at-2");
        assert_eq!(updated.refresh_token.as_deref(), Some("rt-at-2"));
        assert_eq!(updated.refreshed_at, NOW + 10);
        // The admin revokes it while another refresh is at the provider: the late write finds
        // nothing, and nothing is written back.
        run(
            &store,
            RegistryRequest::DeleteSession { handle: "h".into() },
        );
        assert_eq!(run(&store, update("at-3")), RegistryAnswer::Session(None));
        assert!(store.0.borrow().keys().all(|k| !k.starts_with("session:")));
        // Same when the user's sessions were all ended (revoke-all) before the write.
        run(
            &store,
            RegistryRequest::PutSession {
                handle: "h".into(),
                record: Box::new(record("demo", NOW)),
            },
        );
        run(
            &store,
            RegistryRequest::EndUser {
                sub: "demo".into(),
                now: NOW + 5,
            },
        );
        assert_eq!(run(&store, update("at-4")), RegistryAnswer::Session(None));
    }

    #[test]
    fn a_proof_is_stored_once_refused_while_remembered_and_swept_after() {
        let store = MemStore::default();
        let seen = |now| RegistryRequest::SeenProof {
            key: "k1".into(),
            until: 200,
            now,
            certificates: vec!["serial:64".into()],
        };
        assert_eq!(run(&store, seen(100)), RegistryAnswer::Stored);
        assert_eq!(run(&store, seen(150)), RegistryAnswer::Replayed);
        assert_eq!(run(&store, seen(199)), RegistryAnswer::Replayed);
        let sweep = |now| RegistryRequest::Sweep {
            now,
            session_ttl: 3600,
            budget: 100,
        };
        assert!(matches!(
            run(&store, sweep(150)),
            RegistryAnswer::Swept { deleted: 0, .. }
        ));
        assert!(matches!(
            run(&store, sweep(200)),
            RegistryAnswer::Swept { deleted: 1, .. }
        ));
        assert_eq!(run(&store, seen(201)), RegistryAnswer::Stored);
    }

    #[test]
    fn revoked_certificates_refuse_proofs_and_outlive_every_sweep() {
        let store = MemStore::default();
        let seen = |key: &str, certificates: &[&str]| RegistryRequest::SeenProof {
            key: key.into(),
            until: 200,
            now: 100,
            certificates: certificates.iter().map(|c| c.to_string()).collect(),
        };
        let revoke = RegistryRequest::RevokeCertificate {
            certificate: "sha256:ab".into(),
        };
        assert_eq!(run(&store, revoke.clone()), RegistryAnswer::Stored);
        assert_eq!(run(&store, revoke), RegistryAnswer::Stored, "idempotent");
        assert_eq!(
            run(&store, RegistryRequest::RevokedCertificates),
            RegistryAnswer::Certificates(vec!["sha256:ab".into()])
        );
        assert_eq!(
            run(&store, seen("k1", &["serial:1", "sha256:ab"])),
            RegistryAnswer::Revoked
        );
        // A refused proof is not remembered: nothing to replay.
        assert_eq!(
            run(&store, seen("k1", &["serial:1"])),
            RegistryAnswer::Stored
        );
        let sweep = RegistryRequest::Sweep {
            now: u64::MAX / 2,
            session_ttl: 3600,
            budget: 100,
        };
        run(&store, sweep);
        assert_eq!(
            run(&store, seen("k2", &["sha256:ab"])),
            RegistryAnswer::Revoked,
            "swept away"
        );
        run(
            &store,
            RegistryRequest::UnrevokeCertificate {
                certificate: "sha256:ab".into(),
            },
        );
        assert_eq!(
            run(&store, seen("k3", &["sha256:ab"])),
            RegistryAnswer::Stored
        );
        // A list that does not parse fails the check: closed.
        store
            .0
            .borrow_mut()
            .insert(CLIENT_REVOCATIONS.into(), "not json".into());
        assert!(futures_executor::block_on(Registry::handle(&store, &seen("k4", &["x"]))).is_err());
    }

    #[test]
    fn the_sweep_walks_the_storage_a_page_at_a_time() {
        let store = MemStore::default();
        // 300 expired jtis and 300 live sids around a few sessions and their indexes.
        for i in 0..300 {
            store
                .0
                .borrow_mut()
                .insert(format!("jti:{i:04}"), (NOW - 1).to_string());
            store
                .0
                .borrow_mut()
                .insert(format!("sid:{i:04}"), (NOW + 100).to_string());
        }
        for h in ["a", "b", "c"] {
            run(
                &store,
                RegistryRequest::PutSession {
                    handle: h.into(),
                    record: Box::new(record("demo", NOW - 86_400)),
                },
            );
        }
        let sweep = RegistryRequest::Sweep {
            now: NOW,
            session_ttl: 86_400,
            budget: 250,
        };
        let mut deleted = 0;
        let mut calls = 0;
        loop {
            calls += 1;
            let RegistryAnswer::Swept { deleted: d, done } = run(&store, sweep.clone()) else {
                panic!("a sweep answer");
            };
            deleted += d;
            if done {
                break;
            }
            assert!(calls < 10, "the sweep ends");
        }
        assert_eq!(calls, 3, "606 entries, 250 a call");
        assert_eq!(deleted, 303, "the jtis and the expired sessions");
        let left = store.0.borrow();
        assert_eq!(left.len(), 300, "the live sids: {:?}", left.keys().next());
        assert!(left.keys().all(|k| k.starts_with("sid:")));
    }

    #[test]
    fn users_spread_over_shards_and_stay_in_theirs() {
        assert_eq!(shard_of("demo", 16), shard_of("demo", 16));
        assert_ne!(shard_of("demo", 16), shard_of("alice", 16));
        assert_eq!(shard_of("demo", 1), "sessions-000");
        assert_eq!(all_shards(16).count(), 16);
        assert!(all_shards(16).any(|s| s == shard_of("alice", 16)));
        // 1,000 users over 16 shards: none empty, none with more than twice its share.
        let mut counts = std::collections::HashMap::new();
        for i in 0..1000 {
            *counts
                .entry(shard_of(&format!("user-{i}"), 16))
                .or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 16);
        assert!(counts.values().all(|&n| n < 125), "{counts:?}");
    }

    #[test]
    fn listing_pages_through_more_than_one_page() {
        let store = MemStore::default();
        for i in 0..(PAGE + 5) {
            run(
                &store,
                RegistryRequest::PutSession {
                    handle: format!("h{i:04}"),
                    record: Box::new(record("demo", NOW)),
                },
            );
        }
        let RegistryAnswer::Sessions(list) =
            run(&store, RegistryRequest::ListSessions { sub: "demo".into() })
        else {
            panic!("a list");
        };
        assert_eq!(list.len(), PAGE + 5);
    }
}
