//! Whole requests through [`Edge::handle`], timed in V8: a real `Edge` (configuration from
//! variables, as the worker builds it) on in-memory ports — the clock, `crypto.getRandomValues`,
//! a session registry that answers "live", a shared cache in a map, a log that drops, an
//! identity provider and an introspection endpoint answered from memory, and WebCrypto for
//! signatures (the worker's path). The signed-in jar comes from a real login through the core
//! (login/start, an ES256 ID token signed here, login/end), so its cookies are what a browser
//! holds.
//!
//! What this leaves out is the adapter's work (converting the platform's request and response,
//! edge/worker) and the runtime's; `scripts/bench-proxy.mjs` measures those in workerd.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use edgeward_core::sessions::RegistryAnswer;
use edgeward_core::{
    AeadCipher, Clock, Config, Edge, HttpClient, Log, Outcome, Random, RandomUnavailable,
    RefreshCoordinator, Request, Response, SessionRegistry, SharedCache, SignatureVerifier, Signer,
    TransportError,
};
use edgeward_webcrypto::WebCrypto;
use wasm_bindgen::prelude::*;

const ORIGIN: &str = "http://localhost:8787";
const ISSUER: &str = "http://idp.test";
const API: &str = "http://api.test";
/// The test IdP's ES256 key (kid `idp`), as a `kid:<base64url scalar>` spec.
const IDP_KEY: &str = "idp:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: sub-millisecond, unlike `Date.now()`.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn perf_now() -> f64;
}

/// The in-memory platform.
#[derive(Debug, Default)]
struct BenchPorts {
    now: Cell<u64>,
    /// URL → JSON body; a URL not in the table is a transport error.
    routes: RefCell<HashMap<String, String>>,
    shared: RefCell<HashMap<String, Vec<u8>>>,
    /// Outgoing requests made (to check a warm path makes none).
    sent: Cell<u32>,
}

impl Clock for BenchPorts {
    fn now(&self) -> u64 {
        self.now.get()
    }
}

impl Random for BenchPorts {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
        getrandom::getrandom(dest).map_err(|_| RandomUnavailable)
    }
}

impl HttpClient for BenchPorts {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        self.sent.set(self.sent.get() + 1);
        let url = request.uri().to_string();
        let body = self.routes.borrow().get(&url).cloned();
        match body {
            Some(body) => http::Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(body.into_bytes())
                .map_err(|e| TransportError {
                    reason: e.to_string(),
                }),
            None => Err(TransportError {
                reason: format!("nothing answers {url}"),
            }),
        }
    }
}

impl SharedCache for BenchPorts {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.shared.borrow().get(key).cloned()
    }
    async fn put(&self, key: &str, value: Vec<u8>, _ttl: u64) {
        self.shared.borrow_mut().insert(key.to_owned(), value);
    }
    async fn delete(&self, key: &str) {
        self.shared.borrow_mut().remove(key);
    }
}

/// No coordinator: the core makes the refresh grant itself (in the worker the coordinator
/// object runs the same grant).
impl RefreshCoordinator for BenchPorts {
    async fn coordinate_refresh(
        &self,
        _session: &str,
        _refresh_token: &str,
    ) -> Option<Result<http::Response<Vec<u8>>, TransportError>> {
        None
    }
}

/// A registry that says every session is live.
impl edgeward_core::RateLimiter for BenchPorts {}

impl SessionRegistry for BenchPorts {
    fn has_registry(&self) -> bool {
        true
    }
    async fn registry(&self, _shard: &str, _request: &str) -> Result<String, TransportError> {
        serde_json::to_string(&RegistryAnswer::Live).map_err(|e| TransportError {
            reason: e.to_string(),
        })
    }
}

impl SignatureVerifier for BenchPorts {
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

/// Minted tokens signed by WebCrypto, as in the worker.
impl Signer for BenchPorts {
    async fn sign_message(&self, alg: &str, jwk: &str, message: &[u8]) -> Option<Vec<u8>> {
        WebCrypto.sign_message(alg, jwk, message).await
    }
}

/// The cookies' AES-GCM in Rust here (the port answers `None`): Node's WebCrypto runs AES on
/// libuv's thread pool, unlike workerd's, so it would not stand for the worker's cost
/// (README "Cookies"; `scripts/bench-wasm-workerd.mjs` has both sides in workerd).
impl AeadCipher for BenchPorts {}

impl Log for BenchPorts {}

fn js(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn config() -> Result<Config, JsError> {
    let routes = format!(
        r#"[{{"prefix": "/api/whoami/", "upstream": "{API}/whoami/", "methods": ["GET"]}},
            {{"prefix": "/api/echo/", "upstream": "{API}/echo/", "methods": ["GET", "POST", "PUT", "PATCH", "DELETE"]}}]"#
    );
    Config::from_vars(|name| {
        Some(
            match name {
                "EDGEWARD_PROFILE" => "local",
                "EDGEWARD_ORIGIN" => ORIGIN,
                "EDGEWARD_COOKIE_KEYS" => {
                    "t1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                }
                "OIDC_ISSUER" => ISSUER,
                "OIDC_CLIENT_ID" => "edgeward",
                "OIDC_CLIENT_SECRET" => "integration-test-secret",
                "EDGEWARD_API_ROUTES" => routes.as_str(),
                "EDGEWARD_MINT_KEY" => "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
                "EDGEWARD_PHANTOM_MAX_TTL" => "3600",
                _ => return None,
            }
            .to_owned(),
        )
    })
    .map_err(js)
}

fn idp_routes(ports: &BenchPorts) -> Result<(), JsError> {
    let discovery = serde_json::json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/auth"),
        "token_endpoint": format!("{ISSUER}/token"),
        "jwks_uri": format!("{ISSUER}/jwks"),
        "end_session_endpoint": format!("{ISSUER}/session/end"),
        "revocation_endpoint": format!("{ISSUER}/token/revocation"),
        "introspection_endpoint": format!("{ISSUER}/token/introspection"),
    });
    let jwks = edgeward_core::proxy::phantom::MintKey::parse(IDP_KEY)
        .map_err(|e| JsError::new(&e))?
        .jwks_json();
    let introspection = serde_json::json!({
        "active": true, "sub": "demo", "exp": ports.now() + 24 * 3600,
        "token_type": "Bearer", "client_id": "edgeward", "scope": "openid profile email",
    });
    let mut routes = ports.routes.borrow_mut();
    routes.insert(
        format!("{ISSUER}/.well-known/openid-configuration"),
        discovery.to_string(),
    );
    routes.insert(format!("{ISSUER}/jwks"), jwks);
    routes.insert(
        format!("{ISSUER}/token/introspection"),
        introspection.to_string(),
    );
    Ok(())
}

/// An ES256 ID token for `nonce`, signed with [`IDP_KEY`], with the claims a provider such as
/// the test IdP (oidc-provider) puts in one.
fn id_token(now: u64, nonce: &str) -> Result<String, JsError> {
    use base64::Engine;
    use jwt_compact::AlgorithmExt;
    let secret = IDP_KEY.split_once(':').map(|(_, s)| s).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(secret)
        .map_err(js)?;
    let key = p256::ecdsa::SigningKey::from_slice(&bytes).map_err(js)?;
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": "demo", "aud": "edgeward", "nonce": nonce,
        "iat": now, "exp": now + 3600, "auth_time": now, "sid": "5Zb2yWq1t3n9xQ0pL8kR4",
        "at_hash": "q1oYJwVz0PmgJ4NsUMgO0w", "name": "Demo User",
        "email": "demo@example.com", "preferred_username": "demo",
    });
    let header = jwt_compact::Header::empty().with_key_id("idp");
    jwt_compact::alg::Es256
        .token(&header, &jwt_compact::Claims::new(claims), &key)
        .map_err(js)
}

/// The test IdP's token answer to a code or refresh grant.
fn token_answer(id_token: Option<&str>, n: u64) -> String {
    let mut answer = serde_json::json!({
        // oidc-provider's opaque tokens are 43 characters.
        "access_token": format!("{:0>43}", format!("at{n}")),
        "refresh_token": format!("{:0>43}", format!("rt{n}")),
        "token_type": "Bearer", "expires_in": 3600, "scope": "openid profile email offline_access",
    });
    if let Some(t) = id_token {
        answer["id_token"] = serde_json::json!(t);
    }
    answer.to_string()
}

fn request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Request, JsError> {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("{ORIGIN}{path}"));
    // What Chrome sends with a same-origin fetch (the adapter copies every header).
    for (k, v) in [
        ("accept", "*/*"),
        ("accept-encoding", "gzip, deflate, br, zstd"),
        ("accept-language", "en-US,en;q=0.9"),
        ("host", "localhost:8787"),
        ("referer", "http://localhost:8787/"),
        ("sec-ch-ua", "\"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\""),
        ("sec-ch-ua-mobile", "?0"),
        ("sec-ch-ua-platform", "\"Linux\""),
        ("sec-fetch-dest", "empty"),
        ("sec-fetch-mode", "cors"),
        ("sec-fetch-site", "same-origin"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        ),
    ] {
        builder = builder.header(k, v);
    }
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(body.as_bytes().to_vec()).map_err(js)
}

/// The browser's jar after `response`: `jar` with its `Set-Cookie`s applied.
fn apply(jar: &str, response: &Response) -> String {
    let mut cookies: Vec<(String, String)> = jar
        .split("; ")
        .filter_map(|p| p.split_once('=').map(|(n, v)| (n.to_owned(), v.to_owned())))
        .collect();
    for set in response.headers().get_all(http::header::SET_COOKIE) {
        let Ok(set) = set.to_str() else { continue };
        let pair = set.split(';').next().unwrap_or_default();
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        cookies.retain(|(n, _)| n != name);
        if !set.contains("Max-Age=0") {
            cookies.push((name.to_owned(), value.to_owned()));
        }
    }
    cookies
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn respond(edge: &Edge<BenchPorts>, req: Request) -> Result<Response, JsError> {
    match edge.handle(req).await {
        Outcome::Respond(r) => Ok(r),
        Outcome::Forward(_) => Err(JsError::new("forwarded, not answered")),
    }
}

/// The isolate's edge and a signed-in browser.
struct Bench {
    edge: Edge<BenchPorts>,
    /// The browser's `Cookie` header.
    jar: RefCell<String>,
    csrf: String,
    logins: Cell<u64>,
}

thread_local! {
    static BENCH: RefCell<Option<Rc<Bench>>> = const { RefCell::new(None) };
}

/// A whole login through the core; the timed part is login/end only. Returns the response and
/// the milliseconds login/end took.
async fn login(edge: &Edge<BenchPorts>, n: u64) -> Result<(Response, f64), JsError> {
    let start = respond(
        edge,
        request(
            "POST",
            "/auth/login/start",
            &[("origin", ORIGIN), ("content-type", "application/json")],
            "{}",
        )?,
    )
    .await?;
    if start.status() != 200 {
        return Err(JsError::new("login/start failed"));
    }
    let answer: serde_json::Value = serde_json::from_slice(start.body()).map_err(js)?;
    let url =
        url::Url::parse(answer["authorizationUrl"].as_str().unwrap_or_default()).map_err(js)?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (state, nonce) = (param("state"), param("nonce"));
    let token = id_token(edge.ports().now(), &nonce)?;
    edge.ports()
        .routes
        .borrow_mut()
        .insert(format!("{ISSUER}/token"), token_answer(Some(&token), n));
    let jar = apply("", &start);
    let page = format!("{ORIGIN}/callback?code=the-code&state={state}&iss=http%3A%2F%2Fidp.test");
    let body = serde_json::json!({ "pageUrl": page }).to_string();
    let req = request(
        "POST",
        "/auth/login/end",
        &[
            ("origin", ORIGIN),
            ("cookie", &jar),
            ("content-type", "application/json"),
        ],
        &body,
    )?;
    let t0 = perf_now();
    let end = respond(edge, req).await?;
    let took = perf_now() - t0;
    if end.status() != 200 {
        return Err(JsError::new(&format!(
            "login/end failed: {}",
            String::from_utf8_lossy(end.body())
        )));
    }
    Ok((end, took))
}

async fn bench() -> Result<Rc<Bench>, JsError> {
    if let Some(b) = BENCH.with(|b| b.borrow().clone()) {
        return Ok(b);
    }
    let ports = BenchPorts::default();
    ports.now.set((js_sys::Date::now() / 1000.0) as u64);
    idp_routes(&ports)?;
    let edge = Edge::new(config()?, ports);
    let (end, _) = login(&edge, 0).await?;
    let answer: serde_json::Value = serde_json::from_slice(end.body()).map_err(js)?;
    let csrf = answer["csrf"].as_str().unwrap_or_default().to_owned();
    let jar = apply("", &end);
    let b = Rc::new(Bench {
        edge,
        jar: RefCell::new(jar),
        csrf,
        logins: Cell::new(1),
    });
    BENCH.with(|cell| *cell.borrow_mut() = Some(b.clone()));
    Ok(b)
}

/// The signed-in browser's `Cookie` header (to check its size).
#[wasm_bindgen]
pub async fn edge_jar() -> Result<String, JsError> {
    Ok(bench().await?.jar.borrow().clone())
}

/// What a request needs, built once per timed call outside the timer.
#[derive(Clone, Copy)]
enum Case {
    NotFound,
    Session,
    Proxied,
}

fn case_request(b: &Bench, case: Case) -> Result<Request, JsError> {
    match case {
        Case::NotFound => request("GET", "/auth/nothing-here", &[], ""),
        Case::Session => request("GET", "/auth/session", &[("cookie", &b.jar.borrow())], ""),
        Case::Proxied => request("GET", "/api/whoami/", &[("cookie", &b.jar.borrow())], ""),
    }
}

/// Runs `case` `n` times; the mean microseconds of `Edge::handle` (request built outside the
/// timer, response dropped inside it).
async fn time_case(case: Case, n: u32) -> Result<f64, JsError> {
    let b = bench().await?;
    // Once untimed: the proxied case's first call introspects and mints (the cold path).
    let first = b.edge.handle(case_request(&b, case)?).await;
    check(case, &first)?;
    let sent = b.edge.ports().sent.get();
    let mut total = 0.0;
    for _ in 0..n {
        let req = case_request(&b, case)?;
        let t0 = perf_now();
        let outcome = b.edge.handle(req).await;
        drop(std::hint::black_box(outcome));
        total += perf_now() - t0;
    }
    if b.edge.ports().sent.get() != sent {
        return Err(JsError::new("a warm call went to the network"));
    }
    Ok(total * 1000.0 / f64::from(n.max(1)))
}

fn check(case: Case, outcome: &Outcome) -> Result<(), JsError> {
    let ok = match (case, outcome) {
        (Case::NotFound, Outcome::Respond(r)) => r.status() == 404,
        (Case::Session, Outcome::Respond(r)) => {
            r.status() == 200 && r.body().windows(16).any(|w| w == b"\"isLoggedIn\":tru")
        }
        (Case::Proxied, Outcome::Forward(f)) => f.headers.contains_key("authorization"),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(JsError::new("the case did not answer as expected"))
    }
}

/// `Edge::handle` of a 404 the core answers (no cookie).
#[wasm_bindgen]
pub async fn edge_not_found(n: u32) -> Result<f64, JsError> {
    time_case(Case::NotFound, n).await
}

/// `Edge::handle` of `GET /auth/session` with the signed-in jar (stateless mode; the registry's
/// "live" answer cached by the isolate after the first call, as in the worker).
#[wasm_bindgen]
pub async fn edge_session(n: u32) -> Result<f64, JsError> {
    time_case(Case::Session, n).await
}

/// `Edge::handle` of `GET /api/whoami/` with the signed-in jar, the phantom token in the
/// isolate's cache (a warm request: up to the forward plan, without the upstream call).
#[wasm_bindgen]
pub async fn edge_proxied(n: u32) -> Result<f64, JsError> {
    time_case(Case::Proxied, n).await
}

/// `POST /auth/login/end` (the code exchange answered from memory, the ID token's ES256
/// signature checked by WebCrypto), each after its own login/start (untimed).
#[wasm_bindgen]
pub async fn edge_login_end(n: u32) -> Result<f64, JsError> {
    let b = bench().await?;
    let mut total = 0.0;
    for _ in 0..n {
        b.logins.set(b.logins.get() + 1);
        let (_, took) = login(&b.edge, b.logins.get()).await?;
        total += took;
    }
    Ok(total * 1000.0 / f64::from(n.max(1)))
}

/// `POST /auth/refresh` with the signed-in jar (the grant answered from memory with a rotated
/// refresh token); the jar is updated after each, as a browser's would be.
#[wasm_bindgen]
pub async fn edge_refresh(n: u32) -> Result<f64, JsError> {
    let b = bench().await?;
    let mut total = 0.0;
    for i in 0..n {
        let req = {
            b.edge.ports().routes.borrow_mut().insert(
                format!("{ISSUER}/token"),
                token_answer(None, 1_000_000 + u64::from(i)),
            );
            request(
                "POST",
                "/auth/refresh",
                &[
                    ("origin", ORIGIN),
                    ("x-edgeward-csrf", &b.csrf),
                    ("cookie", &b.jar.borrow()),
                ],
                "",
            )?
        };
        let t0 = perf_now();
        let response = respond(&b.edge, req).await?;
        total += perf_now() - t0;
        if response.status() != 204 {
            return Err(JsError::new(&format!(
                "refresh failed: {}",
                String::from_utf8_lossy(response.body())
            )));
        }
        let jar = apply(&b.jar.borrow(), &response);
        *b.jar.borrow_mut() = jar;
    }
    Ok(total * 1000.0 / f64::from(n.max(1)))
}
