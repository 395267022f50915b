//! Deliberate traps, compiled only with the `test-trap` feature (test builds; see
//! `tests/integration/trap.test.mjs`): a Rust panic is a wasm trap under `panic = "abort"`, and
//! these routes cause one where the tests need it.
//!
//! - `POST /auth/_test/trap` panics in the worker's fetch, after an `await`.
//! - `POST /auth/_test/trap/poison` panics while it holds the isolate's edge (a `RefCell` in a
//!   `thread_local`) borrowed: a trap leaves it borrowed for good, so every later request on
//!   that wasm instance would panic on it too.
//! - `POST /auth/_test/trap/abort` traps without a panic (`std::process::abort`, as an
//!   allocation failure does): no panic hook runs, so nothing says which request it was.
//! - `POST /auth/_test/trap/refresh` and `POST /auth/_test/trap/sessions` send a request to a
//!   Durable Object of that class (named `trap-test`) that makes it panic, and answer what the
//!   object answered.

#![allow(clippy::panic)]

use worker::{Env, Request, Response};

/// The header that makes a Durable Object of this build panic.
const TRAP_HEADER: &str = "x-edgeward-test-trap";

/// Answers the test routes; `None` for every other request.
pub async fn route(req: &mut Request, env: &Env) -> Option<worker::Result<Response>> {
    if req.method() != worker::Method::Post {
        return None;
    }
    let binding = match req.path().as_str() {
        "/auth/_test/trap" => {
            // Past the first poll, like a bug met halfway through a request.
            let _ = req.text().await;
            panic!("test-trap: a deliberate panic in the worker's fetch");
        }
        "/auth/_test/trap/poison" => super::EDGE.with(|cell| {
            let _held = cell.borrow_mut();
            panic!("test-trap: a deliberate panic with the isolate's edge borrowed");
        }),
        "/auth/_test/trap/abort" => std::process::abort(),
        "/auth/_test/trap/refresh" => "EDGEWARD_REFRESH",
        "/auth/_test/trap/sessions" => "EDGEWARD_SESSIONS",
        _ => return None,
    };
    Some(trap_object(env, binding).await)
}

async fn trap_object(env: &Env, binding: &str) -> worker::Result<Response> {
    let stub = env
        .durable_object(binding)?
        .id_from_name("trap-test")?
        .get_stub()?;
    let headers = worker::Headers::new();
    headers.set(TRAP_HEADER, "1")?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post).with_headers(headers);
    let request = Request::new_with_init("https://edgeward.internal/", &init)?;
    stub.fetch_with_request(request).await
}

/// Panics when the request asks for it (called first thing in each Durable Object's fetch).
pub fn in_object(req: &Request, class: &str) {
    if req.headers().has(TRAP_HEADER).unwrap_or(false) {
        panic!("test-trap: a deliberate panic in {class}");
    }
}
