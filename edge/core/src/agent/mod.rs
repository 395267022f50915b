//! The OAuth agent: the `/auth/*` endpoints that sign the SPA's user in ([`login_start`],
//! [`login_end`]), show, refresh and end the session ([`session`](fn@session), [`refresh`],
//! [`logout`]), and let an administrator or the identity provider end sessions
//! ([`admin_sessions`], [`backchannel_logout`]). The dispatcher has checked the method, the body
//! size and the media type before a handler runs; each handler applies its own Origin and CSRF
//! rules.
//!
//! The agent takes what it needs of the isolate's state as a [`Context`]; dropping a logged-out
//! session's phantom tokens is asked of the context, so the agent never reaches into the proxy.
//!
//! May use: `platform`, `request`, `cookie`, `oidc`, `sessions`, `machine`.

mod admin;
mod login;
mod session;

pub(crate) use admin::{admin_client_revocations, admin_sessions, backchannel_logout};
pub(crate) use login::{login_end, login_start, providers};
pub(crate) use session::{logout, refresh, session};

use std::future::Future;

use crate::oidc::{self, Provider, TokenError};
use crate::platform::settings::{invalid, ConfigError, Secret, Vars};
use crate::platform::{Error, Response};

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

/// Optional, `on` or `off` (the default): whether `GET /auth/session` tells a signed-out SPA to
/// try a silent sign-in (`prompt=none`) once. Needs `prompt` in `OIDC_ALLOWED_PARAMS`.
pub const SILENT_SIGN_IN: &str = "EDGEWARD_SILENT_SIGN_IN";

/// Reads [`SILENT_SIGN_IN`].
pub fn silent_sign_in_from_vars(
    vars: &Vars<'_>,
    oidc: &oidc::OidcClient,
) -> Result<bool, ConfigError> {
    match vars.get(SILENT_SIGN_IN).as_deref().map(str::trim) {
        None | Some("off") => Ok(false),
        Some("on") if oidc.allowed_params.iter().any(|p| p == "prompt") => Ok(true),
        Some("on") => Err(invalid(
            SILENT_SIGN_IN,
            "needs prompt in OIDC_ALLOWED_PARAMS (the SPA sends prompt=none)",
        )),
        Some(_) => Err(invalid(SILENT_SIGN_IN, "must be \"on\" or \"off\"")),
    }
}

/// Access-token lifetime assumed when the provider does not send `expires_in`, in seconds.
pub const DEFAULT_ACCESS_TTL: u64 = 300;

/// How long a login may take from `login/start` to `login/end`, in seconds.
pub const LOGIN_TTL: u64 = 600;

/// What the agent needs of the isolate's state besides what sessions need and the origins (the
/// SPA's origin is where `returnTo` and the callback page must be); the dispatcher's `Edge`
/// implements it.
pub(crate) trait Context: crate::sessions::Context + crate::request::Origins {
    /// The admin endpoint's bearer token, if it is on.
    fn admin_token(&self) -> Option<&Secret>;
    /// Whether a signed-out SPA is told to try a silent sign-in once.
    fn silent_sign_in(&self) -> bool;
    /// Drops the phantom tokens made from the access token `token` of `sub`'s session (at
    /// logout; `provider` is the session's `Binding::provider`), from this isolate's memory and
    /// the location's shared tier.
    fn forget_token(
        &self,
        token: &str,
        sub: &str,
        provider: Option<&str>,
    ) -> impl Future<Output = ()>;
}

/// A grant at `provider`'s token endpoint, as its client. `refused` turns the provider's
/// OAuth error code into our error; an unreachable provider is always `idp_unavailable`, and
/// a provider that does not authenticate the client (`invalid_client`: a wrong key or secret,
/// a replayed assertion) is `idp_rejected_client`: the deployment's to fix, not the user's.
async fn grant(
    edge: &impl Context,
    provider: Provider<'_>,
    fields: &[(&str, &str)],
    refused: impl FnOnce(String) -> Error,
) -> Result<oidc::TokenResponse, Error> {
    let ports = edge.ports();
    let discovery = provider.discovery(ports).await?;
    oidc::token_request(provider.client, ports, &discovery, fields)
        .await
        .map_err(|e| match e {
            TokenError::Refused(code) if code == INVALID_CLIENT => Error::IdpRejectedClient(
                "the token endpoint refused the client's authentication (invalid_client)".into(),
            ),
            TokenError::Refused(code) => refused(code),
            TokenError::Unavailable(reason) => Error::IdpUnavailable(reason),
        })
}

/// The OAuth error code of a client the provider did not authenticate (RFC 6749 §5.2).
pub(crate) const INVALID_CLIENT: &str = "invalid_client";

fn no_content() -> Response {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = http::StatusCode::NO_CONTENT;
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}
