//! Second review of the per-session refresh coordinator (826b622..0b470bb): the object's map of
//! flights, attacked directly through `RefreshFlights` (what `EdgewardRefresh` hosts).
//!
//! What holds (isolation): a token never gets another token's answer, not while that one's grant
//! is running, not within its grace window; a refusal or an unreachable provider of one token
//! changes nothing for another; a flood of other tokens never prunes a running flight.
//!
//! What was open (informational) and is closed: the map had no cap. It held one flight per
//! distinct token presented while its grant runs or within the grace window; now at most
//! `MAX_FLIGHTS`.

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::task::Poll;

use edgeward_core::sessions::flight::Answer;
use edgeward_core::sessions::flight::MAX_FLIGHTS;
use edgeward_core::sessions::RefreshFlights;
use edgeward_core::TransportError;
use futures_util::future::FutureExt;

fn ok(n: u32) -> Answer {
    Answer {
        status: 200,
        body: format!(r#"{{"access_token":"at-{n}","refresh_token":"rt-{n}"}}"#).into_bytes(),
    }
}

fn refused() -> Answer {
    Answer {
        status: 400,
        body: br#"{"error":"invalid_grant"}"#.to_vec(),
    }
}

fn down() -> TransportError {
    TransportError {
        reason: "down".into(),
    }
}

/// A gate: the returned future is pending until the cell is set.
fn gate() -> (Rc<Cell<bool>>, impl Future<Output = ()>) {
    let open = Rc::new(Cell::new(false));
    let seen = Rc::clone(&open);
    let wait = futures_util::future::poll_fn(move |cx| {
        if seen.get() {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    });
    (open, wait)
}

fn poll_once<F: Future + ?Sized>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    let waker = futures_util::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    f.poll(&mut cx)
}

fn block<F: Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

#[test]
fn review2_a_token_never_gets_a_running_or_recent_answer_of_another_token() {
    let flights = RefreshFlights::default();
    let grants = Rc::new(RefCell::new(Vec::<String>::new()));
    let grant = |token: &str, n: u32| {
        let grants = Rc::clone(&grants);
        let token = token.to_owned();
        move || {
            grants.borrow_mut().push(token);
            async move { Ok::<_, TransportError>(ok(n)) }
        }
    };
    // The victim's token is at the provider, its grant still running.
    let (open, wait) = gate();
    let victim_grants = Rc::clone(&grants);
    let mut victim = Box::pin(flights.run("victim-rt", 100, 30, move || {
        victim_grants.borrow_mut().push("victim-rt".into());
        async move {
            wait.await;
            Ok(ok(1))
        }
    }));
    assert!(poll_once(victim.as_mut()).is_pending());
    // Another token in the same object (the nearest an attacker can get: an older or newer
    // token of the same session; a different session is a different object) meanwhile.
    for (i, token) in ["attacker-rt", "", "victim-rt ", "VICTIM-RT"]
        .iter()
        .enumerate()
    {
        let got = block(flights.run(token, 101, 30, grant(token, 10 + i as u32)));
        assert_eq!(got, Ok(ok(10 + i as u32)), "{token:?} got its own grant");
    }
    open.set(true);
    assert_eq!(block(victim), Ok(ok(1)));
    // Within the victim's grace window: the others still get only their own answers.
    for (i, token) in ["attacker-rt", "", "victim-rt ", "VICTIM-RT"]
        .iter()
        .enumerate()
    {
        let got = block(flights.run(token, 110, 30, grant(token, 99)));
        assert_eq!(got, Ok(ok(10 + i as u32)), "{token:?} kept its own answer");
    }
    assert_eq!(
        block(flights.run("victim-rt", 110, 30, grant("victim-rt", 99))),
        Ok(ok(1))
    );
    assert_eq!(grants.borrow().len(), 5, "one grant per distinct token");
}

#[test]
fn review2_a_refusal_or_an_unreachable_provider_of_one_token_leaves_the_others_alone() {
    let flights = RefreshFlights::default();
    let answer = |a: Result<Answer, TransportError>| move || async move { a };
    // An old token of the session is refused (reuse), another's provider is down.
    assert_eq!(
        block(flights.run("old-rt", 100, 30, answer(Ok(refused())))),
        Ok(refused())
    );
    assert_eq!(
        block(flights.run("flaky-rt", 100, 30, answer(Err(down())))),
        Err(down())
    );
    // The current token is unaffected by either.
    assert_eq!(
        block(flights.run("current-rt", 101, 30, answer(Ok(ok(2))))),
        Ok(ok(2))
    );
    // The refusal stays the old token's, the outage was not remembered for the flaky one.
    assert_eq!(
        block(flights.run("old-rt", 102, 30, answer(Ok(ok(3))))),
        Ok(refused())
    );
    assert_eq!(
        block(flights.run("flaky-rt", 102, 30, answer(Ok(ok(4))))),
        Ok(ok(4))
    );
    assert_eq!(
        block(flights.run("current-rt", 103, 30, answer(Ok(ok(5))))),
        Ok(ok(2))
    );
}

#[test]
fn review2_a_flood_of_other_tokens_never_prunes_a_running_flight() {
    let flights = RefreshFlights::default();
    let granted = Rc::new(Cell::new(0u32));
    let (open, wait) = gate();
    let g = Rc::clone(&granted);
    let mut running = Box::pin(flights.run("victim-rt", 100, 30, move || {
        g.set(g.get() + 1);
        async move {
            wait.await;
            Ok(ok(1))
        }
    }));
    assert!(poll_once(running.as_mut()).is_pending());
    // Long past the grace window, many other tokens (each prunes on its way in), and the
    // provider down for some of them.
    for i in 0..500u64 {
        let token = format!("other-{i}");
        let _ = block(flights.run(&token, 100 + 60 * i, 30, move || async move {
            if i % 3 == 0 {
                Err(down())
            } else {
                Ok(ok(i as u32))
            }
        }));
    }
    // A second caller of the victim's token, while its grant still runs: it waits for that
    // grant, it does not start another (which a rotating IdP would take for theft).
    let g = Rc::clone(&granted);
    let mut waiter = Box::pin(flights.run("victim-rt", 100 + 60 * 500, 30, move || {
        g.set(g.get() + 1);
        async { Ok(ok(2)) }
    }));
    assert!(poll_once(waiter.as_mut()).is_pending());
    open.set(true);
    assert_eq!(block(running), Ok(ok(1)));
    assert_eq!(block(waiter), Ok(ok(1)));
    assert_eq!(granted.get(), 1, "one grant for the victim's token");
}

/// Found informational: nothing capped the map. Every distinct token presented within the
/// grace window (or while its grant runs) was one more flight and one more grant at the
/// provider, all in the one object of the session (5,000 of 5,000 kept). Each such token must be
/// a refresh token sealed with this session's binding, so only the session's own holder can do
/// it, by replaying its old refresh cookies. Now at most `MAX_FLIGHTS` are kept: beyond them the
/// oldest answer goes, and when all are running grants a new token gets none (a transport
/// error: the caller's 502, not remembered).
#[test]
fn review2_the_map_is_capped_the_oldest_answer_goes_a_running_grant_never() {
    const N: u32 = 5_000;
    let cap = MAX_FLIGHTS as u32;
    let flights = RefreshFlights::default();
    let grants = Rc::new(Cell::new(0u32));
    for i in 0..N {
        let g = Rc::clone(&grants);
        let token = format!("rotated-rt-{i}");
        // All within 30 s; the provider refuses each (reuse of an old token).
        let got = block(
            flights.run(&token, 100 + u64::from(i * 29 / N), 30, move || {
                g.set(g.get() + 1);
                async { Ok::<_, TransportError>(refused()) }
            }),
        );
        assert_eq!(got, Ok(refused()), "{token}: answered");
        assert!(flights.len() <= MAX_FLIGHTS, "never more than the cap");
    }
    assert_eq!(grants.get(), N, "one grant per token");
    assert_eq!(
        flights.len(),
        MAX_FLIGHTS,
        "only the newest answers are kept"
    );
    // The newest are still shared; the oldest went.
    let newest = format!("rotated-rt-{}", N - 1);
    let again = block(flights.run(&newest, 129, 30, || async {
        Ok::<_, TransportError>(ok(99))
    }));
    assert_eq!(
        again,
        Ok(refused()),
        "a kept token is still answered from memory"
    );
    let oldest = block(flights.run("rotated-rt-0", 129, 30, || async {
        Ok::<_, TransportError>(ok(99))
    }));
    assert_eq!(oldest, Ok(ok(99)), "the oldest was dropped: asked again");
    // With no grace window, running grants are kept up to the cap (none may be pruned).
    let flights = RefreshFlights::default();
    let (open, wait) = gate();
    let wait = wait.boxed_local().shared();
    let tokens: Vec<String> = (0..N).map(|i| format!("rotated-rt-{i}")).collect();
    let mut pending = Vec::new();
    let started = Rc::new(Cell::new(0u32));
    for token in &tokens {
        let w = wait.clone();
        let s = Rc::clone(&started);
        let mut f = Box::pin(flights.run(token, 100, 0, move || {
            s.set(s.get() + 1);
            async move {
                w.await;
                Ok(refused())
            }
        }));
        match poll_once(f.as_mut()) {
            Poll::Pending => pending.push(f),
            Poll::Ready(got) => assert!(got.is_err(), "beyond the cap: no grant, an error"),
        }
    }
    assert_eq!(started.get(), cap, "grace 0: grants started up to the cap");
    assert_eq!(flights.len(), MAX_FLIGHTS, "all running, all kept");
    open.set(true);
    for f in pending {
        assert_eq!(block(f), Ok(refused()));
    }
    let _ = block(flights.run("next", 101, 0, || async { Ok(ok(1)) }));
    assert_eq!(
        flights.len(),
        1,
        "pruned once they are done: only the new one is left"
    );
}
