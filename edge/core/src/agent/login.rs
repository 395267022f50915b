//! Signing in: `GET /auth/providers` (which identity providers the sign-in page offers),
//! `POST /auth/login/start` (a PKCE authorization request to the chosen provider, pushed to
//! it first when its `OIDC_PAR` says so, and a sealed login cookie that records it) and
//! `POST /auth/login/end` (the callback, judged for that provider only: state, `iss`, the
//! code exchange, the ID token, and the new session in cookies or in the store).

use edgeward_shared::api::{
    LoginEndResponse, LoginStartRequest, ProviderInfo, ProvidersResponse, UserClaims,
};
use edgeward_shared::{names, ErrorCode};
use http::header::SET_COOKIE;
use serde::{Deserialize, Serialize};

use super::{grant, Context, DEFAULT_ACCESS_TTL, LOGIN_TTL};
use crate::cookie::session::{self, AccessToken, Binding, Write};
use crate::oidc::idtoken::{self, IdTokenClaims, IdTokenError};
use crate::oidc::userinfo::{self, UserInfoError};
use crate::oidc::{self, KeyLookup, Provider};
use crate::platform::crypto::{constant_time_eq, random_token};
use crate::platform::ports::{Clock, Log, LogLevel};
use crate::platform::{cookies, respond, trail, Error, Request, Response};
use crate::request::guard;
use crate::sessions::server::{self, SessionRecord, SidCookie};
use crate::sessions::{
    ask, load_session, registry_ids, require_registry, shard_of, RegistryRequest, SessionMode,
};

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
    /// The `max_age` the request carried (fixed or the SPA's), if any: the ID token's
    /// `auth_time` must be no older.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// The id of the provider the login was sent to (`None` in login cookies sealed before
    /// there were several: the first provider). Only that provider's answer finishes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// `GET /auth/providers`: the configured providers' ids and names, the default first (the
/// sign-in page shows one button each). Public: nothing in it is a secret or a URL.
pub(crate) fn providers(edge: &impl Context) -> Response {
    let providers = edge
        .providers()
        .all()
        .iter()
        .map(|c| ProviderInfo {
            id: c.id.clone(),
            name: c.name.clone(),
        })
        .collect();
    let mut response = respond::json(200, &ProvidersResponse { providers });
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// The provider `POST /auth/login/start` names (the first when it names none): an id that is
/// not configured is 400 `invalid_request`.
fn chosen_provider<'a, C: Context>(edge: &'a C, id: Option<&str>) -> Result<Provider<'a>, Error> {
    match id {
        None => edge
            .default_provider()
            .ok_or(Error::Internal("no identity provider is configured")),
        Some(id) => edge.provider(id).ok_or_else(|| {
            Error::InvalidRequest(format!(
                "provider {:?} is not one of this worker's (see GET /auth/providers)",
                id.chars().take(40).collect::<String>()
            ))
        }),
    }
}

/// The value of authorization parameter `name` in a login: the provider's fixed one
/// (`OIDC_AUTH_PARAMS`) or the SPA's (never both: a fixed name is not one the SPA may send).
fn fixed_or_extra<'a>(
    client: &'a oidc::OidcClient,
    body: &'a LoginStartRequest,
    name: &str,
) -> Option<&'a String> {
    client
        .auth_params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, value)| value)
        .or_else(|| body.extra_params.get(name))
}

/// `POST /auth/login/start`: a PKCE authorization request and a sealed login cookie.
pub(crate) async fn login_start(edge: &impl Context, req: &Request) -> Result<Response, Error> {
    guard::check_origin(req.headers(), edge.allowed_origins())?;
    let body: LoginStartRequest = if req.body().iter().all(u8::is_ascii_whitespace) {
        LoginStartRequest::default()
    } else {
        serde_json::from_slice(req.body())
            .map_err(|e| Error::InvalidRequest(format!("body is not a login start request: {e}")))?
    };
    let return_to = match body.return_to.as_deref() {
        Some(r) => guard::validate_return_to(r, edge.origin())?,
        None => "/".to_owned(),
    };
    let provider = chosen_provider(edge, body.provider.as_deref())?;
    trail::note_provider(req, &provider.client.id);
    if let Some(name) = body
        .extra_params
        .keys()
        .find(|k| !provider.client.allowed_params.contains(k))
    {
        return Err(Error::InvalidRequest(format!(
            "extra parameter {name:?} is not allowed (allowed: {})",
            provider.client.allowed_params.join(", ")
        )));
    }

    // Like `acr_values`, a `max_age` in the URL can be removed on the way: the ID token's
    // `auth_time` is checked against it at the end (OpenID Connect Core §3.1.2.1).
    let max_age = match fixed_or_extra(provider.client, &body, "max_age") {
        None => None,
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| Error::InvalidRequest("max_age must be a number of seconds".into()))?,
        ),
    };

    let discovery = provider.discovery(edge.ports()).await?;
    let random = edge.ports();
    let login = LoginState {
        state: random_token(random, 32)?,
        nonce: random_token(random, 32)?,
        verifier: random_token(random, 32)?,
        return_to,
        // What the ID token's `acr` must meet: the deployment's fixed `acr_values`
        // (`OIDC_AUTH_PARAMS`) or the SPA's. The authorization URL passes through the user's
        // browser, where either can be edited or removed: only this check makes them hold.
        acr_values: fixed_or_extra(provider.client, &body, "acr_values")
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|v| !v.is_empty()),
        max_age,
        provider: Some(provider.client.id.clone()),
    };

    let challenge = oidc::pkce_challenge(&login.verifier);
    let client = provider.client;
    // The provider's fixed parameters come last in these; then the SPA's: names of the
    // allow-list (checked above), never one of the fixed ones (refused at start).
    let mut params =
        oidc::code_request_params(client, &login.state, Some(&login.nonce), &challenge);
    for (name, value) in &body.extra_params {
        params.push((name.as_str(), value.as_str()));
    }
    let url = oidc::authorization_url(
        provider.client,
        edge.ports(),
        &discovery,
        &params,
        Error::LoginDenied,
    )
    .await?;

    crate::cookie::flow::start_answer(
        edge.cookie_keys(),
        random,
        crate::cookie::flow::FlowCookie {
            name: names::COOKIE_LOGIN,
            ttl: LOGIN_TTL,
            sealing_failed: "sealing the login cookie failed",
        },
        &login,
        edge.ports().now(),
        &url,
    )
    .await
}

/// `POST /auth/login/end`: finishes a login from the callback page's URL, or reports the
/// session when the URL carries no authorization response.
pub(crate) async fn login_end(edge: &impl Context, req: &Request) -> Result<Response, Error> {
    guard::check_origin(req.headers(), edge.allowed_origins())?;
    let page = guard::callback_page(req.body(), edge.origin(), "login end")?;
    let param = |name: &str| page.param(name);
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
        Err(e) => e.into_logged_response(edge.ports(), req.uri().path()),
    };
    response
        .headers_mut()
        .append(SET_COOKIE, cookies::clear(names::COOKIE_LOGIN));
    Ok(response)
}

async fn finish_login(
    edge: &impl Context,
    req: &Request,
    code: Option<String>,
    state: Option<String>,
    idp_error: Option<String>,
    iss: Option<String>,
) -> Result<Response, Error> {
    let ports = edge.ports();
    let now = ports.now();

    if let Some(error) = idp_error {
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        // `prompt=none` answered "the user is needed": the SPA signs in interactively.
        if let Some(needed) = ErrorCode::silent_sign_in_refusal(&code) {
            return Err(Error::SignInNeeded(needed));
        }
        return Err(Error::LoginDenied(code));
    }
    let sealed = cookies::read(req.headers(), names::COOKIE_LOGIN).ok_or_else(|| {
        Error::InvalidState("no login in progress (or it was already finished)".into())
    })?;
    let login: LoginState = edge
        .cookie_keys()
        .open_json(edge.ports(), names::COOKIE_LOGIN, &sealed, now)
        .await
        .map_err(|e| Error::InvalidState(format!("the login cookie did not open ({e})")))?
        .value;
    let state = state.ok_or_else(|| Error::InvalidState("the callback has no state".into()))?;
    if !constant_time_eq(&state, &login.state) {
        return Err(Error::InvalidState(
            "state does not match this browser's login".into(),
        ));
    }
    // The provider the login was sent to, and no other, finishes it.
    let provider = match login.provider.as_deref() {
        None => edge.default_provider(),
        Some(id) => edge.provider(id),
    }
    .ok_or_else(|| {
        Error::InvalidState("the login was started with a provider that is not configured".into())
    })?;
    trail::note_provider(req, &provider.client.id);
    // RFC 9207 (mix-up defence, RFC 9700 §4.4): when the provider names itself it must be the
    // one the login went to, exactly; a provider that says it always does must have done so.
    let discovery = provider.discovery(ports).await?;
    match iss {
        Some(iss) if iss != provider.client.issuer => {
            return Err(Error::LoginFailed(
                "the authorization response names another issuer".into(),
            ))
        }
        None if discovery.authorization_response_iss_parameter_supported
            || provider.client.require_iss =>
        {
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
        provider,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &provider.client.redirect_uri),
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
        issuer: &provider.client.issuer,
        tenants: (!provider.client.tenants.is_empty()).then_some((
            discovery.issuer.as_str(),
            provider.client.tenants.as_slice(),
        )),
        client_id: &provider.client.client_id,
        nonce: &login.nonce,
        acr_values: login.acr_values.as_deref(),
        now,
    };
    let (jwks, fetched) = provider.jwks(&discovery, ports, KeyLookup::Cached).await?;
    let validated = match idtoken::validate(raw_id_token, &jwks, &expected, ports).await {
        Err(IdTokenError::UnknownKey) if !fetched => {
            // The provider may have rolled its keys: look once more, then give up.
            let (jwks, _) = provider
                .jwks(&discovery, ports, KeyLookup::AnsweredWithUnknownKey)
                .await?;
            idtoken::validate(raw_id_token, &jwks, &expected, ports).await
        }
        other => other,
    }
    .map_err(|e| Error::LoginFailed(e.to_string()))?;
    trail::note_subject(req, provider.client.who(), &validated.claims.sub);
    if let Some(max_age) = login.max_age {
        let leeway = idtoken::LEEWAY.unsigned_abs();
        let recent = validated
            .claims
            .auth_time
            .is_some_and(|t| now <= t.saturating_add(max_age).saturating_add(leeway));
        if !recent {
            return Err(Error::LoginFailed(
                "the ID token's auth_time is missing or older than the max_age asked for".into(),
            ));
        }
    }
    // The registry knows another provider's users and IdP sessions as `<id>` U+001F `<value>`
    // (`sessions::scoped`): a control character in `sub` or `sid` could spell one of them. No
    // provider issues one (OpenID Connect Core §2: `sub` is at most 255 ASCII characters).
    let claims = &validated.claims;
    if [Some(&claims.sub), claims.sid.as_ref()]
        .into_iter()
        .flatten()
        .any(|v| v.chars().any(char::is_control))
    {
        return Err(Error::LoginFailed(
            "the ID token's sub or sid holds a control character".into(),
        ));
    }

    let csrf = random_token(ports, 32)?;
    let binding = Binding {
        id: random_token(ports, 16)?,
        sub: validated.claims.sub.clone(),
        sid: validated.claims.sid.clone(),
        issuer: provider.client.issuer.clone(),
        provider: provider.session_tag(),
        started_at: now,
        ends_at: now + session::DEFAULT_SESSION_TTL,
    };
    let access = AccessToken {
        token: tokens.access_token.clone(),
        exp: (now + tokens.expires_in.unwrap_or(DEFAULT_ACCESS_TTL)).min(binding.ends_at),
    };
    let mut claims = user_claims(&validated.claims);
    claims_from_userinfo(
        edge,
        provider.client,
        &discovery,
        &tokens.access_token,
        &mut claims,
    )
    .await?;
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

/// Fills the display claims the ID token left out, for the scopes the login asked for
/// (`profile`: `name`, `preferred_username`; `email`: `email`), from the provider's userinfo
/// endpoint: once, with the new access token, only when discovery lists the endpoint and
/// something is missing. The ID token's claims are kept as they are.
///
/// A userinfo answer about another user refuses the login. One that cannot be used
/// (unreachable, an error, not JSON — a signed userinfo JWT is not read) leaves the gaps, with a
/// warning in the log: the claims are for display, and the ID token has proven who signed in.
async fn claims_from_userinfo(
    edge: &impl Context,
    client: &oidc::OidcClient,
    discovery: &oidc::Discovery,
    access_token: &str,
    claims: &mut UserClaims,
) -> Result<(), Error> {
    let Some(endpoint) = discovery.userinfo_endpoint.as_deref() else {
        return Ok(());
    };
    let scopes = &client.scopes;
    let asked = |scope: &str| scopes.split(' ').any(|s| s == scope);
    let missing = (asked("profile")
        && (claims.name.is_none() || claims.preferred_username.is_none()))
        || (asked("email") && claims.email.is_none());
    if !missing {
        return Ok(());
    }
    match userinfo::fetch(edge.ports(), endpoint, access_token, &claims.sub).await {
        Ok(info) => {
            claims.name = claims.name.take().or(info.name);
            claims.email = claims.email.take().or(info.email);
            claims.preferred_username =
                claims.preferred_username.take().or(info.preferred_username);
            Ok(())
        }
        Err(UserInfoError::OtherSubject) => Err(Error::LoginFailed(
            "the userinfo answer is about another subject than the ID token".into(),
        )),
        Err(UserInfoError::Unusable(reason)) => {
            edge.ports().log(
                LogLevel::Warn,
                &format!(
                    "edgeward: /auth/login/end: signed in without the userinfo claims: {reason}"
                ),
            );
            Ok(())
        }
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
async fn start_session(
    edge: &impl Context,
    req: &Request,
    mut response: Response,
    now: u64,
    new: &NewSession<'_>,
) -> Result<Response, Error> {
    let ports = edge.ports();
    if edge.session_settings().mode == SessionMode::Stateless {
        session::store(
            response.headers_mut(),
            edge.cookie_keys(),
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
        .await
        .map_err(|_| Error::Internal("sealing the session cookies failed"))?;
        return Ok(response);
    }
    require_registry(edge)?;
    let session_id = random_token(ports, 16)?;
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
        provider: b.provider.clone(),
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
    let shard = shard_of(&registry_ids(b).0, edge.session_settings().shards);
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
    let sealed = edge
        .cookie_keys()
        .seal_json(
            ports,
            names::COOKIE_SESSION,
            &SidCookie {
                id: session_id,
                sub: b.sub.clone(),
                provider: b.provider.clone(),
            },
            b.ends_at,
        )
        .await
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
