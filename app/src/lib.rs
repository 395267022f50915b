//! edgeward's single-page app (Leptos, client-side rendered).
//!
//! It holds no token, ever: the worker on the same origin keeps tokens in encrypted HttpOnly
//! cookies, and the app only learns what `/auth/session` tells it. Views are functions of a
//! [`SessionState`], so tests render them from a given state without a server.

#![forbid(unsafe_code)]

pub mod api;

use edgeward_shared::api::SessionResponse;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;

/// What the page knows about the session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionState {
    /// `/auth/session` has not answered yet.
    Loading,
    /// The worker says there is no session.
    SignedOut,
    /// There is a session; what the page may show of the user.
    SignedIn {
        /// Name to greet the user with.
        display_name: String,
    },
    /// The session could not be read; a sentence saying why.
    Failed(String),
}

impl SessionState {
    /// Interprets the worker's answer.
    pub fn from_response(response: &SessionResponse) -> Self {
        match (&response.is_logged_in, &response.claims) {
            (false, _) => SessionState::SignedOut,
            (true, Some(claims)) => SessionState::SignedIn {
                display_name: claims
                    .name
                    .clone()
                    .or_else(|| claims.preferred_username.clone())
                    .unwrap_or_else(|| claims.sub.clone()),
            },
            (true, None) => SessionState::SignedIn {
                display_name: String::from("signed-in user"),
            },
        }
    }
}

/// The whole app: routes inside a shared layout.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="bar">
                <A href="/" attr:class="brand">"edgeward"</A>
                <span class="tagline">"token handler at the edge"</span>
            </header>
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home />
                </Routes>
            </main>
        </Router>
    }
}

/// `/`: asks the worker for the session and shows it.
#[component]
fn Home() -> impl IntoView {
    let session = LocalResource::new(api::session);
    let state = move || match session.get() {
        None => SessionState::Loading,
        Some(Ok(response)) => SessionState::from_response(&response),
        Some(Err(error)) => SessionState::Failed(error.message()),
    };
    view! {
        <section class="card">
            <h1>"Your session"</h1>
            {move || view! { <SessionStatus state=state() /> }}
        </section>
    }
}

/// Renders one [`SessionState`]. Pure: the same state always gives the same DOM.
#[component]
pub fn SessionStatus(state: SessionState) -> impl IntoView {
    match state {
        SessionState::Loading => view! {
            <p class="status loading" role="status" aria-live="polite">"Checking your session…"</p>
        }
        .into_any(),
        SessionState::SignedOut => view! {
            <div class="status signed-out" role="status">
                <p class="headline">"Signed out"</p>
                <p class="hint">"No session cookie was found. The browser never holds a token: edgeward keeps them in encrypted, HttpOnly cookies."</p>
            </div>
        }
        .into_any(),
        SessionState::SignedIn { display_name } => view! {
            <div class="status signed-in" role="status">
                <p class="headline">"Signed in as " <strong>{display_name}</strong></p>
            </div>
        }
        .into_any(),
        SessionState::Failed(message) => view! {
            <div class="status failed" role="alert">
                <p class="headline">"Could not check your session"</p>
                <p class="hint">{message}</p>
            </div>
        }
        .into_any(),
    }
}

/// Any route the app does not know.
#[component]
fn NotFound() -> impl IntoView {
    view! {
        <section class="card">
            <h1>"Page not found"</h1>
            <p><A href="/">"Back to the start page"</A></p>
        </section>
    }
}
