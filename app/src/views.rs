//! Views that are functions of their inputs (tests mount them from given states), and the
//! sign-in and sign-out buttons they contain.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::{client, tabs, Providers, Session, SessionState, User};

/// "3 h 04 min 05 s", "4 min 05 s", "5 s"; "ended" when `secs` is 0.
pub fn format_remaining(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        _ if secs == 0 => "ended".into(),
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s:02} s"),
        _ => format!("{h} h {m:02} min {s:02} s"),
    }
}

/// A time in seconds since the epoch, in the browser's locale and time zone.
pub fn format_time(secs: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(secs as f64 * 1000.0));
    String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}

/// The page to come back to after a login: this one (the callback page means the start page).
fn current_page() -> String {
    let location = window().location();
    let path = location.pathname().unwrap_or_else(|_| "/".into());
    if path == edgeward_shared::paths::CALLBACK {
        return "/".into();
    }
    path + &location.search().unwrap_or_default()
}

/// Starts a login that comes back to `return_to` (default: the current page). Errors (IdP
/// down) show under the button.
#[component]
pub fn SignInButton(
    /// Where to land after the login.
    #[prop(optional, into)]
    return_to: Option<String>,
    /// The button's text.
    #[prop(into, default = "Sign in".to_string())]
    label: String,
    /// The identity provider's id (`None`: the worker's default).
    #[prop(optional, into)]
    provider: Option<String>,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let start = move |_| {
        let return_to = return_to.clone().unwrap_or_else(current_page);
        let provider = provider.clone();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match client()
                .login_start_with(&return_to, provider.as_deref())
                .await
            {
                Ok(start) => {
                    if window()
                        .location()
                        .assign(&start.authorization_url)
                        .is_err()
                    {
                        error.set(Some("The browser refused to open the sign-in page.".into()));
                        busy.set(false);
                    }
                }
                Err(e) => {
                    error.set(Some(e.message()));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <button class="primary sign-in" on:click=start disabled=move || busy.get()>
            {move || if busy.get() { "Opening sign-in…".to_string() } else { label.clone() }}
        </button>
        {move || error.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
    }
}

/// One sign-in button per identity provider the worker offers ([`Providers`] in context),
/// labelled `label` and the provider's name; with one provider (or before the list is known)
/// one plain button, as with a single provider.
#[component]
pub fn SignInChoices(
    /// The text before the provider's name, or the whole text of the single button.
    #[prop(into, default = "Sign in".to_string())]
    label: String,
) -> impl IntoView {
    let providers = use_context::<Providers>();
    move || {
        let list = providers.map(|p| p.0.get()).unwrap_or_default();
        if list.len() < 2 {
            return view! { <SignInButton label=label.clone() /> }.into_any();
        }
        list.into_iter()
            .map(|p| {
                let text = format!("{label} with {}", p.name);
                let id = p.id.clone();
                view! {
                    <div class="provider" data-provider=p.id>
                        <SignInButton label=text provider=id />
                    </div>
                }
            })
            .collect_view()
            .into_any()
    }
}

/// Signs out: clears the session at the worker, tells the other tabs, then visits the IdP's
/// end-session page (or the start page when the IdP has none).
#[component]
pub fn SignOutButton() -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let session = use_context::<Session>();
    let stop = move |_| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match client().logout().await {
                Ok(out) => {
                    tabs::announce(tabs::Event::SignedOut);
                    if let Some(session) = session {
                        session.state.set(SessionState::SignedOut);
                    }
                    let target = out.logout_url.unwrap_or_else(|| "/".into());
                    if window().location().assign(&target).is_err() {
                        busy.set(false);
                    }
                }
                Err(e) => {
                    error.set(Some(e.message()));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <button class="secondary sign-out" on:click=stop disabled=move || busy.get()>
            {move || if busy.get() { "Signing out…" } else { "Sign out" }}
        </button>
        {move || error.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
    }
}

/// Renders one [`SessionState`] for the start page.
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
                <p class="hint">"Sign in with your identity provider. The browser never holds a token: edgeward keeps them in encrypted, HttpOnly cookies."</p>
                <SignInChoices />
            </div>
        }
        .into_any(),
        SessionState::Ended => view! {
            <div class="status ended" role="alert">
                <p class="headline">"Your session ended"</p>
                <p class="hint">"It expired or was ended elsewhere. Sign in again to continue."</p>
                <SignInChoices label="Sign in again" />
            </div>
        }
        .into_any(),
        SessionState::SignedIn(user) => view! {
            <div class="status signed-in" role="status">
                <p class="headline">"Signed in as " <strong class="user-name">{user.display_name.clone()}</strong></p>
                {user.claims.email.clone().map(|email| view! { <p class="hint">{email}</p> })}
                <div class="actions">
                    <a href="/profile" class="button">"Your profile"</a>
                    <a href="/explorer" class="button">"Call an API"</a>
                    <SignOutButton />
                </div>
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

/// The profile of a signed-in `user`; `now` drives the countdowns.
#[component]
pub fn ProfileView(user: User, #[prop(into)] now: Signal<u64>) -> impl IntoView {
    let claims = user.claims.clone();
    let mut rows: Vec<(&'static str, String)> = vec![("Subject (sub)", claims.sub.clone())];
    for (label, value) in [
        ("Name", claims.name.clone()),
        ("User name", claims.preferred_username.clone()),
        ("E-mail", claims.email.clone()),
        ("Signed in at", claims.auth_time.map(format_time)),
    ] {
        if let Some(value) = value {
            rows.push((label, value));
        }
    }
    let session_end = user.session_expires_at;
    let access_end = user.access_token_expires_at;
    let remaining =
        move |end: Option<u64>| end.map(|end| format_remaining(end.saturating_sub(now.get())));
    view! {
        <h1>{user.display_name.clone()}</h1>
        <table class="claims">
            <caption>"From your ID token (the worker keeps the token itself)"</caption>
            <tbody>
                {rows.into_iter().map(|(label, value)| view! {
                    <tr><th scope="row">{label}</th><td>{value}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
        <dl class="timers">
            <dt>"Session ends in"</dt>
            <dd class="session-countdown" aria-live="off">
                {move || remaining(session_end).unwrap_or_else(|| "unknown".into())}
            </dd>
            <dt>"Access token renews in"</dt>
            <dd class="access-countdown">
                {move || remaining(access_end).map(|r| if r == "ended" { "at the next API call".to_string() } else { r }).unwrap_or_else(|| "unknown".into())}
            </dd>
        </dl>
    }
}

/// `signed_in(user)` when there is a session; "Checking…" while loading; otherwise `intro` above
/// the session's state (with its sign-in button).
pub fn signed_in_or(
    state: SessionState,
    intro: &'static str,
    signed_in: impl FnOnce(User) -> AnyView,
) -> AnyView {
    match state {
        SessionState::SignedIn(user) => signed_in(user),
        SessionState::Loading => view! {
            <p class="status loading" role="status">"Checking your session…"</p>
        }
        .into_any(),
        other => view! {
            <p class="intro">{intro}</p>
            <SessionStatus state=other />
        }
        .into_any(),
    }
}
