//! The worker's traffic with the runtime, each step one call into JavaScript: reading an
//! incoming request's head, building the core's answer, forwarding a proxied request and building its answer, the agent's
//! outgoing requests (the `HttpClient` port) and its calls to the Durable Objects.
//!
//! Every crossing between wasm and JavaScript costs (wasm-bindgen copies strings through
//! `TextEncoder`/`TextDecoder`, and every method called on a JavaScript object is a crossing of
//! its own), so header lists cross as ONE string, `name:value` lines joined by `\n`: a header
//! name is a token (no `:`), and the Fetch standard's `Headers` refuse a value with CR, LF or
//! NUL, so the form is unambiguous. Into wasm they come as UTF-8 bytes from `TextEncoder`
//! (native), not as a JavaScript string, which wasm-bindgen copies in one character at a time
//! while it is ASCII. Before this, a request's headers were read pair by pair
//! through `Headers.entries()` and `js_sys::Array` (five crossings a header), and the proxy's and
//! the agent's requests were built on the `worker` crate's types (README "Performance" has what
//! it saved).
//!
//! The JavaScript side is `edge/worker/js/net.mjs` (its own file, so tests/js/ can run it in
//! Node).
//!
//! What is forwarded is exactly what the core decided ([`Forward`]): its method, URL and header
//! list (already allow-listed) out; the upstream's headers are filtered by the core's rules for
//! the route ([`AnswerRules`], applied in JavaScript), or, for an answer those rules leave to it,
//! by the core itself ([`answer_headers`], through [`ProxyHooks::answer`]). The bodies
//! are streamed: the browser's request body goes to the upstream as the runtime's
//! `ReadableStream`, the upstream's answer body back the same way; Rust never holds them.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use edgeward_core::platform::header_list::{self, list_of, map_of};
use edgeward_core::proxy::{
    answer_headers, content_type_as_sent, AnswerRules, Forward, Route, JUDGED_RESPONSE_HEADERS,
    SCRIPT_TYPE_AS_SENT,
};
use edgeward_core::{Error, TransportError};
use http::{HeaderMap, HeaderValue};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use worker::web_sys;

use crate::trap;

#[wasm_bindgen(module = "/js/net.mjs")]
extern "C" {
    #[wasm_bindgen(js_name = edgewardRequestHead)]
    fn request_head(request: &web_sys::Request) -> Vec<u8>;

    #[wasm_bindgen(js_name = edgewardTlsClientAuth)]
    fn tls_client_auth_js(request: &web_sys::Request) -> String;

    #[wasm_bindgen(catch, js_name = edgewardCoreResponse)]
    fn core_response(status: u16, headers: &str, body: &[u8])
        -> Result<web_sys::Response, JsValue>;

    #[wasm_bindgen(catch, js_name = edgewardProxy)]
    #[allow(clippy::too_many_arguments)]
    fn proxy_js(
        hooks: &JsValue,
        token: &JsValue,
        route: u32,
        rules: &JsValue,
        extra: &str,
        method: &str,
        url: &str,
        headers: &str,
        body: Option<web_sys::ReadableStream>,
    ) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(catch, js_name = edgewardExchange)]
    fn exchange_js(
        method: &str,
        url: &str,
        headers: &str,
        body: &[u8],
        timeout_ms: f64,
        max_bytes: f64,
    ) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(catch, js_name = edgewardObjectPost)]
    fn object_post(namespace: &JsValue, name: &str, body: &str)
        -> Result<js_sys::Promise, JsValue>;

    /// What `edgewardExchange` and `edgewardObjectPost` resolve to.
    type Exchanged;
    #[wasm_bindgen(method, getter)]
    fn status(this: &Exchanged) -> u16;
    #[wasm_bindgen(method, getter)]
    fn headers(this: &Exchanged) -> Vec<u8>;
    #[wasm_bindgen(method, getter)]
    fn body(this: &Exchanged) -> Vec<u8>;
}

/// Why a JavaScript call failed, for the log: an exception's `name: message`, never its stack.
pub fn reason(e: &JsValue) -> String {
    if let Some(text) = e.as_string() {
        return text;
    }
    let field = |name: &str| {
        js_sys::Reflect::get(e, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|v| !v.is_empty())
    };
    match (field("name"), field("message")) {
        (Some(name), Some(message)) => format!("{name}: {message}"),
        (Some(text), None) | (None, Some(text)) => text,
        (None, None) => "unknown error".into(),
    }
}

/// The incoming request's method, URL and headers, as the core's request (without a body).
/// `None` when the runtime's serialization is not what [`request_head`] writes; a head `http`
/// refuses is a builder that carries the error (the 400), never a panic
/// ([`header_list::request_head`], tested natively there).
pub fn read_head(req: &web_sys::Request) -> Option<http::request::Builder> {
    header_list::request_head(&String::from_utf8(request_head(req)).ok()?)
}

/// What Cloudflare verified of the request's TLS client certificate (`request.cf.tlsClientAuth`:
/// `certPresented`, `certVerified`, `certFingerprintSHA256`), when it says anything. Read only
/// for a request with a proof of possession (one crossing, and only then): the core binds the
/// proof to that certificate.
pub fn tls_client_auth(req: &web_sys::Request) -> Option<edgeward_core::machine::TlsClientAuth> {
    let text = tls_client_auth_js(req);
    let mut fields = text.split('\n');
    let (presented, verified, fingerprint) = (fields.next()?, fields.next()?, fields.next()?);
    Some(edgeward_core::machine::TlsClientAuth {
        cert_presented: presented.to_owned(),
        cert_verified: verified.to_owned(),
        cert_fingerprint_sha256: fingerprint.to_owned(),
    })
}

/// The core's response as the platform's, in one call.
pub fn from_core(response: edgeward_core::Response) -> Result<web_sys::Response, JsValue> {
    let (parts, body) = response.into_parts();
    core_response(parts.status.as_u16(), &list_of(&parts.headers), &body)
}

/// Sends the plan upstream with the browser's body, and streams the answer back with the
/// headers the core lets through: the promise of the browser's `Response`. JavaScript makes the
/// request and awaits it (`edgewardProxy`), then makes the answer's headers by the route's
/// [`AnswerRules`] without entering wasm, or, for an answer the rules leave to the core, calls
/// [`ProxyHooks::answer`]; no Rust future waits on the network, and nothing of the request is
/// kept in Rust while it is in flight (what the slow path needs travels with the promise).
pub fn forward(plan: Forward, original: &web_sys::Request) -> Result<JsValue, JsValue> {
    let body = if matches!(plan.method, http::Method::GET | http::Method::HEAD) {
        None
    } else {
        original.body()
    };
    let (index, rules) = rules_of(&plan.route);
    HOOKS
        .with(|hooks| {
            proxy_js(
                hooks,
                &trap::token(original),
                index,
                &rules,
                &list_of(&plan.answer_headers),
                plan.method.as_str(),
                plan.url.as_str(),
                &list_of(&plan.headers),
                body,
            )
        })
        .map(Into::into)
}

thread_local! {
    /// The isolate's one [`ProxyHooks`], wrapped for JavaScript once.
    static HOOKS: JsValue = ProxyHooks { _private: () }.into();
    /// The routes proxied through so far, each with its [`AnswerRules`] as `edgewardProxy`
    /// reads them, made once per route (a JavaScript string: passed by reference, and the same
    /// string for JavaScript's lookup). A route is named to JavaScript by its index here, which
    /// is all [`ProxyHooks::answer`] needs (not the isolate's edge, which a trap may have left
    /// borrowed for good).
    static RULES: RefCell<Vec<(Rc<Route>, JsValue)>> = const { RefCell::new(Vec::new()) };
}

/// `route`'s index among the routes proxied through, and its [`AnswerRules`] in the form
/// `edgewardProxy` reads, four parts each after a blank line but the first: the passed names
/// joined by `,`, the judged names likewise, what a script `Content-Type` is passed as, the
/// added headers' list (names are tokens and none of these values holds a line break).
fn rules_of(route: &Rc<Route>) -> (u32, JsValue) {
    RULES.with(|cell| {
        if let Some((index, (_, text))) = cell
            .borrow()
            .iter()
            .enumerate()
            .find(|(_, (r, _))| Rc::ptr_eq(r, route))
        {
            return (index as u32, text.clone());
        }
        let rules = AnswerRules::of(route);
        let mut added = HeaderMap::new();
        for (name, value) in rules.added {
            added.append(name, value);
        }
        let text = JsValue::from_str(&format!(
            "{}\n\n{}\n\n{}\n\n{}",
            rules.passed.join(","),
            JUDGED_RESPONSE_HEADERS.join(","),
            SCRIPT_TYPE_AS_SENT,
            list_of(&added)
        ));
        let mut known = cell.borrow_mut();
        known.push((Rc::clone(route), text.clone()));
        ((known.len() - 1) as u32, text)
    })
}

/// What `edgewardProxy` asks of the core once an upstream has answered: one object per isolate
/// (none per request: wrapping one and freeing it cost a proxied call 2–3 % of its samples),
/// each call carrying the request's token and what it is about.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ProxyHooks {
    _private: (),
}

#[wasm_bindgen]
impl ProxyHooks {
    /// The `Content-Type` the browser gets for the upstream's `value` (asked once per value;
    /// JavaScript remembers the answer).
    #[wasm_bindgen(js_name = contentType)]
    pub fn content_type(&self, token: JsValue, value: &str) -> String {
        trap::serving_now(&Rc::new(token), || {
            // A value `http` refuses is not visible ASCII, which JavaScript never asks about;
            // it would be passed as text.
            HeaderValue::from_str(value)
                .map(|v| content_type_as_sent(&v))
                .ok()
                .and_then(|v| v.to_str().ok().map(str::to_owned))
                .unwrap_or_else(|| SCRIPT_TYPE_AS_SENT.to_owned())
        })
    }

    /// The header list the browser gets, from the upstream answer's (both in the crossing form),
    /// for an answer the route's rules leave to the core: `route` is the route's index in
    /// [`RULES`], `url` where the request went, `extra` what the core adds (CORS). Throws (the
    /// request answers 500) if the route is not known.
    pub fn answer(
        &self,
        token: JsValue,
        route: u32,
        url: &str,
        extra: &str,
        upstream: &[u8],
    ) -> Result<String, JsValue> {
        trap::serving_now(&Rc::new(token), || {
            let route = RULES
                .with(|cell| {
                    let known = cell.try_borrow().ok()?;
                    known.get(route as usize).map(|(r, _)| Rc::clone(r))
                })
                .ok_or_else(|| JsValue::from_str("edgeward: the answer of an unknown route"))?;
            let url = worker::Url::parse(url)
                .map_err(|_| JsValue::from_str("edgeward: the answer of an unreadable URL"))?;
            let received = std::str::from_utf8(upstream)
                .map(map_of)
                .unwrap_or_default();
            Ok(list_of(&answer_headers(
                &received,
                &route,
                &url,
                &map_of(extra),
            )))
        })
    }

    /// The answer when the upstream could not be reached (or its answer not passed on): the
    /// core's 502, with what the core adds to every answer of this request (`extra`: CORS); the
    /// reason, which may name internal hosts, goes to the log only.
    pub fn failed(
        &self,
        token: JsValue,
        extra: &str,
        error: JsValue,
    ) -> Result<web_sys::Response, JsValue> {
        trap::serving_now(&Rc::new(token), || {
            worker::console_error!("edgeward: upstream request failed: {}", reason(&error));
            let mut response =
                Error::UpstreamUnavailable("the API could not be reached".into()).into_response();
            for (name, value) in &map_of(extra) {
                response.headers_mut().append(name, value.clone());
            }
            from_core(response)
        })
    }
}

/// One outgoing request of the agent through the runtime's `fetch`, read in full, given up
/// after `timeout` without the whole answer or once its body is longer than `max_bytes`.
pub async fn exchange(
    request: http::Request<Vec<u8>>,
    timeout: Duration,
    max_bytes: usize,
) -> Result<http::Response<Vec<u8>>, TransportError> {
    let (parts, body) = request.into_parts();
    for (name, value) in &parts.headers {
        if value.to_str().is_err() {
            return Err(TransportError {
                reason: format!("header {name} is not text"),
            });
        }
    }
    let promise = exchange_js(
        parts.method.as_str(),
        &parts.uri.to_string(),
        &list_of(&parts.headers),
        &body,
        timeout.as_millis() as f64,
        max_bytes as f64,
    );
    answer(promise, true).await
}

/// POSTs `body` to the Durable Object `name` of `namespace`; its status and body.
pub async fn post_to_object(
    namespace: &worker::ObjectNamespace,
    name: &str,
    body: &str,
) -> Result<http::Response<Vec<u8>>, TransportError> {
    answer(object_post(namespace.as_ref(), name, body), false).await
}

/// What an exchange resolved to, as the core's response.
async fn answer(
    promise: Result<js_sys::Promise, JsValue>,
    with_headers: bool,
) -> Result<http::Response<Vec<u8>>, TransportError> {
    let transport = |e: JsValue| TransportError { reason: reason(&e) };
    let exchanged: Exchanged = JsFuture::from(promise.map_err(transport)?)
        .await
        .map_err(transport)?
        .unchecked_into();
    let mut response = http::Response::builder().status(exchanged.status());
    if with_headers {
        if let Some(headers) = response.headers_mut() {
            let list = String::from_utf8(exchanged.headers()).map_err(|_| TransportError {
                reason: "answer headers not UTF-8".into(),
            })?;
            *headers = map_of(&list);
        }
    }
    response.body(exchanged.body()).map_err(|e| TransportError {
        reason: e.to_string(),
    })
}
