//! edgeward's single-page app (Leptos, client-side rendered).
//!
//! It holds no token, ever: the worker on the same origin keeps tokens in encrypted HttpOnly
//! cookies, and the app only learns what `/auth/session` tells it. Views are functions of a
//! [`SessionState`], so tests render them from a given state without a server.
//!
//! Pages: `/` (sign in, or a summary), `/callback` (finishes a login), `/profile` (claims and
//! the session's countdown), `/explorer` (calls the APIs behind the proxy), and a 404 page.
//! Other tabs of the same app follow sign-in and sign-out through a `BroadcastChannel`.

#![forbid(unsafe_code)]

pub mod api;
pub mod connections;
pub mod explorer;
mod pages;
pub mod silent;
pub mod tabs;
pub mod views;

use std::rc::Rc;

use edgeward_shared::api::{ProviderInfo, SessionResponse, UserClaims};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;

pub use views::{ProfileView, SessionStatus};

/// What the page knows about the session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionState {
    /// `/auth/session` has not answered yet.
    Loading,
    /// The worker says there is no session.
    SignedOut,
    /// There is a session.
    SignedIn(User),
    /// The session ended while the page was open (a refresh was refused).
    Ended,
    /// The session could not be read; a sentence saying why.
    Failed(String),
}

/// What the page may show of the signed-in user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Name to greet the user with.
    pub display_name: String,
    /// The ID token's claims the worker shares.
    pub claims: UserClaims,
    /// When the session ends, seconds since the epoch.
    pub session_expires_at: Option<u64>,
    /// When the current access token expires (the worker refreshes it on demand).
    pub access_token_expires_at: Option<u64>,
}

impl SessionState {
    /// Interprets the worker's answer.
    pub fn from_response(response: &SessionResponse) -> Self {
        if !response.is_logged_in {
            return SessionState::SignedOut;
        }
        let claims = response.claims.clone().unwrap_or_default();
        let display_name = claims
            .name
            .clone()
            .or_else(|| claims.preferred_username.clone())
            .unwrap_or_else(|| {
                if claims.sub.is_empty() {
                    String::from("signed-in user")
                } else {
                    claims.sub.clone()
                }
            });
        SessionState::SignedIn(User {
            display_name,
            claims,
            session_expires_at: response.session_expires_at,
            access_token_expires_at: response.access_token_expires_at,
        })
    }

    /// The signed-in user, if any.
    pub fn user(&self) -> Option<&User> {
        match self {
            SessionState::SignedIn(user) => Some(user),
            _ => None,
        }
    }
}

thread_local! {
    static CLIENT: Rc<api::Client> = api::Client::new("");
}

/// The page's client for its own origin.
pub fn client() -> Rc<api::Client> {
    CLIENT.with(Rc::clone)
}

/// The session, shared by every page through context.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    /// The current state.
    pub state: RwSignal<SessionState>,
}

impl Session {
    /// The page's first look at the session: signed out, it may try a silent sign-in once
    /// ([`silent`]); the state stays `Loading` while the browser leaves for the provider.
    pub fn first_load(self) {
        spawn_local(async move {
            let next = match client().session().await {
                Ok(response) => {
                    if silent::try_once(&response).await {
                        return;
                    }
                    SessionState::from_response(&response)
                }
                Err(error) => SessionState::Failed(error.message()),
            };
            self.state.set(next);
        });
    }

    /// Asks the worker again and updates the state.
    pub fn reload(self) {
        spawn_local(async move {
            let next = match client().session().await {
                Ok(response) => SessionState::from_response(&response),
                Err(error) => SessionState::Failed(error.message()),
            };
            self.state.set(next);
        });
    }
}

/// The identity providers the worker offers (`GET /auth/providers`), shared through context:
/// empty until it answers (and if it cannot), when the sign-in page shows one plain button.
#[derive(Debug, Clone, Copy)]
pub struct Providers(pub RwSignal<Vec<ProviderInfo>>);

/// Seconds since the epoch, from the browser's clock.
pub fn now_secs() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// The whole app: routes inside a shared layout.
#[component]
pub fn App() -> impl IntoView {
    let session = Session {
        state: RwSignal::new(SessionState::Loading),
    };
    provide_context(session);
    session.first_load();
    let providers = Providers(RwSignal::new(Vec::new()));
    provide_context(providers);
    spawn_local(async move {
        if let Ok(list) = client().providers().await {
            providers.0.set(list);
        }
    });
    client().on_session_ended(move || {
        session.state.set(SessionState::Ended);
        tabs::announce(tabs::Event::SignedOut);
    });
    // Another tab signed in or out: ask the worker what is true now.
    tabs::listen(move |_| session.reload());

    view! {
        <Router>
            <header class="bar">
                <A href="/" attr:class="brand">"edgeward"</A>
                <nav aria-label="Main">
                    <A href="/profile">"Profile"</A>
                    <A href="/explorer">"API explorer"</A>
                    <A href="/connections">"Connected accounts"</A>
                </nav>
                <pages::Account />
            </header>
            <pages::SessionBanner />
            <main>
                <Routes fallback=pages::NotFound>
                    <Route path=path!("/") view=pages::Home />
                    <Route path=path!("/callback") view=pages::Callback />
                    <Route path=path!("/profile") view=pages::Profile />
                    <Route path=path!("/explorer") view=explorer::Explorer />
                    <Route path=path!("/connections") view=connections::Connections />
                    <Route path=path!("/connections/callback") view=connections::ConnectionCallback />
                </Routes>
            </main>
        </Router>
    }
}
