//! The OAuth agent: the `/auth/*` endpoints that log the SPA's user in and out.

use edgeward_shared::api::{LoginStartRequest, LoginStartResponse};
use edgeward_shared::names;
use http::header::SET_COOKIE;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::Error;
use crate::ports::{Clock, HttpClient, Random};
use crate::{cookies, guard, respond, Edge, Request, Response};

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
pub(crate) async fn login_start<P: Clock + Random + HttpClient>(
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
