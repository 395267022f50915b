//! The OAuth agent: the `/auth/*` endpoints that log the SPA's user in and out.

use edgeward_shared::api::{
    LoginEndRequest, LoginEndResponse, LoginStartRequest, LoginStartResponse, LogoutResponse,
    SessionResponse,
};
use edgeward_shared::names;
use http::header::SET_COOKIE;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::backchannel::{self, EndedCache, LogoutTokenError, RegistryAnswer, RegistryRequest};
use crate::config::SessionMode;
use crate::error::Error;
use crate::idtoken::{self, IdTokenError};
use crate::oidc::{self, TokenError};
use crate::ports::Platform;
use crate::server::{self, SessionRecord, SidCookie};
use crate::session::{self, AccessCookie, IdCookie, NewTokens, Session};
use crate::{cookies, guard, respond, Edge, Request, Response};

/// Access-token lifetime assumed when the provider does not send `expires_in`, in seconds.
pub const DEFAULT_ACCESS_TTL: u64 = 300;

/// How long a login may take from `login/start` to `login/end`, in seconds.
pub const LOGIN_TTL: u64 = 600;

/// What the login cookie holds between `login/start` and `login/end`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct LoginState {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub return_to: String,
}

fn internal_random(_: crate::ports::RandomUnavailable) -> Error {
    Error::Internal("no randomness")
}

/// `POST /auth/login/start`: a PKCE authorization request and a sealed login cookie.
pub(crate) async fn login_start<P: Platform>(
    edge: &Edge<P>,
    req: &Request,
) -> Result<Response, Error> {
    let config = edge.config();
    guard::check_origin(req.headers(), &config.allowed_origins)?;
    let body: LoginStartRequest = if req.body().iter().all(u8::is_ascii_whitespace) {
        LoginStartRequest::default()
    } else {
        serde_json::from_slice(req.body())
            .map_err(|e| Error::InvalidRequest(format!("body is not a login start request: {e}")))?
    };
    let return_to = match body.return_to.as_deref() {
        Some(r) => guard::validate_return_to(r, &config.origin)?,
        None => "/".to_owned(),
    };
    if let Some(name) = body
        .extra_params
        .keys()
        .find(|k| !config.oidc.allowed_params.contains(k))
    {
        return Err(Error::InvalidRequest(format!(
            "extra parameter {name:?} is not allowed (allowed: {})",
            config.oidc.allowed_params.join(", ")
        )));
    }

    let discovery = edge.idp().discovery(config, edge.ports()).await?;
    let random = edge.ports();
    let login = LoginState {
        state: guard::random_token(random, 32).map_err(internal_random)?,
        nonce: guard::random_token(random, 32).map_err(internal_random)?,
        verifier: guard::random_token(random, 32).map_err(internal_random)?,
        return_to,
    };

    let mut url = Url::parse(&discovery.authorization_endpoint)
        .map_err(|_| Error::IdpUnavailable("the authorization endpoint is not a URL".into()))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.oidc.client_id)
        .append_pair("redirect_uri", &config.oidc.redirect_uri)
        .append_pair("scope", &config.oidc.scopes)
        .append_pair("state", &login.state)
        .append_pair("nonce", &login.nonce)
        .append_pair("code_challenge", &guard::pkce_challenge(&login.verifier))
        .append_pair("code_challenge_method", "S256");
    for (name, value) in &body.extra_params {
        url.query_pairs_mut().append_pair(name, value);
    }

    let now = edge.ports().now();
    let sealed = config
        .cookie_keys
        .seal_json(names::COOKIE_LOGIN, &login, now + LOGIN_TTL, random)
        .map_err(|_| Error::Internal("sealing the login cookie failed"))?;
    let mut response = respond::json(
        200,
        &LoginStartResponse {
            authorization_url: url.to_string(),
        },
    );
    response.headers_mut().append(
        SET_COOKIE,
        cookies::set(names::COOKIE_LOGIN, &sealed, LOGIN_TTL),
    );
    Ok(response)
}

/// `GET /auth/session`: who is signed in, from the cookies (no IdP call). A session ended by
/// back-channel logout answers signed out and clears its cookies.
pub(crate) async fn session<P: Platform>(edge: &Edge<P>, req: &Request) -> Response {
    match load_session(edge, req.headers()).await {
        Ok(Some(loaded)) => respond::json(200, &loaded.session.to_response()),
        Ok(None) => {
            let mut response = respond::json(200, &SessionResponse::signed_out());
            // A session id the store no longer knows (revoked, logged out elsewhere): forget it.
            if cookies::read(req.headers(), names::COOKIE_SESSION).is_some() {
                session::clear(response.headers_mut());
            }
            response
        }
        Err(Error::SessionExpired(_)) => {
            let mut response = respond::json(200, &SessionResponse::signed_out());
            session::clear(response.headers_mut());
            response
        }
        Err(e) => edge.error_response(req.uri().path(), e),
    }
}

/// A request's session, and in server mode the store's handle for it.
pub(crate) struct Loaded {
    /// The session.
    pub session: Session,
    /// Server mode: the SHA-256 of the session id.
    pub handle: Option<String>,
    /// Server mode: when the stored tokens were last refreshed.
    pub refreshed_at: u64,
}

/// The request's session: from the sealed cookies (stateless mode) or from the session store
/// by the session-id cookie (server mode), refused when the IdP ended it. `Ok(None)`: none.
pub(crate) async fn load_session<P: Platform>(
    edge: &Edge<P>,
    headers: &http::HeaderMap,
) -> Result<Option<Loaded>, Error> {
    let (config, ports) = (edge.config(), edge.ports());
    let now = ports.now();
    let loaded = match config.session_mode {
        SessionMode::Stateless => {
            Session::read(headers, &config.cookie_keys, now).map(|session| Loaded {
                session,
                handle: None,
                refreshed_at: 0,
            })
        }
        SessionMode::Server => {
            require_registry(edge)?;
            let Some(cookie) = session::open_cookie::<SidCookie>(
                headers,
                &config.cookie_keys,
                names::COOKIE_SESSION,
                now,
            ) else {
                return Ok(None);
            };
            let handle = server::handle_of(&cookie.id);
            let question = RegistryRequest::GetSession {
                handle: handle.clone(),
                now,
            };
            match ports.registry(&question).await {
                Ok(RegistryAnswer::Session(Some(record))) => Some(Loaded {
                    session: record.to_session(),
                    handle: Some(handle),
                    refreshed_at: record.refreshed_at,
                }),
                Ok(_) => None,
                Err(_) => return Err(Error::Internal("the session store could not be reached")),
            }
        }
    };
    match loaded {
        // Server mode: the store already refused an ended session.
        Some(loaded) if loaded.handle.is_none() => {
            ensure_live(edge, &loaded.session).await?;
            Ok(Some(loaded))
        }
        other => Ok(other),
    }
}

/// Server mode needs the session Durable Object.
fn require_registry<P: Platform>(edge: &Edge<P>) -> Result<(), Error> {
    if edge.ports().has_registry() {
        Ok(())
    } else {
        Err(Error::Config(crate::ConfigError {
            variable: "EDGEWARD_SESSIONS",
            reason: "EDGEWARD_SESSION_MODE=server needs this Durable Object binding \
                     (see wrangler.toml)"
                .into(),
        }))
    }
}

/// Refuses a session the identity provider ended (back-channel logout), with 401
/// `session_expired` (which clears the cookies). Without a registry every session is live; when
/// the registry cannot be asked the session is let through (logged by the adapter) and asked
/// about again on the next request.
pub(crate) async fn ensure_live<P: Platform>(edge: &Edge<P>, s: &Session) -> Result<(), Error> {
    let ports = edge.ports();
    if !ports.has_registry() {
        return Ok(());
    }
    let now = ports.now();
    let started_at = s.expires_at.saturating_sub(session::DEFAULT_SESSION_TTL);
    let (sid, sub) = (s.id.sid.as_deref(), s.id.claims.sub.as_str());
    let key = EndedCache::key(sid, sub, started_at);
    let ended = match edge.ended_sessions().get(&key, now) {
        Some(known) => known,
        None => {
            let question = RegistryRequest::Check {
                sid: sid.map(str::to_owned),
                sub: sub.to_owned(),
                started_at,
            };
            match ports.registry(&question).await {
                Ok(answer) => {
                    let ended = answer == RegistryAnswer::Ended;
                    edge.ended_sessions().put(key, ended, now);
                    ended
                }
                Err(_) => false,
            }
        }
    };
    if ended {
        Err(Error::SessionExpired(
            "the identity provider ended this session".into(),
        ))
    } else {
        Ok(())
    }
}

/// `POST /auth/backchannel-logout` (OpenID Connect Back-Channel Logout 1.0): the IdP's logout
/// token ends the sessions it names. Server to server: no Origin or CSRF rules, the token's
/// signature is the authentication. Refused tokens are 400 `logout_token_invalid` and change
/// nothing. Off (404) without a session registry.
pub(crate) async fn backchannel_logout<P: Platform>(
    edge: &Edge<P>,
    req: &Request,
) -> Result<Response, Error> {
    let (config, ports) = (edge.config(), edge.ports());
    if !ports.has_registry() {
        return Err(Error::RouteNotFound);
    }
    let token = url::form_urlencoded::parse(req.body())
        .find(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| Error::InvalidRequest("the form has no logout_token".into()))?;
    let now = ports.now();
    let discovery = edge.idp().discovery(config, ports).await?;
    let check = |jwks| {
        backchannel::validate(
            &token,
            jwks,
            &config.oidc.issuer,
            &config.oidc.client_id,
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
    let record = RegistryRequest::Record {
        order,
        now,
        session_ttl: session::DEFAULT_SESSION_TTL,
    };
    match ports
        .registry(&record)
        .await
        .map_err(|_| Error::Internal("the session registry failed"))?
    {
        RegistryAnswer::Replayed => Err(Error::LogoutTokenInvalid(
            "its jti was seen before (a replay)".into(),
        )),
        _ => {
            edge.ended_sessions().forget_live();
            let mut response = Response::new(Vec::new());
            response.headers_mut().insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
            Ok(response)
        }
    }
}

/// `POST /auth/login/end`: finishes a login from the callback page's URL, or reports the
/// session when the URL carries no authorization response.
pub(crate) async fn login_end<P: Platform>(
    edge: &Edge<P>,
    req: &Request,
) -> Result<Response, Error> {
    let config = edge.config();
    guard::check_origin(req.headers(), &config.allowed_origins)?;
    let body: LoginEndRequest = serde_json::from_slice(req.body())
        .map_err(|e| Error::InvalidRequest(format!("body is not a login end request: {e}")))?;
    let page = Url::parse(&body.page_url)
        .map_err(|_| Error::InvalidRequest("pageUrl is not a URL".into()))?;
    if page.origin().ascii_serialization() != config.origin {
        return Err(Error::InvalidRequest(
            "pageUrl is not on this origin".into(),
        ));
    }
    let param = |name: &str| {
        page.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let (code, state, idp_error) = (param("code"), param("state"), param("error"));

    if code.is_none() && state.is_none() && idp_error.is_none() {
        let current = load_session(edge, req.headers()).await.ok().flatten();
        return Ok(respond::json(
            200,
            &LoginEndResponse {
                handled: false,
                is_logged_in: current.is_some(),
                csrf: current.map(|l| l.session.csrf),
                return_to: None,
            },
        ));
    }

    let result = finish_login(edge, req, code, state, idp_error, param("iss")).await;
    // The login cookie is single-use: gone after success and after any refusal. Only when the
    // IdP could not be reached may the same callback be tried again.
    let mut response = match result {
        Ok(response) => response,
        Err(e @ Error::IdpUnavailable(_)) => return Err(e),
        Err(e) => edge.error_response(req.uri().path(), e),
    };
    response
        .headers_mut()
        .append(SET_COOKIE, cookies::clear(names::COOKIE_LOGIN));
    Ok(response)
}

async fn finish_login<P: Platform>(
    edge: &Edge<P>,
    req: &Request,
    code: Option<String>,
    state: Option<String>,
    idp_error: Option<String>,
    iss: Option<String>,
) -> Result<Response, Error> {
    let config = edge.config();
    let ports = edge.ports();
    let now = ports.now();

    if let Some(error) = idp_error {
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return Err(Error::LoginDenied(code));
    }
    let sealed = cookies::read(req.headers(), names::COOKIE_LOGIN).ok_or_else(|| {
        Error::InvalidState("no login in progress (or it was already finished)".into())
    })?;
    let login: LoginState = config
        .cookie_keys
        .open_json(names::COOKIE_LOGIN, &sealed, now)
        .map_err(|e| Error::InvalidState(format!("the login cookie did not open ({e})")))?
        .value;
    let state = state.ok_or_else(|| Error::InvalidState("the callback has no state".into()))?;
    if !guard::constant_time_eq(&state, &login.state) {
        return Err(Error::InvalidState(
            "state does not match this browser's login".into(),
        ));
    }
    // RFC 9207: when the provider names itself, it must be ours (mix-up defence).
    if let Some(iss) = iss {
        if iss.trim_end_matches('/') != config.oidc.issuer.trim_end_matches('/') {
            return Err(Error::LoginFailed(
                "the response names another issuer".into(),
            ));
        }
    }
    let code = code.ok_or_else(|| Error::LoginFailed("the callback has no code".into()))?;

    let tokens = grant(
        edge,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &config.oidc.redirect_uri),
            ("code_verifier", &login.verifier),
        ],
        Error::LoginDenied,
    )
    .await?;
    let discovery = edge.idp().discovery(config, ports).await?;
    let raw_id_token = tokens
        .id_token
        .as_deref()
        .ok_or_else(|| Error::LoginFailed("the provider returned no ID token".into()))?;

    let expected = idtoken::Expected {
        issuer: &config.oidc.issuer,
        client_id: &config.oidc.client_id,
        nonce: &login.nonce,
        now,
    };
    let (jwks, fetched) = edge.idp().jwks(&discovery, ports, false).await?;
    let validated = match idtoken::validate(raw_id_token, &jwks, &expected, ports).await {
        Err(IdTokenError::UnknownKey) if !fetched => {
            // The provider may have rolled its keys: look once more, then give up.
            let (jwks, _) = edge.idp().jwks(&discovery, ports, true).await?;
            idtoken::validate(raw_id_token, &jwks, &expected, ports).await
        }
        other => other,
    }
    .map_err(|e| Error::LoginFailed(e.to_string()))?;

    let csrf = guard::random_token(ports, 32).map_err(internal_random)?;
    let session_expires_at = now + session::DEFAULT_SESSION_TTL;
    let new = NewTokens {
        access: AccessCookie {
            token: tokens.access_token.clone(),
            exp: now + tokens.expires_in.unwrap_or(DEFAULT_ACCESS_TTL),
        },
        refresh: tokens.refresh_token.as_deref(),
        id: Some(IdCookie {
            claims: session::user_claims(&validated.claims),
            sid: validated.claims.sid.clone(),
            id_token: raw_id_token.to_owned(),
        }),
        csrf: Some(&csrf),
        session_expires_at,
    };
    let response = respond::json(
        200,
        &LoginEndResponse {
            handled: true,
            is_logged_in: true,
            csrf: Some(csrf.clone()),
            return_to: Some(login.return_to),
        },
    );
    start_session(edge, req, response, now, &new).await
}

/// Stores a new session: in cookies (stateless mode), or in the session store with only a
/// fresh random session id in the cookie (server mode).
async fn start_session<P: Platform>(
    edge: &Edge<P>,
    req: &Request,
    mut response: Response,
    now: u64,
    new: &NewTokens<'_>,
) -> Result<Response, Error> {
    let (config, ports) = (edge.config(), edge.ports());
    if config.session_mode == SessionMode::Stateless {
        return with_session_cookies(edge, response, now, new);
    }
    require_registry(edge)?;
    let id = new
        .id
        .as_ref()
        .ok_or(Error::Internal("a new session without an ID token"))?;
    let session_id = guard::random_token(ports, 16).map_err(internal_random)?;
    let handle = server::handle_of(&session_id);
    let user_agent = req
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(200).collect());
    let record = SessionRecord {
        claims: id.claims.clone(),
        sid: id.sid.clone(),
        id_token: id.id_token.clone(),
        access_token: new.access.token.clone(),
        access_expires_at: new.access.exp,
        refresh_token: new.refresh.map(str::to_owned),
        csrf: new.csrf.unwrap_or_default().to_owned(),
        created_at: now,
        last_used_at: now,
        expires_at: new.session_expires_at,
        refreshed_at: 0,
        user_agent,
    };
    ports
        .registry(&RegistryRequest::PutSession {
            handle,
            record: Box::new(record),
        })
        .await
        .map_err(|_| Error::Internal("the session store could not be reached"))?;
    let sealed = config
        .cookie_keys
        .seal_json(
            names::COOKIE_SESSION,
            &SidCookie { id: session_id },
            new.session_expires_at,
            ports,
        )
        .map_err(|_| Error::Internal("sealing the session cookie failed"))?;
    response.headers_mut().append(
        SET_COOKIE,
        cookies::set(
            names::COOKIE_SESSION,
            &sealed,
            new.session_expires_at.saturating_sub(now),
        ),
    );
    Ok(response)
}

/// A grant at the token endpoint, as the configured client. `refused` turns the provider's
/// OAuth error code into our error; an unreachable provider is always `idp_unavailable`.
async fn grant<P: Platform>(
    edge: &Edge<P>,
    fields: &[(&str, &str)],
    refused: impl FnOnce(String) -> Error,
) -> Result<oidc::TokenResponse, Error> {
    let (config, ports) = (edge.config(), edge.ports());
    let discovery = edge.idp().discovery(config, ports).await?;
    oidc::token_request(config, ports, &discovery, fields)
        .await
        .map_err(|e| match e {
            TokenError::Refused(code) => refused(code),
            TokenError::Unavailable(reason) => Error::IdpUnavailable(reason),
        })
}

/// `response` with `Set-Cookie` headers storing `new`.
fn with_session_cookies<P: Platform>(
    edge: &Edge<P>,
    mut response: Response,
    now: u64,
    new: &NewTokens<'_>,
) -> Result<Response, Error> {
    session::store(
        response.headers_mut(),
        &edge.config().cookie_keys,
        edge.ports(),
        now,
        new,
    )
    .map_err(|_| Error::Internal("sealing the session cookies failed"))?;
    Ok(response)
}

/// The session of a state-changing `/auth/*` call: Origin rules, a live session, its CSRF
/// header.
async fn guarded_session<P: Platform>(edge: &Edge<P>, req: &Request) -> Result<Loaded, Error> {
    let config = edge.config();
    guard::check_origin(req.headers(), &config.allowed_origins)?;
    let loaded = load_session(edge, req.headers())
        .await?
        .ok_or(Error::Unauthorized)?;
    guard::check_csrf(req.headers(), &loaded.session.csrf)?;
    Ok(loaded)
}

/// `POST /auth/refresh`: a refresh-token grant; new access token (and rotated refresh token)
/// in the cookies, 204. A refused grant ends the session (401 `session_expired`, cookies
/// cleared); an unreachable IdP is a 502 that leaves every cookie as it was.
pub(crate) async fn refresh<P: Platform>(edge: &Edge<P>, req: &Request) -> Result<Response, Error> {
    let ports = edge.ports();
    let loaded = guarded_session(edge, req).await?;
    let session = &loaded.session;
    if let (Some(_), Some(access)) = (&loaded.handle, &session.access) {
        // Server mode: another tab or call may have refreshed this session a moment ago (the
        // store then already holds new tokens). Within the grace window, while the access token
        // is valid, that refresh is this one's too: presenting the new refresh token again
        // would only rotate it once more.
        let now = ports.now();
        if access.exp > now && now < loaded.refreshed_at + edge.config().refresh_grace {
            let mut response = Response::new(Vec::new());
            *response.status_mut() = http::StatusCode::NO_CONTENT;
            response.headers_mut().insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
            return Ok(response);
        }
    }
    let refresh_token = session
        .refresh
        .as_deref()
        .ok_or_else(|| Error::SessionExpired("there is no refresh token".into()))?;
    let refused = |code: String| {
        Error::SessionExpired(format!(
            "the identity provider refused the refresh ({code})"
        ))
    };
    // Through the platform's single-flight coordinator when there is one (parallel refreshes
    // from every tab and isolate then make one grant), else straight to the provider.
    let key = crate::phantom::token_key(refresh_token);
    let tokens = match ports.coordinate_refresh(&key, refresh_token).await {
        Some(answer) => {
            let answer = answer.map_err(|e| Error::IdpUnavailable(e.reason))?;
            oidc::parse_token_answer("the refresh coordinator", &answer).map_err(|e| match e {
                TokenError::Refused(code) => refused(code),
                TokenError::Unavailable(reason) => Error::IdpUnavailable(reason),
            })?
        }
        None => {
            grant(
                edge,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                ],
                refused,
            )
            .await?
        }
    };
    let now = ports.now();
    let new = NewTokens {
        access: AccessCookie {
            token: tokens.access_token.clone(),
            exp: (now + tokens.expires_in.unwrap_or(DEFAULT_ACCESS_TTL)).min(session.expires_at),
        },
        // Rotated: store the new one. Not rotated: the cookie we have stays valid.
        refresh: tokens.refresh_token.as_deref(),
        id: None,
        csrf: None,
        session_expires_at: session.expires_at,
    };
    let mut response = Response::new(Vec::new());
    *response.status_mut() = http::StatusCode::NO_CONTENT;
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    match &loaded.handle {
        None => with_session_cookies(edge, response, now, &new),
        Some(handle) => {
            // Server mode: the store gets the new tokens; the cookie stays as it is.
            let question = RegistryRequest::GetSession {
                handle: handle.clone(),
                now,
            };
            let current = match ports.registry(&question).await {
                Ok(RegistryAnswer::Session(Some(record))) => *record,
                Ok(_) => return Err(Error::SessionExpired("the session was revoked".into())),
                Err(_) => return Err(Error::Internal("the session store could not be reached")),
            };
            let record = SessionRecord {
                access_token: new.access.token.clone(),
                access_expires_at: new.access.exp,
                refreshed_at: now,
                refresh_token: new
                    .refresh
                    .map(str::to_owned)
                    .or(current.refresh_token.clone()),
                ..current
            };
            ports
                .registry(&RegistryRequest::PutSession {
                    handle: handle.clone(),
                    record: Box::new(record),
                })
                .await
                .map_err(|_| Error::Internal("the session store could not be reached"))?;
            Ok(response)
        }
    }
}

/// `POST /auth/logout`: clears every session cookie, revokes the refresh token at the IdP
/// (RFC 7009, best effort), and answers the IdP's end-session URL for the browser to visit.
pub(crate) async fn logout<P: Platform>(edge: &Edge<P>, req: &Request) -> Result<Response, Error> {
    let config = edge.config();
    let ports = edge.ports();
    guard::check_origin(req.headers(), &config.allowed_origins)?;
    let loaded = load_session(edge, req.headers()).await.ok().flatten();
    let mut logout_url = None;
    if let Some(Loaded { session, .. }) = &loaded {
        guard::check_csrf(req.headers(), &session.csrf)?;
        // Without the IdP's metadata there is nothing to revoke or visit; the local logout
        // still happens.
        if let Ok(discovery) = edge.idp().discovery(config, ports).await {
            if let (Some(endpoint), Some(rt)) = (&discovery.revocation_endpoint, &session.refresh) {
                // Best effort: the cookie is gone either way; the token dies at its expiry.
                let _ = oidc::revoke(config, ports, endpoint, rt).await;
            }
            if let Some(end) = &discovery.end_session_endpoint {
                if let Ok(mut url) = Url::parse(end) {
                    url.query_pairs_mut()
                        .append_pair("id_token_hint", &session.id.id_token)
                        .append_pair("client_id", &config.oidc.client_id)
                        .append_pair(
                            "post_logout_redirect_uri",
                            &config.oidc.post_logout_redirect_uri,
                        );
                    logout_url = Some(url.to_string());
                }
            }
        }
    }
    if let Some(Loaded {
        handle: Some(handle),
        ..
    }) = &loaded
    {
        // Server mode: the stored tokens go too. If the store cannot be reached the cookie is
        // still cleared, and the entry expires with the session.
        let _ = ports
            .registry(&RegistryRequest::DeleteSession {
                handle: handle.clone(),
            })
            .await;
    }
    let mut response = respond::json(200, &LogoutResponse { logout_url });
    session::clear(response.headers_mut());
    Ok(response)
}

/// `GET|DELETE /auth/admin/sessions?sub=<user>[&session=<handle>]`, with
/// `Authorization: Bearer <EDGEWARD_ADMIN_TOKEN>`: lists a user's server-side sessions (handles,
/// times, user agent; never a token or a session id), revokes one (`session=`), or ends all of
/// them (server-side ones deleted, stateless ones denied from now on). Off (404) without the
/// admin token; 401 without the right bearer.
pub(crate) async fn admin_sessions<P: Platform>(
    edge: &Edge<P>,
    req: &Request,
) -> Result<Response, Error> {
    let (config, ports) = (edge.config(), edge.ports());
    let Some(expected) = &config.admin_token else {
        return Err(Error::RouteNotFound);
    };
    let presented = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !guard::constant_time_eq(presented, expected.expose()) {
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
    let store_error = |_| Error::Internal("the session store could not be reached");
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
    let answer = ports.registry(&request).await.map_err(store_error)?;
    if req.method() == http::Method::DELETE {
        edge.ended_sessions().forget_live();
    }
    Ok(match answer {
        RegistryAnswer::Sessions(sessions) => respond::json(
            200,
            &serde_json::json!({ "sub": sub, "sessions": sessions }),
        ),
        RegistryAnswer::Deleted(n) => respond::json(200, &serde_json::json!({ "revoked": n })),
        _ => return Err(Error::Internal("unexpected answer from the session store")),
    })
}
