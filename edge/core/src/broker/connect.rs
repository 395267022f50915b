//! Connecting, listing and disconnecting accounts: `POST /auth/connections/{name}/start`,
//! `POST /auth/connections/{name}/end`, `GET /auth/connections`,
//! `DELETE /auth/connections/{name}`.
//!
//! Connecting is the login's flow at the connection's provider, bound to the session that
//! started it: Origin, a live session and its CSRF header on both calls; PKCE S256 and a fresh
//! 256-bit `state`; a sealed single-use cookie (`__Host-edgeward-connect`, 10 minutes) that
//! records the connection, the state, the verifier, the user and the session's binding id. The
//! end is refused unless the same session (same user, same binding) finishes it, for that
//! connection, with that state.

use edgeward_shared::api::{
    ConnectEndResponse, ConnectStartRequest, ConnectionGrantsRequest, ConnectionInfo,
    ConnectionsResponse,
};
use edgeward_shared::names;
use http::header::SET_COOKIE;
use serde::{Deserialize, Serialize};

use super::store::{self, Record, Secrets, Status, User, DEFAULT_ACCESS_TTL};
use super::Context;
use crate::oidc::{self, Provider, TokenError};
use crate::platform::crypto::{constant_time_eq, random_token};
use crate::platform::ports::{Clock, Log, LogLevel};
use crate::platform::{cookies, respond, Error, Request, Response};
use crate::request::guard;
use crate::sessions::{guarded_session, load_session, registry_ids, Loaded};

/// How long a connect may take from start to end, seconds.
pub const CONNECT_TTL: u64 = 600;

/// What the connect cookie holds between start and end.
#[derive(Serialize, Deserialize)]
struct ConnectState {
    connection: String,
    state: String,
    verifier: String,
    /// The user's digest.
    user: String,
    /// The binding id of the session that started it.
    binding: String,
    return_to: String,
    grants: Vec<String>,
}

/// The user of a loaded session.
fn user_of(edge: &impl Context, loaded: &Loaded) -> User {
    User::of(
        &registry_ids(&loaded.session.binding).0,
        edge.session_settings().shards,
    )
}

fn connection<'a, C: Context>(edge: &'a C, name: &str) -> Result<Provider<'a>, Error> {
    edge.connection(name).ok_or(Error::RouteNotFound)
}

/// The services the user grants `name`: each a service client configured for it (another is
/// 400 `invalid_request`), once.
fn checked_grants(edge: &impl Context, name: &str, asked: &[String]) -> Result<Vec<String>, Error> {
    let mut grants: Vec<String> = Vec::new();
    for id in asked {
        let allowed = edge
            .broker()
            .clients
            .iter()
            .any(|c| &c.client_id == id && c.connections.iter().any(|n| n == name));
        if !allowed {
            return Err(Error::InvalidRequest(format!(
                "grants: {:?} is not a service client of this connection",
                id.chars().take(40).collect::<String>()
            )));
        }
        if !grants.contains(id) {
            grants.push(id.clone());
        }
    }
    Ok(grants)
}

/// `POST /auth/connections/{name}/start`: an authorization request to the connection's
/// provider, and the sealed connect cookie.
pub(crate) async fn connect_start(
    edge: &impl Context,
    req: &Request,
    name: &str,
) -> Result<Response, Error> {
    let loaded = guarded_session(edge, req).await?;
    let provider = connection(edge, name)?;
    let body: ConnectStartRequest = if req.body().iter().all(u8::is_ascii_whitespace) {
        ConnectStartRequest::default()
    } else {
        serde_json::from_slice(req.body()).map_err(|e| {
            Error::InvalidRequest(format!("body is not a connect start request: {e}"))
        })?
    };
    let return_to = match body.return_to.as_deref() {
        Some(r) => guard::validate_return_to(r, edge.origin())?,
        None => "/".to_owned(),
    };
    let grants = checked_grants(edge, name, &body.grants)?;
    let ports = edge.ports();
    let discovery = provider.discovery(ports).await?;
    let user = user_of(edge, &loaded);
    let connect = ConnectState {
        connection: name.to_owned(),
        state: random_token(ports, 32)?,
        verifier: random_token(ports, 32)?,
        user: user.digest,
        binding: loaded.session.binding.id.clone(),
        return_to,
        grants,
    };
    let challenge = oidc::pkce_challenge(&connect.verifier);
    let client = provider.client;
    let params = oidc::code_request_params(client, &connect.state, None, &challenge);
    let url =
        oidc::authorization_url(client, ports, &discovery, &params, Error::LoginDenied).await?;
    crate::cookie::flow::start_answer(
        edge.cookie_keys(),
        ports,
        crate::cookie::flow::FlowCookie {
            name: names::COOKIE_CONNECT,
            ttl: CONNECT_TTL,
            sealing_failed: "sealing the connect cookie failed",
        },
        &connect,
        ports.now(),
        &url,
    )
    .await
}

/// `POST /auth/connections/{name}/end` `{pageUrl}`: finishes a connect from the callback
/// page's URL. The connect cookie is cleared whatever happens, except when the provider could
/// not be reached (the same callback can then be tried again).
pub(crate) async fn connect_end(
    edge: &impl Context,
    req: &Request,
    name: &str,
) -> Result<Response, Error> {
    let loaded = guarded_session(edge, req).await?;
    let provider = connection(edge, name)?;
    let result = finish(edge, req, name, provider, &loaded).await;
    let mut response = match result {
        Ok(response) => response,
        Err(e @ Error::IdpUnavailable(_)) => return Err(e),
        Err(e) => e.into_logged_response(edge.ports(), req.uri().path()),
    };
    response
        .headers_mut()
        .append(SET_COOKIE, cookies::clear(names::COOKIE_CONNECT));
    Ok(response)
}

async fn finish(
    edge: &impl Context,
    req: &Request,
    name: &str,
    provider: Provider<'_>,
    loaded: &Loaded,
) -> Result<Response, Error> {
    let ports = edge.ports();
    let now = ports.now();
    let page = guard::callback_page(req.body(), edge.origin(), "connect end")?;
    let param = |key: &str| page.param(key);
    let sealed = cookies::read(req.headers(), names::COOKIE_CONNECT).ok_or_else(|| {
        Error::InvalidState("no connect in progress (or it was already finished)".into())
    })?;
    let connect: ConnectState = edge
        .cookie_keys()
        .open_json(ports, names::COOKIE_CONNECT, &sealed, now)
        .await
        .map_err(|e| Error::InvalidState(format!("the connect cookie did not open ({e})")))?
        .value;
    if connect.connection != name {
        return Err(Error::InvalidState(
            "the connect was started for another connection".into(),
        ));
    }
    let user = user_of(edge, loaded);
    if !constant_time_eq(&connect.user, &user.digest)
        || !constant_time_eq(&connect.binding, &loaded.session.binding.id)
    {
        return Err(Error::InvalidState(
            "the connect was started by another session".into(),
        ));
    }
    if let Some(error) = param("error") {
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return Err(Error::LoginDenied(code));
    }
    let state =
        param("state").ok_or_else(|| Error::InvalidState("the callback has no state".into()))?;
    if !constant_time_eq(&state, &connect.state) {
        return Err(Error::InvalidState(
            "state does not match this browser's connect".into(),
        ));
    }
    let discovery = provider.discovery(ports).await?;
    // RFC 9207, as at login: a provider that names itself must be this connection's.
    match param("iss") {
        Some(iss) if provider.client.issuer.is_empty() || iss != provider.client.issuer => {
            return Err(Error::LoginFailed(
                "the authorization response names another issuer".into(),
            ))
        }
        None if discovery.authorization_response_iss_parameter_supported => {
            return Err(Error::LoginFailed(
                "the authorization response has no iss, though the provider always sends it".into(),
            ))
        }
        _ => {}
    }
    let code =
        param("code").ok_or_else(|| Error::LoginFailed("the callback has no code".into()))?;
    let tokens = oidc::token_request(
        provider.client,
        ports,
        &discovery,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &provider.client.redirect_uri),
            ("code_verifier", &connect.verifier),
        ],
    )
    .await
    .map_err(|e| match e {
        TokenError::Refused(code) if code == "invalid_client" => Error::IdpUnavailable(
            "the token endpoint refused the connection's client (invalid_client)".into(),
        ),
        TokenError::Refused(code) => Error::LoginDenied(code),
        TokenError::Unavailable(reason) => Error::IdpUnavailable(reason),
    })?;
    let secrets = Secrets {
        access_expires_at: now + tokens.expires_in.unwrap_or(DEFAULT_ACCESS_TTL),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        grants: connect.grants,
    };
    let record = Record {
        name: name.to_owned(),
        scopes: provider.client.scopes.clone(),
        connected_at: now,
        last_used_at: now,
        status: Status::Connected,
        sealed: store::seal(edge, &user, name, &secrets).await?,
    };
    // A connection connected again replaces the one before: revoke the old grant's refresh
    // token (best effort) so it does not stay valid at the provider.
    if let Some(old) = store::get(edge, &user, name).await? {
        if let Some(old) = store::open(edge, &user, &old).await {
            revoke(edge, provider, name, &old).await;
        }
    }
    store::put(edge, &user, &record).await?;
    ports.log(
        LogLevel::Info,
        &format!(
            "edgeward: broker: connected {name} for user sha256:{} (grants: {})",
            &user.digest[..16],
            record_grants(&secrets)
        ),
    );
    Ok(respond::json(
        200,
        &ConnectEndResponse {
            connection: name.to_owned(),
            return_to: connect.return_to,
        },
    ))
}

fn record_grants(secrets: &Secrets) -> String {
    if secrets.grants.is_empty() {
        "none".into()
    } else {
        secrets.grants.join(",")
    }
}

/// `GET /auth/connections`: every configured connection and the user's state of it. Never a
/// token.
pub(crate) async fn connections(edge: &impl Context, req: &Request) -> Result<Response, Error> {
    let loaded = load_session(edge, req.headers())
        .await?
        .ok_or(Error::Unauthorized)?;
    let user = user_of(edge, &loaded);
    let records = store::list(edge, &user).await?;
    let mut list = Vec::new();
    for c in &edge.broker().connections {
        let info = match records.iter().find(|r| r.name == c.name) {
            None => ConnectionInfo {
                name: c.name.clone(),
                status: "not_connected".into(),
                scopes: c.client.scopes.clone(),
                connected_at: None,
                last_used_at: None,
                grants: Vec::new(),
            },
            Some(record) => {
                let secrets = store::open(edge, &user, record).await;
                let status = match (&secrets, record.status) {
                    (Some(_), s) => s,
                    // A record that does not open cannot be used: connect again.
                    (None, _) => Status::ReauthorizationRequired,
                };
                ConnectionInfo {
                    name: c.name.clone(),
                    status: status.as_str().into(),
                    scopes: record.scopes.clone(),
                    connected_at: Some(record.connected_at),
                    last_used_at: Some(record.last_used_at),
                    grants: secrets.map(|s| s.grants).unwrap_or_default(),
                }
            }
        };
        list.push(info);
    }
    let mut response = respond::json(200, &ConnectionsResponse { connections: list });
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// `DELETE /auth/connections/{name}`: revokes the grant at the provider when it has a
/// revocation endpoint (best effort, logged), then deletes the record. 204 either way.
pub(crate) async fn disconnect(
    edge: &impl Context,
    req: &Request,
    name: &str,
) -> Result<Response, Error> {
    let loaded = guarded_session(edge, req).await?;
    let provider = connection(edge, name)?;
    let user = user_of(edge, &loaded);
    if let Some(record) = store::get(edge, &user, name).await? {
        if let Some(secrets) = store::open(edge, &user, &record).await {
            revoke(edge, provider, name, &secrets).await;
        }
        store::delete(edge, &user, name).await?;
    }
    let mut response = Response::new(Vec::new());
    *response.status_mut() = http::StatusCode::NO_CONTENT;
    Ok(response)
}

/// `PUT /auth/connections/{name}/grants` `{grants}`: the services the user lets use the
/// connection from now on (the list replaces the one before; `[]` takes every service's access
/// away). 204; 401 `connection_required` when it is not connected.
pub(crate) async fn set_grants(
    edge: &impl Context,
    req: &Request,
    name: &str,
) -> Result<Response, Error> {
    let loaded = guarded_session(edge, req).await?;
    connection(edge, name)?;
    let body: ConnectionGrantsRequest = serde_json::from_slice(req.body())
        .map_err(|e| Error::InvalidRequest(format!("body is not a grants request: {e}")))?;
    let grants = checked_grants(edge, name, &body.grants)?;
    let user = user_of(edge, &loaded);
    let Some(mut record) = store::get(edge, &user, name).await? else {
        return Err(Error::ConnectionRequired(format!(
            "connection {name}: not connected"
        )));
    };
    let Some(mut secrets) = store::open(edge, &user, &record).await else {
        return Err(Error::ConnectionExpired(format!(
            "connection {name}: its record does not open"
        )));
    };
    secrets.grants = grants;
    record.sealed = store::seal(edge, &user, name, &secrets).await?;
    if !store::update(edge, &user, &record).await? {
        return Err(Error::ConnectionRequired(format!(
            "connection {name}: not connected"
        )));
    }
    edge.ports().log(
        LogLevel::Info,
        &format!(
            "edgeward: broker: grants of {name} for user sha256:{} now: {}",
            &user.digest[..16],
            record_grants(&secrets)
        ),
    );
    let mut response = Response::new(Vec::new());
    *response.status_mut() = http::StatusCode::NO_CONTENT;
    Ok(response)
}

/// Revokes a grant's refresh token (or, without one, its access token) at the provider, when
/// it has a revocation endpoint (RFC 7009). Best effort: a failure is logged.
pub(crate) async fn revoke(
    edge: &impl Context,
    provider: Provider<'_>,
    name: &str,
    secrets: &Secrets,
) {
    let ports = edge.ports();
    let discovery = match provider.discovery(ports).await {
        Ok(d) => d,
        Err(e) => {
            ports.log(
                LogLevel::Warn,
                &format!(
                    "edgeward: broker: {name}: not revoked: {}",
                    e.detail().unwrap_or_else(|| e.to_string())
                ),
            );
            return;
        }
    };
    let Some(endpoint) = discovery.revocation_endpoint.as_deref() else {
        return;
    };
    let (token, hint) = match &secrets.refresh_token {
        Some(rt) => (rt.as_str(), "refresh_token"),
        None => (secrets.access_token.as_str(), "access_token"),
    };
    if let Err(e) = oidc::revoke(provider.client, ports, &discovery, endpoint, token, hint).await {
        ports.log(
            LogLevel::Warn,
            &format!("edgeward: broker: {name}: not revoked: {e:?}"),
        );
    }
}
