//! Silent sign-in in a real browser: when the app must not try (the worker does not offer it,
//! a session exists, this tab tried already), and which `login/end` errors mean "sign in
//! interactively". A try itself leaves the page, so it is shown end to end by
//! tests/e2e/silent-sign-in.test.mjs.

#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edgeward_app::api::ApiError;
use edgeward_app::silent::{needs_the_user, return_to, try_once, TRIED};
use edgeward_shared::api::SessionResponse;
use edgeward_shared::{ErrorBody, ErrorCode};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn storage() -> web_sys::Storage {
    web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap()
}

#[wasm_bindgen_test]
async fn no_try_when_not_offered_signed_in_or_tried_already() {
    storage().remove_item(TRIED).unwrap();
    let off = SessionResponse::signed_out();
    assert!(!try_once(&off).await);
    assert_eq!(
        storage().get_item(TRIED).unwrap(),
        None,
        "nothing stored when off"
    );

    let signed_in = SessionResponse {
        is_logged_in: true,
        silent_sign_in: true,
        ..SessionResponse::default()
    };
    assert!(!try_once(&signed_in).await);
    assert_eq!(storage().get_item(TRIED).unwrap(), None);

    storage().set_item(TRIED, "/profile").unwrap();
    let offered = SessionResponse {
        silent_sign_in: true,
        ..SessionResponse::signed_out()
    };
    assert!(
        !try_once(&offered).await,
        "a tab that tried does not try again"
    );
    assert_eq!(return_to(), "/profile");
    storage().set_item(TRIED, "//evil.example").unwrap();
    assert_eq!(return_to(), "/", "only a path on this origin");
    storage().remove_item(TRIED).unwrap();
}

#[wasm_bindgen_test]
fn only_the_prompt_none_refusals_need_the_user() {
    let edge = |code| {
        ApiError::Edge(ErrorBody {
            code,
            message: String::new(),
        })
    };
    for code in [
        ErrorCode::LoginRequired,
        ErrorCode::InteractionRequired,
        ErrorCode::ConsentRequired,
        ErrorCode::AccountSelectionRequired,
    ] {
        assert!(needs_the_user(&edge(code)), "{code:?}");
    }
    for code in [
        ErrorCode::LoginFailed,
        ErrorCode::InvalidState,
        ErrorCode::Unauthorized,
        ErrorCode::IdpUnavailable,
    ] {
        assert!(!needs_the_user(&edge(code)), "{code:?}");
    }
    assert!(!needs_the_user(&ApiError::SessionEnded));
    assert!(!needs_the_user(&ApiError::Network("down".into())));
}
