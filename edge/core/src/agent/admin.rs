//! Ending sessions from outside the browser: an administrator's `/auth/admin/sessions` and the
//! identity provider's `POST /auth/backchannel-logout`.

use super::Context;
use crate::cookie::session;
use crate::machine::chain::Revoked;
use crate::oidc::logout::{self, LogoutTokenError};
use crate::oidc::KeyLookup;
use crate::platform::crypto::constant_time_eq;
use crate::platform::ports::{Clock, Log, LogLevel, SessionRegistry};
use crate::platform::{respond, trail, Error, Request, Response};
use crate::sessions::{
    self, all_shards, ask, require_registry, revoke_all, scoped, shard_of, RegistryAnswer,
    RegistryRequest,
};

/// `GET|DELETE /auth/admin/sessions?sub=<user>[&session=<handle>][&provider=<id>]` (the user
/// of that provider; default the first), with
/// `Authorization: Bearer <EDGEWARD_ADMIN_TOKEN>`: lists a user's server-side sessions (handles,
/// times, user agent; never a token or a session id), revokes one of them (`session=`: a handle
/// of another user's or provider's session revokes nothing), or ends all of
/// them (server-side ones deleted, stateless ones denied from now on). Refresh tokens of the
/// sessions it deletes are revoked at the IdP. Off (404) without the admin token; 401 without
/// the right bearer.
pub(crate) async fn admin_sessions(edge: &impl Context, req: &Request) -> Result<Response, Error> {
    let ports = edge.ports();
    authorize_admin(edge, req)?;
    let param = |name: &str| query_param(req, name);
    let raw_sub = param("sub").ok_or_else(|| Error::InvalidRequest("sub= is required".into()))?;
    // No user has a control character in their `sub` (login refuses one); with one, a `sub=` of
    // the default provider could spell another provider's user (`sessions::scoped`).
    if raw_sub.chars().any(char::is_control) {
        return Err(Error::InvalidRequest(
            "sub= must not hold a control character".into(),
        ));
    }
    let provider = match param("provider") {
        None => edge.default_provider(),
        Some(id) => edge.provider(&id),
    }
    .ok_or_else(|| Error::InvalidRequest("provider= is not one of this worker's".into()))?;
    // What the registry knows the user by (`sessions::scoped`); the answer names the user as
    // asked.
    let sub = scoped(provider.session_tag().as_deref(), &raw_sub);
    trail::note_subject(req, provider.client.who(), &raw_sub);
    let request = match (req.method().as_str(), param("session")) {
        ("GET", _) => RegistryRequest::ListSessions { sub: sub.clone() },
        ("DELETE", Some(handle)) => RegistryRequest::DeleteSession { handle },
        ("DELETE", None) => RegistryRequest::EndUser {
            sub: sub.clone(),
            now: ports.now(),
        },
        _ => {
            return Err(Error::MethodNotAllowed {
                allowed: "GET, DELETE".into(),
            })
        }
    };
    let shard = shard_of(&sub, edge.session_settings().shards);
    if let RegistryRequest::DeleteSession { handle } = &request {
        // Only a session of the user at the provider named: a handle is the store's name for
        // any session, and the refresh token of the one deleted is revoked at that provider.
        let listed = ask(
            ports,
            &shard,
            &RegistryRequest::ListSessions { sub: sub.clone() },
        )
        .await
        .map_err(|e| Error::SessionStoreUnavailable(e.reason))?;
        let theirs = match listed {
            RegistryAnswer::Sessions(list) => list.iter().any(|s| &s.handle == handle),
            _ => return Err(Error::Internal("unexpected answer from the session store")),
        };
        if !theirs {
            return Ok(respond::json(200, &serde_json::json!({ "revoked": 0 })));
        }
    }
    let answer = ask(ports, &shard, &request)
        .await
        .map_err(|e| Error::SessionStoreUnavailable(e.reason))?;
    if req.method() == http::Method::DELETE {
        edge.ended_sessions().forget_live();
    }
    Ok(match answer {
        RegistryAnswer::Sessions(sessions) => respond::json(
            200,
            &serde_json::json!({ "sub": raw_sub, "sessions": sessions }),
        ),
        RegistryAnswer::Deleted { count, revoke } => {
            revoke_all(edge, provider, &revoke).await;
            respond::json(200, &serde_json::json!({ "revoked": count }))
        }
        _ => return Err(Error::Internal("unexpected answer from the session store")),
    })
}

/// The admin endpoints' gate: 404 without the admin token configured, 401 without the right
/// bearer (compared in constant time), 503 without a registry.
fn authorize_admin(edge: &impl Context, req: &Request) -> Result<(), Error> {
    let Some(expected) = edge.admin_token() else {
        return Err(Error::RouteNotFound);
    };
    let presented = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !constant_time_eq(presented, expected.expose()) {
        return Err(Error::Unauthorized);
    }
    require_registry(edge)
}

/// The first non-empty value of query parameter `name`.
fn query_param(req: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// `GET|PUT|DELETE /auth/admin/clients/revoked[?certificate=<hex serial | sha256:<hex>>]`,
/// with the admin bearer: the machine clients' certificates revoked at run time, beside
/// `EDGEWARD_CLIENT_REVOKED`. `PUT` revokes one, `DELETE` takes one back, `GET` lists them.
/// Revocations live in every registry object, because a proof's replay check (which carries
/// the chain's certificates, `machine::authenticate`) goes to the object of its leaf: a PUT or
/// DELETE that does not reach every object is 503 and is to be sent again (it is idempotent);
/// the objects it did reach keep the change. The list answers what every object holds (the
/// union, so a revocation half made shows).
pub(crate) async fn admin_client_revocations(
    edge: &impl Context,
    req: &Request,
) -> Result<Response, Error> {
    authorize_admin(edge, req)?;
    let ports = edge.ports();
    let certificate = || {
        let item = query_param(req, "certificate")
            .ok_or_else(|| Error::InvalidRequest("certificate= is required".into()))?;
        Revoked::name_of(&item).map_err(Error::InvalidRequest)
    };
    let request = match req.method().as_str() {
        "GET" => RegistryRequest::RevokedCertificates,
        "PUT" => RegistryRequest::RevokeCertificate {
            certificate: certificate()?,
        },
        "DELETE" => RegistryRequest::UnrevokeCertificate {
            certificate: certificate()?,
        },
        _ => {
            return Err(Error::MethodNotAllowed {
                allowed: "GET, PUT, DELETE".into(),
            })
        }
    };
    let mut revoked: Vec<String> = Vec::new();
    for shard in all_shards(edge.session_settings().shards) {
        let answer = ask(ports, &shard, &request).await.map_err(|e| {
            Error::SessionStoreUnavailable(format!(
                "client revocations at {shard}: {} (send it again)",
                e.reason
            ))
        })?;
        match answer {
            RegistryAnswer::Stored => {}
            RegistryAnswer::Certificates(list) => revoked.extend(list),
            _ => return Err(Error::Internal("unexpected answer from the session store")),
        }
    }
    if let RegistryRequest::RevokeCertificate { certificate }
    | RegistryRequest::UnrevokeCertificate { certificate } = &request
    {
        let verb = if req.method() == http::Method::PUT {
            "revoked"
        } else {
            "no longer revoked"
        };
        ports.log(
            LogLevel::Info,
            &format!("admin: client certificate {certificate} {verb}"),
        );
        revoked = vec![certificate.clone()];
    }
    revoked.sort();
    revoked.dedup();
    Ok(respond::json(
        200,
        &serde_json::json!({ "revoked": revoked }),
    ))
}

/// `POST /auth/backchannel-logout` (OpenID Connect Back-Channel Logout 1.0): the IdP's logout
/// token ends the sessions it names. Server to server: no Origin or CSRF rules, the token's
/// signature is the authentication. Refused tokens are 400 `logout_token_invalid` and change
/// nothing. Off (404) without a session registry.
///
/// With several providers, the token's claimed `iss` picks the providers with that issuer,
/// whose keys, issuer and client id it must pass; what it ends is recorded for each provider
/// whose checks it passed ([`sessions::scoped`]: entries of one client at one issuer all have
/// that client's users), never for another provider's user or session.
pub(crate) async fn backchannel_logout(
    edge: &impl Context,
    req: &Request,
) -> Result<Response, Error> {
    let ports = edge.ports();
    if !ports.has_registry() {
        return Err(Error::RouteNotFound);
    }
    let token = url::form_urlencoded::parse(req.body())
        .find(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| Error::InvalidRequest("the form has no logout_token".into()))?;
    let now = ports.now();
    let claimed = logout::claimed_issuer(&token);
    let candidates: Vec<usize> = (0..edge.providers().all().len())
        .filter(|&i| {
            edge.providers()
                .all()
                .get(i)
                .is_some_and(|c| Some(&c.issuer) == claimed.as_ref())
        })
        .collect();
    if candidates.is_empty() {
        return Err(Error::LogoutTokenInvalid(
            "it comes from an issuer that is not one of this worker's providers".into(),
        ));
    }
    // Every provider whose checks the token passes: entries sharing an issuer and a client
    // (one client, several sign-in buttons) each have sessions of the users it names.
    let mut refusal = None;
    let mut accepted = Vec::new();
    for provider in candidates.into_iter().filter_map(|i| edge.provider_at(i)) {
        let discovery = provider.discovery(ports).await?;
        let check = |jwks| {
            logout::validate(
                &token,
                jwks,
                &provider.client.issuer,
                &provider.client.client_id,
                now,
                ports,
            )
        };
        let (jwks, fetched) = provider.jwks(&discovery, ports, KeyLookup::Cached).await?;
        let checked = match check(&jwks).await {
            Err(LogoutTokenError::UnknownKey) if !fetched => {
                let (jwks, _) = provider
                    .jwks(&discovery, ports, KeyLookup::PresentedWithUnknownKey)
                    .await?;
                check(&jwks).await
            }
            other => other,
        };
        match checked {
            Ok(order) => accepted.push((provider, order)),
            Err(e) => refusal = Some(e),
        }
    }
    if accepted.is_empty() {
        return Err(Error::LogoutTokenInvalid(match refusal {
            Some(LogoutTokenError::UnknownKey) => "its key is not in the provider's JWKS".into(),
            Some(LogoutTokenError::Invalid(why)) => why,
            None => "no provider could check it".into(),
        }));
    }
    // The default provider's values are used as they are: one holding a control character
    // could spell another provider's scoped value, and is refused (before anything is ended).
    for (provider, order) in &accepted {
        let spelled = [order.sub.as_deref(), order.sid.as_deref(), Some(&order.jti)];
        if provider.session_tag().is_none()
            && spelled
                .iter()
                .flatten()
                .any(|v| v.chars().any(char::is_control))
        {
            return Err(Error::LogoutTokenInvalid(
                "its sub, sid or jti holds a control character".into(),
            ));
        }
    }
    // Whom it ends, for the audit line: the user at the issuer (every entry accepted has that
    // issuer), named by the first of the entries.
    if let Some((provider, order)) = accepted.first() {
        let who = provider.client.who();
        match &order.sub {
            Some(sub) => trail::note_subject(req, who, sub),
            None => trail::note_provider(req, who.0),
        }
    }
    let mut replayed = true;
    let mut revoke = Vec::new();
    for (provider, order) in accepted {
        let (seen, tokens) = record_logout(edge, provider, order, now).await?;
        replayed &= seen;
        revoke.push((provider, tokens));
    }
    if replayed {
        return Err(Error::LogoutTokenInvalid(
            "its jti was seen before (a replay)".into(),
        ));
    }
    edge.ended_sessions().forget_live();
    for (provider, tokens) in revoke {
        revoke_all(edge, provider, &tokens).await;
    }
    let mut response = Response::new(Vec::new());
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// Records a logout token's `order` as `provider`'s (what the registry knows that provider's
/// users, IdP sessions and token ids by, [`scoped`]): whether its `jti` was seen before for
/// that provider, and the refresh tokens of the server-side sessions it deleted.
async fn record_logout(
    edge: &impl Context,
    provider: crate::oidc::Provider<'_>,
    mut order: logout::LogoutOrder,
    now: u64,
) -> Result<(bool, Vec<String>), Error> {
    let tag = provider.session_tag();
    let scope = |v: &String| scoped(tag.as_deref(), v);
    order.sub = order.sub.as_ref().map(scope);
    order.sid = order.sid.as_ref().map(scope);
    order.jti = scope(&order.jti);
    // The user's shard keeps everything of theirs; a token naming only an IdP session reaches
    // every shard (logout tokens are rare; session checks, which read one shard, are not).
    let shards: Vec<String> = match &order.sub {
        Some(sub) => vec![shard_of(sub, edge.session_settings().shards)],
        None => sessions::all_shards(edge.session_settings().shards).collect(),
    };
    let record = RegistryRequest::Record {
        order,
        now,
        session_ttl: session::DEFAULT_SESSION_TTL,
    };
    let mut revoke = Vec::new();
    let mut replayed = true;
    for shard in &shards {
        match ask(edge.ports(), shard, &record)
            .await
            .map_err(|e| Error::SessionStoreUnavailable(e.reason))?
        {
            RegistryAnswer::Replayed => {}
            RegistryAnswer::Recorded { revoke: tokens } => {
                replayed = false;
                revoke.extend(tokens);
            }
            _ => {
                return Err(Error::SessionStoreUnavailable(
                    "unexpected answer from the session registry".into(),
                ))
            }
        }
    }
    Ok((replayed, revoke))
}
