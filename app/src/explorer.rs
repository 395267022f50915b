//! `/explorer`: an HTTP client for the APIs behind the proxy, living in the page's session.
//! Requests go out with the browser's cookies (the worker swaps them for a JWT); the page keeps
//! its recent requests in memory only, and there is no token to keep.

use edgeward_shared::paths;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{ApiRequest, ApiResponse};
use crate::views::signed_in_or;
use crate::{client, Session};

/// Methods the explorer offers.
pub const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// How many recent requests the page remembers.
pub const HISTORY: usize = 8;

/// Builds a request from the form: `path` is below `/api/`, `headers` one `Name: value` per
/// line, `body` JSON (or empty). The error is a sentence for the page.
pub fn build_request(
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> Result<ApiRequest, String> {
    let method = method.trim().to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(format!("{method} is not a method the explorer sends."));
    }
    let path = path.trim().trim_start_matches('/');
    let path = path.strip_prefix("api/").unwrap_or(path);
    if path.is_empty() {
        return Err("Enter a path below /api/, for example whoami.".into());
    }
    if path.chars().any(char::is_whitespace) {
        return Err("The path cannot contain spaces (encode them as %20).".into());
    }
    let mut parsed = Vec::new();
    for (n, line) in headers.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("Header line {} needs the form Name: value.", n + 1));
        };
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!(
                "Header line {}: {name:?} is not a header name.",
                n + 1
            ));
        }
        parsed.push((name.to_owned(), value.trim().to_owned()));
    }
    let body = body.trim();
    let body = if body.is_empty() {
        None
    } else if method == "GET" {
        return Err("A GET request has no body: clear it or pick another method.".into());
    } else {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(body) {
            return Err(format!("The body is not valid JSON: {e}."));
        }
        if !parsed
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            parsed.push(("content-type".into(), "application/json".into()));
        }
        Some(body.to_owned())
    };
    Ok(ApiRequest {
        method,
        path: format!("{}{path}", paths::API_PREFIX),
        headers: parsed,
        body,
    })
}

/// The form's text for `request`, so a recent request can be loaded back.
fn form_of(request: &ApiRequest) -> (String, String, String, String) {
    let path = request
        .path
        .strip_prefix(paths::API_PREFIX)
        .unwrap_or(&request.path)
        .to_owned();
    let headers = request
        .headers
        .iter()
        .filter(|(n, v)| !(n == "content-type" && v == "application/json"))
        .map(|(n, v)| format!("{n}: {v}"))
        .collect::<Vec<_>>()
        .join("\n");
    (
        request.method.clone(),
        path,
        headers,
        request.body.clone().unwrap_or_default(),
    )
}

/// The page.
#[component]
pub fn Explorer() -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <section class="card explorer">
            <h1>"API explorer"</h1>
            {move || signed_in_or(
                session.state.get(),
                "Sign in to call the APIs behind the proxy.",
                |_| view! { <ExplorerForm /> }.into_any(),
            )}
        </section>
    }
}

/// The request form, the answer, and the recent requests.
#[component]
fn ExplorerForm() -> impl IntoView {
    let method = RwSignal::new("GET".to_string());
    let path = RwSignal::new("whoami".to_string());
    let headers = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let outcome = RwSignal::new(None::<Result<ApiResponse, String>>);
    let recent = RwSignal::new(Vec::<ApiRequest>::new());

    let send = move |ev: SubmitEvent| {
        ev.prevent_default();
        let request = match build_request(
            &method.get_untracked(),
            &path.get_untracked(),
            &headers.get_untracked(),
            &body.get_untracked(),
        ) {
            Ok(request) => request,
            Err(message) => {
                outcome.set(Some(Err(message)));
                return;
            }
        };
        recent.update(|list| {
            list.retain(|r| r != &request);
            list.insert(0, request.clone());
            list.truncate(HISTORY);
        });
        busy.set(true);
        spawn_local(async move {
            let answer = client().send(&request).await;
            outcome.set(Some(answer.map_err(|e| e.message())));
            busy.set(false);
        });
    };
    let load = move |request: ApiRequest| {
        let (m, p, h, b) = form_of(&request);
        method.set(m);
        path.set(p);
        headers.set(h);
        body.set(b);
    };

    view! {
        <form class="request" on:submit=send>
            <div class="line">
                <label class="visually-hidden" for="ex-method">"Method"</label>
                <select id="ex-method" on:change=move |ev| method.set(event_target_value(&ev)) prop:value=move || method.get()>
                    {METHODS.iter().map(|m| view! { <option value=*m>{*m}</option> }).collect_view()}
                </select>
                <label class="prefix" for="ex-path">"/api/"</label>
                <input id="ex-path" type="text" spellcheck="false" autocomplete="off"
                    prop:value=move || path.get()
                    on:input=move |ev| path.set(event_target_value(&ev)) />
                <button class="primary send" type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Sending…" } else { "Send" }}
                </button>
            </div>
            <label for="ex-headers">"Headers " <span class="hint">"(one Name: value per line)"</span></label>
            <textarea id="ex-headers" rows="2" spellcheck="false"
                prop:value=move || headers.get()
                on:input=move |ev| headers.set(event_target_value(&ev))></textarea>
            <label for="ex-body">"JSON body " <span class="hint">"(not for GET)"</span></label>
            <textarea id="ex-body" rows="4" spellcheck="false"
                prop:value=move || body.get()
                on:input=move |ev| body.set(event_target_value(&ev))></textarea>
        </form>
        {move || outcome.get().map(|result| match result {
            Ok(response) => view! { <ResponseView response /> }.into_any(),
            Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
        })}
        {move || {
            let list = recent.get();
            (!list.is_empty()).then(|| view! {
                <h2>"Recent requests"</h2>
                <ul class="recent">
                    {list.into_iter().map(|request| {
                        let label = format!("{} {}", request.method, request.path);
                        view! {
                            <li><button class="link" type="button" on:click=move |_| load(request.clone())>{label}</button></li>
                        }
                    }).collect_view()}
                </ul>
            })
        }}
    }
}

/// One answer: status, time, headers, body.
#[component]
pub fn ResponseView(response: ApiResponse) -> impl IntoView {
    let class = if response.ok() {
        "response ok"
    } else {
        "response bad"
    };
    let status = format!("{} {}", response.status, response.status_text);
    let timing = format!(
        "{:.0} ms{}",
        response.elapsed_ms,
        if response.refreshed {
            " (after a token refresh)"
        } else {
            ""
        }
    );
    view! {
        <div class=class aria-live="polite">
            <p class="status-line"><strong class="http-status">{status}</strong> " · " <span class="timing">{timing}</span></p>
            <details>
                <summary>{format!("Headers ({})", response.headers.len())}</summary>
                <table class="headers"><tbody>
                    {response.headers.iter().map(|(n, v)| view! { <tr><th scope="row">{n.clone()}</th><td>{v.clone()}</td></tr> }).collect_view()}
                </tbody></table>
            </details>
            <pre class="body"><code>{response.pretty_body()}</code></pre>
        </div>
    }
}
