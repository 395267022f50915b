//! A request's session as the agent and the proxy use it: read from the sealed cookies
//! (stateless mode) or from the store by the session-id cookie (server mode), checked against
//! the deny-list, and ended everywhere the worker can reach.

use edgeward_shared::names;

use super::registry::{ask, scoped, shard_of, EndedCache, RegistryAnswer, RegistryRequest};
use super::server::{self, SidCookie};
use super::{Context, SessionMode};
use crate::cookie::session::{self, Binding, Identity, Session};
use crate::oidc::{self, Provider};
use crate::platform::ports::{Clock, Log, LogLevel, SessionRegistry};
use crate::platform::settings::ConfigError;
use crate::platform::Error;

/// A request's session, and in server mode the store's handle for it.
pub(crate) struct Loaded {
    /// The session.
    pub session: Session,
    /// Server mode: the SHA-256 of the session id.
    pub handle: Option<String>,
    /// Server mode: when the stored tokens were last refreshed.
    pub refreshed_at: u64,
}

/// The configured provider a session's binding names, if it still has the binding's issuer.
pub(crate) fn provider_of<'a, C: Context>(edge: &'a C, b: &Binding) -> Option<Provider<'a>> {
    edge.session_provider(b.provider.as_deref())
        .filter(|p| p.client.issuer == b.issuer)
}

/// [`provider_of`], or the session is refused: its provider is no longer configured (401
/// `session_expired`, which clears the cookies).
pub(crate) fn require_provider_of<'a, C: Context>(
    edge: &'a C,
    b: &Binding,
) -> Result<Provider<'a>, Error> {
    provider_of(edge, b).ok_or_else(|| {
        Error::SessionExpired("the session's identity provider is not configured".into())
    })
}

/// What the registry knows a session's user and IdP session by ([`scoped`]).
pub(crate) fn registry_ids(b: &Binding) -> (String, Option<String>) {
    let provider = b.provider.as_deref();
    (
        scoped(provider, &b.sub),
        b.sid.as_deref().map(|sid| scoped(provider, sid)),
    )
}

/// The session of a state-changing `/auth/*` call (the agent's, the broker's): Origin rules, a
/// live session, its CSRF header.
pub(crate) async fn guarded_session(
    edge: &(impl Context + crate::request::Origins),
    req: &crate::platform::Request,
) -> Result<Loaded, Error> {
    crate::request::guard::check_origin(req.headers(), edge.allowed_origins())?;
    let loaded = load_session(edge, req.headers())
        .await?
        .ok_or(Error::Unauthorized)?;
    // The session's user, proven by its sealed cookie (or the store), for the audit line: also
    // when the CSRF check below refuses the request.
    if let Some(provider) = provider_of(edge, &loaded.session.binding) {
        crate::platform::trail::note_subject(
            req,
            provider.client.who(),
            &loaded.session.binding.sub,
        );
    }
    crate::request::guard::check_csrf(req.headers(), &loaded.session.csrf)?;
    Ok(loaded)
}

/// The request's session: from the sealed cookies (stateless mode) or from the session store
/// by the session-id cookie (server mode). `Ok(None)`: none. Refused ([`Error::SessionExpired`])
/// when its cookies do not belong together or it has ended; [`Error::SessionStoreUnavailable`]
/// when whether it has ended cannot be found out.
pub(crate) async fn load_session(
    edge: &impl Context,
    headers: &http::HeaderMap,
) -> Result<Option<Loaded>, Error> {
    let Some(loaded) = read_session(edge, headers).await? else {
        return Ok(None);
    };
    if loaded.handle.is_none() {
        // Server mode: the store already refused an ended session in the same read.
        ensure_live(edge, headers, &loaded.session.binding).await?;
    }
    Ok(Some(loaded))
}

/// What `GET /auth/session` answers about the request's session: in stateless mode from the ID
/// cookie alone (the token cookies are only looked at, see [`session::read_identity`]), in
/// server mode from the store; checked against the deny-list as [`load_session`] does.
pub(crate) async fn load_identity(
    edge: &impl Context,
    headers: &http::HeaderMap,
) -> Result<Option<Identity>, Error> {
    match edge.session_settings().mode {
        SessionMode::Stateless => {
            let now = edge.ports().now();
            let accepts = |b: &Binding| provider_of(edge, b).is_some();
            let identity =
                session::read_identity(headers, edge.cookie_keys(), edge.ports(), &accepts, now)
                    .await?;
            let Some(identity) = identity else {
                return Ok(None);
            };
            ensure_live(edge, headers, &identity.binding).await?;
            Ok(Some(identity))
        }
        SessionMode::Server => Ok(load_session(edge, headers)
            .await?
            .map(|loaded| loaded.session.identity())),
    }
}

/// The session as the request presents it, not yet checked against the deny-list (stateless
/// mode; logout reads it so, to end it even when the deny-list cannot be asked).
pub(crate) async fn read_session(
    edge: &impl Context,
    headers: &http::HeaderMap,
) -> Result<Option<Loaded>, Error> {
    let ports = edge.ports();
    let now = ports.now();
    match edge.session_settings().mode {
        SessionMode::Stateless => {
            let accepts = |b: &Binding| provider_of(edge, b).is_some();
            let session = Session::read(headers, edge.cookie_keys(), ports, &accepts, now).await?;
            Ok(session.map(|session| Loaded {
                session,
                handle: None,
                refreshed_at: 0,
            }))
        }
        SessionMode::Server => {
            require_registry(edge)?;
            let Some(cookie) = session::open_cookie::<SidCookie>(
                headers,
                edge.cookie_keys(),
                ports,
                names::COOKIE_SESSION,
                now,
            )
            .await
            else {
                return Ok(None);
            };
            let handle = server::handle_of(&cookie.id);
            let question = RegistryRequest::GetSession {
                handle: handle.clone(),
                now,
            };
            let shard = shard_of(&cookie.registry_sub(), edge.session_settings().shards);
            match ask(ports, &shard, &question).await {
                // A session recorded for a provider that is not configured (any more, or not
                // with that issuer) is not this deployment's.
                Ok(RegistryAnswer::Session(Some(record)))
                    if record.claims.sub == cookie.sub
                        && record.provider == cookie.provider
                        && provider_of(edge, &record.to_session(&handle).binding).is_some() =>
                {
                    Ok(Some(Loaded {
                        session: record.to_session(&handle),
                        handle: Some(handle),
                        refreshed_at: record.refreshed_at,
                    }))
                }
                Ok(_) => Ok(None),
                Err(e) => Err(Error::SessionStoreUnavailable(e.reason)),
            }
        }
    }
}

/// Server mode needs the session Durable Object.
pub(crate) fn require_registry(edge: &impl Context) -> Result<(), Error> {
    if edge.ports().has_registry() {
        Ok(())
    } else {
        Err(Error::Config(ConfigError {
            variable: "EDGEWARD_SESSIONS",
            reason: "EDGEWARD_SESSION_MODE=server needs this Durable Object binding \
                     (see wrangler.toml)"
                .into(),
        }))
    }
}

/// Refuses a session that has ended — logged out (its binding id), ended at the IdP
/// (back-channel logout, by `sid` or `sub`), or revoked by an admin — with 401
/// `session_expired` (which clears the cookies); its refresh token, when the request carries
/// it, is revoked at the IdP on the way. Without a registry every session is live. When the
/// registry cannot be asked, the request fails closed: 503 `session_store_unavailable`, cookies
/// untouched (a "live" answer less than [`CHECK_TTL`](super::CHECK_TTL) seconds old is used).
pub(crate) async fn ensure_live(
    edge: &impl Context,
    headers: &http::HeaderMap,
    b: &Binding,
) -> Result<(), Error> {
    let ports = edge.ports();
    if !ports.has_registry() {
        return Ok(());
    }
    let now = ports.now();
    let (sub, sid) = registry_ids(b);
    let key = EndedCache::key(Some(&b.id), sid.as_deref(), &sub, b.started_at);
    let ended = match edge.ended_sessions().get(&key, now) {
        Some(known) => known,
        None => {
            let question = RegistryRequest::Check {
                session: Some(b.id.clone()),
                sid,
                sub: sub.clone(),
                started_at: b.started_at,
            };
            let shard = shard_of(&sub, edge.session_settings().shards);
            let answer = ask(ports, &shard, &question)
                .await
                .map_err(|e| Error::SessionStoreUnavailable(e.reason))?;
            let ended = answer == RegistryAnswer::Ended;
            edge.ended_sessions().put(key, ended, now);
            if ended {
                // First seen ended in this isolate: the refresh token it carries dies too.
                if let Some(rt) =
                    session::read_refresh_of(headers, edge.cookie_keys(), ports, b, now).await
                {
                    if let Some(provider) = provider_of(edge, b) {
                        revoke_all(edge, provider, &[rt]).await;
                    }
                }
            }
            ended
        }
    };
    if ended {
        Err(Error::SessionExpired("the session was ended".into()))
    } else {
        Ok(())
    }
}

/// Ends a session everywhere the worker can: this isolate refuses it at once, and the registry
/// (when bound) puts its binding id on the deny-list (stateless: copies of its cookies are
/// refused everywhere) or deletes it (server mode). Best effort: what cannot be recorded is
/// logged, and the caller's answer does not change.
pub(crate) async fn end_session(edge: &impl Context, session: &Session, handle: Option<&str>) {
    let ports = edge.ports();
    let b = &session.binding;
    let (sub, sid) = registry_ids(b);
    edge.ended_sessions().put(
        EndedCache::key(Some(&b.id), sid.as_deref(), &sub, b.started_at),
        true,
        ports.now(),
    );
    if !ports.has_registry() {
        return;
    }
    let shard = shard_of(&sub, edge.session_settings().shards);
    let order = match handle {
        Some(handle) => RegistryRequest::DeleteSession {
            handle: handle.to_owned(),
        },
        None => RegistryRequest::EndSession {
            id: b.id.clone(),
            until: b.ends_at,
        },
    };
    if let Err(e) = ask(ports, &shard, &order).await {
        ports.log(
            LogLevel::Error,
            &format!(
                "edgeward: logout not recorded, copies of the session's cookies stay usable \
                 until they expire: {}",
                e.reason
            ),
        );
    }
}

/// Revokes refresh tokens of `provider` at the provider (RFC 7009), best effort: failures are
/// logged, never answered. At most 50 per call.
pub(crate) async fn revoke_all(edge: &impl Context, provider: Provider<'_>, tokens: &[String]) {
    if tokens.is_empty() {
        return;
    }
    let ports = edge.ports();
    let discovery = match provider.discovery(ports).await {
        Ok(d) => d,
        Err(e) => {
            ports.log(
                LogLevel::Warn,
                &format!(
                    "edgeward: refresh tokens not revoked: {}",
                    e.detail().unwrap_or_default()
                ),
            );
            return;
        }
    };
    let Some(endpoint) = discovery.revocation_endpoint.as_deref() else {
        // Said, not silent: an operator may expect logout to revoke (README "Providers").
        ports.log(
            LogLevel::Warn,
            "edgeward: refresh tokens not revoked: the provider has no revocation endpoint",
        );
        return;
    };
    for token in tokens.iter().take(50) {
        if let Err(e) = oidc::revoke(
            provider.client,
            ports,
            &discovery,
            endpoint,
            token,
            "refresh_token",
        )
        .await
        {
            ports.log(
                LogLevel::Warn,
                &format!("edgeward: a refresh token was not revoked: {e:?}"),
            );
        }
    }
}
