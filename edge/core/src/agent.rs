//! The OAuth agent: the `/auth/*` endpoints that log the SPA's user in and out.

use edgeward_shared::api::{
    LoginEndRequest, LoginEndResponse, LoginStartRequest, LoginStartResponse, LogoutResponse,
    SessionResponse, UserClaims,
};
use edgeward_shared::names;
use http::header::SET_COOKIE;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::cookie::session::{self, AccessToken, Binding, Write};
use crate::oidc::idtoken::{self, IdTokenClaims, IdTokenError};
use crate::oidc::logout::{self, LogoutTokenError};
use crate::oidc::{self, TokenError};
use crate::platform::crypto::{constant_time_eq, random_token, token_key};
use crate::platform::ports::{LogLevel, Platform};
use crate::platform::settings::{invalid, ConfigError, Secret, Vars};
use crate::platform::Error;
use crate::platform::{cookies, respond};
use crate::request::guard;
use crate::sessions::server::{self, SessionRecord, SidCookie};
use crate::sessions::{
    self, ask, end_session, load_session, read_session, require_registry, revoke_all, shard_of,
    Loaded, RegistryAnswer, RegistryRequest, SessionMode,
};
use crate::{Edge, Request, Response};

/// Secret, optional: the bearer token of the admin endpoint (at least 32 characters); unset,
/// the endpoint is off.
pub const ADMIN_TOKEN: &str = "EDGEWARD_ADMIN_TOKEN";

/// Reads [`ADMIN_TOKEN`].
pub fn admin_token_from_vars(vars: &Vars<'_>) -> Result<Option<Secret>, ConfigError> {
    match vars.get(ADMIN_TOKEN) {
        Some(t) if t.trim().len() >= 32 => Ok(Some(Secret::new(t.trim()))),
        Some(_) => Err(invalid(
            ADMIN_TOKEN,
            "must be at least 32 characters (e.g. openssl rand -base64 32)",
        )),
        None => Ok(None),
    }
}

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
    /// The `acr_values` the SPA asked for, if any: the ID token's `acr` must be one of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr_values: Option<String>,
}

fn internal_random(_: crate::platform::ports::RandomUnavailable) -> Error {
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

    let discovery = edge.idp().discovery(&config.oidc, edge.ports()).await?;
    let random = edge.ports();
    let login = LoginState {
        state: random_token(random, 32).map_err(internal_random)?,
        nonce: random_token(random, 32).map_err(internal_random)?,
        verifier: random_token(random, 32).map_err(internal_random)?,
        return_to,
        acr_values: body
            .extra_params
            .get("acr_values")
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|v| !v.is_empty()),
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
        .append_pair("code_challenge", &oidc::pkce_challenge(&login.verifier))
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

/// `GET /auth/session`: who is signed in, from the cookies (no IdP call). A session that ended
/// (logout, back-channel logout, admin) or whose cookies do not belong together answers signed
/// out and clears its cookies; a deny-list that cannot be asked is 503, cookies untouched.
pub(crate) async fn session<P: Platform>(edge: &Edge<P>, req: &Request) -> Response {
    match load_session(edge, req.headers()).await {
        Ok(Some(loaded)) => respond::json(200, &loaded.session.to_response()),
        Ok(None) => {
            let mut response = respond::json(200, &SessionResponse::signed_out());
            // Cookies that lead to no session (ended, revoked, logged out elsewhere): forget them.
            if has_session_cookie(req.headers()) {
                cookies::clear_all(response.headers_mut());
            }
            response
        }
        Err(e @ Error::SessionExpired(_)) => {
            let mut response = edge.error_response(req.uri().path(), e);
            *response.body_mut() = respond::json(200, &SessionResponse::signed_out()).into_body();
            *response.status_mut() = http::StatusCode::OK;
            response
        }
        Err(e) => edge.error_response(req.uri().path(), e),
    }
}

fn has_session_cookie(headers: &http::HeaderMap) -> bool {
    names::ALL_COOKIES
        .iter()
        .filter(|n| **n != names::COOKIE_LOGIN)
        .any(|n| cookies::present(headers, n))
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
    let discovery = edge.idp().discovery(&config.oidc, ports).await?;
    let check = |jwks| {
        logout::validate(
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
    // The user's shard keeps everything of theirs; a token naming only an IdP session reaches
    // every shard (logout tokens are rare; session checks, which read one shard, are not).
    let shards: Vec<String> = match &order.sub {
        Some(sub) => vec![shard_of(sub, config.sessions.shards)],
        None => sessions::all_shards(config.sessions.shards).collect(),
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
    if !constant_time_eq(&state, &login.state) {
        return Err(Error::InvalidState(
            "state does not match this browser's login".into(),
        ));
    }
    // RFC 9207 (mix-up defence): when the provider names itself it must be ours, exactly; a
    // provider that says it always does must have done so.
    let discovery = edge.idp().discovery(&config.oidc, ports).await?;
    match iss {
        Some(iss) if iss != config.oidc.issuer => {
            return Err(Error::LoginFailed(
                "the authorization response names another issuer".into(),
            ))
        }
        None if discovery.authorization_response_iss_parameter_supported => {
            return Err(Error::LoginFailed(
                "the authorization response has no iss, though the provider always sends it \
                 (RFC 9207)"
                    .into(),
            ))
        }
        _ => {}
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
    let raw_id_token = tokens
        .id_token
        .as_deref()
        .ok_or_else(|| Error::LoginFailed("the provider returned no ID token".into()))?;

    let expected = idtoken::Expected {
        issuer: &config.oidc.issuer,
        client_id: &config.oidc.client_id,
        nonce: &login.nonce,
        acr_values: login.acr_values.as_deref(),
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

    let csrf = random_token(ports, 32).map_err(internal_random)?;
    let binding = Binding {
        id: random_token(ports, 16).map_err(internal_random)?,
        sub: validated.claims.sub.clone(),
        sid: validated.claims.sid.clone(),
        issuer: config.oidc.issuer.clone(),
        started_at: now,
        ends_at: now + session::DEFAULT_SESSION_TTL,
    };
    let access = AccessToken {
        token: tokens.access_token.clone(),
        exp: (now + tokens.expires_in.unwrap_or(DEFAULT_ACCESS_TTL)).min(binding.ends_at),
    };
    let claims = user_claims(&validated.claims);
    let response = respond::json(
        200,
        &LoginEndResponse {
            handled: true,
            is_logged_in: true,
            csrf: Some(csrf.clone()),
            return_to: Some(login.return_to),
        },
    );
    let new = NewSession {
        binding: &binding,
        csrf: &csrf,
        access: &access,
        refresh: tokens.refresh_token.as_deref(),
        claims: &claims,
        id_token: raw_id_token,
    };
    start_session(edge, req, response, now, &new).await
}

/// What the SPA may see of the ID token's claims.
fn user_claims(c: &IdTokenClaims) -> UserClaims {
    UserClaims {
        sub: c.sub.clone(),
        name: c.name.clone(),
        email: c.email.clone(),
        preferred_username: c.preferred_username.clone(),
        auth_time: c.auth_time,
    }
}

/// A session just signed in.
struct NewSession<'a> {
    binding: &'a Binding,
    csrf: &'a str,
    access: &'a AccessToken,
    refresh: Option<&'a str>,
    claims: &'a UserClaims,
    id_token: &'a str,
}

/// Stores a new session, replacing or clearing every cookie of an earlier one: in cookies
/// (stateless mode), or in the session store with only a fresh random session id in the cookie
/// (server mode).
async fn start_session<P: Platform>(
    edge: &Edge<P>,
    req: &Request,
    mut response: Response,
    now: u64,
    new: &NewSession<'_>,
) -> Result<Response, Error> {
    let (config, ports) = (edge.config(), edge.ports());
    if config.sessions.mode == SessionMode::Stateless {
        session::store(
            response.headers_mut(),
            &config.cookie_keys,
            ports,
            now,
            &Write {
                binding: new.binding,
                csrf: new.csrf,
                access: new.access,
                refresh: new.refresh,
                login: Some((new.claims, new.id_token)),
            },
        )
        .map_err(|_| Error::Internal("sealing the session cookies failed"))?;
        return Ok(response);
    }
    require_registry(edge)?;
    let session_id = random_token(ports, 16).map_err(internal_random)?;
    let handle = server::handle_of(&session_id);
    let user_agent = req
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(200).collect());
    let b = new.binding;
    let record = SessionRecord {
        claims: new.claims.clone(),
        sid: b.sid.clone(),
        issuer: b.issuer.clone(),
        id_token: new.id_token.to_owned(),
        access_token: new.access.token.clone(),
        access_expires_at: new.access.exp,
        refresh_token: new.refresh.map(str::to_owned),
        csrf: new.csrf.to_owned(),
        created_at: now,
        last_used_at: now,
        expires_at: b.ends_at,
        refreshed_at: 0,
        user_agent,
    };
    let shard = shard_of(&b.sub, config.sessions.shards);
    ask(
        ports,
        &shard,
        &RegistryRequest::PutSession {
            handle,
            record: Box::new(record),
        },
    )
    .await
    .map_err(|e| Error::SessionStoreUnavailable(e.reason))?;
    let sealed = config
        .cookie_keys
        .seal_json(
            names::COOKIE_SESSION,
            &SidCookie {
                id: session_id,
                sub: b.sub.clone(),
            },
            b.ends_at,
            ports,
        )
        .map_err(|_| Error::Internal("sealing the session cookie failed"))?;
    let headers = response.headers_mut();
    headers.append(
        SET_COOKIE,
        cookies::set(
            names::COOKIE_SESSION,
            &sealed,
            b.ends_at.saturating_sub(now),
        ),
    );
    for name in [
        names::COOKIE_ID,
        names::COOKIE_ACCESS,
        names::COOKIE_REFRESH,
        names::COOKIE_CSRF,
    ] {
        headers.append(SET_COOKIE, cookies::clear(name));
    }
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
    let discovery = edge.idp().discovery(&config.oidc, ports).await?;
    oidc::token_request(&config.oidc, ports, &discovery, fields)
        .await
        .map_err(|e| match e {
            TokenError::Refused(code) => refused(code),
            TokenError::Unavailable(reason) => Error::IdpUnavailable(reason),
        })
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

fn no_content() -> Response {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = http::StatusCode::NO_CONTENT;
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}

/// `POST /auth/refresh`: a refresh-token grant; new access token (and rotated refresh token)
/// in the cookies, 204. A refused grant ends the session (401 `session_expired`, cookies
/// cleared); an unreachable IdP is a 502 that leaves every cookie as it was. The session keeps
/// its binding, and so its end: the new access token never outlives it.
pub(crate) async fn refresh<P: Platform>(edge: &Edge<P>, req: &Request) -> Result<Response, Error> {
    let (config, ports) = (edge.config(), edge.ports());
    let loaded = guarded_session(edge, req).await?;
    let session = &loaded.session;
    if let (Some(_), Some(access)) = (&loaded.handle, &session.access) {
        // Server mode: another tab or call may have refreshed this session a moment ago (the
        // store then already holds new tokens). Within the grace window, while the access token
        // is valid, that refresh is this one's too: presenting the new refresh token again
        // would only rotate it once more.
        let now = ports.now();
        if access.exp > now && now < loaded.refreshed_at + config.sessions.refresh_grace {
            return Ok(no_content());
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
    let key = token_key(refresh_token);
    let granted = match ports.coordinate_refresh(&key, refresh_token).await {
        Some(answer) => {
            let answer = answer.map_err(|e| Error::IdpUnavailable(e.reason))?;
            oidc::parse_token_answer("the refresh coordinator", &answer).map_err(|e| match e {
                TokenError::Refused(code) => refused(code),
                TokenError::Unavailable(reason) => Error::IdpUnavailable(reason),
            })
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
                &config.cookie_keys,
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
            let shard = shard_of(&binding.sub, config.sessions.shards);
            match ask(ports, &shard, &update).await {
                Ok(RegistryAnswer::Session(Some(_))) => Ok(response),
                Ok(_) => {
                    let fresh: Vec<String> = tokens.refresh_token.iter().cloned().collect();
                    revoke_all(edge, &fresh).await;
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
pub(crate) async fn logout<P: Platform>(edge: &Edge<P>, req: &Request) -> Result<Response, Error> {
    let (config, ports) = (edge.config(), edge.ports());
    guard::check_origin(req.headers(), &config.allowed_origins)?;
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
        guard::check_csrf(req.headers(), &session.csrf)?;
        end_session(edge, session, handle.as_deref()).await;
        if let Some(access) = &session.access {
            crate::proxy::forget_token(edge, &access.token).await;
        }
        // Without the IdP's metadata there is nothing to revoke or visit; the local logout
        // still happens.
        if let Ok(discovery) = edge.idp().discovery(&config.oidc, ports).await {
            if let Some(rt) = &session.refresh {
                revoke_all(edge, std::slice::from_ref(rt)).await;
            }
            if let Some(end) = &discovery.end_session_endpoint {
                if let Ok(mut url) = Url::parse(end) {
                    url.query_pairs_mut()
                        .append_pair("id_token_hint", &session.id_token)
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
    let mut response = respond::json(200, &LogoutResponse { logout_url });
    cookies::clear_all(response.headers_mut());
    Ok(response)
}

/// `GET|DELETE /auth/admin/sessions?sub=<user>[&session=<handle>]`, with
/// `Authorization: Bearer <EDGEWARD_ADMIN_TOKEN>`: lists a user's server-side sessions (handles,
/// times, user agent; never a token or a session id), revokes one (`session=`), or ends all of
/// them (server-side ones deleted, stateless ones denied from now on). Refresh tokens of the
/// sessions it deletes are revoked at the IdP. Off (404) without the admin token; 401 without
/// the right bearer.
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
    let shard = shard_of(&sub, config.sessions.shards);
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
