//! What the JS entry needs to contain a trap (`edge/worker/js/entry.mjs`, README "Traps").
//!
//! Under `panic = "abort"` a Rust panic is a wasm trap: the code that was running stops where it
//! is, without running destructors, and the trap surfaces in JavaScript as a
//! `WebAssembly.RuntimeError` thrown out of whichever call into wasm was on the stack, usually
//! the executor's microtask, which belongs to no request. So that only the request that
//! panicked fails, every request is served inside [`serving`], which marks, while its future is
//! polled, which request that is (the JavaScript object the entry handed in). The panic hook
//! installed by [`contain`] tells the entry before the trap, with that object.
//!
//! [`resume`] lets the entry restart the executor's queue after a trap, for the requests still
//! in flight on the instance (a trap in the middle of the queue's run leaves the rest of that
//! run's tasks queued until something else schedules one).

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use wasm_bindgen::prelude::*;

thread_local! {
    /// The request whose future is being polled, while it is.
    static SERVING: Cell<Option<Rc<JsValue>>> = const { Cell::new(None) };
    /// The entry's callback for a panic.
    static ON_PANIC: Cell<Option<js_sys::Function>> = const { Cell::new(None) };
}

/// The token [`serving`] gives a Durable Object's alarm (it has no request object).
pub const ALARM: &str = "alarm";

/// Runs `work` as the request identified by `token` (the request object the entry passed in).
pub async fn serving<F: Future>(token: JsValue, work: F) -> F::Output {
    let token = Rc::new(token);
    let mut work = pin!(work);
    poll_fn(move |cx| {
        let outer = SERVING.replace(Some(Rc::clone(&token)));
        let poll = work.as_mut().poll(cx);
        SERVING.set(outer);
        poll
    })
    .await
}

/// Runs `work` (synchronous: a call the entry makes into an object of a request still in flight,
/// such as a proxied answer's headers) as the request identified by `token`.
pub fn serving_now<T>(token: &Rc<JsValue>, work: impl FnOnce() -> T) -> T {
    let outer = SERVING.replace(Some(Rc::clone(token)));
    let result = work();
    SERVING.set(outer);
    result
}

/// The answer of `work` without a promise when it is done on its first poll (a read the isolate
/// answers from memory, a proxied call whose token is cached: no await in them suspends), else
/// a promise of it.
///
/// The first poll's waker wakes nothing: the promise's task polls the work again at once (in
/// the next microtask), and a future that is not done wakes the waker of its latest poll, that
/// task's. (Every future awaited on the worker's path does: `JsFuture`, the refresh flights'
/// `Shared`; no timer of the `worker` crate is awaited on it.)
pub fn at_once<F>(work: F) -> Result<JsValue, JsValue>
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    let mut work = Box::pin(work);
    match work.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(answer) => answer,
        Poll::Pending => Ok(wasm_bindgen_futures::future_to_promise(work).into()),
    }
}

/// Called once by the entry on each new instance: on a panic, after the hooks already installed
/// (the `worker` crate's logs the message), `on_panic` is called with the token of the request
/// being served, or `null` when the panic happened outside [`serving`].
#[wasm_bindgen(js_name = "__edgeward_contain")]
pub fn contain(on_panic: js_sys::Function) {
    if ON_PANIC.replace(Some(on_panic)).is_some() {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        let token = SERVING.take();
        if let Some(on_panic) = ON_PANIC.take() {
            let token = token.as_deref().cloned().unwrap_or(JsValue::NULL);
            // What it throws is of no use here: the trap follows.
            let _ = on_panic.call1(&JsValue::NULL, &token);
            ON_PANIC.set(Some(on_panic));
        }
    }));
}

/// Schedules a run of the executor's queue (see the module docs).
#[wasm_bindgen(js_name = "__edgeward_resume")]
pub fn resume() {
    worker::wasm_bindgen_futures::spawn_local(async {});
}

/// The token of a request: its JavaScript object, which the entry also holds. (A handle to the
/// same object; `Request.clone()` would make a new request.)
pub fn token(req: &worker::web_sys::Request) -> JsValue {
    AsRef::<JsValue>::as_ref(req).clone()
}
