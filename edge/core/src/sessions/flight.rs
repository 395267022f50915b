//! Single-flight refresh: the logic a refresh coordinator (on Cloudflare, one Durable Object per
//! session, named by the SHA-256 of the session's binding id) runs, so that every refresh of one
//! refresh token — from any tab, any isolate — makes at most one grant at the identity provider.
//! A session presents a new refresh token after each rotation; its coordinator keeps one flight
//! per token ([`RefreshFlights`], keyed by the token's SHA-256), dropped after the grace window.
//!
//! The first caller starts the grant; callers arriving while it runs wait for the same answer;
//! callers arriving within the grace window after it (`EDGEWARD_REFRESH_GRACE`, 30 s by
//! default) get that answer too instead of presenting the old refresh token again, which an IdP
//! with rotation would take for theft. The provider's answer is kept whether it is tokens or a
//! refusal (so every waiting caller learns the same thing); a provider that could not be
//! reached is not kept, and the next caller tries again.
//!
//! The answer is the token endpoint's own (status and JSON body): the coordinator is, to the
//! worker, a token endpoint that answers each refresh token once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use futures_util::future::{FutureExt, LocalBoxFuture, Shared};

use super::Context;
use crate::oidc;
use crate::platform::crypto::token_key;
use crate::platform::ports::{Clock, Log, LogLevel, TransportError};
use crate::platform::{Error, Response};

/// The token endpoint's answer to one grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Vec<u8>,
}

type Running = Shared<LocalBoxFuture<'static, Result<Answer, TransportError>>>;

#[derive(Default)]
enum State {
    #[default]
    Idle,
    Running(Running),
    Done {
        at: u64,
        answer: Answer,
    },
}

/// One refresh token's flight. Single-threaded (a Durable Object handles its requests on one
/// thread, interleaving them only at `await`s). A clone is the same flight.
#[derive(Default, Clone)]
pub struct RefreshFlight {
    state: Rc<RefCell<State>>,
}

impl std::fmt::Debug for RefreshFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &*self.state.borrow() {
            State::Idle => "idle",
            State::Running(_) => "running",
            State::Done { .. } => "done",
        };
        f.debug_struct("RefreshFlight")
            .field("state", &state)
            .finish()
    }
}

impl RefreshFlight {
    /// Whether the flight still has something to give at `now`: a grant running, or an answer
    /// within the grace window. (Idle: never started, or its provider could not be reached.)
    fn matters(&self, now: u64, grace: u64) -> bool {
        match &*self.state.borrow() {
            State::Idle => false,
            State::Running(_) => true,
            State::Done { at, .. } => now < at + grace,
        }
    }

    /// When the answer kept was got, if one is kept (not while a grant runs).
    fn answered_at(&self) -> Option<u64> {
        match &*self.state.borrow() {
            State::Done { at, .. } => Some(*at),
            _ => None,
        }
    }

    /// The answer for this refresh token: the one from within the last `grace` seconds, the one
    /// being fetched, or a new one from `grant` (called only then).
    pub async fn run<F>(
        &self,
        now: u64,
        grace: u64,
        grant: impl FnOnce() -> F,
    ) -> Result<Answer, TransportError>
    where
        F: Future<Output = Result<Answer, TransportError>> + 'static,
    {
        let running = {
            let mut state = self.state.borrow_mut();
            match &*state {
                State::Done { at, answer } if now < at + grace => return Ok(answer.clone()),
                State::Running(running) => running.clone(),
                _ => {
                    let fetch = grant();
                    let slot = Rc::clone(&self.state);
                    // The flight records its own outcome, so it does so even if the caller that
                    // started it goes away and another one drives it to the end.
                    let running = async move {
                        let result = fetch.await;
                        *slot.borrow_mut() = match &result {
                            Ok(answer) => State::Done {
                                at: now,
                                answer: answer.clone(),
                            },
                            Err(_) => State::Idle,
                        };
                        result
                    }
                    .boxed_local()
                    .shared();
                    *state = State::Running(running.clone());
                    running
                }
            }
        };
        running.await
    }
}

/// How many refresh tokens one session's coordinator keeps flights for. A session presents one
/// or two within a grace window; more is a burst of refreshes or someone replaying its old
/// refresh cookies.
pub const MAX_FLIGHTS: usize = 32;

/// The flights of one session's coordinator: one [`RefreshFlight`] per refresh token the
/// session has presented (each rotation brings a new one), keyed by the token's SHA-256, which
/// is computed here from the token the caller presents: an answer goes only to a caller that
/// presents the very token it was granted for, whichever object it asks.
///
/// Pruned on every call: a flight whose answer is older than the grace window, or whose grant
/// could not reach the provider, is dropped (a running one never is). So the map holds the
/// tokens of the last `grace` seconds: with one refresh per access-token lifetime, one or two.
/// At most [`MAX_FLIGHTS`] are kept: beyond them the oldest answer is dropped, and when all of
/// them are running grants, a new token gets none (the caller a 502, its cookies kept).
#[derive(Debug, Default)]
pub struct RefreshFlights {
    flights: RefCell<HashMap<String, RefreshFlight>>,
}

impl RefreshFlights {
    /// The answer for `refresh_token`: as [`RefreshFlight::run`], in that token's own flight.
    pub async fn run<F>(
        &self,
        refresh_token: &str,
        now: u64,
        grace: u64,
        grant: impl FnOnce() -> F,
    ) -> Result<Answer, TransportError>
    where
        F: Future<Output = Result<Answer, TransportError>> + 'static,
    {
        let flight = {
            let mut flights = self.flights.borrow_mut();
            flights.retain(|_, flight| flight.matters(now, grace));
            let key = token_key(refresh_token);
            match flights.get(&key) {
                Some(flight) => flight.clone(),
                None => {
                    // Only the session's own holder can present its tokens, but replaying its
                    // old refresh cookies would otherwise grow one object without bound. When
                    // full, the oldest answer goes (a late caller of that token then asks the
                    // provider again); a running grant never does.
                    if flights.len() >= MAX_FLIGHTS {
                        let oldest = flights
                            .iter()
                            .filter_map(|(key, flight)| flight.answered_at().map(|at| (at, key)))
                            .min()
                            .map(|(_, key)| key.clone());
                        match oldest {
                            Some(oldest) => {
                                flights.remove(&oldest);
                            }
                            None => {
                                return Err(TransportError {
                                    reason: format!(
                                        "{MAX_FLIGHTS} grants of this session's refresh tokens \
                                         are running: no grant for another one now"
                                    ),
                                })
                            }
                        }
                    }
                    flights.entry(key).or_default().clone()
                }
            }
        };
        flight.run(now, grace, grant).await
    }

    /// How many refresh tokens' flights are kept.
    pub fn len(&self) -> usize {
        self.flights.borrow().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.flights.borrow().is_empty()
    }
}

/// What the worker sends its refresh coordinator: the session's provider id (empty for the
/// default provider), a line feed, and the refresh token — or, for the default provider and a
/// token without a line feed (every token RFC 6749 §A.17 allows), the token alone, as before
/// there were several providers. A provider id never holds a line feed, so the first one ends
/// it, whatever the token holds.
pub fn coordinator_body(provider: Option<&str>, refresh_token: &str) -> String {
    match provider {
        None if !refresh_token.contains('\n') => refresh_token.to_owned(),
        None => format!("\n{refresh_token}"),
        Some(id) => format!("{id}\n{refresh_token}"),
    }
}

/// The coordinator's side of a refresh: runs the grant for the refresh token in `body`
/// ([`coordinator_body`]) at its provider, in its flight among the session's `flights`, and
/// answers what the token endpoint answered (or 502 when the provider could not be reached or
/// is not configured).
pub async fn coordinated_refresh<C: Context + 'static>(
    edge: Rc<C>,
    flights: &RefreshFlights,
    body: String,
) -> Response {
    let (provider, refresh_token) = match body.split_once('\n') {
        Some(("", token)) => (None, token.to_owned()),
        Some((id, token)) => (Some(id.to_owned()), token.to_owned()),
        None => (None, body),
    };
    if edge.refresh_provider(provider.as_deref()).is_none() {
        return Error::IdpUnavailable("the refresh names a provider that is not configured".into())
            .into_logged_response(edge.ports(), "refresh coordinator");
    }
    let now = edge.ports().now();
    let grace = edge.session_settings().refresh_grace;
    let presented = refresh_token.clone();
    // Set when the provider refused the worker's own client (`invalid_client`): not kept, but
    // passed on as the provider said it, so the worker can tell a misconfiguration from an
    // outage (502 `idp_rejected_client`).
    let rejected_client = Rc::new(std::cell::Cell::new(false));
    let grant = || {
        let edge = Rc::clone(&edge);
        let provider = provider.clone();
        let rejected_client = Rc::clone(&rejected_client);
        async move {
            let ports = edge.ports();
            let provider =
                edge.refresh_provider(provider.as_deref())
                    .ok_or_else(|| TransportError {
                        reason: "the provider is not configured".into(),
                    })?;
            let discovery = provider
                .discovery(ports)
                .await
                .map_err(|e| TransportError {
                    reason: e.to_string(),
                })?;
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.as_str()),
            ];
            let response = oidc::client_post(
                provider.client,
                ports,
                &discovery,
                &discovery.token_endpoint,
                &form,
            )
            .await
            .map_err(|e| TransportError {
                reason: format!("{e:?}"),
            })?;
            // Kept and shared is only what settles this token: tokens, or `invalid_grant`. Any
            // other answer (a rate limit, a client that no longer authenticates, a server
            // error) says nothing about the token: not kept, the next caller asks again. A bare
            // 400 counts as `invalid_grant` where the provider's quirks say so
            // (`oidc::refusal_code`).
            let status = response.status();
            let code = oidc::refusal_code(status, response.body(), provider.client.quirks);
            if !(status.is_success() || code.as_deref() == Some(oidc::INVALID_GRANT)) {
                rejected_client.set(code.as_deref() == Some(INVALID_CLIENT));
                return Err(TransportError {
                    reason: format!(
                        "the token endpoint answered HTTP {} {}",
                        status.as_u16(),
                        code.unwrap_or_default()
                    ),
                });
            }
            Ok(Answer {
                status: status.as_u16(),
                body: response.into_body(),
            })
        }
    };
    match flights.run(&presented, now, grace, grant).await {
        Ok(answer) => {
            let mut response = Response::new(answer.body);
            *response.status_mut() =
                http::StatusCode::from_u16(answer.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) if rejected_client.get() => {
            edge.ports().log(
                LogLevel::Error,
                &format!("edgeward: refresh coordinator: {}", e.reason),
            );
            let mut response = Response::new(br#"{"error":"invalid_client"}"#.to_vec());
            *response.status_mut() = http::StatusCode::UNAUTHORIZED;
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => Error::IdpUnavailable(e.reason)
            .into_logged_response(edge.ports(), "refresh coordinator"),
    }
}

/// The OAuth error code of a client the provider did not authenticate (RFC 6749 §5.2).
const INVALID_CLIENT: &str = "invalid_client";

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use futures_util::future::join_all;

    use super::*;

    fn answer(n: u8) -> Answer {
        Answer {
            status: 200,
            body: vec![n],
        }
    }

    #[test]
    fn parallel_callers_share_one_grant_and_late_ones_get_it_within_the_grace() {
        let flight = RefreshFlight::default();
        let grants = Rc::new(Cell::new(0u8));
        let call = |now: u64| {
            let grants = Rc::clone(&grants);
            flight.run(now, 30, move || {
                grants.set(grants.get() + 1);
                let n = grants.get();
                async move {
                    // Let the other callers arrive while this one is "at the IdP".
                    yield_once().await;
                    Ok(answer(n))
                }
            })
        };
        let results = futures_executor::block_on(join_all((0..50).map(|_| call(100))));
        assert!(results.iter().all(|r| r.as_ref().ok() == Some(&answer(1))));
        assert_eq!(grants.get(), 1);
        // Within the grace window: the same answer, no grant.
        assert_eq!(futures_executor::block_on(call(129)), Ok(answer(1)));
        assert_eq!(grants.get(), 1);
        // After it: a new grant (an IdP with rotation will call that reuse, rightly).
        assert_eq!(futures_executor::block_on(call(130)), Ok(answer(2)));
        assert_eq!(grants.get(), 2);
    }

    #[test]
    fn an_unreachable_provider_is_not_remembered_but_a_refusal_is() {
        let flight = RefreshFlight::default();
        let down = || async {
            Err(TransportError {
                reason: "down".into(),
            })
        };
        assert!(futures_executor::block_on(flight.run(1, 30, down)).is_err());
        let refused = Answer {
            status: 400,
            body: br#"{"error":"invalid_grant"}"#.to_vec(),
        };
        let given = refused.clone();
        let got = futures_executor::block_on(flight.run(2, 30, move || async move { Ok(given) }));
        assert_eq!(got, Ok(refused.clone()));
        let again = futures_executor::block_on(
            flight.run(3, 30, || async { Ok::<_, TransportError>(answer(9)) }),
        );
        assert_eq!(again, Ok(refused), "the refusal is what everyone gets");
    }

    #[test]
    fn a_flight_whose_starter_went_away_still_finishes_for_the_others() {
        let flight = RefreshFlight::default();
        let (tx, rx) = futures_channel_like();
        let started = flight.run(1, 30, move || async move {
            rx.await;
            Ok(answer(7))
        });
        // The starter polls once, then is dropped (its client disconnected).
        let mut started = Box::pin(started);
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(started.as_mut().poll(&mut cx).is_pending());
        drop(started);
        tx.set(true);
        let other = futures_executor::block_on(
            flight.run(2, 30, || async { Ok::<_, TransportError>(answer(8)) }),
        );
        assert_eq!(other, Ok(answer(7)), "the running grant, not a second one");
        let later = futures_executor::block_on(
            flight.run(3, 30, || async { Ok::<_, TransportError>(answer(8)) }),
        );
        assert_eq!(later, Ok(answer(7)), "and its outcome was recorded");
    }

    #[test]
    fn a_token_never_gets_the_answer_another_token_of_the_same_object_got() {
        // The attack: one object per session, so a second refresh token arriving there (the
        // rotated one, or any other) must not be handed the first token's tokens.
        let flights = RefreshFlights::default();
        let grant = |n: u8| move || async move { Ok::<_, TransportError>(answer(n)) };
        let run = |token: &'static str, now: u64, n: u8| {
            futures_executor::block_on(flights.run(token, now, 30, grant(n)))
        };
        assert_eq!(run("token-a", 100, 1), Ok(answer(1)));
        assert_eq!(
            run("token-b", 101, 2),
            Ok(answer(2)),
            "token-b gets its own grant, never token-a's answer"
        );
        assert_eq!(
            run("token-a", 102, 3),
            Ok(answer(1)),
            "token-a's answer is kept"
        );
        assert_eq!(run("token-b", 103, 4), Ok(answer(2)), "and token-b's");
    }

    #[test]
    fn parallel_callers_of_several_tokens_in_one_object_make_one_grant_per_token() {
        let flights = RefreshFlights::default();
        let grants = Rc::new(RefCell::new(Vec::<&str>::new()));
        let call = |token: &'static str| {
            let grants = Rc::clone(&grants);
            flights.run(token, 100, 30, move || {
                grants.borrow_mut().push(token);
                let n = grants.borrow().len() as u8;
                async move {
                    yield_once().await;
                    Ok(answer(n))
                }
            })
        };
        let tokens = ["rt-1", "rt-2", "rt-3"];
        let results =
            futures_executor::block_on(join_all((0..60).map(|i| call(tokens[i % tokens.len()]))));
        assert_eq!(
            *grants.borrow(),
            tokens,
            "one grant per token, in arrival order"
        );
        for (i, result) in results.iter().enumerate() {
            let n = (i % tokens.len()) as u8 + 1;
            assert_eq!(
                result,
                &Ok(answer(n)),
                "caller {i} gets its own token's answer"
            );
        }
        assert_eq!(flights.len(), 3);
    }

    #[test]
    fn flights_are_pruned_after_the_grace_window_but_never_while_running() {
        let flights = RefreshFlights::default();
        let ok = |n: u8| move || async move { Ok::<_, TransportError>(answer(n)) };
        let down = || async {
            Err(TransportError {
                reason: "down".into(),
            })
        };
        // A grant that outlives the grace window: still running, so kept.
        let (open, gate) = futures_channel_like();
        let mut slow = Box::pin(flights.run("slow", 100, 30, move || async move {
            gate.await;
            Ok(answer(9))
        }));
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(slow.as_mut().poll(&mut cx).is_pending());
        // One token per refresh, 10 s apart, as a busy session rotates them.
        for (i, now) in (100..200).step_by(10).enumerate() {
            let token = format!("rt-{i}");
            let got = futures_executor::block_on(flights.run(&token, now, 30, ok(i as u8)));
            assert_eq!(got, Ok(answer(i as u8)));
            // The ones from the last 30 s, and the slow one.
            assert!(
                flights.len() <= 4,
                "{} flights kept at {now}",
                flights.len()
            );
        }
        let _ = futures_executor::block_on(flights.run("unreachable", 200, 30, down));
        open.set(true);
        assert_eq!(futures_executor::block_on(slow), Ok(answer(9)));
        // At 240: the slow one's answer (recorded at 100) and every other is past the grace
        // window, and the unreachable one was never kept: only the new token's flight is left.
        let _ = futures_executor::block_on(flights.run("rt-new", 240, 30, ok(1)));
        assert_eq!(flights.len(), 1);
        // And a token whose flight was pruned is granted anew, as after the grace window.
        let again = futures_executor::block_on(flights.run("rt-9", 241, 30, ok(2)));
        assert_eq!(again, Ok(answer(2)));
    }

    #[test]
    fn each_token_keeps_a_refusal_and_forgets_an_unreachable_provider() {
        let flights = RefreshFlights::default();
        let refused = Answer {
            status: 400,
            body: br#"{"error":"invalid_grant"}"#.to_vec(),
        };
        let run = |token: &str, now: u64, result: Result<Answer, TransportError>| {
            futures_executor::block_on(flights.run(token, now, 30, move || async move { result }))
        };
        // (token, now, what the provider would answer, what the caller gets)
        let down_err = Err(TransportError {
            reason: "down".into(),
        });
        let cases: [(
            &str,
            u64,
            Result<Answer, TransportError>,
            Result<Answer, TransportError>,
        ); 5] = [
            ("refused", 1, Ok(refused.clone()), Ok(refused.clone())),
            ("refused", 2, Ok(answer(1)), Ok(refused.clone())),
            ("flaky", 3, down_err.clone(), down_err.clone()),
            ("flaky", 4, Ok(answer(2)), Ok(answer(2))),
            ("flaky", 5, Ok(answer(3)), Ok(answer(2))),
        ];
        for (token, now, provider, expected) in cases {
            assert_eq!(run(token, now, provider), expected, "{token} at {now}");
        }
    }

    /// Pending once, then ready: a stand-in for waiting on the network.
    fn yield_once() -> impl Future<Output = ()> {
        let mut yielded = false;
        futures_util::future::poll_fn(move |cx| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
    }

    /// A one-shot gate: the future completes once the cell is set.
    fn futures_channel_like() -> (Rc<Cell<bool>>, impl Future<Output = ()>) {
        let gate = Rc::new(Cell::new(false));
        let open = Rc::clone(&gate);
        let wait = futures_util::future::poll_fn(move |cx| {
            if open.get() {
                std::task::Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        });
        (gate, wait)
    }
}
