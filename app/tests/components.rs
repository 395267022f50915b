//! Components rendered in a real browser (headless Chromium via wasm-bindgen-test-runner).

#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edgeward_app::{SessionState, SessionStatus};
use edgeward_shared::api::{SessionResponse, UserClaims};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Mounts `state` into a fresh element and returns that element.
fn render(state: SessionState) -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let container: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&container).unwrap();
    let handle = leptos::mount::mount_to(container.clone(), move || {
        view! { <SessionStatus state=state.clone() /> }
    });
    handle.forget();
    container
}

fn text(el: &web_sys::HtmlElement) -> String {
    el.text_content().unwrap_or_default()
}

#[wasm_bindgen_test]
fn signed_out_state_says_signed_out() {
    let el = render(SessionState::from_response(&SessionResponse::signed_out()));
    assert!(text(&el).contains("Signed out"), "{}", text(&el));
    let status = el.query_selector(".status.signed-out").unwrap();
    assert!(
        status.is_some(),
        "missing .status.signed-out in {}",
        el.inner_html()
    );
}

#[wasm_bindgen_test]
fn signed_in_state_greets_by_name() {
    let response = SessionResponse {
        is_logged_in: true,
        claims: Some(UserClaims {
            sub: "u-1".into(),
            name: Some("Ada Lovelace".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let el = render(SessionState::from_response(&response));
    assert!(
        text(&el).contains("Signed in as Ada Lovelace"),
        "{}",
        text(&el)
    );
    assert!(!text(&el).contains("Signed out"));
}

#[wasm_bindgen_test]
fn failure_is_an_alert_with_the_reason() {
    let el = render(SessionState::Failed(
        "The service could not be reached (HTTP 502).".into(),
    ));
    let alert = el
        .query_selector("[role=alert]")
        .unwrap()
        .expect("an alert");
    assert!(alert.text_content().unwrap().contains("HTTP 502"));
}
