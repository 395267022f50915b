//! The identity provider as the worker sees it: discovery, fetched on demand over the
//! [`HttpClient`] port and cached in the isolate for [`DISCOVERY_TTL`] seconds.
//!
//! Every IdP failure (unreachable, timeout, a 5xx, a body that is not the JSON we need, an
//! issuer that does not match the configuration) becomes [`Error::IdpUnavailable`]; nothing is
//! cached then, so the next request tries again.

use std::cell::RefCell;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

use crate::config::{Config, Profile};
use crate::error::Error;
use crate::ports::{Clock, HttpClient};

/// How long discovery is reused before it is fetched again, in seconds.
pub const DISCOVERY_TTL: u64 = 3600;

/// The parts of an OpenID Provider's metadata that edgeward uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Discovery {
    /// Must equal the configured issuer.
    pub issuer: String,
    /// Where the browser goes to log in.
    pub authorization_endpoint: String,
    /// Where codes and refresh tokens are exchanged.
    pub token_endpoint: String,
    /// The signing keys.
    pub jwks_uri: String,
    /// RP-initiated logout, when the provider has it.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// Token revocation (RFC 7009), when the provider has it.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// Token introspection (RFC 7662), when the provider has it.
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
}

/// What the isolate remembers about the identity provider.
#[derive(Debug, Default)]
pub struct IdpCache {
    discovery: RefCell<Option<(Rc<Discovery>, u64)>>,
}

impl IdpCache {
    /// Discovery, from the cache while it is fresh, else from the provider.
    pub async fn discovery(
        &self,
        config: &Config,
        ports: &(impl Clock + HttpClient),
    ) -> Result<Rc<Discovery>, Error> {
        let now = ports.now();
        if let Some((d, fetched)) = self.discovery.borrow().as_ref() {
            if now < fetched + DISCOVERY_TTL {
                return Ok(d.clone());
            }
        }
        let issuer = config.oidc.issuer.trim_end_matches('/');
        let url = format!("{issuer}/.well-known/openid-configuration");
        let d: Discovery = get_json(ports, &url).await?;
        validate(&d, config)?;
        let d = Rc::new(d);
        *self.discovery.borrow_mut() = Some((d.clone(), now));
        Ok(d)
    }
}

fn validate(d: &Discovery, config: &Config) -> Result<(), Error> {
    if d.issuer.trim_end_matches('/') != config.oidc.issuer.trim_end_matches('/') {
        return Err(Error::IdpUnavailable(format!(
            "discovery names issuer {:?}, not the configured {:?}",
            d.issuer, config.oidc.issuer
        )));
    }
    let endpoints = [
        Some(&d.authorization_endpoint),
        Some(&d.token_endpoint),
        Some(&d.jwks_uri),
        d.end_session_endpoint.as_ref(),
        d.revocation_endpoint.as_ref(),
        d.introspection_endpoint.as_ref(),
    ];
    for endpoint in endpoints.into_iter().flatten() {
        let ok = match Url::parse(endpoint) {
            Ok(u) => {
                u.scheme() == "https" || (u.scheme() == "http" && config.profile == Profile::Local)
            }
            Err(_) => false,
        };
        if !ok {
            return Err(Error::IdpUnavailable(format!(
                "discovery lists an unusable endpoint {endpoint:?}"
            )));
        }
    }
    Ok(())
}

/// GETs `url` and parses a JSON body; anything else is [`Error::IdpUnavailable`].
pub(crate) async fn get_json<T: DeserializeOwned>(
    http: &impl HttpClient,
    url: &str,
) -> Result<T, Error> {
    let request = http::Request::get(url)
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|_| Error::IdpUnavailable(format!("cannot request {url}")))?;
    let response = http
        .send(request)
        .await
        .map_err(|e| Error::IdpUnavailable(format!("{url}: {e}")))?;
    if !response.status().is_success() {
        return Err(Error::IdpUnavailable(format!(
            "{url} answered HTTP {}",
            response.status().as_u16()
        )));
    }
    serde_json::from_slice(response.body())
        .map_err(|_| Error::IdpUnavailable(format!("{url} did not answer the expected JSON")))
}
