//! The Cloudflare Workers adapter: the only code that touches the `worker` crate.
//!
//! It turns `worker::Env` into a validated [`Config`] (once per isolate), implements the core's
//! ports with the platform (`Date.now()`, `crypto.getRandomValues`, `fetch`, the Cache API),
//! converts requests and responses, and hands every request to [`Edge::handle`]. No decisions
//! are made here. What crosses to the runtime on a request's path (its head, the answer, a
//! proxied request, the outgoing requests) goes through `net`, one JavaScript call a step.
//!
//! Compiled for wasm32 only; on the host this crate is empty.

#![cfg(target_arch = "wasm32")]
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use edgeward_core::cookie::session::DEFAULT_SESSION_TTL;
use edgeward_core::request::body::{self, MAX_BODY_BYTES};
use edgeward_core::sessions::{coordinated_refresh, RefreshFlights};
use edgeward_core::sessions::{Registry, RegistryAnswer, RegistryRequest, RegistryStore};
use edgeward_core::{
    AeadCipher, AuthenticationFailed, Clock, Config, ConfigError, Edge, Error, HttpClient, Log,
    LogLevel, MetricPoint, Outcome, Random, RandomUnavailable, RateLimiter, RateVerdict,
    RefreshCoordinator, SessionRegistry, SharedCache, SignatureVerifier, Signer, TransportError,
};
use edgeward_webcrypto::WebCrypto;
use futures_util::StreamExt;
use wasm_bindgen::prelude::*;
use worker::web_sys;
use worker::{durable_object, DurableObject, Env, ObjectNamespace};

mod net;
#[cfg(feature = "test-cipher")]
mod test_cipher;
#[cfg(feature = "test-trap")]
mod test_trap;
mod trap;

/// The ports, implemented with the Workers runtime.
#[derive(Debug)]
struct WorkerPorts {
    /// Where shared-cache entries live: `<origin>/.edgeward/phantom/` (a URL on our own zone;
    /// the Cache API keys by URL, and these are never served to anyone).
    cache_base: String,
    /// The refresh coordinator's namespace, when wrangler.toml binds it.
    refresh: Option<ObjectNamespace>,
    /// The session registry's namespace, when wrangler.toml binds it.
    sessions: Option<ObjectNamespace>,
    /// The rate limiters wrangler.toml binds ([`RATE_LIMIT_BINDINGS`]).
    limiters: Limiters,
    /// The Workers Analytics Engine dataset the audit events are counted in, when wrangler.toml
    /// binds it ([`METRICS_BINDING`]); without it nothing is counted.
    metrics: Option<worker::AnalyticsEngineDataset>,
}

/// The binding of the audit metrics: `[[analytics_engine_datasets]]` in wrangler.toml.
const METRICS_BINDING: &str = "EDGEWARD_METRICS";

/// The Workers Rate Limiting binding of each of the core's limiters: `[[ratelimits]]` in
/// wrangler.toml, with the limit and period the operator chose. A limiter without its binding
/// limits nothing.
const RATE_LIMIT_BINDINGS: [(&str, &str); 3] = [
    ("ip", "EDGEWARD_RATE_LIMIT_IP"),
    ("session", "EDGEWARD_RATE_LIMIT_SESSION"),
    ("client", "EDGEWARD_RATE_LIMIT_CLIENT"),
];

/// The bound rate limiters, by the core's name for them.
struct Limiters(Vec<(&'static str, worker::RateLimiter)>);

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

impl Limiters {
    fn from_env(env: &Env) -> Self {
        Self(
            RATE_LIMIT_BINDINGS
                .iter()
                .filter_map(|(name, binding)| Some((*name, env.rate_limiter(binding).ok()?)))
                .collect(),
        )
    }
}

/// Asks the binding; a limiter that cannot answer lets the request through (logged).
impl RateLimiter for WorkerPorts {
    fn has_rate_limiter(&self, limiter: &str) -> bool {
        self.limiters.0.iter().any(|(name, _)| *name == limiter)
    }

    async fn rate_limit(&self, limiter: &str, key: &str) -> RateVerdict {
        let Some((_, binding)) = self.limiters.0.iter().find(|(name, _)| *name == limiter) else {
            return RateVerdict::Unlimited;
        };
        match binding.limit(key.to_owned()).await {
            Ok(outcome) if outcome.success => RateVerdict::Allowed,
            Ok(_) => RateVerdict::Limited,
            Err(e) => {
                worker::console_warn!("edgeward: rate limiter {limiter} failed: {e}");
                RateVerdict::Unlimited
            }
        }
    }
}

/// The binding of the [`EdgewardSessions`] Durable Object class.
const SESSIONS_BINDING: &str = "EDGEWARD_SESSIONS";

impl SessionRegistry for WorkerPorts {
    fn has_registry(&self) -> bool {
        self.sessions.is_some()
    }

    /// One registry object per shard, named by the core (`sessions-<n>`).
    async fn registry(&self, shard: &str, request: &str) -> Result<String, TransportError> {
        let namespace = self.sessions.as_ref().ok_or_else(|| TransportError {
            reason: "no session registry".into(),
        })?;
        let failed = |reason: String| TransportError {
            reason: format!("session registry {shard}: {reason}"),
        };
        let response = net::post_to_object(namespace, shard, request)
            .await
            .map_err(|e| failed(e.reason))?;
        if response.status() != http::StatusCode::OK {
            return Err(failed(format!("answered HTTP {}", response.status())));
        }
        String::from_utf8(response.into_body()).map_err(|_| failed("answered no text".into()))
    }
}

/// The session registry: back-channel logouts recorded, sessions checked against them
/// ([`edgeward_core::sessions::Registry`] over this object's storage). Reachable only through
/// the binding.
#[durable_object]
#[derive(Debug)]
pub struct EdgewardSessions {
    state: worker::State,
    env: Env,
}

impl std::fmt::Debug for StorageStore<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageStore")
    }
}

/// The object's storage as the registry's store.
struct StorageStore<'a>(&'a worker::Storage);

impl RegistryStore for StorageStore<'_> {
    async fn get(&self, key: &str) -> Result<Option<String>, TransportError> {
        self.0.get::<String>(key).await.map_err(storage_error)
    }

    async fn put(&self, key: &str, value: String) -> Result<(), TransportError> {
        self.0.put(key, value).await.map_err(storage_error)
    }

    async fn delete(&self, key: &str) -> Result<(), TransportError> {
        self.0.delete(key).await.map(|_| ()).map_err(storage_error)
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, TransportError> {
        let mut options = worker::ListOptions::new().prefix(prefix).limit(limit);
        // `start` is inclusive: the smallest key after `after` is `after` followed by NUL.
        let start = after.map(|a| format!("{a}\u{0}"));
        if let Some(start) = &start {
            options = options.start(start);
        }
        let map = self
            .0
            .list_with_options(options)
            .await
            .map_err(storage_error)?;
        let mut entries = Vec::new();
        for entry in map.entries() {
            let pair: js_sys::Array = entry
                .map_err(|e| TransportError {
                    reason: format!("{e:?}"),
                })?
                .into();
            if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                entries.push((k, v));
            }
        }
        Ok(entries)
    }
}

fn storage_error(e: worker::Error) -> TransportError {
    TransportError {
        reason: e.to_string(),
    }
}

/// How often the registry sweeps out what no longer matters, when the configuration cannot be
/// read (it says, `EDGEWARD_REGISTRY_SWEEP_SECONDS`, default the same hour).
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// Entries one alarm looks at; a sweep that did not get through continues after
/// [`SWEEP_AGAIN`].
const SWEEP_BUDGET: usize = 1024;
/// The pause between two parts of a long sweep.
const SWEEP_AGAIN: Duration = Duration::from_secs(5);

impl DurableObject for EdgewardSessions {
    fn new(state: worker::State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, req: worker::Request) -> worker::Result<worker::Response> {
        trap::serving(trap::token(req.inner()), self.serve(req)).await
    }

    async fn alarm(&self) -> worker::Result<worker::Response> {
        trap::serving(trap::ALARM.into(), self.sweep()).await
    }
}

impl EdgewardSessions {
    async fn serve(&self, mut req: worker::Request) -> worker::Result<worker::Response> {
        #[cfg(feature = "test-trap")]
        test_trap::in_object(&req, "EdgewardSessions");
        #[cfg(feature = "test-trap")]
        if let Some(answer) = test_trap::fault_in_object(&req, "EdgewardSessions") {
            return answer;
        }
        let request: RegistryRequest = req.json().await?;
        let storage = self.state.storage();
        let writes = matches!(
            request,
            RegistryRequest::Record { .. }
                | RegistryRequest::PutSession { .. }
                | RegistryRequest::EndSession { .. }
                | RegistryRequest::EndUser { .. }
        );
        let answer = Registry::handle(&StorageStore(&storage), &request).await;
        // Whatever is stored gets swept later: make sure a sweep is scheduled.
        if writes && storage.get_alarm().await?.is_none() {
            storage.set_alarm(self.sweep_every()).await?;
        }
        match answer {
            Ok(answer) => worker::Response::from_json(&answer),
            Err(e) => {
                worker::console_error!("edgeward: session registry: {}", e.reason);
                worker::Response::error("session registry failed", 500)
            }
        }
    }

    /// The configured sweep interval (`EDGEWARD_REGISTRY_SWEEP_SECONDS`).
    fn sweep_every(&self) -> Duration {
        edge(&self.env).map_or(SWEEP_EVERY, |edge| {
            Duration::from_secs(edge.config().sessions.registry_sweep)
        })
    }

    async fn sweep(&self) -> worker::Result<worker::Response> {
        let storage = self.state.storage();
        let sweep = RegistryRequest::Sweep {
            now: WorkerPorts::now_secs(),
            session_ttl: DEFAULT_SESSION_TTL,
            budget: SWEEP_BUDGET,
        };
        let answer = Registry::handle(&StorageStore(&storage), &sweep).await;
        if let Ok(RegistryAnswer::Swept { deleted, done, .. }) = &answer {
            let more = if *done { "" } else { "; more to look at" };
            web_sys::console::info_1(
                &format!("edgeward: registry sweep: {deleted} deleted{more}").into(),
            );
        }
        let next = match answer {
            // More to look at: go on soon, in another invocation (bounded work per alarm).
            Ok(RegistryAnswer::Swept { done: false, .. }) => Some(SWEEP_AGAIN),
            Ok(_) => {
                // Sweep again while anything is left (asking for one key, not all of them).
                let left = storage
                    .list_with_options(worker::ListOptions::new().limit(1))
                    .await?
                    .size();
                (left > 0).then_some(self.sweep_every())
            }
            Err(e) => {
                worker::console_error!("edgeward: registry sweep failed: {}", e.reason);
                Some(self.sweep_every())
            }
        };
        if let Some(after) = next {
            storage.set_alarm(after).await?;
        }
        worker::Response::ok("swept")
    }
}

/// The binding of the [`EdgewardRefresh`] Durable Object class.
const REFRESH_BINDING: &str = "EDGEWARD_REFRESH";

impl RefreshCoordinator for WorkerPorts {
    async fn coordinate_refresh(
        &self,
        session: &str,
        refresh_token: &str,
    ) -> Option<Result<http::Response<Vec<u8>>, TransportError>> {
        let namespace = self.refresh.as_ref()?;
        Some(
            net::post_to_object(namespace, session, refresh_token)
                .await
                .map_err(|e| TransportError {
                    reason: format!("refresh coordinator: {}", e.reason),
                }),
        )
    }
}

/// The refresh coordinator: one instance per session (named by the SHA-256 of its binding id),
/// so every refresh of that session, from any isolate, meets here; inside, one flight per
/// refresh token makes one grant for it ([`edgeward_core::sessions::flight`]). Reachable only
/// through the binding, never from the Internet.
#[durable_object]
#[derive(Debug)]
pub struct EdgewardRefresh {
    env: Env,
    flights: RefreshFlights,
}

impl DurableObject for EdgewardRefresh {
    fn new(_state: worker::State, env: Env) -> Self {
        Self {
            env,
            flights: RefreshFlights::default(),
        }
    }

    async fn fetch(&self, req: worker::Request) -> worker::Result<worker::Response> {
        trap::serving(trap::token(req.inner()), self.serve(req)).await
    }
}

impl EdgewardRefresh {
    async fn serve(&self, mut req: worker::Request) -> worker::Result<worker::Response> {
        #[cfg(feature = "test-trap")]
        test_trap::in_object(&req, "EdgewardRefresh");
        #[cfg(feature = "test-trap")]
        if let Some(answer) = test_trap::fault_in_object(&req, "EdgewardRefresh") {
            return answer;
        }
        let edge = match edge(&self.env) {
            Ok(edge) => edge,
            Err(e) => return object_response(Error::Config(e).into_response()),
        };
        let refresh_token = req.text().await?;
        object_response(coordinated_refresh(edge, &self.flights, refresh_token).await)
    }
}

/// The named cache that holds phantom tokens, apart from the zone's HTTP cache.
const PHANTOM_CACHE: &str = "edgeward-phantom";

impl SharedCache for WorkerPorts {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let cache = worker::Cache::open(PHANTOM_CACHE.to_owned()).await;
        match cache.get(format!("{}{key}", self.cache_base), false).await {
            Ok(Some(mut hit)) => hit.bytes().await.ok(),
            Ok(None) => None,
            Err(e) => {
                worker::console_warn!("edgeward: cache lookup failed: {e}");
                None
            }
        }
    }

    async fn delete(&self, key: &str) {
        let cache = worker::Cache::open(PHANTOM_CACHE.to_owned()).await;
        if let Err(e) = cache
            .delete(format!("{}{key}", self.cache_base), false)
            .await
        {
            worker::console_warn!("edgeward: cache delete failed: {e}");
        }
    }

    async fn put(&self, key: &str, value: Vec<u8>, ttl: u64) {
        let stored = async {
            let headers = worker::Headers::new();
            headers.set("cache-control", &format!("max-age={ttl}"))?;
            headers.set("content-type", "application/json")?;
            let response = worker::Response::from_bytes(value)?.with_headers(headers);
            let cache = worker::Cache::open(PHANTOM_CACHE.to_owned()).await;
            cache
                .put(format!("{}{key}", self.cache_base), response)
                .await
        };
        if let Err(e) = stored.await {
            worker::console_warn!("edgeward: cache store failed: {e}");
        }
    }
}

impl WorkerPorts {
    /// `Date.now()` in seconds: one static call (`worker::Date::now` makes a `Date` object and
    /// asks it, two crossings and an allocation, on every request).
    fn now_secs() -> u64 {
        (js_sys::Date::now() / 1000.0) as u64
    }
}

impl Clock for WorkerPorts {
    fn now(&self) -> u64 {
        Self::now_secs()
    }
}

/// RS256 and ES256 checks in WebCrypto, several times faster than the same arithmetic in wasm
/// (README "Performance"); the core falls back to Rust if WebCrypto fails.
impl SignatureVerifier for WorkerPorts {
    async fn verify_signature(
        &self,
        alg: &str,
        jwk: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Option<bool> {
        WebCrypto
            .verify_signature(alg, jwk, message, signature)
            .await
    }
}

/// Minted tokens signed in WebCrypto (ES256 or RS256), its imported key kept per isolate; the
/// core signs in Rust if WebCrypto cannot.
impl Signer for WorkerPorts {
    async fn sign_message(&self, alg: &str, jwk: &str, message: &[u8]) -> Option<Vec<u8>> {
        WebCrypto.sign_message(alg, jwk, message).await
    }
}

/// The cookies' AES-256-GCM in WebCrypto (README "Performance"); the core falls back to Rust
/// when WebCrypto cannot, never when a tag does not verify.
impl AeadCipher for WorkerPorts {
    async fn aes_gcm_encrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        #[cfg(feature = "test-cipher")]
        if test_cipher::rust_only() {
            return None;
        }
        WebCrypto.aes_gcm_encrypt(key, nonce, aad, plaintext).await
    }

    async fn aes_gcm_decrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Option<Result<Vec<u8>, AuthenticationFailed>> {
        #[cfg(feature = "test-cipher")]
        if test_cipher::rust_only() {
            return None;
        }
        WebCrypto.aes_gcm_decrypt(key, nonce, aad, ciphertext).await
    }
}

/// The console: `wrangler dev` prints it, `wrangler tail` and Workers Logs read it.
impl Log for WorkerPorts {
    fn log(&self, level: LogLevel, message: &str) {
        match level {
            // console.info, not console.log: wrangler shows it at its `info` log level.
            LogLevel::Info => worker::web_sys::console::info_1(&message.into()),
            LogLevel::Warn => worker::console_warn!("{message}"),
            LogLevel::Error => worker::console_error!("{message}"),
        }
    }

    /// The line to the console; one Analytics Engine data point (blobs: event, reason, route, IP,
    /// provider; doubles: status, 1; index: event) when the dataset is bound. A write that fails is
    /// dropped: counting never fails a request.
    fn audit(&self, line: &str, point: &MetricPoint<'_>) {
        worker::web_sys::console::info_1(&line.into());
        if let Some(dataset) = &self.metrics {
            let written = worker::AnalyticsEngineDataPointBuilder::new()
                .indexes([point.event])
                .add_blob(point.event)
                .add_blob(point.reason)
                .add_blob(point.route)
                .add_blob(point.ip)
                .add_blob(point.provider)
                .add_double(f64::from(point.status))
                .add_double(1.0)
                .write_to(dataset);
            if let Err(e) = written {
                worker::console_warn!("edgeward: metrics: {e}");
            }
        }
    }
}

impl Random for WorkerPorts {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
        getrandom::getrandom(dest).map_err(|_| RandomUnavailable)
    }
}

/// How long an outgoing request (headers and body) may take before it is abandoned.
const OUTGOING_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest body an outgoing request's answer may have (discovery, JWKS, tokens, userinfo,
/// introspection are kilobytes): a larger one is abandoned unread rather than held whole, twice
/// (in JavaScript and in wasm), in an isolate of 128 MB serving other requests.
const OUTGOING_MAX_BYTES: usize = 1024 * 1024;

impl HttpClient for WorkerPorts {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        net::exchange(request, OUTGOING_TIMEOUT, OUTGOING_MAX_BYTES).await
    }
}

thread_local! {
    /// The isolate's edge, built on the first request. Configuration cannot change within an
    /// isolate, so a configuration error is kept too and answered on every request.
    static EDGE: RefCell<Option<Result<Rc<Edge<WorkerPorts>>, ConfigError>>> = const { RefCell::new(None) };
}

fn edge(env: &Env) -> Result<Rc<Edge<WorkerPorts>>, ConfigError> {
    EDGE.with(|cell| {
        cell.borrow_mut()
            .get_or_insert_with(|| {
                let config = Config::from_vars(|name| env.var(name).ok().map(|v| v.to_string()));
                if let Err(e) = &config {
                    worker::console_error!("edgeward: invalid configuration: {e}");
                }
                config.map(|c| {
                    let ports = WorkerPorts {
                        cache_base: format!("{}/.edgeward/phantom/", c.origin),
                        refresh: env.durable_object(REFRESH_BINDING).ok(),
                        sessions: env.durable_object(SESSIONS_BINDING).ok(),
                        limiters: Limiters::from_env(env),
                        metrics: env.analytics_engine(METRICS_BINDING).ok(),
                    };
                    Rc::new(Edge::new(c, ports))
                })
            })
            .clone()
    })
}

/// The audit line of a request answered "configuration invalid" (there are no ports to count it
/// with: the configuration built none).
fn audit_config_invalid(req: &web_sys::Request) {
    let mut headers = http::HeaderMap::new();
    for name in ["cf-ray", "cf-connecting-ip"] {
        if let Some(value) = req
            .headers()
            .get(name)
            .ok()
            .flatten()
            .and_then(|v| http::HeaderValue::from_str(&v).ok())
        {
            headers.insert(name, value);
        }
    }
    let url = req.url();
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or("/");
    edgeward_core::audit::config_invalid(path, &headers).emit(&ConsoleLog);
}

/// The console alone, for lines written before there are ports.
struct ConsoleLog;

impl Log for ConsoleLog {
    fn log(&self, _level: LogLevel, message: &str) {
        worker::web_sys::console::info_1(&message.into());
    }
}

/// The worker's fetch handler (entry.mjs calls it as `fetch` with the request, the environment
/// and the context).
///
/// Exported by hand rather than with `worker`'s `#[event(fetch)]`: that wraps the request in a
/// `worker::Request`, which reads the request's `cf` object and splits its URL on every request,
/// and this adapter then parsed the URL once more (with the `url` crate) before the core parsed
/// it again. Here the request stays the platform's and is read once, straight into the core's
/// (README "Performance" has what that saved). An error is a rejected promise: entry.mjs answers
/// it with the JSON 500.
#[wasm_bindgen(js_name = "fetch")]
pub fn fetch(
    req: web_sys::Request,
    env: Env,
    _ctx: worker::worker_sys::Context,
) -> Result<JsValue, JsValue> {
    // No promise when the answer is ready at once (`trap::at_once`): wasm-bindgen's promise
    // machinery cost a read from memory more than the core's work did.
    trap::at_once(trap::serving(trap::token(&req), handle(req, env)))
}

/// One request to the worker: the platform's `Response`, or, for a proxied request, the
/// promise of one (the upstream request is made and awaited in JavaScript, [`net::forward`]).
async fn handle(req: web_sys::Request, env: Env) -> Result<JsValue, JsValue> {
    #[cfg(feature = "test-trap")]
    if let Some(answer) =
        test_trap::route(&mut worker::Request::from(Clone::clone(&req)), &env).await
    {
        return answer
            .map(|r| web_sys::Response::from(r).into())
            .map_err(Into::into);
    }
    let edge = match edge(&env) {
        Ok(edge) => edge,
        Err(e) => {
            audit_config_invalid(&req);
            return from_core(Error::Config(e).into_response()).map(Into::into);
        }
    };
    #[cfg(feature = "test-cipher")]
    {
        let mut test_req = worker::Request::from(Clone::clone(&req));
        test_cipher::note(&test_req);
        if let Some(answer) = test_cipher::route(&mut test_req, &edge.config().cookie_keys).await {
            return answer
                .map(|r| web_sys::Response::from(r).into())
                .map_err(Into::into);
        }
    }
    let core_req = match into_core(&req).await {
        Ok(r) => r,
        Err(e) => {
            // Refused before the core saw it (the body limit): still with the CORS headers
            // the request's head earns.
            let head = net::read_head(&req).and_then(|b| b.body(Vec::new()).ok());
            return from_core(match head {
                Some(head) => edge.early_error(&head, e),
                None => e.into_response(),
            })
            .map(Into::into);
        }
    };
    match edge.handle(core_req).await {
        Outcome::Respond(response) => from_core(response).map(Into::into),
        Outcome::Forward(plan) => net::forward(plan, &req),
    }
}

/// Converts the platform's request into the core's. The body is read unless the request is
/// proxied (the adapter streams that one upstream as it is), and never past [`MAX_BODY_BYTES`]:
/// a declared `Content-Length` over it is refused before reading, and a body without one
/// (chunked) is read chunk by chunk and given up once it passes the limit.
///
/// The URL is the runtime's serialization (WHATWG), which `http::Uri` takes as it is.
async fn into_core(req: &web_sys::Request) -> Result<edgeward_core::Request, Error> {
    let bad = |what: &str| Error::InvalidRequest(what.to_owned());
    let mut builder = net::read_head(req).ok_or_else(|| bad("unreadable request head"))?;
    // A machine client's proof is bound to the TLS client certificate Cloudflare verified.
    if builder
        .headers_ref()
        .is_some_and(edgeward_core::machine::has_proof)
    {
        if let Some(auth) = net::tls_client_auth(req) {
            builder = builder.extension(auth);
        }
    }
    // A proxied request's body is streamed to the upstream as it is; the core never reads it.
    let proxied = builder.uri_ref().is_some_and(|uri| {
        uri.path()
            .strip_prefix(edgeward_shared::paths::API_PREFIX.trim_end_matches('/'))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    let body = if proxied {
        Vec::new()
    } else {
        if let Some(Err(refused)) = builder.headers_ref().map(|h| body::check_length(h, 0)) {
            // Refused unread: cancel the body, so nothing waits for it to arrive (`wrangler dev`
            // reads an unused body to its end before it sends the answer).
            if let Some(stream) = req.body() {
                let _ = stream.cancel();
            }
            return Err(refused);
        }
        read_capped(req, builder.headers_ref()).await?
    };
    builder
        .body(body)
        .map_err(|_| bad("malformed request line or headers"))
}

/// The request's body, never longer than [`MAX_BODY_BYTES`] (the core answers 413 past it).
///
/// A body framed by its `Content-Length` (declared, within the limit, and no
/// `Transfer-Encoding`) is read in one `arrayBuffer()` call, or not at all when the length is 0:
/// the runtime delivers exactly the declared bytes. Reading it through a stream reader cost a
/// small JSON body a reader, two reads and a lock release, each a crossing and a promise
/// (7 % of a login callback's samples in workerd). Any other body is read as a stream and
/// abandoned once it is longer than the limit, so a large or endless body is never buffered
/// whole; dropping the stream cancels the rest.
async fn read_capped(
    req: &web_sys::Request,
    headers: Option<&http::HeaderMap>,
) -> Result<Vec<u8>, Error> {
    let unreadable = || Error::InvalidRequest("unreadable body".into());
    let too_large = || Error::PayloadTooLarge {
        limit: MAX_BODY_BYTES,
    };
    let framed = headers
        .filter(|h| !h.contains_key(http::header::TRANSFER_ENCODING))
        .and_then(|h| body::declared_length(h).ok().flatten())
        .filter(|&declared| declared <= MAX_BODY_BYTES as u64);
    match framed {
        Some(0) => return Ok(Vec::new()),
        Some(_) => {
            let promise = req.array_buffer().map_err(|_| unreadable())?;
            let buffer = wasm_bindgen_futures::JsFuture::from(promise)
                .await
                .map_err(|_| unreadable())?;
            let body = js_sys::Uint8Array::new(&buffer).to_vec();
            // The runtime holds the body to its declared length; checked all the same.
            if body.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            return Ok(body);
        }
        None => {}
    }
    let Some(stream) = req.body() else {
        return Ok(Vec::new());
    };
    let mut stream = worker::ByteStream::from(stream);
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk.map_err(|_| unreadable())?);
        if body.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
    }
    Ok(body)
}

/// Converts the core's response into the platform's ([`net::from_core`]).
fn from_core(response: edgeward_core::Response) -> Result<web_sys::Response, JsValue> {
    net::from_core(response)
}

/// The core's response as a Durable Object's answer.
fn object_response(response: edgeward_core::Response) -> worker::Result<worker::Response> {
    Ok(from_core(response)?.into())
}
