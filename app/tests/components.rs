//! Components rendered in a real browser (headless Chromium via wasm-bindgen-test-runner),
//! from given states: no server involved.

#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edgeward_app::api::ApiResponse;
use edgeward_app::explorer::{build_request, ResponseView};
use edgeward_app::views::format_remaining;
use edgeward_app::{ProfileView, SessionState, SessionStatus, User};
use edgeward_shared::api::{SessionResponse, UserClaims};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Mounts `view` into a fresh element and returns that element.
fn mount<V: IntoView + 'static>(view: impl FnOnce() -> V + 'static) -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let container: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&container).unwrap();
    leptos::mount::mount_to(container.clone(), view).forget();
    container
}

fn render(state: SessionState) -> web_sys::HtmlElement {
    mount(move || view! { <SessionStatus state=state.clone() /> })
}

fn text(el: &web_sys::HtmlElement) -> String {
    el.text_content().unwrap_or_default()
}

fn buttons(el: &web_sys::HtmlElement) -> Vec<String> {
    let list = el.query_selector_all("button").unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|n| n.text_content().unwrap_or_default())
        .collect()
}

fn ada() -> SessionResponse {
    SessionResponse {
        is_logged_in: true,
        claims: Some(UserClaims {
            sub: "u-1".into(),
            name: Some("Ada Lovelace".into()),
            email: Some("ada@example.com".into()),
            ..Default::default()
        }),
        access_token_expires_at: Some(1_700_000_300),
        csrf: Some("c".into()),
        session_expires_at: Some(1_700_003_725),
        provider: None,
        ..SessionResponse::default()
    }
}

#[wasm_bindgen_test]
fn signed_out_offers_sign_in() {
    let el = render(SessionState::from_response(&SessionResponse::signed_out()));
    assert!(text(&el).contains("Signed out"), "{}", text(&el));
    assert!(el.query_selector(".status.signed-out").unwrap().is_some());
    assert_eq!(buttons(&el), ["Sign in"]);
}

#[wasm_bindgen_test]
fn several_providers_get_one_button_each() {
    use edgeward_app::Providers;
    use edgeward_shared::api::ProviderInfo;
    let info = |id: &str, name: &str| ProviderInfo {
        id: id.into(),
        name: name.into(),
    };
    let el = mount(move || {
        provide_context(Providers(RwSignal::new(vec![
            info("staff", "Staff"),
            info("customers", "Customers"),
        ])));
        view! { <SessionStatus state=SessionState::SignedOut /> }
    });
    assert_eq!(
        buttons(&el),
        ["Sign in with Staff", "Sign in with Customers"]
    );
    assert!(el
        .query_selector("[data-provider=customers] button")
        .unwrap()
        .is_some());
    // One provider: the page looks as it did.
    let el = mount(move || {
        provide_context(Providers(RwSignal::new(vec![info("default", "idp")])));
        view! { <SessionStatus state=SessionState::SignedOut /> }
    });
    assert_eq!(buttons(&el), ["Sign in"]);
}

#[wasm_bindgen_test]
fn signed_in_greets_by_name_and_offers_the_next_steps() {
    let el = render(SessionState::from_response(&ada()));
    assert!(
        text(&el).contains("Signed in as Ada Lovelace"),
        "{}",
        text(&el)
    );
    assert!(text(&el).contains("ada@example.com"));
    assert!(!text(&el).contains("Signed out"));
    assert_eq!(buttons(&el), ["Sign out"]);
    let links: Vec<String> = ["a[href='/profile']", "a[href='/explorer']"]
        .iter()
        .map(|sel| {
            el.query_selector(sel)
                .unwrap()
                .unwrap()
                .text_content()
                .unwrap()
        })
        .collect();
    assert_eq!(links, ["Your profile", "Call an API"]);
}

#[wasm_bindgen_test]
fn a_name_falls_back_to_the_user_name_then_the_subject() {
    let mut response = ada();
    let claims = response.claims.as_mut().unwrap();
    claims.name = None;
    claims.preferred_username = Some("ada".into());
    let state = SessionState::from_response(&response);
    assert_eq!(state.user().unwrap().display_name, "ada");
    response.claims.as_mut().unwrap().preferred_username = None;
    assert_eq!(
        SessionState::from_response(&response)
            .user()
            .unwrap()
            .display_name,
        "u-1"
    );
}

#[wasm_bindgen_test]
fn an_ended_session_says_so_and_offers_sign_in_again() {
    let el = render(SessionState::Ended);
    let alert = el
        .query_selector("[role=alert]")
        .unwrap()
        .expect("an alert");
    assert!(alert.text_content().unwrap().contains("Your session ended"));
    assert_eq!(buttons(&el), ["Sign in again"]);
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

#[wasm_bindgen_test]
async fn the_profile_lists_claims_and_counts_down() {
    let state = SessionState::from_response(&ada());
    let user: User = state.user().unwrap().clone();
    let now = RwSignal::new(1_700_000_000u64);
    let el = mount(move || view! { <ProfileView user=user.clone() now=now /> });
    let t = text(&el);
    for expected in ["Ada Lovelace", "u-1", "ada@example.com"] {
        assert!(t.contains(expected), "{expected} in {t}");
    }
    let countdown = || {
        el.query_selector(".session-countdown")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap()
    };
    assert_eq!(countdown(), "1 h 02 min 05 s");
    now.set(1_700_003_720);
    // Effects run on the next microtask.
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&wasm_bindgen::JsValue::NULL))
        .await
        .unwrap();
    assert_eq!(countdown(), "5 s");
    let access = el
        .query_selector(".access-countdown")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert_eq!(access, "at the next API call");
}

#[wasm_bindgen_test]
fn remaining_time_reads_naturally() {
    assert_eq!(format_remaining(0), "ended");
    assert_eq!(format_remaining(5), "5 s");
    assert_eq!(format_remaining(65), "1 min 05 s");
    assert_eq!(format_remaining(86_400), "24 h 00 min 00 s");
}

#[wasm_bindgen_test]
fn the_explorer_builds_requests_and_explains_mistakes() {
    let get = build_request("get", "/api/whoami", "", "").unwrap();
    assert_eq!(
        (get.method.as_str(), get.path.as_str()),
        ("GET", "/api/whoami")
    );
    assert_eq!(get.body, None);
    let post = build_request("POST", "echo/items?x=1", "X-Trace: 7\n\n", r#"{"a": 1}"#).unwrap();
    assert_eq!(post.path, "/api/echo/items?x=1");
    assert_eq!(
        post.headers,
        vec![
            ("X-Trace".to_string(), "7".to_string()),
            ("content-type".to_string(), "application/json".to_string())
        ]
    );
    let mistakes = [
        ("TRACE", "echo", "", "", "not a method"),
        ("GET", "  ", "", "", "Enter a path"),
        ("GET", "a b", "", "", "spaces"),
        ("GET", "echo", "no colon", "", "Name: value"),
        ("GET", "echo", "bad name: v", "", "not a header name"),
        ("GET", "echo", "", "{}", "no body"),
        ("POST", "echo", "", "{oops", "not valid JSON"),
    ];
    for (method, path, headers, body, why) in mistakes {
        let err = build_request(method, path, headers, body).unwrap_err();
        assert!(
            err.contains(why),
            "{method} {path:?} {headers:?} {body:?}: {err}"
        );
    }
}

#[wasm_bindgen_test]
fn a_response_shows_status_time_headers_and_pretty_json() {
    let response = ApiResponse {
        status: 200,
        status_text: "OK".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: r#"{"sub":"demo","scopes":["openid"]}"#.into(),
        elapsed_ms: 12.4,
        refreshed: true,
    };
    let el = mount(move || view! { <ResponseView response=response.clone() /> });
    assert_eq!(
        el.query_selector(".http-status")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        "200 OK"
    );
    assert!(
        text(&el).contains("12 ms (after a token refresh)"),
        "{}",
        text(&el)
    );
    let body = el
        .query_selector("pre.body")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert!(body.contains("\n  \"sub\": \"demo\""), "{body}");
    assert!(el.query_selector(".response.ok").unwrap().is_some());
}
