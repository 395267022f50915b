//! The routes' pages, and the header's account area.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use leptos_router::NavigateOptions;

use crate::views::{
    signed_in_or, ProfileView, SessionStatus, SignInButton, SignInChoices, SignOutButton,
};
use crate::{client, now_secs, silent, tabs, Session, SessionState};

/// The header's right side: who is signed in, and the button that fits.
#[component]
pub fn Account() -> impl IntoView {
    let session = expect_context::<Session>();
    move || match session.state.get() {
        SessionState::SignedIn(user) => view! {
            <div class="account">
                <span class="who">{user.display_name}</span>
                <SignOutButton />
            </div>
        }
        .into_any(),
        SessionState::SignedOut | SessionState::Ended => view! {
            <div class="account"><SignInButton /></div>
        }
        .into_any(),
        SessionState::Loading | SessionState::Failed(_) => {
            view! { <div class="account"></div> }.into_any()
        }
    }
}

/// A banner on every page once the session has ended while the page was open.
#[component]
pub fn SessionBanner() -> impl IntoView {
    let session = expect_context::<Session>();
    move || {
        (session.state.get() == SessionState::Ended).then(|| {
            view! {
                <div class="banner" role="alert">
                    <span>"Your session ended. Sign in again to continue."</span>
                    <SignInChoices label="Sign in again" />
                </div>
            }
        })
    }
}

/// `/`: the session, and what to do next.
#[component]
pub fn Home() -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <section class="card">
            <h1>"Your session"</h1>
            {move || view! { <SessionStatus state=session.state.get() /> }}
        </section>
        <section class="card about">
            <h2>"How this works"</h2>
            <p>"This page is static files from the CDN. The worker on the same origin signs you in with OpenID Connect, keeps the tokens in encrypted HttpOnly cookies, and swaps them for a short-lived JWT when the page calls an API under /api/. JavaScript on this page cannot read a token, because it never has one."</p>
        </section>
    }
}

/// `/callback`: hands the identity provider's answer to the worker, then goes where the login
/// was started from, replacing this page in the history so the code leaves the address bar.
#[component]
pub fn Callback() -> impl IntoView {
    let session = expect_context::<Session>();
    let navigate = use_navigate();
    let error = RwSignal::new(None::<String>);
    let page_url = window().location().href().unwrap_or_default();
    spawn_local(async move {
        match client().login_end(&page_url).await {
            Ok(end) => {
                if end.handled && end.is_logged_in {
                    tabs::announce(tabs::Event::SignedIn);
                }
                let next = match client().session().await {
                    Ok(response) => SessionState::from_response(&response),
                    Err(e) => SessionState::Failed(e.message()),
                };
                session.state.set(next);
                let target = end.return_to.unwrap_or_else(|| "/".into());
                navigate(
                    &target,
                    NavigateOptions {
                        replace: true,
                        ..Default::default()
                    },
                );
            }
            // A silent sign-in the provider could not finish without the user: the sign-in
            // page, where the try started.
            Err(e) if silent::needs_the_user(&e) => {
                session.reload();
                navigate(
                    &silent::return_to(),
                    NavigateOptions {
                        replace: true,
                        ..Default::default()
                    },
                );
            }
            Err(e) => error.set(Some(e.message())),
        }
    });
    view! {
        <section class="card">
            {move || match error.get() {
                None => view! {
                    <p class="status loading" role="status" aria-live="polite">"Finishing sign-in…"</p>
                }.into_any(),
                Some(message) => view! {
                    <div class="status failed" role="alert">
                        <h1>"Sign-in did not finish"</h1>
                        <p class="hint">{message}</p>
                        <SignInChoices label="Sign in again" />
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

/// `/profile`: the user's claims and the session's countdown.
#[component]
pub fn Profile() -> impl IntoView {
    let session = expect_context::<Session>();
    let now = RwSignal::new(now_secs());
    if let Ok(handle) =
        set_interval_with_handle(move || now.set(now_secs()), Duration::from_secs(1))
    {
        on_cleanup(move || handle.clear());
    }
    view! {
        <section class="card profile">
            {move || signed_in_or(
                session.state.get(),
                "Sign in to see your profile.",
                |user| view! { <ProfileView user now=now /> }.into_any(),
            )}
        </section>
    }
}

/// Any route the app does not know.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="card">
            <h1>"Page not found"</h1>
            <p>"Nothing lives at this address."</p>
            <p><A href="/">"Back to the start page"</A></p>
        </section>
    }
}
