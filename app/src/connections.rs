//! "Connected accounts" (the token broker): `/connections` lists the connections the worker is
//! configured with and the user's state of each, connects one (the provider's page, then back
//! to `/connections/callback`), and disconnects one. Which services may use a connection is
//! shown; the page never sees a token (the worker never sends one).

use edgeward_shared::api::{
    ConnectEndResponse, ConnectionInfo, ConnectionsResponse, LoginEndRequest, LoginStartResponse,
};
use edgeward_shared::paths;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use leptos_router::NavigateOptions;

use crate::api::{ApiError, ApiRequest};
use crate::client;
use crate::views::signed_in_or;
use crate::Session;

/// Where the connection being connected is remembered across the provider's page (the
/// callback's URL does not name it).
const CONNECTING: &str = "edgeward.connecting";

fn json_request(method: &str, path: String, body: Option<String>) -> ApiRequest {
    ApiRequest {
        method: method.into(),
        path,
        headers: body
            .is_some()
            .then(|| ("content-type".to_owned(), "application/json".to_owned()))
            .into_iter()
            .collect(),
        body,
    }
}

async fn call<T: serde::de::DeserializeOwned>(request: ApiRequest) -> Result<T, String> {
    let response = client()
        .send(&request)
        .await
        .map_err(|e: ApiError| e.message())?;
    if !response.ok() {
        return Err(response.pretty_body());
    }
    serde_json::from_str(&response.body).map_err(|e| format!("unexpected answer: {e}"))
}

async fn list() -> Result<Vec<ConnectionInfo>, String> {
    call::<ConnectionsResponse>(ApiRequest::get(paths::CONNECTIONS))
        .await
        .map(|r| r.connections)
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.session_storage().ok().flatten())
}

async fn connect(name: String) -> Result<(), String> {
    let body = serde_json::json!({ "returnTo": "/connections" }).to_string();
    let start: LoginStartResponse = call(json_request(
        "POST",
        format!("{}/{name}/start", paths::CONNECTIONS),
        Some(body),
    ))
    .await?;
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(CONNECTING, &name);
    }
    window()
        .location()
        .assign(&start.authorization_url)
        .map_err(|_| "the browser did not go to the provider".to_owned())
}

async fn disconnect(name: String) -> Result<(), String> {
    let response = client()
        .send(&json_request(
            "DELETE",
            format!("{}/{name}", paths::CONNECTIONS),
            None,
        ))
        .await
        .map_err(|e| e.message())?;
    if response.ok() {
        Ok(())
    } else {
        Err(response.pretty_body())
    }
}

/// `/connections`: the user's connected accounts.
#[component]
pub fn Connections() -> impl IntoView {
    let session = expect_context::<Session>();
    let items = RwSignal::new(None::<Result<Vec<ConnectionInfo>, String>>);
    let reload = move || spawn_local(async move { items.set(Some(list().await)) });
    reload();
    let row = move |c: ConnectionInfo| {
        let name = c.name.clone();
        let connected = c.status != "not_connected";
        let action = if connected {
            let name = name.clone();
            view! {
                <button class="secondary" on:click=move |_| {
                    let name = name.clone();
                    spawn_local(async move {
                        if let Err(e) = disconnect(name).await {
                            items.set(Some(Err(e)));
                            return;
                        }
                        items.set(Some(list().await));
                    });
                }>"Disconnect"</button>
            }
            .into_any()
        } else {
            let name = name.clone();
            view! {
                <button on:click=move |_| {
                    let name = name.clone();
                    spawn_local(async move {
                        if let Err(e) = connect(name).await {
                            items.set(Some(Err(e)));
                        }
                    });
                }>"Connect"</button>
            }
            .into_any()
        };
        let grants = if c.grants.is_empty() {
            "no service".to_owned()
        } else {
            c.grants.join(", ")
        };
        view! {
            <tr class="connection">
                <td class="name">{c.name}</td>
                <td class="status">{c.status.replace('_', " ")}</td>
                <td class="scopes">{c.scopes}</td>
                <td class="grants">{grants}</td>
                <td>{action}</td>
            </tr>
        }
    };
    view! {
        <section class="card connections">
            <h1>"Connected accounts"</h1>
            {move || signed_in_or(
                session.state.get(),
                "Sign in to see your connected accounts.",
                move |_| match items.get() {
                    None => view! { <p class="status loading" role="status">"Loading…"</p> }.into_any(),
                    Some(Err(message)) => view! {
                        <p class="status failed" role="alert">{message}</p>
                    }.into_any(),
                    Some(Ok(list)) if list.is_empty() => view! {
                        <p>"This deployment has no connections configured."</p>
                    }.into_any(),
                    Some(Ok(list)) => view! {
                        <table>
                            <thead><tr>
                                <th>"Account"</th><th>"Status"</th><th>"Scopes"</th>
                                <th>"Services allowed"</th><th></th>
                            </tr></thead>
                            <tbody>{list.into_iter().map(row).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                },
            )}
        </section>
    }
}

/// `/connections/callback`: hands the provider's answer to the worker for the connection being
/// connected, then goes back to the list.
#[component]
pub fn ConnectionCallback() -> impl IntoView {
    let navigate = use_navigate();
    let error = RwSignal::new(None::<String>);
    let page_url = window().location().href().unwrap_or_default();
    let name = session_storage().and_then(|s| {
        let name = s.get_item(CONNECTING).ok().flatten();
        let _ = s.remove_item(CONNECTING);
        name
    });
    spawn_local(async move {
        let Some(name) = name else {
            error.set(Some(
                "No connection was being connected in this tab.".into(),
            ));
            return;
        };
        // A fresh page: the CSRF value the end needs comes with the session (the app's first
        // load may not have finished yet).
        if client().csrf().is_none() {
            if let Err(e) = client().session().await {
                error.set(Some(e.message()));
                return;
            }
        }
        let body = serde_json::to_string(&LoginEndRequest { page_url }).unwrap_or_default();
        match call::<ConnectEndResponse>(json_request(
            "POST",
            format!("{}/{name}/end", paths::CONNECTIONS),
            Some(body),
        ))
        .await
        {
            Ok(end) => navigate(
                &end.return_to,
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            ),
            Err(e) => error.set(Some(e)),
        }
    });
    view! {
        <section class="card">
            {move || match error.get() {
                None => view! {
                    <p class="status loading" role="status" aria-live="polite">"Connecting…"</p>
                }.into_any(),
                Some(message) => view! {
                    <div class="status failed" role="alert">
                        <h1>"The account was not connected"</h1>
                        <p class="hint">{message}</p>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}
