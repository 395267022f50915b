//! The connected accounts' tokens, kept in the session registry (the user's shard, keys
//! `conn:<user>:<name>`, see `sessions::registry`), and their current access token.
//!
//! A record holds in clear only what the listing shows without a key (the connection's name,
//! scopes, when it was connected and last used, its status); the tokens and the user's grants
//! to services are sealed: AES-256-GCM under `EDGEWARD_BROKER_KEYS` (its key id in the value,
//! for rotation), the associated data binding the user's digest and the connection's name
//! (`cookie::seal`'s format, its "cookie name" being `connection/<user>/<name>`). So the
//! store holds no token in clear; a record moved to another user or connection does not open,
//! and grants cannot be added without the key. The user is the SHA-256 (hex) of their
//! provider-scoped `sub` (`sessions::scoped`): the store never holds the `sub` itself.

use serde::{Deserialize, Serialize};

use super::Context;
use crate::cookie::seal::MAX_SEALED_LEN;
use crate::oidc::{self, TokenError, INVALID_GRANT};
use crate::platform::crypto::token_key;
use crate::platform::ports::{Clock, Log, LogLevel, RefreshCoordinator};
use crate::platform::Error;
use crate::sessions::{ask, coordinator_body, shard_of, RegistryAnswer, RegistryRequest};

/// A token is refreshed when it has fewer seconds than this left.
pub const REFRESH_MARGIN: u64 = 60;
/// How long a sealed record opens: longer than any refresh token a provider keeps unused
/// (each refresh seals it again).
pub const RECORD_TTL: u64 = 400 * 24 * 3600;
/// Access-token lifetime assumed when the provider does not send `expires_in`, seconds.
pub const DEFAULT_ACCESS_TTL: u64 = 300;
/// The last use is written at most this often, seconds.
const TOUCH_EVERY: u64 = 60;

/// A connection's status, as the listing shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Usable.
    Connected,
    /// The provider refused the refresh: the user must connect again.
    ReauthorizationRequired,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Connected => "connected",
            Status::ReauthorizationRequired => "reauthorization_required",
        }
    }
}

/// A stored connection: metadata in clear, the secrets sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The connection's name.
    pub name: String,
    /// The scopes asked for.
    pub scopes: String,
    /// When the user connected it.
    pub connected_at: u64,
    /// When it was last used (written at most once a minute).
    pub last_used_at: u64,
    /// Whether it can still be refreshed.
    pub status: Status,
    /// [`Secrets`], sealed.
    pub sealed: String,
}

/// What a record seals. `Debug` never shows the tokens.
#[derive(Clone, Serialize, Deserialize)]
pub struct Secrets {
    /// The current access token.
    pub access_token: String,
    /// When it expires.
    pub access_expires_at: u64,
    /// The refresh token, if the provider gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The service clients the user let use this connection.
    #[serde(default)]
    pub grants: Vec<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("grants", &self.grants)
            .finish_non_exhaustive()
    }
}

/// Whose store entries: the user's digest and their registry shard.
#[derive(Debug, Clone)]
pub struct User {
    /// SHA-256 (hex) of the provider-scoped `sub`.
    pub digest: String,
    /// The registry object that keeps the user's entries.
    pub shard: String,
}

impl User {
    /// The user of provider-scoped subject `scoped_sub` (`sessions::scoped`).
    pub fn of(scoped_sub: &str, shards: u32) -> Self {
        Self {
            digest: token_key(scoped_sub),
            shard: shard_of(scoped_sub, shards),
        }
    }
}

/// The "cookie name" a record's secrets are sealed under: binds the user and the connection.
fn sealed_name(user: &User, name: &str) -> String {
    format!("connection/{}/{name}", user.digest)
}

fn keys(edge: &impl Context) -> Result<&crate::cookie::CookieKeys, Error> {
    edge.broker()
        .keys
        .as_ref()
        .ok_or(Error::Internal("the broker has no keys"))
}

/// Seals `secrets` for `user`'s connection `name`.
pub(crate) async fn seal(
    edge: &impl Context,
    user: &User,
    name: &str,
    secrets: &Secrets,
) -> Result<String, Error> {
    let now = edge.ports().now();
    let sealed = keys(edge)?
        .seal_json(
            edge.ports(),
            &sealed_name(user, name),
            secrets,
            now + RECORD_TTL,
        )
        .await
        .map_err(|_| Error::Internal("sealing a connection's tokens failed"))?;
    if sealed.len() > MAX_SEALED_LEN {
        return Err(Error::IdpUnavailable(format!(
            "connection {name}: the provider's tokens are too large to keep ({} bytes sealed, at most {MAX_SEALED_LEN})",
            sealed.len()
        )));
    }
    Ok(sealed)
}

/// Opens a record's secrets; `None` when they do not open (another user's or connection's,
/// tampered with, sealed by a key no longer configured, or too old).
pub(crate) async fn open(edge: &impl Context, user: &User, record: &Record) -> Option<Secrets> {
    let now = edge.ports().now();
    let keys = keys(edge).ok()?;
    keys.open_json(
        edge.ports(),
        &sealed_name(user, &record.name),
        &record.sealed,
        now,
    )
    .await
    .ok()
    .map(|o| o.value)
}

/// The store is the session registry: without its binding the broker cannot work, which is
/// the deployment's to fix (500 `config_invalid`, as server-side sessions without it).
fn require_store(edge: &impl Context) -> Result<(), Error> {
    crate::sessions::require_registry(edge).map_err(|_| {
        Error::Config(crate::platform::settings::ConfigError {
            variable: "EDGEWARD_SESSIONS",
            reason: "EDGEWARD_CONNECTIONS needs this Durable Object binding (see wrangler.toml)"
                .into(),
        })
    })
}

fn store_error(e: crate::platform::ports::TransportError) -> Error {
    Error::SessionStoreUnavailable(format!("connection store: {}", e.reason))
}

/// `user`'s record of connection `name`.
pub(crate) async fn get(
    edge: &impl Context,
    user: &User,
    name: &str,
) -> Result<Option<Record>, Error> {
    require_store(edge)?;
    let answer = ask(
        edge.ports(),
        &user.shard,
        &RegistryRequest::GetConnection {
            user: user.digest.clone(),
            name: name.to_owned(),
        },
    )
    .await
    .map_err(store_error)?;
    match answer {
        RegistryAnswer::Connection(None) => Ok(None),
        RegistryAnswer::Connection(Some(text)) => Ok(serde_json::from_str(&text).ok()),
        _ => Err(Error::SessionStoreUnavailable(
            "connection store: an unexpected answer".into(),
        )),
    }
}

/// Every record of `user`.
pub(crate) async fn list(edge: &impl Context, user: &User) -> Result<Vec<Record>, Error> {
    require_store(edge)?;
    let answer = ask(
        edge.ports(),
        &user.shard,
        &RegistryRequest::ListConnections {
            user: user.digest.clone(),
        },
    )
    .await
    .map_err(store_error)?;
    match answer {
        RegistryAnswer::Connections(texts) => Ok(texts
            .iter()
            .filter_map(|t| serde_json::from_str(t).ok())
            .collect()),
        _ => Err(Error::SessionStoreUnavailable(
            "connection store: an unexpected answer".into(),
        )),
    }
}

/// Stores `record` for `user` (a new connection).
pub(crate) async fn put(edge: &impl Context, user: &User, record: &Record) -> Result<(), Error> {
    write(edge, user, record, false).await.map(|_| ())
}

/// Writes `record` over `user`'s record of that connection, only if there still is one (a
/// refresh or a use: a disconnect that came in meanwhile wins). `false`: it was gone.
pub(crate) async fn update(
    edge: &impl Context,
    user: &User,
    record: &Record,
) -> Result<bool, Error> {
    write(edge, user, record, true).await
}

async fn write(
    edge: &impl Context,
    user: &User,
    record: &Record,
    only_if_present: bool,
) -> Result<bool, Error> {
    let text = serde_json::to_string(record)
        .map_err(|_| Error::Internal("a connection record did not serialise"))?;
    require_store(edge)?;
    let answer = ask(
        edge.ports(),
        &user.shard,
        &RegistryRequest::PutConnection {
            user: user.digest.clone(),
            name: record.name.clone(),
            record: text,
            only_if_present,
        },
    )
    .await
    .map_err(store_error)?;
    Ok(!matches!(answer, RegistryAnswer::Connection(None)))
}

/// Deletes `user`'s record of connection `name`.
pub(crate) async fn delete(edge: &impl Context, user: &User, name: &str) -> Result<(), Error> {
    require_store(edge)?;
    ask(
        edge.ports(),
        &user.shard,
        &RegistryRequest::DeleteConnection {
            user: user.digest.clone(),
            name: name.to_owned(),
        },
    )
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Who asks for a connection's access token.
#[derive(Debug, Clone, Copy)]
pub enum Asker<'a> {
    /// The user, through a proxy route.
    User,
    /// A service client (by id): it must be among the user's grants, and every refusal before
    /// the grant is known is [`Error::NotGranted`] (whether or not the user exists).
    Service(&'a str),
}

/// The current access token of `user`'s connection `name` and when it expires, refreshed
/// first when it has less than [`REFRESH_MARGIN`] seconds left. A refresh the provider refuses
/// (`invalid_grant`) marks the connection `reauthorization_required`:
/// [`Error::ConnectionExpired`], now and until the user connects again.
pub(crate) async fn connection_token(
    edge: &impl Context,
    user: &User,
    name: &str,
    asker: Asker<'_>,
) -> Result<(String, u64), Error> {
    let not_granted = |why: &str| match asker {
        Asker::Service(client) => {
            Error::NotGranted(format!("client {client}, connection {name}: {why}"))
        }
        Asker::User => Error::ConnectionRequired(format!("connection {name}: {why}")),
    };
    let provider = edge
        .connection(name)
        .ok_or_else(|| not_granted("not configured"))?;
    let Some(mut record) = get(edge, user, name).await? else {
        return Err(not_granted("no such connection for this user"));
    };
    let Some(mut secrets) = open(edge, user, &record).await else {
        return Err(match asker {
            Asker::Service(_) => not_granted("its record does not open"),
            Asker::User => {
                Error::ConnectionExpired(format!("connection {name}: its record does not open"))
            }
        });
    };
    if let Asker::Service(client) = asker {
        if !secrets.grants.iter().any(|g| g == client) {
            return Err(not_granted("the user did not grant it"));
        }
    }
    if record.status == Status::ReauthorizationRequired {
        return Err(Error::ConnectionExpired(format!(
            "connection {name}: the provider refused its refresh before"
        )));
    }
    let now = edge.ports().now();
    if secrets.access_expires_at > now + REFRESH_MARGIN {
        if record.last_used_at + TOUCH_EVERY <= now {
            record.last_used_at = now;
            // The last use is for the listing: failing to write it fails nothing.
            if let Err(e) = update(edge, user, &record).await {
                edge.ports().log(
                    LogLevel::Warn,
                    &format!("edgeward: broker: the last use of {name} was not written: {e}"),
                );
            }
        }
        return Ok((secrets.access_token, secrets.access_expires_at));
    }
    let Some(refresh_token) = secrets.refresh_token.clone() else {
        return Err(Error::ConnectionExpired(format!(
            "connection {name}: the access token expired and there is no refresh token"
        )));
    };
    match refresh(edge, provider, user, name, &refresh_token).await {
        Ok(tokens) => {
            secrets.access_token = tokens.access_token;
            secrets.access_expires_at = now + tokens.expires_in.unwrap_or(DEFAULT_ACCESS_TTL);
            if let Some(rt) = tokens.refresh_token {
                secrets.refresh_token = Some(rt);
            }
            record.sealed = seal(edge, user, name, &secrets).await?;
            record.last_used_at = now;
            if !update(edge, user, &record).await? {
                // Disconnected while the grant ran: the new tokens are not kept, and the new
                // refresh token goes back to the provider.
                super::connect::revoke(edge, provider, name, &secrets).await;
                return Err(not_granted("disconnected while it was refreshed"));
            }
            Ok((secrets.access_token, secrets.access_expires_at))
        }
        Err(TokenError::Refused(code)) if code == INVALID_GRANT => {
            record.status = Status::ReauthorizationRequired;
            update(edge, user, &record).await?;
            Err(Error::ConnectionExpired(format!(
                "connection {name}: the provider refused the refresh (invalid_grant)"
            )))
        }
        Err(TokenError::Refused(code)) => Err(Error::IdpUnavailable(format!(
            "connection {name}: the provider refused the refresh: {code}"
        ))),
        Err(TokenError::Unavailable(reason)) => Err(Error::IdpUnavailable(format!(
            "connection {name}: {reason}"
        ))),
    }
}

/// A refresh-token grant at the connection's provider: through the refresh coordinator when the
/// platform has one (one flight per refresh token in the object of this user's connection, so
/// parallel callers from every isolate make one grant), else directly.
async fn refresh(
    edge: &impl Context,
    provider: oidc::Provider<'_>,
    user: &User,
    name: &str,
    refresh_token: &str,
) -> Result<oidc::TokenResponse, TokenError> {
    let ports = edge.ports();
    let discovery = provider
        .discovery(ports)
        .await
        .map_err(|e| TokenError::Unavailable(e.detail().unwrap_or_else(|| e.to_string())))?;
    let coordinator = token_key(&format!("connection\n{}\n{name}", user.digest));
    let tag = format!("{}{name}", super::COORDINATOR_PREFIX);
    let body = coordinator_body(Some(&tag), refresh_token);
    match ports.coordinate_refresh(&coordinator, &body).await {
        Some(Ok(response)) => {
            oidc::parse_token_answer(&discovery.token_endpoint, &response, provider.client.quirks)
        }
        Some(Err(e)) => Err(TokenError::Unavailable(e.reason)),
        None => {
            oidc::token_request(
                provider.client,
                ports,
                &discovery,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                ],
            )
            .await
        }
    }
}
