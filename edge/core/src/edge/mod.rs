//! The top: what the deployment is ([`Config`], composing every capability's settings), the
//! isolate's state ([`Edge`]: the configuration, the ports, the caches), and the dispatcher
//! ([`Edge::handle`]: which handler answers which request, after the checks every request the
//! core answers itself must pass). `Edge` lends each capability the [`Context`] it asks for
//! (`sessions`, `proxy`, `agent`), and composes what one capability must not do to another
//! (the agent's logout drops the proxy's phantom tokens through it).
//!
//! [`Context`]: crate::sessions::Context
//!
//! May use: `platform`, `audit`, `cors`, `rate`, `request`, `cookie`, `oidc`, `sessions`, `machine`, `broker`, `proxy`, `agent`.

pub mod config;
mod routes;

pub use config::Config;

use crate::platform::ports::Platform;
use crate::platform::settings::Secret;
use crate::platform::trail::Trail;
use crate::platform::{Error, Request, Response};
use crate::proxy::ProxyConfig;
use crate::{agent, audit, broker, cookie, cors, machine, oidc, proxy, rate, request, sessions};

/// What the core decided about a request.
#[derive(Debug)]
pub enum Outcome {
    /// Answer with this response.
    Respond(Response),
    /// Forward to an upstream API (only for `/api/*`): the adapter sends the browser's body
    /// along, streams the answer back with the headers [`proxy::Forward::response_headers`]
    /// gives, and answers [`Error::UpstreamUnavailable`] if the upstream cannot be reached.
    Forward(proxy::Forward),
}

impl Outcome {
    /// The response, for callers that know the request was not proxied.
    pub fn into_response(self) -> Option<Response> {
        match self {
            Outcome::Respond(r) => Some(r),
            Outcome::Forward(_) => None,
        }
    }
}

/// The token handler: validated configuration plus the ports it runs on.
///
/// Build one per isolate (configuration is validated once, in [`Config::from_vars`]) and call
/// [`Edge::handle`] for every request.
#[derive(Debug)]
pub struct Edge<P> {
    config: Config,
    ports: P,
    /// One per provider, in the configuration's order.
    idps: Vec<oidc::IdpCache>,
    phantom: proxy::phantom::PhantomCache,
    ended: sessions::EndedCache,
    machine: machine::MachineState,
    /// One per token-broker connection, in the configuration's order.
    connections: Vec<oidc::IdpCache>,
    /// Addresses whose session requests are refused unopened for a while (`rate`).
    pub(crate) penalties: rate::Penalties,
}

impl<P: Platform> Edge<P> {
    /// Combines a validated configuration with the platform's ports.
    pub fn new(config: Config, ports: P) -> Self {
        let phantom = proxy::phantom::PhantomCache::new(config.proxy.cache_entries);
        Self {
            ports,
            idps: config
                .providers
                .all()
                .iter()
                .map(|_| oidc::IdpCache::default())
                .collect(),
            phantom,
            ended: sessions::EndedCache::default(),
            machine: machine::MachineState::default(),
            penalties: rate::Penalties::default(),
            connections: config
                .broker
                .connections
                .iter()
                .map(|c| match &c.endpoints {
                    Some(endpoints) => oidc::IdpCache::fixed(endpoints.clone()),
                    None => oidc::IdpCache::default(),
                })
                .collect(),
            config,
        }
    }

    /// The configuration this edge runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// This isolate's minted phantom tokens.
    pub fn phantom_cache(&self) -> &proxy::phantom::PhantomCache {
        &self.phantom
    }

    /// What this isolate knows about sessions ended by back-channel logout.
    pub fn ended_sessions(&self) -> &sessions::EndedCache {
        &self.ended
    }

    /// The platform ports this edge runs on.
    pub fn ports(&self) -> &P {
        &self.ports
    }

    /// Decides one request. Never panics and never fails: every error becomes a JSON response.
    /// For `/api/*` the request's body may be left empty: the adapter streams the original.
    ///
    /// With CORS on, a preflight is answered here and nothing else runs; every other answer,
    /// errors included, gets the CORS headers (`cors`).
    ///
    /// Every `/auth/*` answer says `Cache-Control: no-store`, and every 401 of the proxy carries
    /// an RFC 6750 `Bearer` challenge.
    pub async fn handle(&self, mut req: Request) -> Outcome {
        // What the handlers learn on the way that the audit line needs.
        let trail = Trail::start(&mut req);
        let path = req.uri().path();
        let auth = path.starts_with(edgeward_shared::paths::AUTH_PREFIX);
        let (cors, preflight) = match self.config.cors.decide(&req) {
            cors::Cors::Preflight(answer) => (cors::Cors::Off, Some(answer)),
            cors => (cors, None),
        };
        let mut outcome = match preflight {
            Some(answer) => Outcome::Respond(answer),
            None => match routes::dispatch(self, &req).await {
                Ok(outcome) => {
                    // A handler that answered an error itself: the code its answer carries.
                    let (status, code) = match &outcome {
                        Outcome::Respond(response) => (
                            Some(response.status().as_u16()),
                            response
                                .extensions()
                                .get::<edgeward_shared::ErrorCode>()
                                .copied(),
                        ),
                        Outcome::Forward(_) => (None, None),
                    };
                    self.audit(
                        &req,
                        &trail,
                        audit::Result::Answered(status, code),
                        status.unwrap_or(200),
                    );
                    outcome
                }
                Err(error) => {
                    let status = error.code().status();
                    self.audit(&req, &trail, audit::Result::Failed(&error), status);
                    let challenge = (!auth).then(|| challenge(&error)).flatten();
                    let mut response = self.error_response(path, error);
                    if let Some(challenge) = challenge {
                        response
                            .headers_mut()
                            .entry(http::header::WWW_AUTHENTICATE)
                            .or_insert(http::HeaderValue::from_static(challenge));
                    }
                    Outcome::Respond(response)
                }
            },
        };
        match &mut outcome {
            Outcome::Respond(response) => {
                cors.add_to(response.headers_mut());
                if auth {
                    response.headers_mut().insert(
                        http::header::CACHE_CONTROL,
                        http::HeaderValue::from_static("no-store"),
                    );
                }
            }
            Outcome::Forward(plan) => cors.add_to(&mut plan.answer_headers),
        }
        outcome
    }

    /// The JSON response for an `error` met before the request reached [`Edge::handle`] (the
    /// adapter's body limit), with the CORS headers `head` (the request, without its body)
    /// earns.
    pub fn early_error(&self, head: &Request, error: Error) -> Response {
        let mut response = self.error_response(head.uri().path(), error);
        self.config.cors.decide(head).add_to(response.headers_mut());
        response
    }

    /// Writes the audit event `req` is (if it is one) with its outcome (`crate::audit`).
    fn audit(&self, req: &Request, trail: &Trail, result: audit::Result<'_>, status: u16) {
        let path = req.uri().path();
        if let Some(event) = audit::classify(req.method(), path, result) {
            audit::Record::new(event, path, req.headers(), status)
                .concerning(trail.noted(), &self.config.audit)
                .emit(&self.ports);
        }
    }

    /// The JSON response for `error`, after writing its cause (if it has one the browser is not
    /// told) to the log, with the path it happened on (never the query).
    pub fn error_response(&self, path: &str, error: Error) -> Response {
        error.into_logged_response(&self.ports, path)
    }
}

/// The RFC 6750 challenge of a 401 outside `/auth/*` (the proxy's): `Bearer` when no credential
/// came, `Bearer error="invalid_token"` when the one that came (a session's) is over. Errors
/// that carry their own challenge (a service client's token, a machine client's proof) keep it.
fn challenge(error: &Error) -> Option<&'static str> {
    match error {
        Error::Unauthorized => Some("Bearer"),
        Error::SessionExpired(_) | Error::TokenRefused(_) => Some("Bearer error=\"invalid_token\""),
        _ => None,
    }
}

impl<P: Platform> sessions::Context for Edge<P> {
    type Ports = P;

    fn ports(&self) -> &P {
        &self.ports
    }

    fn session_settings(&self) -> &sessions::SessionSettings {
        &self.config.sessions
    }

    fn cookie_keys(&self) -> &cookie::CookieKeys {
        &self.config.cookie_keys
    }

    fn providers(&self) -> &oidc::Providers {
        &self.config.providers
    }

    fn provider_at(&self, index: usize) -> Option<oidc::Provider<'_>> {
        Some(oidc::Provider {
            client: self.config.providers.all().get(index)?,
            idp: self.idps.get(index)?,
            first: index == 0,
        })
    }

    fn ended_sessions(&self) -> &sessions::EndedCache {
        &self.ended
    }

    fn refresh_provider(&self, tag: Option<&str>) -> Option<oidc::Provider<'_>> {
        match tag.and_then(|t| t.strip_prefix(broker::COORDINATOR_PREFIX)) {
            Some(name) => broker::Context::connection(self, name),
            None => self.session_provider(tag),
        }
    }
}

impl<P: Platform> broker::Context for Edge<P> {
    fn broker(&self) -> &broker::BrokerConfig {
        &self.config.broker
    }

    fn connection(&self, name: &str) -> Option<oidc::Provider<'_>> {
        let index = self.config.broker.position(name)?;
        Some(oidc::Provider {
            client: &self.config.broker.connections.get(index)?.client,
            idp: self.connections.get(index)?,
            first: false,
        })
    }
}

impl<P> request::Origins for Edge<P> {
    fn origin(&self) -> &str {
        &self.config.origin
    }

    fn allowed_origins(&self) -> &[String] {
        &self.config.allowed_origins
    }
}

impl<P: Platform> machine::Context for Edge<P> {
    fn machine(&self) -> &machine::MachineConfig {
        &self.config.machine
    }

    fn machine_state(&self) -> &machine::MachineState {
        &self.machine
    }
}

impl<P: Platform> proxy::Context for Edge<P> {
    fn proxy(&self) -> &ProxyConfig {
        &self.config.proxy
    }

    fn phantom_cache(&self) -> &proxy::phantom::PhantomCache {
        &self.phantom
    }
}

impl<P: Platform> agent::Context for Edge<P> {
    fn admin_token(&self) -> Option<&Secret> {
        self.config.admin_token.as_ref()
    }

    fn silent_sign_in(&self) -> bool {
        self.config.silent_sign_in
    }

    async fn forget_token(&self, token: &str, sub: &str, provider: Option<&str>) {
        proxy::forget_token(self, token, sub, provider).await;
    }
}
