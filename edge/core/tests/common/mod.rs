//! Fake ports for the core's integration tests: a settable clock, counting randomness, and an
//! HTTP client that answers from a table and records what it was asked.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod broker;
pub mod pki;
pub mod two_providers;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use aes_gcm::aead::Aead;
use edgeward_core::cookie::seal::{CookieKeys, Label, OpenError, Opened, SealError};
use edgeward_core::cookie::session::{self, AccessToken, Binding, Write};
use edgeward_core::sessions::{Registry, RegistryRequest};
use edgeward_core::{
    AeadCipher, AuthenticationFailed, Clock, Config, Edge, HttpClient, Log, LogLevel, Random,
    RandomUnavailable, RateLimiter, RateVerdict, RefreshCoordinator, Request, Response, RustCipher,
    SessionRegistry, SharedCache, SignatureVerifier, Signer, TransportError,
};
use edgeward_shared::api::UserClaims;

pub const ORIGIN: &str = "http://localhost:8787";
pub const ISSUER: &str = "http://idp.test";
pub const KEYS: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

#[derive(Default)]
pub struct FakePorts {
    pub now: Cell<u64>,
    counter: Cell<u8>,
    /// URL → (status, content type, body); a URL not in the table is a transport error.
    pub routes: RefCell<HashMap<String, (u16, String, String)>>,
    /// (URL, exact `Accept` header) → answer, looked up before `routes` (a provider that
    /// answers by the exact `Accept` it is sent, as Glewlwyd's introspection does).
    #[allow(clippy::type_complexity)]
    pub routes_by_accept: RefCell<HashMap<(String, String), (u16, String, String)>>,
    /// Every request sent: (method, URL, body).
    pub sent: RefCell<Vec<(String, String, String)>>,
    /// Accept header of every request sent.
    pub accepts: RefCell<Vec<String>>,
    /// Authorization header of every request sent (empty when there was none).
    pub authorizations: RefCell<Vec<String>>,
    /// The shared cache (the Workers Cache API's stand-in): key → (value, expires at).
    pub shared: RefCell<HashMap<String, (Vec<u8>, u64)>>,
    /// The session registry's objects, when back-channel logout is on.
    pub registry: RefCell<Option<Rc<Shards>>>,
    /// The platform's signature verdict (WebCrypto's stand-in): `None` leaves every check to
    /// Rust; `Some(v)` answers every check with `v`.
    pub signature_verdict: Cell<Option<bool>>,
    /// Signature checks asked of the platform: (alg, JWK).
    pub signature_checks: RefCell<Vec<(String, String)>>,
    /// What the platform's signer answers (`None`: it cannot sign; the core signs in Rust).
    pub signer: RefCell<Option<Vec<u8>>>,
    /// Signatures asked of the platform: (alg, private JWK, message).
    pub sign_calls: RefCell<Vec<(String, String, Vec<u8>)>>,
    /// Every line the core logged.
    pub logs: RefCell<Vec<(LogLevel, String)>>,
    /// Called with the URL of every request before it is answered (to make something happen
    /// "meanwhile", e.g. while a grant is at the IdP).
    #[allow(clippy::type_complexity)]
    pub on_send: RefCell<Option<Box<dyn Fn(&str)>>>,
    /// The coordinator every refresh was sent to: (its name, the SHA-256 of the refresh token).
    pub coordinated: RefCell<Vec<(String, String)>>,
    /// The platform's AES-GCM (WebCrypto's stand-in); by default there is none.
    pub cipher: Cell<FakeCipher>,
    /// Every call to the platform's AES-GCM: `"encrypt"` or `"decrypt"`.
    pub cipher_calls: RefCell<Vec<&'static str>>,
    /// The platform's rate limiters (the binding's stand-in): `None`, none (nothing limited);
    /// `Some(n)`, each limiter allows `n` requests per key.
    pub rate_limit: Cell<Option<u32>>,
    /// Every count asked of the limiters: (limiter, key).
    pub rate_counts: RefCell<Vec<(String, String)>>,
}

/// Counts per (limiter, key) against `rate_limit`; without one, nothing is limited.
impl RateLimiter for FakePorts {
    fn has_rate_limiter(&self, _limiter: &str) -> bool {
        self.rate_limit.get().is_some()
    }

    async fn rate_limit(&self, limiter: &str, key: &str) -> RateVerdict {
        let Some(limit) = self.rate_limit.get() else {
            return RateVerdict::Unlimited;
        };
        let mut counts = self.rate_counts.borrow_mut();
        counts.push((limiter.to_owned(), key.to_owned()));
        let seen = counts
            .iter()
            .filter(|(l, k)| l == limiter && k == key)
            .count();
        if seen as u32 > limit {
            RateVerdict::Limited
        } else {
            RateVerdict::Allowed
        }
    }
}

/// What the fake platform's AES-GCM does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FakeCipher {
    /// No cipher: every call answers `None` and the core does the work in Rust.
    #[default]
    Absent,
    /// AES-256-GCM with the `aes-gcm` crate, as WebCrypto would do it.
    AesGcm,
    /// Encrypts as [`FakeCipher::AesGcm`], but calls every decryption a forgery, the genuine ones
    /// too: a core that asked Rust again after it would open them.
    RefusesAll,
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

/// The platform's signer answers `signer`; every call recorded.
impl Signer for FakePorts {
    async fn sign_message(&self, alg: &str, jwk: &str, message: &[u8]) -> Option<Vec<u8>> {
        self.sign_calls
            .borrow_mut()
            .push((alg.to_owned(), jwk.to_owned(), message.to_vec()));
        self.signer.borrow().clone()
    }
}

/// The platform's AES-GCM as `cipher` says; every call recorded.
impl AeadCipher for FakePorts {
    async fn aes_gcm_encrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        self.cipher_calls.borrow_mut().push("encrypt");
        if self.cipher.get() == FakeCipher::Absent {
            return None;
        }
        let payload = aes_gcm::aead::Payload {
            msg: plaintext,
            aad,
        };
        Some(aes(key).encrypt(nonce.into(), payload).unwrap())
    }

    async fn aes_gcm_decrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Option<Result<Vec<u8>, AuthenticationFailed>> {
        self.cipher_calls.borrow_mut().push("decrypt");
        let payload = aes_gcm::aead::Payload {
            msg: ciphertext,
            aad,
        };
        match self.cipher.get() {
            FakeCipher::Absent => None,
            FakeCipher::AesGcm => Some(
                aes(key)
                    .decrypt(nonce.into(), payload)
                    .map_err(|_| AuthenticationFailed),
            ),
            FakeCipher::RefusesAll => Some(Err(AuthenticationFailed)),
        }
    }
}

fn aes(key: &[u8; 32]) -> aes_gcm::Aes256Gcm {
    use aes_gcm::KeyInit;
    aes_gcm::Aes256Gcm::new(key.into())
}

/// No coordinator: the core makes refresh grants itself (the coordinator's logic is
/// `edgeward_core::sessions::flight`, tested on its own); which coordinator each refresh named
/// is recorded.
impl RefreshCoordinator for FakePorts {
    async fn coordinate_refresh(
        &self,
        session: &str,
        refresh_token: &str,
    ) -> Option<Result<http::Response<Vec<u8>>, TransportError>> {
        self.coordinated.borrow_mut().push((
            session.to_owned(),
            edgeward_core::platform::crypto::token_key(refresh_token),
        ));
        None
    }
}

/// The registry's objects (Durable Objects' stand-in): one in-memory store per shard name.
#[derive(Debug, Default)]
pub struct Shards {
    pub stores: RefCell<BTreeMap<String, Rc<MemStore>>>,
    /// While set, every call fails as an unreachable object would.
    pub down: Cell<bool>,
    /// The shard of every call, in order.
    pub asked: RefCell<Vec<String>>,
}

impl Shards {
    /// The store of `shard` (made on first use, as a Durable Object is).
    pub fn store(&self, shard: &str) -> Rc<MemStore> {
        self.stores
            .borrow_mut()
            .entry(shard.to_owned())
            .or_default()
            .clone()
    }

    /// Every key in every shard, as `shard/key`.
    pub fn keys(&self) -> Vec<String> {
        self.stores
            .borrow()
            .iter()
            .flat_map(|(shard, store)| {
                store
                    .0
                    .borrow()
                    .keys()
                    .map(|k| format!("{shard}/{k}"))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// A registry in memory when `registry` is set (back-channel logout on), else none.
impl SessionRegistry for FakePorts {
    fn has_registry(&self) -> bool {
        self.registry.borrow().is_some()
    }

    async fn registry(&self, shard: &str, request: &str) -> Result<String, TransportError> {
        let shards = self.registry.borrow().clone().ok_or(TransportError {
            reason: "no registry".into(),
        })?;
        shards.asked.borrow_mut().push(shard.to_owned());
        if shards.down.get() {
            return Err(TransportError {
                reason: format!("{shard}: connection refused"),
            });
        }
        let request: RegistryRequest = serde_json::from_str(request).unwrap();
        let answer = Registry::handle(&*shards.store(shard), &request).await?;
        Ok(serde_json::to_string(&answer).unwrap())
    }
}

/// The registry's store for tests.
pub use edgeward_core::sessions::MemoryStore as MemStore;

impl SharedCache for FakePorts {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let now = self.now.get();
        self.shared
            .borrow()
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map(|(v, _)| v.clone())
    }

    async fn delete(&self, key: &str) {
        self.shared.borrow_mut().remove(key);
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
        if let Some(hook) = self.on_send.borrow().as_ref() {
            hook(&url);
        }
        self.accepts.borrow_mut().push(
            request
                .headers()
                .get("accept")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
        );
        self.authorizations.borrow_mut().push(
            request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
        );
        self.sent.borrow_mut().push((
            request.method().to_string(),
            url.clone(),
            String::from_utf8_lossy(request.body()).into_owned(),
        ));
        let accept = self.accepts.borrow().last().cloned().unwrap_or_default();
        let by_accept = self
            .routes_by_accept
            .borrow()
            .get(&(url.clone(), accept))
            .cloned();
        match by_accept.or_else(|| self.routes.borrow().get(&url).cloned()) {
            Some((status, content_type, body)) => Ok(http::Response::builder()
                .status(status)
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

    /// Answers `url` so only to a request whose `Accept` header is exactly `accept`.
    pub fn route_for_accept(
        &self,
        url: &str,
        accept: &str,
        status: u16,
        content_type: &str,
        body: impl Into<String>,
    ) {
        self.routes_by_accept.borrow_mut().insert(
            (url.to_owned(), accept.to_owned()),
            (status, content_type.to_owned(), body.into()),
        );
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

    /// With a session registry (all shards in memory).
    pub fn with_registry(self) -> Self {
        *self.registry.borrow_mut() = Some(Rc::new(Shards::default()));
        self
    }

    /// The registry's objects (panics without a registry).
    pub fn shards(&self) -> Rc<Shards> {
        self.registry.borrow().clone().expect("a registry")
    }

    /// The IdP's discovery document, as a real provider would publish it.
    pub fn with_discovery(self) -> Self {
        self.route(
            &format!("{ISSUER}/.well-known/openid-configuration"),
            200,
            discovery().to_string(),
        );
        self
    }
}

/// The fake IdP's discovery document.
pub fn discovery() -> serde_json::Value {
    serde_json::json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/auth"),
        "token_endpoint": format!("{ISSUER}/token"),
        "jwks_uri": format!("{ISSUER}/jwks"),
        "end_session_endpoint": format!("{ISSUER}/session/end"),
        "revocation_endpoint": format!("{ISSUER}/token/revocation"),
        "introspection_endpoint": format!("{ISSUER}/token/introspection"),
    })
}

pub fn config() -> Config {
    config_with(&[])
}

/// The test configuration with `extra` (name, value) variables added or replaced.
pub fn config_with(extra: &[(&str, &str)]) -> Config {
    config_result(extra).unwrap()
}

/// The test configuration with `extra` on top, as `Config::from_vars` answers it (to test a bad
/// value).
pub fn config_result(extra: &[(&str, &str)]) -> Result<Config, edgeward_core::ConfigError> {
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

/// A session of `sub` (IdP session `sid`) begun at `started_at`, with binding id `id`.
pub fn binding(id: &str, sub: &str, sid: Option<&str>, started_at: u64) -> Binding {
    Binding {
        id: id.into(),
        sub: sub.into(),
        sid: sid.map(str::to_owned),
        issuer: ISSUER.into(),
        provider: None,
        started_at,
        ends_at: started_at + 24 * 3600,
    }
}

/// The `Cookie` header of a browser holding a session (ID, access and, when given, refresh
/// cookies), sealed exactly as `config`'s edge seals them at login.
pub fn session_cookies(
    config: &Config,
    b: &Binding,
    access: &str,
    refresh: Option<&str>,
    now: u64,
) -> String {
    let mut headers = http::HeaderMap::new();
    let claims = UserClaims {
        sub: b.sub.clone(),
        ..Default::default()
    };
    futures_executor::block_on(session::store(
        &mut headers,
        &config.cookie_keys,
        &FakePorts::default(),
        now,
        &Write {
            binding: b,
            csrf: "c",
            access: &AccessToken {
                token: access.into(),
                exp: now + 300,
            },
            refresh,
            login: Some((&claims, "x.y.z")),
        },
    ))
    .unwrap();
    cookie_header(&headers)
}

/// Sealing and opening waited for, as the sync tests want them; opening in Rust (no platform
/// cipher), sealing with the ports given.
pub trait SealNow {
    fn seal_now(
        &self,
        name: &str,
        label: Label<'_>,
        plaintext: &[u8],
        ports: &(impl Random + AeadCipher),
    ) -> Result<String, SealError>;
    fn open_now(&self, name: &str, sealed: &str, now: u64) -> Result<Opened<Vec<u8>>, OpenError>;
    fn open_json_now<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        sealed: &str,
        now: u64,
    ) -> Result<Opened<T>, OpenError>;
}

impl SealNow for CookieKeys {
    fn seal_now(
        &self,
        name: &str,
        label: Label<'_>,
        plaintext: &[u8],
        ports: &(impl Random + AeadCipher),
    ) -> Result<String, SealError> {
        futures_executor::block_on(self.seal(ports, name, label, plaintext))
    }
    fn open_now(&self, name: &str, sealed: &str, now: u64) -> Result<Opened<Vec<u8>>, OpenError> {
        futures_executor::block_on(self.open(&RustCipher, name, sealed, now))
    }
    fn open_json_now<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        sealed: &str,
        now: u64,
    ) -> Result<Opened<T>, OpenError> {
        futures_executor::block_on(self.open_json(&RustCipher, name, sealed, now))
    }
}

/// The `Cookie` header a browser sends after receiving these `Set-Cookie` headers (cleared
/// cookies left out).
pub fn cookie_header(headers: &http::HeaderMap) -> String {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| {
            let s = v.to_str().unwrap();
            let pair = s.split(';').next().unwrap();
            (!s.contains("Max-Age=0")).then(|| pair.to_owned())
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value(header: &str, name: &str) -> Option<String> {
    header
        .split("; ")
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

/// The fake IdP's ES256 signing key (kid `idp`), as a `kid:<base64url scalar>` spec.
pub const IDP_KEY: &str = "idp:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";

/// Claims signed with [`IDP_KEY`] (ES256, kid `idp`), with `typ` when given.
pub fn idp_sign(claims: &serde_json::Value, typ: Option<&str>) -> String {
    use base64::Engine;
    use jwt_compact::AlgorithmExt;
    let secret = IDP_KEY.split_once(':').unwrap().1;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(secret)
        .unwrap();
    let key = p256::ecdsa::SigningKey::from_slice(&bytes).unwrap();
    let mut header = jwt_compact::Header::empty().with_key_id("idp");
    if let Some(typ) = typ {
        header = header.with_token_type(typ);
    }
    jwt_compact::alg::Es256
        .token(&header, &jwt_compact::Claims::new(claims.clone()), &key)
        .unwrap()
}

impl FakePorts {
    /// An IdP with discovery (`extra` members laid over it), the [`IDP_KEY`] JWKS, a
    /// revocation endpoint that accepts everything and an introspection endpoint that says
    /// the token is active.
    pub fn with_idp(self, extra: serde_json::Value) -> Self {
        let mut discovery = discovery();
        if let (Some(d), Some(e)) = (discovery.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                d.insert(k.clone(), v.clone());
            }
        }
        self.route(
            &format!("{ISSUER}/.well-known/openid-configuration"),
            200,
            discovery.to_string(),
        );
        self.route(
            &format!("{ISSUER}/jwks"),
            200,
            edgeward_core::proxy::phantom::MintKey::parse(IDP_KEY)
                .unwrap()
                .jwks_json(),
        );
        self.route(&format!("{ISSUER}/token/revocation"), 200, "");
        self.route(
            &format!("{ISSUER}/token/introspection"),
            200,
            serde_json::json!({
                "active": true, "sub": "demo", "exp": self.now.get() + 3600,
                "token_type": "Bearer", "client_id": "edgeward",
            })
            .to_string(),
        );
        self
    }

    /// The bodies of every request sent to `url`.
    pub fn bodies_to(&self, url: &str) -> Vec<String> {
        self.sent
            .borrow()
            .iter()
            .filter(|(_, u, _)| u == url)
            .map(|(_, _, b)| b.clone())
            .collect()
    }
}

/// How a test login goes.
pub struct Login<'a> {
    /// The user.
    pub sub: &'a str,
    /// The IdP session id in the ID token.
    pub sid: Option<&'a str>,
    /// The tokens the IdP issues.
    pub access: &'a str,
    /// `None`: the IdP issues no refresh token.
    pub refresh: Option<&'a str>,
    /// The `iss` of the authorization response (RFC 9207); `None` leaves it out.
    pub iss: Option<&'a str>,
    /// Extra claims laid over the ID token's.
    pub claims: serde_json::Value,
    /// The body of login/start.
    pub start: serde_json::Value,
    /// Cookies the browser already has (an earlier session), as a `Cookie` header.
    pub cookies: &'a str,
}

impl Default for Login<'_> {
    fn default() -> Self {
        Self {
            sub: "demo",
            sid: Some("idp-session-1"),
            access: "opaque-at",
            refresh: Some("opaque-rt"),
            iss: Some(ISSUER),
            claims: serde_json::json!({}),
            start: serde_json::json!({}),
            cookies: "",
        }
    }
}

/// A whole login against the fake IdP (login/start, the IdP's tokens with an ES256 ID token,
/// login/end). Returns the login/end response.
pub fn login_with(edge: &Edge<FakePorts>, l: &Login<'_>) -> Response {
    let start = call(
        edge,
        request(
            "POST",
            "/auth/login/start",
            &[("origin", ORIGIN), ("content-type", "application/json")],
            &l.start.to_string(),
        ),
    );
    assert_eq!(
        start.status(),
        200,
        "{}",
        String::from_utf8_lossy(start.body())
    );
    let url = url::Url::parse(json(&start)["authorizationUrl"].as_str().unwrap()).unwrap();
    let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
    let (_, login_cookie, _) = set_cookies(&start).remove(0);
    let now = edge.ports().now.get();
    let mut claims = serde_json::json!({
        "iss": ISSUER, "sub": l.sub, "aud": "edgeward", "nonce": q["nonce"],
        "iat": now, "exp": now + 300,
    });
    if let Some(sid) = l.sid {
        claims["sid"] = serde_json::json!(sid);
    }
    for (k, v) in l.claims.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let mut tokens = serde_json::json!({
        "access_token": l.access, "token_type": "Bearer", "expires_in": 300,
        "id_token": idp_sign(&claims, None),
    });
    if let Some(rt) = l.refresh {
        tokens["refresh_token"] = serde_json::json!(rt);
    }
    edge.ports()
        .route(&format!("{ISSUER}/token"), 200, tokens.to_string());
    let mut page = format!("{ORIGIN}/callback?code=the-code&state={}", q["state"]);
    if let Some(iss) = l.iss {
        page.push_str(&format!(
            "&iss={}",
            url::form_urlencoded::byte_serialize(iss.as_bytes()).collect::<String>()
        ));
    }
    let mut cookie = format!("__Host-edgeward-login={login_cookie}");
    if !l.cookies.is_empty() {
        cookie = format!("{}; {cookie}", l.cookies);
    }
    post_login_end(edge, &page, &cookie)
}

/// `POST /auth/login/end` from the callback page `page`, with the browser's `cookie` header.
pub fn post_login_end(edge: &Edge<FakePorts>, page: &str, cookie: &str) -> Response {
    call(
        edge,
        request(
            "POST",
            "/auth/login/end",
            &[
                ("origin", ORIGIN),
                ("cookie", cookie),
                ("content-type", "application/json"),
            ],
            &serde_json::json!({ "pageUrl": page }).to_string(),
        ),
    )
}

/// A login that must succeed: the browser's `Cookie` header afterwards, and the CSRF value.
pub fn signed_in(edge: &Edge<FakePorts>, l: &Login<'_>) -> (String, String) {
    let res = login_with(edge, l);
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let csrf = json(&res)["csrf"].as_str().unwrap().to_owned();
    (cookie_header(res.headers()), csrf)
}

/// [`signed_in`] as the user `sub`, the rest of the login as [`Login::default`].
pub fn signed_in_as(edge: &Edge<FakePorts>, sub: &str) -> (String, String) {
    signed_in(
        edge,
        &Login {
            sub,
            ..Login::default()
        },
    )
}

/// The jar after `res`: `cookies` with every `Set-Cookie` of the response applied.
pub fn apply(cookies: &str, res: &Response) -> String {
    let mut jar: Vec<(String, String)> = cookies
        .split("; ")
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('=').map(|(n, v)| (n.to_owned(), v.to_owned())))
        .collect();
    for (name, value, raw) in set_cookies(res) {
        jar.retain(|(n, _)| *n != name);
        if !raw.contains("Max-Age=0") {
            jar.push((name, value));
        }
    }
    jar.iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `POST /auth/refresh` with the cookie header `cookies` and its CSRF header, from the SPA's
/// origin.
pub fn refresh(edge: &Edge<FakePorts>, cookies: &str, csrf: &str) -> Response {
    call(
        edge,
        request(
            "POST",
            "/auth/refresh",
            &[
                ("origin", ORIGIN),
                ("x-edgeward-csrf", csrf),
                ("cookie", cookies),
            ],
            "",
        ),
    )
}

/// An answer's status and its JSON `code` (empty when there is none).
pub fn code(res: &Response) -> (u16, String) {
    (
        res.status().as_u16(),
        json(res)["code"].as_str().unwrap_or("").to_owned(),
    )
}

/// The cookies named `names` out of `jar`, as a `Cookie` header.
pub fn pick(jar: &str, names: &[&str]) -> String {
    names
        .iter()
        .filter_map(|n| cookie_value(jar, n).map(|v| format!("{n}={v}")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// An edge at a fixed time with the fake IdP and registry, in session mode `mode`.
pub fn edge_in_mode(mode: &str, now: u64) -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(now);
    let ports = ports.with_idp(serde_json::json!({})).with_registry();
    Edge::new(config_with(&[("EDGEWARD_SESSION_MODE", mode)]), ports)
}

/// A sealed value's five dot-separated parts: version, kid, tag, expiry, payload.
pub fn parts(value: &str) -> Vec<String> {
    value.splitn(5, '.').map(str::to_owned).collect()
}

/// `jar` (a `Cookie` header) with cookie `name`'s value replaced by `f(value)`.
pub fn edit(jar: &str, name: &str, f: impl Fn(&str) -> String) -> String {
    jar.split("; ")
        .map(|p| match p.split_once('=') {
            Some((n, v)) if n == name => format!("{n}={}", f(v)),
            _ => p.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Seals `value` in format 2 with the test key `k1` (`KEYS`) for the test deployment, as the
/// release before did: HKDF label `edgeward/cookie/2` over a fixed `salt`, the expiry inside the
/// plaintext, associated data `edgeward/2/<kid>/<deployment>/<name>`.
pub fn seal_format_2(name: &str, value: &serde_json::Value, exp: u64, salt: u8) -> String {
    use aes_gcm::aead::{KeyInit, Payload};
    use aes_gcm::{Aes256Gcm, Nonce};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let material: Vec<u8> = (0u8..32).collect(); // KEYS is 000102…1f
    let hkdf = hkdf::Hkdf::<sha2::Sha256>::from_prk(&material).unwrap();
    let salt = [salt; 16];
    let mut okm = [0u8; 44];
    hkdf.expand_multi_info(&[b"edgeward/cookie/2", &salt], &mut okm)
        .unwrap();
    let cipher = Aes256Gcm::new_from_slice(&okm[..32]).unwrap();
    let plaintext = serde_json::to_vec(&serde_json::json!({ "exp": exp, "v": value })).unwrap();
    let aad = format!("edgeward/2/k1/{ORIGIN} edgeward/{name}");
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&okm[32..]),
            Payload {
                msg: &plaintext,
                aad: aad.as_bytes(),
            },
        )
        .unwrap();
    let mut payload = salt.to_vec();
    payload.extend_from_slice(&ct);
    format!("2.k1.{}", URL_SAFE_NO_PAD.encode(payload))
}
