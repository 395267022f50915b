//! The signed-in session's own endpoints: `GET /auth/session`, `POST /auth/refresh` and
//! `POST /auth/logout`.

use edgeward_shared::api::{LogoutResponse, SessionResponse};
use edgeward_shared::names;
use url::Url;

use super::{grant, no_content, Context, DEFAULT_ACCESS_TTL};
use crate::cookie::session::{self, AccessToken, Write};
use crate::oidc::{self, TokenError};
use crate::platform::crypto::token_key;
use crate::platform::ports::{Clock, Log, LogLevel, RefreshCoordinator};
use crate::platform::{cookies, respond, trail, Error, Request, Response};
use crate::request::guard;
use crate::sessions::guarded_session;
use crate::sessions::{
    ask, coordinator_body, end_session, load_identity, provider_of, read_session, registry_ids,
    require_provider_of, revoke_all, shard_of, Loaded, RegistryAnswer, RegistryRequest,
};

/// `GET /auth/session`: who is signed in, from the cookies (no IdP call). A session that ended
/// (logout, back-channel logout, admin) or whose cookies do not belong together answers signed
/// out and clears its cookies; a deny-list that cannot be asked is 503, cookies untouched.
pub(crate) async fn session(edge: &impl Context, req: &Request) -> Response {
    match load_identity(edge, req.headers()).await {
        Ok(Some(identity)) => {
            let provider = provider_of(edge, &identity.binding)
                .map(|p| p.client.id.as_str())
                .unwrap_or_default();
            respond::json(200, &identity.to_response(provider))
        }
        Ok(None) => {
            let mut response = respond::json(200, &signed_out(edge));
            // Cookies that lead to no session (ended, revoked, logged out elsewhere): forget them.
            if has_session_cookie(req.headers()) {
                cookies::clear_all(response.headers_mut());
            }
            response
        }
        Err(e @ Error::SessionExpired(_)) => {
            let mut response = e.into_logged_response(edge.ports(), req.uri().path());
            *response.body_mut() = respond::json(200, &signed_out(edge)).into_body();
            *response.status_mut() = http::StatusCode::OK;
            response
        }
        Err(e) => e.into_logged_response(edge.ports(), req.uri().path()),
    }
}

/// The signed-out answer, with the silent sign-in hint when it is on.
fn signed_out(edge: &impl Context) -> SessionResponse {
    SessionResponse {
        silent_sign_in: edge.silent_sign_in(),
        ..SessionResponse::signed_out()
    }
}

fn has_session_cookie(headers: &http::HeaderMap) -> bool {
    let jar = cookies::Jar::of(headers);
    names::ALL_COOKIES
        .iter()
        .filter(|n| **n != names::COOKIE_LOGIN)
        .any(|n| jar.present(n))
}

/// `POST /auth/refresh`: a refresh-token grant; new access token (and rotated refresh token)
/// in the cookies, 204. A refused grant ends the session (401 `session_expired`, cookies
/// cleared); an unreachable IdP is a 502 that leaves every cookie as it was. The session keeps
/// its binding, and so its end: the new access token never outlives it.
pub(crate) async fn refresh(edge: &impl Context, req: &Request) -> Result<Response, Error> {
    let ports = edge.ports();
    let loaded = guarded_session(edge, req).await?;
    let session = &loaded.session;
    // The session's own provider, and no other, refreshes it.
    let provider = require_provider_of(edge, &session.binding)?;
    if let (Some(_), Some(access)) = (&loaded.handle, &session.access) {
        // Server mode: another tab or call may have refreshed this session a moment ago (the
        // store then already holds new tokens). Within the grace window, while the access token
        // is valid, that refresh is this one's too: presenting the new refresh token again
        // would only rotate it once more.
        let now = ports.now();
        if access.exp > now && now < loaded.refreshed_at + edge.session_settings().refresh_grace {
            return Ok(no_content());
        }
    }
    let refresh_token = session
        .refresh
        .as_deref()
        .ok_or_else(|| Error::SessionExpired("there is no refresh token".into()))?;
    // Only `invalid_grant` says the grant is gone, and so the session. Any other refusal (a
    // rate limit, a client that no longer authenticates) is the provider failing, not the
    // session: 502, cookies kept, and the next refresh tries again.
    let refused = |code: String| {
        if code == oidc::INVALID_GRANT {
            Error::SessionExpired(format!(
                "the identity provider refused the refresh ({code})"
            ))
        } else if code == super::INVALID_CLIENT {
            // The worker's own client is refused (a rotated secret, a wrong key): the
            // deployment is misconfigured, the session is not stolen. Kept, and said so.
            Error::IdpRejectedClient(format!(
                "the identity provider refused the worker's client at refresh ({code})"
            ))
        } else {
            Error::IdpUnavailable(format!(
                "the identity provider answered the refresh with {code}"
            ))
        }
    };
    // Through the platform's single-flight coordinator when there is one (parallel refreshes
    // from every tab and isolate then make one grant), else straight to the provider. One
    // coordinator per session, named by its binding id, which stays the same through every
    // rotation of the refresh token (stateless mode: the random id made at login; server mode:
    // the session id's hash, the store's handle); hashed once more, so no session id is an
    // object's name.
    let coordinator = token_key(&session.binding.id);
    let body = coordinator_body(session.binding.provider.as_deref(), refresh_token);
    let granted = match ports.coordinate_refresh(&coordinator, &body).await {
        Some(answer) => {
            let answer = answer.map_err(|e| Error::IdpUnavailable(e.reason))?;
            oidc::parse_token_answer("the refresh coordinator", &answer, provider.client.quirks)
                .map_err(|e| match e {
                    TokenError::Refused(code) => refused(code),
                    TokenError::Unavailable(reason) => Error::IdpUnavailable(reason),
                })
        }
        None => {
            grant(
                edge,
                provider,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                ],
                refused,
            )
            .await
        }
    };
    let tokens = match granted {
        Ok(tokens) => tokens,
        Err(e @ Error::SessionExpired(_)) => {
            // The provider says the grant is gone: so is the session, everywhere (a copy of
            // its access cookie would otherwise work until the token expired).
            end_session(edge, session, loaded.handle.as_deref()).await;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    let now = ports.now();
    let binding = &session.binding;
    let access = AccessToken {
        token: tokens.access_token.clone(),
        exp: (now + tokens.expires_in.unwrap_or(DEFAULT_ACCESS_TTL)).min(binding.ends_at),
    };
    let mut response = no_content();
    match &loaded.handle {
        None => {
            session::store(
                response.headers_mut(),
                edge.cookie_keys(),
                ports,
                now,
                &Write {
                    binding,
                    csrf: &session.csrf,
                    access: &access,
                    // Rotated: store the new one. Not rotated: the cookie we have stays valid.
                    refresh: tokens.refresh_token.as_deref(),
                    login: None,
                },
            )
            .await
            .map_err(|_| Error::Internal("sealing the session cookies failed"))?;
            Ok(response)
        }
        Some(handle) => {
            // Server mode: the store gets the new tokens — only if the session is still there
            // (an admin or a logout may have ended it while the grant ran; then the new refresh
            // token is revoked and the session stays ended).
            let update = RegistryRequest::UpdateTokens {
                handle: handle.clone(),
                access_token: access.token.clone(),
                access_expires_at: access.exp,
                refresh_token: tokens.refresh_token.clone(),
                now,
            };
            let shard = shard_of(&registry_ids(binding).0, edge.session_settings().shards);
            match ask(ports, &shard, &update).await {
                Ok(RegistryAnswer::Session(Some(_))) => Ok(response),
                Ok(_) => {
                    let fresh: Vec<String> = tokens.refresh_token.iter().cloned().collect();
                    revoke_all(edge, provider, &fresh).await;
                    Err(Error::SessionExpired(
                        "the session was revoked while it was being refreshed".into(),
                    ))
                }
                Err(e) => Err(Error::SessionStoreUnavailable(e.reason)),
            }
        }
    }
}

/// `POST /auth/logout`: clears every session cookie, puts the session on the deny-list (so
/// copies of its cookies are refused too; server mode: deletes the stored session), drops its
/// phantom tokens from this isolate's cache and the shared tier, revokes the refresh token at
/// the IdP (RFC 7009, best effort), and answers the IdP's end-session URL for the browser to
/// visit. A deny-list or store that cannot be reached does not stop the logout (the cookies
/// are cleared either way); it is logged.
pub(crate) async fn logout(edge: &impl Context, req: &Request) -> Result<Response, Error> {
    let ports = edge.ports();
    guard::check_origin(req.headers(), edge.allowed_origins())?;
    let loaded = match read_session(edge, req.headers()).await {
        Ok(loaded) => loaded,
        Err(e) => {
            if let Some(detail) = e.detail() {
                ports.log(
                    LogLevel::Warn,
                    &format!("edgeward: logout without its session: {detail}"),
                );
            }
            None
        }
    };
    let mut logout_url = None;
    if let Some(Loaded {
        session, handle, ..
    }) = &loaded
    {
        if let Some(provider) = provider_of(edge, &session.binding) {
            trail::note_subject(req, provider.client.who(), &session.binding.sub);
        }
        guard::check_csrf(req.headers(), &session.csrf)?;
        end_session(edge, session, handle.as_deref()).await;
        if let Some(access) = &session.access {
            edge.forget_token(
                &access.token,
                &session.binding.sub,
                session.binding.provider.as_deref(),
            )
            .await;
        }
        // Without the session's provider or its metadata there is nothing to revoke or visit;
        // the local logout still happens.
        let provider = provider_of(edge, &session.binding);
        let discovery = match provider {
            Some(p) => p.discovery(ports).await.ok().map(|d| (p, d)),
            None => None,
        };
        if let Some((provider, discovery)) = discovery {
            if let Some(rt) = &session.refresh {
                revoke_all(edge, provider, std::slice::from_ref(rt)).await;
            }
            if let Some(end) = &discovery.end_session_endpoint {
                if let Ok(mut url) = Url::parse(end) {
                    url.query_pairs_mut()
                        .append_pair("id_token_hint", &session.id_token)
                        .append_pair("client_id", &provider.client.client_id)
                        .append_pair(
                            "post_logout_redirect_uri",
                            &provider.client.post_logout_redirect_uri,
                        );
                    logout_url = Some(url.to_string());
                }
            }
        }
    }
    let mut response = respond::json(200, &LogoutResponse { logout_url });
    cookies::clear_all(response.headers_mut());
    Ok(response)
}
