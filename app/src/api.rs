//! The SPA's client for its own origin: the worker's `/auth/*` endpoints and the `/api/*` proxy.
//!
//! It never sees a token: the browser attaches edgeward's HttpOnly cookies by itself. What it
//! does hold is the session's CSRF value (not a credential: useless without the cookies), which
//! it sends as `x-edgeward-csrf` on every state-changing call.
//!
//! API calls ([`Client::send`]) recover from an expired access token on their own: a `401`
//! makes the client call `/auth/refresh` once and retry the request once. Parallel calls that
//! all get `401` share one refresh (single flight), and a call whose `401` answers a request
//! sent before the last refresh finished just retries. When the refresh is refused the session
//! is over: the call fails with [`ApiError::SessionEnded`] and the client's session-ended hook
//! runs, once.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use edgeward_shared::api::{
    LoginEndRequest, LoginEndResponse, LoginStartRequest, LoginStartResponse, LogoutResponse,
    ProviderInfo, ProvidersResponse, SessionResponse,
};
use edgeward_shared::{names, paths, ErrorBody, ErrorCode};
use futures::future::{FutureExt, LocalBoxFuture, Shared};
use gloo_net::http::Method;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The worker answered with one of edgeward's JSON errors.
    Edge(ErrorBody),
    /// No usable answer: network down, or a body that is not what the contract says.
    Network(String),
    /// The session is over (the refresh was refused): the user must sign in again.
    SessionEnded,
}

impl ApiError {
    /// A sentence a person can act on.
    pub fn message(&self) -> String {
        match self {
            ApiError::SessionEnded => "Your session ended. Sign in again to continue.".into(),
            ApiError::Network(reason) => {
                format!("edgeward could not be reached. Check your connection and try again ({reason}).")
            }
            ApiError::Edge(body) => match body.code {
                ErrorCode::IdpUnavailable => {
                    "The sign-in service is not answering right now. Try again in a moment.".into()
                }
                ErrorCode::UpstreamUnavailable => {
                    "The API is not answering right now. Try again in a moment.".into()
                }
                ErrorCode::SessionExpired => {
                    "Your session ended. Sign in again to continue.".into()
                }
                ErrorCode::SessionStoreUnavailable => {
                    "Your session cannot be checked right now. Try again in a moment.".into()
                }
                _ => body.message.clone(),
            },
        }
    }
}

/// A request to send through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// HTTP method, upper case.
    pub method: String,
    /// Path on the origin, query included (e.g. `/api/whoami`).
    pub path: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<String>,
}

impl ApiRequest {
    /// A `GET` of `path` with nothing else.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: "GET".into(),
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
    }
}

/// What came back.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// The status line's text (may be empty over HTTP/2).
    pub status_text: String,
    /// Response headers the browser lets the page see.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
    /// Milliseconds from sending to the whole body, including a refresh and retry if any.
    pub elapsed_ms: f64,
    /// Whether the answer came from a retry after `/auth/refresh`.
    pub refreshed: bool,
}

impl ApiResponse {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body pretty-printed when it is JSON, else as it came.
    pub fn pretty_body(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| self.body.clone())
    }

    fn error(&self) -> ApiError {
        match serde_json::from_str::<ErrorBody>(&self.body) {
            Ok(body) => ApiError::Edge(body),
            Err(_) => ApiError::Network(format!("HTTP {}", self.status)),
        }
    }
}

type SharedRefresh = Shared<LocalBoxFuture<'static, Result<(), ApiError>>>;

/// The client. Build one per page with [`Client::new`] and share it (`Rc`).
pub struct Client {
    base: String,
    csrf: RefCell<Option<String>>,
    /// The refresh in flight, if any: every caller awaits this one.
    refreshing: RefCell<Option<SharedRefresh>>,
    /// How many refreshes have succeeded; a 401 to a request sent before the latest one is
    /// answered by retrying, not by refreshing again.
    generation: Cell<u64>,
    refreshes: Cell<u32>,
    on_session_ended: RefCell<Option<Rc<dyn Fn()>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("generation", &self.generation.get())
            .finish_non_exhaustive()
    }
}

/// Whether a method changes state (and so needs the CSRF header).
pub fn is_state_changing(method: &str) -> bool {
    matches!(
        method.to_ascii_uppercase().as_str(),
        "POST" | "PUT" | "PATCH" | "DELETE"
    )
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

impl Client {
    /// A client for the origin at `base` (`""`: the page's own origin, as in production).
    pub fn new(base: impl Into<String>) -> Rc<Self> {
        Rc::new(Self {
            base: base.into(),
            csrf: RefCell::new(None),
            refreshing: RefCell::new(None),
            generation: Cell::new(0),
            refreshes: Cell::new(0),
            on_session_ended: RefCell::new(None),
        })
    }

    /// The CSRF value the client sends.
    pub fn csrf(&self) -> Option<String> {
        self.csrf.borrow().clone()
    }

    /// Sets the CSRF value (from `/auth/session` or `/auth/login/end`).
    pub fn set_csrf(&self, csrf: Option<String>) {
        *self.csrf.borrow_mut() = csrf;
    }

    /// How many refreshes this client has started.
    pub fn refresh_count(&self) -> u32 {
        self.refreshes.get()
    }

    /// Runs `hook` whenever a refresh is refused (the session is over).
    pub fn on_session_ended(&self, hook: impl Fn() + 'static) {
        *self.on_session_ended.borrow_mut() = Some(Rc::new(hook));
    }

    /// One request, no retry.
    async fn exchange(&self, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let started = now_ms();
        let method =
            Method::from_bytes(request.method.to_ascii_uppercase().as_bytes()).map_err(|_| {
                ApiError::Network(format!("{:?} is not an HTTP method", request.method))
            })?;
        let network = |e: wasm_bindgen::JsValue| ApiError::Network(format!("{e:?}"));
        let headers = web_sys::Headers::new().map_err(network)?;
        for (name, value) in &request.headers {
            headers.append(name, value).map_err(network)?;
        }
        if is_state_changing(method.as_str()) {
            if let Some(csrf) = self.csrf() {
                headers.append(names::CSRF_HEADER, &csrf).map_err(network)?;
            }
        }
        let init = web_sys::RequestInit::new();
        init.set_method(method.as_str());
        init.set_headers(&headers);
        if let Some(body) = &request.body {
            init.set_body(&wasm_bindgen::JsValue::from_str(body));
        }
        // Built by hand, not with gloo's RequestBuilder: that one appends a stray `&` to a URL
        // that already has a query (gloo-net 0.6), and the explorer must send what was typed.
        let url = format!("{}{}", self.base, request.path);
        let raw = web_sys::Request::new_with_str_and_init(&url, &init).map_err(network)?;
        let sent = gloo_net::http::Request::from(raw).send().await;
        let response = sent.map_err(|e| ApiError::Network(e.to_string()))?;
        let body = response
            .text()
            .await
            .map_err(|e| ApiError::Network(e.to_string()))?;
        Ok(ApiResponse {
            status: response.status(),
            status_text: response.status_text(),
            headers: response.headers().entries().collect(),
            body,
            elapsed_ms: now_ms() - started,
            refreshed: false,
        })
    }

    /// `GET /auth/session`; remembers the CSRF value.
    pub async fn session(&self) -> Result<SessionResponse, ApiError> {
        let response = self.exchange(&ApiRequest::get(paths::SESSION)).await?;
        if !response.ok() {
            return Err(response.error());
        }
        let session: SessionResponse = serde_json::from_str(&response.body)
            .map_err(|e| ApiError::Network(format!("unexpected session answer: {e}")))?;
        self.set_csrf(session.csrf.clone());
        Ok(session)
    }

    async fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, ApiError> {
        let request = ApiRequest {
            method: "POST".into(),
            path: path.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: Some(serde_json::to_string(body).map_err(|e| ApiError::Network(e.to_string()))?),
        };
        let response = self.exchange(&request).await?;
        if !response.ok() {
            return Err(response.error());
        }
        serde_json::from_str(&response.body)
            .map_err(|e| ApiError::Network(format!("unexpected answer from {path}: {e}")))
    }

    /// `POST /auth/login/start`: where to send the browser to sign in.
    pub async fn login_start(&self, return_to: &str) -> Result<LoginStartResponse, ApiError> {
        let request = LoginStartRequest {
            return_to: Some(return_to.to_owned()),
            ..Default::default()
        };
        self.post_json(paths::LOGIN_START, &request).await
    }

    /// `POST /auth/login/start` at identity provider `provider` (an id of
    /// [`Client::providers`]; `None`: the worker's default).
    pub async fn login_start_with(
        &self,
        return_to: &str,
        provider: Option<&str>,
    ) -> Result<LoginStartResponse, ApiError> {
        let request = LoginStartRequest {
            return_to: Some(return_to.to_owned()),
            provider: provider.map(str::to_owned),
            ..Default::default()
        };
        self.post_json(paths::LOGIN_START, &request).await
    }

    /// `GET /auth/providers`: the identity providers to offer on the sign-in page.
    pub async fn providers(&self) -> Result<Vec<ProviderInfo>, ApiError> {
        let response = self.exchange(&ApiRequest::get(paths::PROVIDERS)).await?;
        if !response.ok() {
            return Err(response.error());
        }
        serde_json::from_str::<ProvidersResponse>(&response.body)
            .map(|r| r.providers)
            .map_err(|e| ApiError::Network(format!("unexpected providers answer: {e}")))
    }

    /// `POST /auth/login/start` for a silent sign-in (`prompt=none`): the provider answers at
    /// once, signed in or with `login_required`.
    pub async fn login_start_silent(
        &self,
        return_to: &str,
    ) -> Result<LoginStartResponse, ApiError> {
        let mut request = LoginStartRequest {
            return_to: Some(return_to.to_owned()),
            ..Default::default()
        };
        request
            .extra_params
            .insert("prompt".to_owned(), "none".to_owned());
        self.post_json(paths::LOGIN_START, &request).await
    }

    /// `POST /auth/login/end` with the callback page's URL; remembers the new CSRF value.
    pub async fn login_end(&self, page_url: &str) -> Result<LoginEndResponse, ApiError> {
        let request = LoginEndRequest {
            page_url: page_url.to_owned(),
        };
        let end: LoginEndResponse = self.post_json(paths::LOGIN_END, &request).await?;
        if end.csrf.is_some() {
            self.set_csrf(end.csrf.clone());
        }
        Ok(end)
    }

    /// `POST /auth/logout`; forgets the CSRF value.
    pub async fn logout(&self) -> Result<LogoutResponse, ApiError> {
        let out = self.post_json(paths::LOGOUT, &serde_json::json!({})).await;
        if out.is_ok() {
            self.set_csrf(None);
        }
        out
    }

    /// `POST /auth/refresh`, once: a refusal (401) is [`ApiError::SessionEnded`].
    async fn refresh(&self) -> Result<(), ApiError> {
        self.refreshes.set(self.refreshes.get() + 1);
        let request = ApiRequest {
            method: "POST".into(),
            path: paths::REFRESH.into(),
            headers: Vec::new(),
            body: None,
        };
        let response = self.exchange(&request).await?;
        match response.status {
            200..=299 => {
                self.generation.set(self.generation.get() + 1);
                Ok(())
            }
            401 => {
                self.set_csrf(None);
                let hook = self.on_session_ended.borrow().clone();
                if let Some(hook) = hook {
                    hook();
                }
                Err(ApiError::SessionEnded)
            }
            _ => Err(response.error()),
        }
    }

    /// Refreshes, joining the refresh already in flight if there is one.
    pub async fn refresh_shared(self: &Rc<Self>) -> Result<(), ApiError> {
        let in_flight = self.refreshing.borrow().clone();
        let refresh = match in_flight {
            Some(refresh) => refresh,
            None => {
                let this = Rc::clone(self);
                let refresh = async move {
                    let result = this.refresh().await;
                    *this.refreshing.borrow_mut() = None;
                    result
                }
                .boxed_local()
                .shared();
                *self.refreshing.borrow_mut() = Some(refresh.clone());
                refresh
            }
        };
        refresh.await
    }

    /// Sends `request`; on `401`, refreshes once (shared with parallel calls) and retries once.
    pub async fn send(self: &Rc<Self>, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let started = now_ms();
        let generation = self.generation.get();
        let first = self.exchange(request).await?;
        if first.status != 401 {
            return Ok(first);
        }
        if self.generation.get() == generation {
            self.refresh_shared().await?;
        }
        let mut retried = self.exchange(request).await?;
        retried.elapsed_ms = now_ms() - started;
        retried.refreshed = true;
        Ok(retried)
    }
}
