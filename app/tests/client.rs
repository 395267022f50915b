//! The API client in a real browser with real `fetch`, against the stand-in server
//! (tests/support/api-standin.mjs, started by the test command on port 8097, or
//! `EDGEWARD_STANDIN` at build time): CSRF header, refresh-and-retry-once, single flight.

#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::Cell;
use std::rc::Rc;

use edgeward_app::api::{ApiError, ApiRequest, Client};
use futures::future::join_all;
use serde_json::Value;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn standin() -> &'static str {
    option_env!("EDGEWARD_STANDIN").unwrap_or("http://127.0.0.1:8097")
}

/// A client for a fresh scenario `kind-<random>` and that scenario's base URL.
fn scenario(kind: &str) -> (Rc<Client>, String) {
    let id = format!("{kind}-{}", (js_sys::Math::random() * 1e12) as u64);
    let base = format!("{}/{id}", standin());
    (Client::new(base.clone()), base)
}

async fn stats(base: &str) -> Value {
    let response = gloo_net::http::Request::get(&format!("{base}/_stats"))
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

fn request(method: &str, path: &str, body: Option<&str>) -> ApiRequest {
    ApiRequest {
        method: method.into(),
        path: path.into(),
        headers: vec![("x-request-id".into(), "r-1".into())],
        body: body.map(str::to_owned),
    }
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

#[wasm_bindgen_test]
async fn state_changing_calls_carry_the_csrf_header_and_reads_do_not() {
    let (client, base) = scenario("fresh");
    client.set_csrf(Some("csrf-1".into()));
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let response = client
            .send(&request(method, "/api/echo", Some("{}")))
            .await
            .unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(json(&response.body)["csrf"], "csrf-1", "{method}");
        assert_eq!(json(&response.body)["method"], method);
    }
    let get = client
        .send(&request("GET", "/api/echo?x=1", None))
        .await
        .unwrap();
    assert_eq!(json(&get.body)["csrf"], Value::Null);
    assert_eq!(json(&get.body)["query"], "?x=1");
    assert!(!get.refreshed);
    assert_eq!(stats(&base).await["refreshes"], 0);
}

#[wasm_bindgen_test]
async fn a_401_refreshes_once_and_retries_once() {
    let (client, base) = scenario("expired");
    client.set_csrf(Some("csrf-1".into()));
    let response = client
        .send(&request("POST", "/api/echo/items", Some(r#"{"n":1}"#)))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert!(response.refreshed);
    let echoed = json(&response.body);
    assert_eq!(
        echoed["body"], r#"{"n":1}"#,
        "the retry sends the same body"
    );
    assert_eq!(echoed["csrf"], "csrf-1");
    let s = stats(&base).await;
    assert_eq!(s["refreshes"], 1);
    assert_eq!(s["calls"], 2, "the call and one retry");
    // Afterwards calls go straight through.
    client
        .send(&request("GET", "/api/echo", None))
        .await
        .unwrap();
    assert_eq!(stats(&base).await["refreshes"], 1);
}

#[wasm_bindgen_test]
async fn parallel_401s_share_one_refresh() {
    let (client, base) = scenario("expired");
    let calls = (0..12).map(|i| {
        let client = Rc::clone(&client);
        async move {
            client
                .send(&request("GET", &format!("/api/echo/{i}"), None))
                .await
        }
    });
    let results = join_all(calls).await;
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result.as_ref().unwrap().status, 200, "call {i}");
    }
    let s = stats(&base).await;
    assert_eq!(s["refreshes"], 1, "one refresh for twelve 401s");
    assert_eq!(s["calls"], 24);
    assert_eq!(client.refresh_count(), 1);
}

#[wasm_bindgen_test]
async fn a_refused_refresh_ends_the_session_once_and_does_not_retry() {
    let (client, base) = scenario("ended");
    client.set_csrf(Some("csrf-1".into()));
    let ended = Rc::new(Cell::new(0));
    let seen = Rc::clone(&ended);
    client.on_session_ended(move || seen.set(seen.get() + 1));
    let calls = (0..3).map(|_| {
        let client = Rc::clone(&client);
        async move { client.send(&request("GET", "/api/echo", None)).await }
    });
    for result in join_all(calls).await {
        assert_eq!(result.unwrap_err(), ApiError::SessionEnded);
    }
    assert_eq!(ended.get(), 1, "the hook runs once");
    assert_eq!(client.csrf(), None, "the CSRF value is forgotten");
    let s = stats(&base).await;
    assert_eq!(s["refreshes"], 1);
    assert_eq!(s["calls"], 3, "no retries");
    assert!(ApiError::SessionEnded.message().contains("Sign in again"));
}

#[wasm_bindgen_test]
async fn a_second_401_after_the_refresh_is_returned_not_retried_again() {
    let (client, base) = scenario("broken");
    let response = client
        .send(&request("GET", "/api/echo", None))
        .await
        .unwrap();
    assert_eq!(response.status, 401);
    assert!(response.refreshed);
    let s = stats(&base).await;
    assert_eq!(s["refreshes"], 1);
    assert_eq!(s["calls"], 2);
}

#[wasm_bindgen_test]
async fn an_unreachable_origin_is_a_network_error_with_a_human_message() {
    let client = Client::new("http://127.0.0.1:9");
    let error = client
        .send(&ApiRequest::get("/api/echo"))
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::Network(_)), "{error:?}");
    assert!(error.message().contains("could not be reached"));
}
