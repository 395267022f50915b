//! Fake ports for the core's integration tests: a settable clock, counting randomness, and an
//! HTTP client that answers from a table and records what it was asked.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use edgeward_core::backchannel::{Registry, RegistryAnswer, RegistryRequest};
use edgeward_core::{
    Clock, Config, Edge, HttpClient, Log, LogLevel, Random, RandomUnavailable, RefreshCoordinator,
    Request, Response, SessionRegistry, SharedCache, SignatureVerifier, TransportError,
};

pub const ORIGIN: &str = "http://localhost:8787";
pub const ISSUER: &str = "http://idp.test";
pub const KEYS: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

#[derive(Default)]
pub struct FakePorts {
    pub now: Cell<u64>,
    counter: Cell<u8>,
    /// URL → (status, content type, body); a URL not in the table is a transport error.
    pub routes: RefCell<HashMap<String, (u16, String, String)>>,
    /// Every request sent: (method, URL, body).
    pub sent: RefCell<Vec<(String, String, String)>>,
    /// Accept header of every request sent.
    pub accepts: RefCell<Vec<String>>,
    /// The shared cache (the Workers Cache API's stand-in): key → (value, expires at).
    pub shared: RefCell<HashMap<String, (Vec<u8>, u64)>>,
    /// The session registry's store, when back-channel logout is on.
    pub registry: RefCell<Option<std::rc::Rc<MemStore>>>,
    /// The platform's signature verdict (WebCrypto's stand-in): `None` leaves every check to
    /// Rust; `Some(v)` answers every check with `v`.
    pub signature_verdict: Cell<Option<bool>>,
    /// Signature checks asked of the platform: (alg, JWK).
    pub signature_checks: RefCell<Vec<(String, String)>>,
    /// Every line the core logged.
    pub logs: RefCell<Vec<(LogLevel, String)>>,
}

impl Log for FakePorts {
    fn log(&self, level: LogLevel, message: &str) {
        self.logs.borrow_mut().push((level, message.to_owned()));
    }
}

impl FakePorts {
    /// Everything logged, one line each.
    pub fn log_text(&self) -> String {
        self.logs
            .borrow()
            .iter()
            .map(|(_, line)| line.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl SignatureVerifier for FakePorts {
    async fn verify_signature(
        &self,
        alg: &str,
        jwk: &str,
        _message: &[u8],
        _signature: &[u8],
    ) -> Option<bool> {
        self.signature_checks
            .borrow_mut()
            .push((alg.to_owned(), jwk.to_owned()));
        self.signature_verdict.get()
    }
}

/// No coordinator: the core makes refresh grants itself (the coordinator's logic is
/// `edgeward_core::flight`, tested on its own).
impl RefreshCoordinator for FakePorts {
    async fn coordinate_refresh(
        &self,
        _key: &str,
        _refresh_token: &str,
    ) -> Option<Result<http::Response<Vec<u8>>, TransportError>> {
        None
    }
}

/// A registry in memory when `registry` is set (back-channel logout on), else none.
impl SessionRegistry for FakePorts {
    fn has_registry(&self) -> bool {
        self.registry.borrow().is_some()
    }

    async fn registry(&self, request: &RegistryRequest) -> Result<RegistryAnswer, TransportError> {
        let store = self.registry.borrow().clone().ok_or(TransportError {
            reason: "no registry".into(),
        })?;
        Registry::handle(&*store, request).await
    }
}

/// The registry's store for tests.
pub use edgeward_core::backchannel::MemoryStore as MemStore;

impl SharedCache for FakePorts {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let now = self.now.get();
        self.shared
            .borrow()
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map(|(v, _)| v.clone())
    }

    async fn put(&self, key: &str, value: Vec<u8>, ttl: u64) {
        let expires = self.now.get() + ttl;
        self.shared
            .borrow_mut()
            .insert(key.to_owned(), (value, expires));
    }
}

impl Clock for FakePorts {
    fn now(&self) -> u64 {
        self.now.get()
    }
}

impl Random for FakePorts {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
        for b in dest.iter_mut() {
            *b = self.counter.get();
            self.counter.set(self.counter.get().wrapping_add(1));
        }
        Ok(())
    }
}

impl HttpClient for FakePorts {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let url = request.uri().to_string();
        self.accepts.borrow_mut().push(
            request
                .headers()
                .get("accept")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
        );
        self.sent.borrow_mut().push((
            request.method().to_string(),
            url.clone(),
            String::from_utf8_lossy(request.body()).into_owned(),
        ));
        match self.routes.borrow().get(&url) {
            Some((status, content_type, body)) => Ok(http::Response::builder()
                .status(*status)
                .header("content-type", content_type.as_str())
                .body(body.clone().into_bytes())
                .unwrap()),
            None => Err(TransportError {
                reason: format!("connection refused: {url}"),
            }),
        }
    }
}

impl FakePorts {
    pub fn route(&self, url: &str, status: u16, body: impl Into<String>) {
        self.route_typed(url, status, "application/json", body);
    }

    pub fn route_typed(&self, url: &str, status: u16, content_type: &str, body: impl Into<String>) {
        self.routes.borrow_mut().insert(
            url.to_owned(),
            (status, content_type.to_owned(), body.into()),
        );
    }

    /// How many requests went to `url`.
    pub fn calls_to(&self, url: &str) -> usize {
        self.sent
            .borrow()
            .iter()
            .filter(|(_, u, _)| u == url)
            .count()
    }

    /// The IdP's discovery document, as a real provider would publish it.
    pub fn with_discovery(self) -> Self {
        self.route(
            &format!("{ISSUER}/.well-known/openid-configuration"),
            200,
            serde_json::json!({
                "issuer": ISSUER,
                "authorization_endpoint": format!("{ISSUER}/auth"),
                "token_endpoint": format!("{ISSUER}/token"),
                "jwks_uri": format!("{ISSUER}/jwks"),
                "end_session_endpoint": format!("{ISSUER}/session/end"),
                "revocation_endpoint": format!("{ISSUER}/token/revocation"),
                "introspection_endpoint": format!("{ISSUER}/token/introspection"),
            })
            .to_string(),
        );
        self
    }
}

pub fn config() -> Config {
    config_with(&[])
}

/// The test configuration with `extra` (name, value) variables added or replaced.
pub fn config_with(extra: &[(&str, &str)]) -> Config {
    Config::from_vars(|name| {
        // The last pair for a name wins.
        if let Some((_, v)) = extra.iter().rev().find(|(k, _)| *k == name) {
            return Some((*v).to_owned());
        }
        Some(
            match name {
                "EDGEWARD_PROFILE" => "local",
                "EDGEWARD_ORIGIN" => ORIGIN,
                "EDGEWARD_COOKIE_KEYS" => KEYS,
                "OIDC_ISSUER" => ISSUER,
                "OIDC_CLIENT_ID" => "edgeward",
                "OIDC_CLIENT_SECRET" => "secret",
                _ => return None,
            }
            .to_owned(),
        )
    })
    .unwrap()
}

pub fn edge(ports: FakePorts) -> Edge<FakePorts> {
    ports.now.set(1_700_000_000);
    Edge::new(config(), ports)
}

/// A request to the edge; `headers` as (name, value) pairs.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Request {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("{ORIGIN}{path}"));
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(body.as_bytes().to_vec()).unwrap()
}

pub fn call(edge: &Edge<FakePorts>, req: Request) -> Response {
    futures_executor::block_on(edge.handle(req))
        .into_response()
        .expect("a response, not a forward")
}

pub fn outcome(edge: &Edge<FakePorts>, req: Request) -> edgeward_core::Outcome {
    futures_executor::block_on(edge.handle(req))
}

pub fn json(res: &Response) -> serde_json::Value {
    serde_json::from_slice(res.body()).unwrap()
}

/// The (name, value) of every Set-Cookie in the response.
pub fn set_cookies(res: &Response) -> Vec<(String, String, String)> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| {
            let s = v.to_str().unwrap().to_owned();
            let (pair, _) = s.split_once(';').unwrap_or((&s, ""));
            let (name, value) = pair.split_once('=').unwrap();
            (name.to_owned(), value.to_owned(), s.clone())
        })
        .collect()
}
