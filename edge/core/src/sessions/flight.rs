//! Single-flight refresh: the logic a refresh coordinator (on Cloudflare, a Durable Object named
//! by the SHA-256 of one refresh token) runs, so that every refresh of that token — from any
//! tab, any isolate — makes at most one grant at the identity provider.
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
use std::future::Future;
use std::rc::Rc;

use futures_util::future::{FutureExt, LocalBoxFuture, Shared};

use super::Context;
use crate::oidc;
use crate::platform::ports::{Clock, TransportError};
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
/// thread, interleaving them only at `await`s).
#[derive(Default)]
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

/// The coordinator's side of a refresh: runs the grant for `refresh_token` in `flight` and
/// answers what the token endpoint answered (or 502 when the provider could not be reached).
pub async fn coordinated_refresh<C: Context + 'static>(
    edge: Rc<C>,
    flight: &RefreshFlight,
    refresh_token: String,
) -> Response {
    let now = edge.ports().now();
    let grace = edge.session_settings().refresh_grace;
    let grant = || {
        let edge = Rc::clone(&edge);
        async move {
            let ports = edge.ports();
            let discovery = edge
                .idp()
                .discovery(edge.oidc(), ports)
                .await
                .map_err(|e| TransportError {
                    reason: e.to_string(),
                })?;
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.as_str()),
            ];
            let response = oidc::client_post(edge.oidc(), ports, &discovery.token_endpoint, &form)
                .await
                .map_err(|e| TransportError {
                    reason: format!("{e:?}"),
                })?;
            Ok(Answer {
                status: response.status().as_u16(),
                body: response.into_body(),
            })
        }
    };
    match flight.run(now, grace, grant).await {
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
        Err(e) => Error::IdpUnavailable(e.reason)
            .into_logged_response(edge.ports(), "refresh coordinator"),
    }
}

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
