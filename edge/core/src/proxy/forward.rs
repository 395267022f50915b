//! The proxy's request handler: route, Origin/CSRF rules for state-changing methods, the
//! access-token cookie (or, on a route for service clients, a bearer token), the phantom
//! token, and the [`Forward`] plan the platform adapter carries out (streaming the body both
//! ways, rewriting the answer's headers with [`Forward::response_headers`]).

use std::rc::Rc;

use edgeward_shared::names;
use http::header::{self, HeaderMap};
use http::Method;
use url::Url;

use super::headers::{forward_request_headers, forward_response_headers};
use super::phantom::{self, CacheKey, CacheKeyPrefix, IntrospectionJwtError, Minted, TokenRules};
use super::routes::Route;
use super::service::{self, TokenShape};
use super::settings::PhantomMode;
use super::Context;
use crate::cookie::session::{read_access, AccessToken};
use crate::oidc::{KeyLookup, OidcClient, Provider};
use crate::platform::cookies;
use crate::platform::ports::{Clock, SharedCache};
use crate::platform::{trail, Error, Request};
use crate::request::guard;
use crate::sessions::{
    ensure_live, load_session, provider_of, registry_ids, require_provider_of, SessionMode,
};
use crate::{broker, machine};

/// What the adapter must send upstream. The request body is the browser's, streamed as it is.
#[derive(Debug, Clone)]
pub struct Forward {
    /// The method.
    pub method: Method,
    /// The upstream URL.
    pub url: Url,
    /// The headers, already rewritten ([`forward_request_headers`]).
    pub headers: HeaderMap,
    /// The route it matched (what the answer's headers are rewritten for).
    pub route: Rc<Route>,
    /// Headers the dispatcher adds to the answer, whatever the upstream said (CORS), and to
    /// the error the adapter answers when the upstream cannot be reached.
    pub answer_headers: HeaderMap,
}

impl Forward {
    /// What the browser gets of the upstream's answer headers ([`answer_headers`]).
    pub fn response_headers(&self, upstream: &HeaderMap) -> HeaderMap {
        answer_headers(upstream, &self.route, &self.url, &self.answer_headers)
    }
}

/// What the browser gets of an upstream's answer headers on `route` for a request that went to
/// `url`: [`forward_response_headers`], then `extra` (what the dispatcher adds to every answer
/// of the request: CORS). For an adapter that keeps the plan's parts rather than the plan.
pub fn answer_headers(
    upstream: &HeaderMap,
    route: &Route,
    url: &Url,
    extra: &HeaderMap,
) -> HeaderMap {
    let mut headers = forward_response_headers(upstream, route, url);
    for (name, value) in extra {
        headers.append(name, value.clone());
    }
    headers
}

/// `/api/*`: the plan for forwarding `req` upstream with a phantom token, or why not.
pub(crate) async fn forward(edge: &impl Context, req: &Request) -> Result<Forward, Error> {
    let target = edge.proxy().routes.resolve(req.method(), req.uri())?;
    let now = edge.ports().now();
    let headers = req.headers();
    // A proof of possession is a machine client's, whatever else the request carries: it
    // never falls through to cookies or a bearer token.
    if machine::has_proof(headers) {
        let jwt = machine_token(edge, req, target.route, now).await?;
        return Ok(Forward {
            method: req.method().clone(),
            headers: forward_request_headers(headers, target.route, &jwt)?,
            route: Rc::clone(target.route),
            answer_headers: HeaderMap::new(),
            url: target.url,
        });
    }
    // The session's user, for an introspection answer that names none (see `phantom_token`).
    let session_sub: Option<String>;
    // The session's user as the registry knows it (a connection's tokens are theirs).
    let registry_sub: Option<String>;
    // The provider whose token this is: the session's.
    let provider: Option<Provider<'_>>;
    let token = match service_client(target.route, headers)? {
        // No cookie of ours, so no ambient credential to protect with Origin and CSRF checks.
        Some(token) => {
            let jwt = service_token(edge, target.route, &token, now).await?;
            return Ok(Forward {
                method: req.method().clone(),
                headers: forward_request_headers(headers, target.route, &jwt)?,
                route: Rc::clone(target.route),
                answer_headers: HeaderMap::new(),
                url: target.url,
            });
        }
        None => {
            if !target.route.clients.browser {
                return Err(Error::ClientNotAllowed(format!(
                    "{} does not serve browser sessions",
                    target.route.prefix
                )));
            }
            let state_changing = guard::is_state_changing(req.method());
            if state_changing {
                guard::check_origin(headers, edge.allowed_origins())?;
            }
            let (access, csrf) = match edge.session_settings().mode {
                SessionMode::Server => {
                    // The session lives in the store (which refuses an ended one).
                    let loaded = load_session(edge, headers)
                        .await?
                        .ok_or(Error::Unauthorized)?;
                    session_sub = Some(loaded.session.binding.sub.clone());
                    registry_sub = Some(registry_ids(&loaded.session.binding).0);
                    provider = Some(require_provider_of(edge, &loaded.session.binding)?);
                    let access = loaded.session.access.ok_or(Error::Unauthorized)?;
                    (access, loaded.session.csrf)
                }
                SessionMode::Stateless => {
                    // One cookie: the access cookie carries its session's binding and CSRF
                    // value, and is judged by them alone (a jar that mixes sessions gains
                    // nothing here that the access cookie alone would not give).
                    let accepts =
                        |b: &crate::cookie::session::Binding| provider_of(edge, b).is_some();
                    let cookie =
                        read_access(headers, edge.cookie_keys(), edge.ports(), &accepts, now)
                            .await?
                            .ok_or(Error::Unauthorized)?;
                    ensure_live(edge, headers, &cookie.b).await?;
                    session_sub = Some(cookie.b.sub.clone());
                    registry_sub = Some(registry_ids(&cookie.b).0);
                    provider = Some(require_provider_of(edge, &cookie.b)?);
                    let access = AccessToken {
                        token: cookie.token,
                        exp: cookie.exp,
                    };
                    (access, cookie.csrf)
                }
            };
            if let (Some(p), Some(sub)) = (&provider, &session_sub) {
                trail::note_subject(req, p.client.who(), sub);
            }
            if state_changing {
                guard::check_csrf(headers, &csrf)?;
            }
            // A route restricted to some providers serves only their sessions.
            if let (Some(allowed), Some(p)) = (&target.route.providers, &provider) {
                if !allowed.contains(&p.client.id) {
                    return Err(Error::ProviderNotAllowed(format!(
                        "{} serves {}, not sessions of {}",
                        target.route.prefix,
                        allowed.join(", "),
                        p.client.id
                    )));
                }
            }
            // An expired access token is 401 at once (the SPA refreshes), not a useless
            // introspection.
            if access.exp <= now {
                return Err(Error::Unauthorized);
            }
            // A route that forwards a connected account's token: the user's, refreshed when
            // near its end; 401 connection_required / connection_expired otherwise.
            if let (Some(name), Some(sub)) = (&target.route.connection, &registry_sub) {
                let user = broker::store::User::of(sub, edge.session_settings().shards);
                let (token, _) =
                    broker::store::connection_token(edge, &user, name, broker::store::Asker::User)
                        .await?;
                return Ok(Forward {
                    method: req.method().clone(),
                    headers: forward_request_headers(headers, target.route, &token)?,
                    route: Rc::clone(target.route),
                    answer_headers: HeaderMap::new(),
                    url: target.url,
                });
            }
            access.token
        }
    };
    let (Some(provider), Some(session_sub)) = (provider, session_sub) else {
        return Err(Error::Unauthorized);
    };
    let jwt = phantom_token(
        edge,
        provider,
        target.route,
        &token,
        Caller::Session(&session_sub),
        now,
    )
    .await?;
    Ok(Forward {
        method: req.method().clone(),
        headers: forward_request_headers(headers, target.route, &jwt)?,
        route: Rc::clone(target.route),
        answer_headers: HeaderMap::new(),
        url: target.url,
    })
}

/// The token minted for a machine client whose proof checked out (`machine::authenticate`),
/// as for a session: `sub` and `client_id` the certificate's subject, `scope` the route's, and
/// `cnf.x5t#S256` the leaf's thumbprint. Never cached: every proof is for one request.
async fn machine_token(
    edge: &impl Context,
    req: &Request,
    route: &Route,
    now: u64,
) -> Result<String, Error> {
    if !route.clients.pop {
        return Err(Error::InvalidClientProof(format!(
            "{} does not take proof-of-possession clients",
            route.prefix
        )));
    }
    let client = machine::authenticate(edge, req).await?;
    let proxy = edge.proxy();
    let PhantomMode::IntrospectMint { key } = &proxy.mode else {
        return Err(Error::Internal(
            "proof-of-possession clients need a minting key",
        ));
    };
    let facts = phantom::Introspection {
        active: true,
        token: phantom::TokenFacts {
            sub: Some(client.subject.clone()),
            client_id: Some(client.subject),
            scope: route.scope.clone(),
            cnf: Some(serde_json::json!({ "x5t#S256": client.thumbprint })),
            ..Default::default()
        },
    };
    let minted = key
        .mint_with(
            &facts,
            edge.origin(),
            &route.audience,
            now,
            proxy.max_ttl,
            edge.ports(),
        )
        .await?;
    Ok(minted.jwt)
}

/// Where a bearer client's token is introspected: the route's first provider when it names
/// some, else the default one.
fn bearer_provider<'a, C: Context>(edge: &'a C, route: &Route) -> Result<Provider<'a>, Error> {
    match route.providers.as_ref().and_then(|list| list.first()) {
        Some(id) => edge.provider(id),
        None => edge.default_provider(),
    }
    .ok_or(Error::Internal("the route's provider is not configured"))
}

/// A service client's token: on a route whose `clients` include `service`, a request with none
/// of our cookies is a service client's, and must carry `Authorization: Bearer <token>` (the
/// scheme in any case, RFC 7235); without one (no header, another scheme, an empty token) it is
/// [`Error::BearerRequired`]. `None`: a browser's request (any cookie of ours; its
/// `Authorization` header is dropped as always), or a route that serves no service clients
/// (where a bearer token is ignored, as it always was).
fn service_client(route: &Route, headers: &HeaderMap) -> Result<Option<String>, Error> {
    // Only a route that serves services looks at the cookies here: a browser's proxied call on
    // any other route reads its access cookie once, in `read_access`.
    if !route.clients.service {
        return Ok(None);
    }
    let jar = cookies::Jar::of(headers);
    if names::ALL_COOKIES.iter().any(|name| jar.present(name)) {
        return Ok(None);
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or(Error::BearerRequired)?;
    Ok(Some(token.to_owned()))
}

/// The JWT a service client's `token` becomes on `route` (which serves service clients), or
/// the RFC 6750 answer: a JWT access token (`at+jwt`) is checked at the edge, an opaque one is
/// introspected; any other JWT (an ID token, say) is refused unread. Then the route's scope.
async fn service_token(
    edge: &impl Context,
    route: &Route,
    token: &str,
    now: u64,
) -> Result<String, Error> {
    let provider = bearer_provider(edge, route)?;
    let at_jwt = match service::shape(token) {
        TokenShape::AtJwt => true,
        TokenShape::Opaque => false,
        TokenShape::OtherJwt(typ) => {
            return Err(Error::InvalidToken(format!(
                "a JWT that is not an access token (typ {typ:?}, not at+jwt)"
            )))
        }
    };
    if !at_jwt {
        if let PhantomMode::Passthrough = edge.proxy().mode {
            // Nothing here could check it, and an unchecked token is not forwarded.
            return Err(Error::InvalidToken(
                "an opaque token in passthrough mode (only JWT access tokens are checked there)"
                    .into(),
            ));
        }
    }
    phantom_token(
        edge,
        provider,
        route,
        token,
        Caller::Service { at_jwt },
        now,
    )
    .await
    .map_err(service::as_bearer_error)
}

/// Drops the phantom tokens made from `token`, the access token of `sub`'s session (at logout):
/// from this isolate's memory and from the location's shared tier, for every route, minted for
/// the session or for a bearer client presenting the same token. Other isolates' memories keep
/// theirs until they expire (at most `EDGEWARD_PHANTOM_MAX_TTL` seconds); with the session
/// registry bound they refuse the logged-out session before they look (within
/// `backchannel::CHECK_TTL` seconds).
///
/// `provider` is the session's ([`Binding::provider`](crate::cookie::session::Binding)).
pub(crate) async fn forget_token(
    edge: &impl Context,
    token: &str,
    sub: &str,
    provider: Option<&str>,
) {
    let proxy = edge.proxy();
    if let PhantomMode::Passthrough = proxy.mode {
        return;
    }
    let Some(provider) = edge.session_provider(provider) else {
        return;
    };
    let mut keys: Vec<CacheKey> = proxy
        .routes
        .routes()
        .iter()
        .flat_map(|route| {
            [Some(sub), None]
                .map(|session_sub| cache_key(edge, provider, route, token, session_sub))
        })
        .collect();
    keys.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    keys.dedup();
    for key in keys {
        edge.phantom_cache().remove(&key);
        if proxy.shared_cache {
            SharedCache::delete(edge.ports(), key.as_str()).await;
        }
    }
}

/// The audiences an introspected token may name for `route`: its own, and the others it
/// accepts (by default the worker's client id).
fn accepted_audiences(oidc: &OidcClient, route: &Route) -> Vec<String> {
    let mut audiences = vec![route.audience.clone()];
    match &route.accept_audiences {
        Some(list) => audiences.extend(list.iter().cloned()),
        None => audiences.push(oidc.client_id.clone()),
    }
    audiences
}

/// Where the phantom token for `token` on `route` is cached: keyed by everything the checks
/// and the minted token depend on, so that no entry is served under other rules or for another
/// caller. What the configuration gives is hashed once per route and isolate
/// ([`PhantomCache::key`](phantom::PhantomCache::key)); per call come the token and the user of
/// the session presenting it (`None` for a bearer client): an introspection answer without
/// `sub` is minted for that user, so without it in the key whoever asked first would decide the
/// subject for everyone.
fn cache_key(
    edge: &impl Context,
    provider: Provider<'_>,
    route: &Route,
    token: &str,
    session_sub: Option<&str>,
) -> CacheKey {
    let (proxy, oidc) = (edge.proxy(), provider.client);
    let prefix = || {
        // The route's scope: a service client's token was checked against it.
        let rules_tag = format!(
            "{}\n{}\n{}\n{}\n{}",
            accepted_audiences(oidc, route).join(" "),
            proxy.tokens.fingerprint(),
            oidc.client_id,
            oidc.issuer,
            route.scope.as_deref().unwrap_or("-")
        );
        CacheKeyPrefix::new(&proxy.mode.cache_tag(), &route.audience, &rules_tag)
    };
    // A session's user is any string (the IdP's `sub`): written as JSON (no raw newline, so no
    // two callers and tokens share a spelling), and a bearer client is `null`.
    let caller = serde_json::to_string(&session_sub).unwrap_or_default();
    // The prefix is made once per route and provider (the provider's client id and issuer are
    // in it).
    edge.phantom_cache()
        .key((&oidc.id, &route.prefix), prefix, &[&caller, "\n", token])
}

/// The JWT for `token` on `route`: from the isolate's memory, else from the location's shared
/// cache, else from the IdP (introspection, the answer checked against the route's rules: see
/// [`TokenFacts::check`](phantom::TokenFacts::check)), then remembered in both tiers until
/// min(token expiry, now + max TTL). Failures and refusals are never cached.
///
/// The caller is a session, named by its user, or a service client: an introspection answer
/// without `sub` (django-oauth-toolkit never sends one) is then minted for that user: the token
/// came from that user's grant, sealed into the session's cookies with its binding. Without a
/// session (a bearer client) the minted token's subject stays the client (RFC 9068 §2.2).
///
/// A service client's token must also hold the route's `scope`; a JWT access token of one
/// (`at_jwt`) is checked at the edge ([`service::check_at_jwt`]) instead of introspected, then
/// minted in `introspect-mint` and forwarded as it is in the other modes.
async fn phantom_token(
    edge: &impl Context,
    provider: Provider<'_>,
    route: &Route,
    token: &str,
    caller: Caller<'_>,
    now: u64,
) -> Result<String, Error> {
    let (ports, proxy, oidc) = (edge.ports(), edge.proxy(), provider.client);
    let (session_sub, at_jwt, required_scope) = match caller {
        Caller::Session(sub) => (Some(sub), false, None),
        Caller::Service { at_jwt } => (None, at_jwt, route.scope.as_deref()),
    };
    if let (PhantomMode::Passthrough, false) = (&proxy.mode, at_jwt) {
        return Ok(token.to_owned());
    }
    let audience = route.audience.as_str();
    let audiences = accepted_audiences(oidc, route);
    let key = cache_key(edge, provider, route, token, session_sub);
    if let Some(hit) = edge.phantom_cache().get(&key, now) {
        return Ok(hit.jwt);
    }
    if proxy.shared_cache {
        let shared = SharedCache::get(ports, key.as_str())
            .await
            .and_then(|bytes| serde_json::from_slice::<Minted>(&bytes).ok())
            // Never trust an entry beyond what this configuration allows.
            .filter(|m| m.expires_at > now && m.expires_at <= now + proxy.max_ttl);
        if let Some(hit) = shared {
            edge.phantom_cache().put(&key, hit.clone());
            return Ok(hit.jwt);
        }
    }

    let minting = matches!(proxy.mode, PhantomMode::IntrospectMint { .. });
    let rules = TokenRules {
        policy: &proxy.tokens,
        issuer: &oidc.issuer,
        own_client_id: &oidc.client_id,
        audiences: &audiences,
        // A minted token needs its client (RFC 9068); an IdP's JWT need not name it unless
        // the deployment lists clients.
        client_id_required: minting || at_jwt || proxy.tokens.client_ids.is_some(),
        session_sub,
        now,
    };
    if at_jwt {
        let checked = service::check_at_jwt(provider, ports, token, &rules).await?;
        service::require_scope(required_scope, checked.token.scope.as_deref())?;
        let fresh = match &proxy.mode {
            PhantomMode::IntrospectMint { key } => {
                key.mint_with(
                    &checked,
                    edge.origin(),
                    &route.audience,
                    now,
                    proxy.max_ttl,
                    ports,
                )
                .await?
            }
            // The API trusts the provider's keys in these modes: the token goes as it came,
            // cached no longer than it lives.
            PhantomMode::IntrospectJwt | PhantomMode::Passthrough => Minted {
                jwt: token.to_owned(),
                expires_at: checked.token.exp.unwrap_or(now).min(now + proxy.max_ttl),
            },
        };
        remember(edge, &key, &fresh, now).await;
        return Ok(fresh.jwt);
    }
    let discovery = provider.discovery(ports).await?;
    let endpoint = discovery.introspection_endpoint.as_deref().ok_or_else(|| {
        Error::IdpUnavailable("the provider has no introspection endpoint".into())
    })?;
    let fresh = match &proxy.mode {
        PhantomMode::Passthrough => return Ok(token.to_owned()),
        PhantomMode::IntrospectMint { key } => {
            let mut introspection =
                phantom::introspect(oidc, ports, &discovery, endpoint, token).await?;
            introspection
                .token
                .check(&rules)
                .map_err(Error::TokenRefused)?;
            service::require_scope(required_scope, introspection.token.scope.as_deref())?;
            // The rules refused another user's token; a `sub`-less answer is the session's.
            if introspection.token.sub.is_none() {
                introspection.token.sub = session_sub.map(str::to_owned);
            }
            key.mint_with(
                &introspection,
                edge.origin(),
                audience,
                now,
                proxy.max_ttl,
                ports,
            )
            .await?
        }
        PhantomMode::IntrospectJwt => {
            let jwt = phantom::introspect_jwt(oidc, ports, &discovery, endpoint, token).await?;
            let (jwks, fetched) = provider.jwks(&discovery, ports, KeyLookup::Cached).await?;
            let read =
                |jwks| phantom::read_introspection_jwt(&jwt, jwks, &rules, proxy.max_ttl, ports);
            match read(&jwks).await {
                Err(IntrospectionJwtError::UnknownKey) if !fetched => {
                    // The provider may have rolled its keys: look once more.
                    let (jwks, _) = provider
                        .jwks(&discovery, ports, KeyLookup::AnsweredWithUnknownKey)
                        .await?;
                    read(&jwks).await
                }
                other => other,
            }
            .map_err(|e| match e {
                IntrospectionJwtError::Inactive => Error::Unauthorized,
                IntrospectionJwtError::Refused(why) => Error::TokenRefused(why),
                IntrospectionJwtError::UnknownKey => Error::IdpUnavailable(
                    "the introspection JWT is signed with a key the provider does not publish"
                        .into(),
                ),
                IntrospectionJwtError::Invalid(why) => Error::IdpUnavailable(why),
            })
            .and_then(|minted| {
                let granted = service::scope_of_introspection_jwt(&minted.jwt);
                service::require_scope(required_scope, granted.as_deref())?;
                Ok(minted)
            })?
        }
    };
    remember(edge, &key, &fresh, now).await;
    Ok(fresh.jwt)
}

/// Who presents a token to [`phantom_token`].
#[derive(Debug, Clone, Copy)]
enum Caller<'a> {
    /// A browser session, by its user.
    Session(&'a str),
    /// A service client (`Authorization: Bearer`); `at_jwt` when its token is an RFC 9068 JWT.
    Service {
        /// Whether the token is a JWT access token, checked at the edge.
        at_jwt: bool,
    },
}

/// Keeps `fresh` in both cache tiers until it expires.
async fn remember(edge: &impl Context, key: &CacheKey, fresh: &Minted, now: u64) {
    edge.phantom_cache().put(key, fresh.clone());
    if edge.proxy().shared_cache {
        if let Ok(bytes) = serde_json::to_vec(fresh) {
            SharedCache::put(
                edge.ports(),
                key.as_str(),
                bytes,
                fresh.expires_at.saturating_sub(now),
            )
            .await;
        }
    }
}
