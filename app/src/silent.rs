//! Silent sign-in: when the worker says it is configured for it (`silentSignIn` in a signed-out
//! `/auth/session` answer), the app tries once per tab to sign in without showing anything
//! (`prompt=none`). A user with a session at the identity provider comes back signed in; one
//! without comes back with `login_required` (or another code that needs the user), a 401 from
//! `/auth/login/end`, and the app shows its sign-in page where the user was.
//!
//! No loop: the try is recorded in `sessionStorage` before the browser leaves, and a tab that
//! has tried never tries again (a reload, a sign-out, a failed try). Without `sessionStorage`
//! (blocked by the browser) there is no try at all.

use edgeward_shared::api::SessionResponse;
use edgeward_shared::ErrorCode;
use leptos::prelude::window;

use crate::api::ApiError;
use crate::client;

/// The `sessionStorage` key that records this tab's try; its value is the page to come back to.
pub const TRIED: &str = "edgeward.silentSignIn";

fn storage() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
}

/// Starts a silent sign-in if the worker offers it and this tab has not tried yet: records the
/// try, then sends the browser to the identity provider. `true` when the browser is leaving
/// (the page should keep showing that it is loading).
pub async fn try_once(session: &SessionResponse) -> bool {
    if session.is_logged_in || !session.silent_sign_in {
        return false;
    }
    let Some(storage) = storage() else {
        return false;
    };
    if !matches!(storage.get_item(TRIED), Ok(None)) {
        return false;
    }
    let location = window().location();
    let path = location.pathname().unwrap_or_else(|_| "/".into());
    if path == edgeward_shared::paths::CALLBACK {
        return false;
    }
    let return_to = path + &location.search().unwrap_or_default();
    // Recorded first: if anything below fails, or the provider never sends the browser back,
    // this tab does not try again.
    if storage.set_item(TRIED, &return_to).is_err() {
        return false;
    }
    match client().login_start_silent(&return_to).await {
        Ok(start) => location.assign(&start.authorization_url).is_ok(),
        Err(_) => false,
    }
}

/// Whether a `login/end` error is a silent sign-in the provider could not finish without the
/// user (then the app shows its sign-in page, not an error).
pub fn needs_the_user(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::Edge(body) if matches!(
            body.code,
            ErrorCode::LoginRequired
                | ErrorCode::InteractionRequired
                | ErrorCode::ConsentRequired
                | ErrorCode::AccountSelectionRequired
        )
    )
}

/// The page the silent try started from (the sign-in page is shown there).
pub fn return_to() -> String {
    storage()
        .and_then(|s| s.get_item(TRIED).ok().flatten())
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".into())
}
