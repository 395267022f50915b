//! Ending sessions from outside the browser: an administrator's `/auth/admin/sessions` and the
//! identity provider's `POST /auth/backchannel-logout`.

use super::Context;
use crate::cookie::session;
use crate::oidc::logout::{self, LogoutTokenError};
use crate::platform::crypto::constant_time_eq;
use crate::platform::ports::{Clock, SessionRegistry};
use crate::platform::{respond, Error, Request, Response};
use crate::sessions::{
    self, ask, require_registry, revoke_all, shard_of, RegistryAnswer, RegistryRequest,
};

/// `GET|DELETE /auth/admin/sessions?sub=<user>[&session=<handle>]`, with
/// `Authorization: Bearer <EDGEWARD_ADMIN_TOKEN>`: lists a user's server-side sessions (handles,
/// times, user agent; never a token or a session id), revokes one (`session=`), or ends all of
/// them (server-side ones deleted, stateless ones denied from now on). Refresh tokens of the
/// sessions it deletes are revoked at the IdP. Off (404) without the admin token; 401 without
/// the right bearer.
pub(crate) async fn admin_sessions(edge: &impl Context, req: &Request) -> Result<Response, Error> {
    let ports = edge.ports();
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
    require_registry(edge)?;
    let param = |name: &str| {
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty())
    };
    let sub = param("sub").ok_or_else(|| Error::InvalidRequest("sub= is required".into()))?;
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
    let answer = ask(ports, &shard, &request)
        .await
        .map_err(|e| Error::SessionStoreUnavailable(e.reason))?;
    if req.method() == http::Method::DELETE {
        edge.ended_sessions().forget_live();
    }
    Ok(match answer {
        RegistryAnswer::Sessions(sessions) => respond::json(
            200,
            &serde_json::json!({ "sub": sub, "sessions": sessions }),
        ),
        RegistryAnswer::Deleted { count, revoke } => {
            revoke_all(edge, &revoke).await;
            respond::json(200, &serde_json::json!({ "revoked": count }))
        }
        _ => return Err(Error::Internal("unexpected answer from the session store")),
    })
}

/// `POST /auth/backchannel-logout` (OpenID Connect Back-Channel Logout 1.0): the IdP's logout
/// token ends the sessions it names. Server to server: no Origin or CSRF rules, the token's
/// signature is the authentication. Refused tokens are 400 `logout_token_invalid` and change
/// nothing. Off (404) without a session registry.
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
    let discovery = edge.idp().discovery(edge.oidc(), ports).await?;
    let check = |jwks| {
        logout::validate(
            &token,
            jwks,
            &edge.oidc().issuer,
            &edge.oidc().client_id,
            now,
            ports,
        )
    };
    let (jwks, fetched) = edge.idp().jwks(&discovery, ports, false).await?;
    let order = match check(&jwks).await {
        Err(LogoutTokenError::UnknownKey) if !fetched => {
            let (jwks, _) = edge.idp().jwks(&discovery, ports, true).await?;
            check(&jwks).await
        }
        other => other,
    }
    .map_err(|e| {
        Error::LogoutTokenInvalid(match e {
            LogoutTokenError::UnknownKey => "its key is not in the provider's JWKS".into(),
            LogoutTokenError::Invalid(why) => why,
        })
    })?;
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
        match ask(ports, shard, &record)
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
    if replayed {
        return Err(Error::LogoutTokenInvalid(
            "its jti was seen before (a replay)".into(),
        ));
    }
    edge.ended_sessions().forget_live();
    revoke_all(edge, &revoke).await;
    let mut response = Response::new(Vec::new());
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
