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
//! - `POST /auth/_test/fault/refresh` and `POST /auth/_test/fault/sessions` (body: a count) make
//!   the next that many requests to any object of that class fail without a panic, as a call
//!   to an overloaded or unreachable object does: the object throws, the caller's `fetch`
//!   rejects. The count is handed to an object of the class (`trap-test`) and lives in the
//!   class's wasm instance (its lane), which all objects of the class share.

#![allow(clippy::panic)]

use std::cell::Cell;

use worker::{Env, Request, Response};

thread_local! {
    /// How many of the next requests to `EdgewardRefresh` and to `EdgewardSessions` fail.
    static FAILING: [Cell<u32>; 2] = const { [Cell::new(0), Cell::new(0)] };
}

/// The slot in [`FAILING`] of an object class.
fn slot(class: &str) -> usize {
    usize::from(class == "EdgewardSessions")
}

/// The header that makes a Durable Object of this build panic.
const TRAP_HEADER: &str = "x-edgeward-test-trap";
/// The header that sets how many of the next requests to the class fail.
const FAULT_HEADER: &str = "x-edgeward-test-fault";

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
        "/auth/_test/fault/refresh" | "/auth/_test/fault/sessions" => {
            let count = req.text().await.ok()?.trim().parse::<u32>().ok()?;
            let binding = if req.path().ends_with("/refresh") {
                "EDGEWARD_REFRESH"
            } else {
                "EDGEWARD_SESSIONS"
            };
            return Some(to_object(env, binding, (FAULT_HEADER, &count.to_string())).await);
        }
        _ => return None,
    };
    Some(to_object(env, binding, (TRAP_HEADER, "1")).await)
}

/// Sends the object `trap-test` of `binding`'s class a request carrying `header`.
async fn to_object(env: &Env, binding: &str, header: (&str, &str)) -> worker::Result<Response> {
    let stub = env
        .durable_object(binding)?
        .id_from_name("trap-test")?
        .get_stub()?;
    let headers = worker::Headers::new();
    headers.set(header.0, header.1)?;
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

/// Called first thing in each Durable Object's fetch: takes the count of a fault request
/// (answering 204), or fails the request while [`FAILING`] says so; `None` otherwise.
pub fn fault_in_object(req: &Request, class: &str) -> Option<worker::Result<Response>> {
    FAILING.with(|f| {
        let left = &f[slot(class)];
        if let Ok(Some(count)) = req.headers().get(FAULT_HEADER) {
            left.set(count.parse().unwrap_or(0));
            return Some(Response::empty().map(|r| r.with_status(204)));
        }
        if left.get() == 0 {
            return None;
        }
        left.set(left.get() - 1);
        Some(Err(worker::Error::RustError(format!(
            "test-trap: a deliberate failure in {class}"
        ))))
    })
}
