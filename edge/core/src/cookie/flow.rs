//! The start of a redirect flow at a provider (a login, a connect): its state sealed into a
//! single-use cookie, and the answer that sends the browser to the provider.

use edgeward_shared::api::LoginStartResponse;
use http::header::SET_COOKIE;
use serde::Serialize;

use super::CookieKeys;
use crate::platform::ports::{AeadCipher, Random};
use crate::platform::{cookies, respond, Error, Response};

/// A flow's state cookie.
#[derive(Debug, Clone, Copy)]
pub struct FlowCookie {
    /// Its name.
    pub name: &'static str,
    /// How long it lives, in seconds.
    pub ttl: u64,
    /// The (internal) error if sealing it fails.
    pub sealing_failed: &'static str,
}

/// `{authorizationUrl}` with `state` sealed into `cookie`, which lives its `ttl` from `now`.
pub async fn start_answer<T: Serialize>(
    keys: &CookieKeys,
    ports: &(impl Random + AeadCipher + ?Sized),
    cookie: FlowCookie,
    state: &T,
    now: u64,
    authorization_url: &url::Url,
) -> Result<Response, Error> {
    let FlowCookie {
        name,
        ttl,
        sealing_failed,
    } = cookie;
    let sealed = keys
        .seal_json(ports, name, state, now + ttl)
        .await
        .map_err(|_| Error::Internal(sealing_failed))?;
    let mut response = respond::json(
        200,
        &LoginStartResponse {
            authorization_url: authorization_url.to_string(),
        },
    );
    response
        .headers_mut()
        .append(SET_COOKIE, cookies::set(name, &sealed, ttl));
    Ok(response)
}
