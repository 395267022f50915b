//! edgeward's platform-free core.
//!
//! A request comes in as an [`http::Request`], a response goes out as an [`http::Response`].
//! Nothing here touches a platform: the clock, randomness and outgoing HTTP are [`ports`] the
//! caller passes in (the Cloudflare adapter in `edge/worker` implements them with `worker::Date`,
//! WebCrypto and `worker::Fetch`; tests implement them with fixed values). So the whole core
//! compiles and is tested natively with `cargo test`.
//!
//! Entry point: [`Edge::handle`]. Failures are [`Error`]s, which become JSON
//! `{"code", "message"}` responses with the status of their [`edgeward_shared::ErrorCode`].

#![forbid(unsafe_code)]

pub(crate) mod agent;
pub mod config;
pub mod cookie;
pub mod oidc;
pub mod platform;
pub mod proxy;
pub mod request;
mod routes;
pub mod sessions;

pub use config::Config;
pub use oidc::{ClientAuth, OidcClient};
pub use platform::ports::{
    Clock, HttpClient, Log, LogLevel, Platform, Random, RandomUnavailable, RefreshCoordinator,
    RustSignatures, SessionRegistry, SharedCache, SignatureVerifier, TransportError,
};
pub use platform::settings::{ConfigError, Profile, Secret};
pub use platform::{Error, Request, Response};
pub use proxy::{PhantomMode, ProxyConfig};
pub use sessions::SessionMode;

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
    idp: oidc::IdpCache,
    phantom: proxy::phantom::PhantomCache,
    ended: sessions::EndedCache,
}

impl<P: Platform> Edge<P> {
    /// Combines a validated configuration with the platform's ports.
    pub fn new(config: Config, ports: P) -> Self {
        let phantom = proxy::phantom::PhantomCache::new(config.proxy.cache_entries);
        Self {
            config,
            ports,
            idp: oidc::IdpCache::default(),
            phantom,
            ended: sessions::EndedCache::default(),
        }
    }

    /// The configuration this edge runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What this isolate caches about the identity provider.
    pub fn idp(&self) -> &oidc::IdpCache {
        &self.idp
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
    pub async fn handle(&self, req: Request) -> Outcome {
        match routes::dispatch(self, &req).await {
            Ok(outcome) => outcome,
            Err(error) => Outcome::Respond(self.error_response(req.uri().path(), error)),
        }
    }

    /// The JSON response for `error`, after writing its cause (if it has one the browser is not
    /// told) to the log, with the path it happened on (never the query).
    pub fn error_response(&self, path: &str, error: Error) -> Response {
        error.into_logged_response(&self.ports, path)
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

    fn oidc(&self) -> &oidc::OidcClient {
        &self.config.oidc
    }

    fn idp(&self) -> &oidc::IdpCache {
        &self.idp
    }

    fn ended_sessions(&self) -> &sessions::EndedCache {
        &self.ended
    }
}

impl<P: Platform> proxy::Context for Edge<P> {
    fn origin(&self) -> &str {
        &self.config.origin
    }

    fn allowed_origins(&self) -> &[String] {
        &self.config.allowed_origins
    }

    fn proxy(&self) -> &ProxyConfig {
        &self.config.proxy
    }

    fn phantom_cache(&self) -> &proxy::phantom::PhantomCache {
        &self.phantom
    }
}
