//! The cookie cipher on both sides, compiled only with the `test-cipher` feature (test and
//! benchmark builds; see `tests/integration/cookie-cipher.test.mjs` and
//! `scripts/bench-cipher.mjs`): the integration tests seal with one side and open with the
//! other in workerd itself, and the benchmark compares them.
//!
//! - `POST /auth/_test/cipher/seal?with=rust|webcrypto[&salt=fixed]`: the body (text) sealed
//!   with the isolate's cookie keys for the cookie `__Host-edgeward-test` (label `test`,
//!   expiring in 2096), by Rust or by WebCrypto; `salt=fixed` seals with a salt of 16 bytes 0x5a, so both sides' output can be
//!   compared byte for byte.
//! - `POST /auth/_test/cipher/open?with=rust|webcrypto[&n=N]`: the body (a sealed value) opened
//!   N times (1 unless said; up to 100 000, for timing from outside: workerd's clock stands
//!   still while code runs). Answers JSON `{"opened": text}` or `{"error": "Forged"|…}`, and
//!   `"port"`: what the WebCrypto port answered the last time it was asked (`"ok"`,
//!   `"forged"`, or `"none"`: left to Rust, the value being short or WebCrypto failing; absent
//!   when it was not asked), so a test can tell a refusal by WebCrypto from one by Rust.
//! - Any request with `x-edgeward-test-cipher: rust`: the worker's own cipher port answers
//!   `None` for that request, so every cookie is sealed and opened in Rust (the benchmark's
//!   comparison in one build). A flag per isolate, set by each request: the benchmark does not
//!   mix both kinds at once.

use std::cell::Cell;

use edgeward_core::cookie::seal::Label;
use edgeward_core::cookie::CookieKeys;
use edgeward_core::{AeadCipher, AuthenticationFailed, Random, RandomUnavailable};
use edgeward_webcrypto::WebCrypto;
use worker::{Request, Response};

/// The header that turns the worker's cipher port off for a request.
const RUST_HEADER: &str = "x-edgeward-test-cipher";
/// The cookie name the routes seal for.
const NAME: &str = "__Host-edgeward-test";
const MAX_N: u32 = 100_000;
/// The label every value here is sealed with (a tag, and an expiry in 2096), so that two seals
/// with the same salt give the same bytes.
const LABEL: Label<'static> = Label {
    tag: "test",
    expires_at: 4_000_000_000,
};

thread_local! {
    static RUST_ONLY: Cell<bool> = const { Cell::new(false) };
}

/// Whether the worker's cipher port is off (the request asked for Rust).
pub fn rust_only() -> bool {
    RUST_ONLY.with(Cell::get)
}

/// Remembers whether this request asked for the Rust cipher.
pub fn note(req: &Request) {
    let rust = req
        .headers()
        .get(RUST_HEADER)
        .ok()
        .flatten()
        .is_some_and(|v| v == "rust");
    RUST_ONLY.with(|flag| flag.set(rust));
}

/// The ports of one route call: Rust or WebCrypto, random or fixed salts; records what the
/// WebCrypto port answered.
struct Side {
    webcrypto: bool,
    fixed_salt: bool,
    answer: Cell<Option<&'static str>>,
}

impl Random for Side {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
        if self.fixed_salt {
            dest.fill(0x5a);
            Ok(())
        } else {
            getrandom::getrandom(dest).map_err(|_| RandomUnavailable)
        }
    }
}

impl AeadCipher for Side {
    async fn aes_gcm_encrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        if !self.webcrypto {
            return None;
        }
        let answer = WebCrypto.aes_gcm_encrypt(key, nonce, aad, plaintext).await;
        self.answer.set(Some(if answer.is_some() {
            "ok"
        } else {
            "unavailable"
        }));
        answer
    }

    async fn aes_gcm_decrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Option<Result<Vec<u8>, AuthenticationFailed>> {
        if !self.webcrypto {
            return None;
        }
        let answer = WebCrypto.aes_gcm_decrypt(key, nonce, aad, ciphertext).await;
        self.answer.set(Some(match &answer {
            Some(Ok(_)) => "ok",
            Some(Err(AuthenticationFailed)) => "forged",
            None => "none",
        }));
        answer
    }
}

/// Answers the test routes; `None` for every other request.
pub async fn route(req: &mut Request, keys: &CookieKeys) -> Option<worker::Result<Response>> {
    if req.method() != worker::Method::Post {
        return None;
    }
    let path = req.path();
    let sealing = match path.as_str() {
        "/auth/_test/cipher/seal" => true,
        "/auth/_test/cipher/open" => false,
        _ => return None,
    };
    Some(answer(req, keys, sealing).await)
}

async fn answer(req: &mut Request, keys: &CookieKeys, sealing: bool) -> worker::Result<Response> {
    let url = req.url()?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let webcrypto = match param("with").as_deref() {
        Some("webcrypto") => true,
        Some("rust") => false,
        _ => return Response::error("with=rust or with=webcrypto", 400),
    };
    let side = Side {
        webcrypto,
        fixed_salt: param("salt").as_deref() == Some("fixed"),
        answer: Cell::new(None),
    };
    let body = req.text().await?;
    if sealing {
        return match keys.seal(&side, NAME, LABEL, body.as_bytes()).await {
            Ok(sealed) => Response::ok(sealed),
            Err(e) => Response::error(e.to_string(), 500),
        };
    }
    let n = param("n")
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(1)
        .min(MAX_N);
    let now = worker::Date::now().as_millis() / 1000;
    let mut last = None;
    for _ in 0..n {
        last = Some(keys.open(&side, NAME, &body, now).await);
    }
    let mut answer = serde_json::Map::new();
    match last {
        Some(Ok(opened)) => {
            let text = String::from_utf8_lossy(&opened.value).into_owned();
            answer.insert("opened".into(), text.into());
        }
        Some(Err(e)) => {
            answer.insert("error".into(), format!("{e:?}").into());
        }
        None => {}
    }
    if let Some(port) = side.answer.get() {
        answer.insert("port".into(), port.into());
    }
    Response::from_json(&answer)
}
