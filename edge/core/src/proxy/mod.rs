//! The API proxy (`/api/*`): the route table and the path rule ([`routes`]), what a forwarded
//! request and its answer may carry ([`headers`]), phantom tokens — introspection, the checks
//! an introspected token must pass, minting, the caches ([`phantom`]) — and the request
//! handler that puts them together into a [`Forward`] plan for the adapter
//! ([`forward`](mod@forward)), with what is particular to service clients (bearer access tokens
//! of the identity provider: [`service`]). Its settings are [`ProxyConfig`] ([`settings`]).
//!
//! A route whose credential is a token broker connection forwards the user's access token of
//! that connected account (`broker`) instead of a phantom token.
//!
//! The proxy reads the request's session (the access cookie, or the server-side session)
//! through `sessions`, and takes what it needs of the isolate's state as a [`Context`].
//!
//! May use: `platform`, `request`, `cookie`, `oidc`, `sessions`, `machine`, `broker`.

pub mod forward;
pub mod headers;
pub mod phantom;
pub mod routes;
pub mod service;
pub mod settings;

pub use forward::{answer_headers, Forward};
pub(crate) use forward::{forget_token, forward};
pub use headers::{
    content_type_as_sent, forward_request_headers, forward_response_headers, rewrite_location,
    AnswerRules, DEFAULT_REQUEST_HEADERS, DEFAULT_RESPONSE_HEADERS, JUDGED_RESPONSE_HEADERS,
    PROXIED_RESPONSE_CSP, SCRIPT_TYPE_AS_SENT,
};
pub use routes::{path_is_safe, Route, Routes, Target};
pub use settings::{PhantomMode, ProxyConfig};

/// What the proxy needs of the isolate's state besides what sessions need and the origins (the
/// SPA's origin is the issuer of minted tokens); the dispatcher's `Edge` implements it.
pub trait Context:
    crate::sessions::Context
    + crate::machine::Context
    + crate::broker::Context
    + crate::request::Origins
{
    /// The proxy's settings.
    fn proxy(&self) -> &ProxyConfig;
    /// This isolate's minted phantom tokens.
    fn phantom_cache(&self) -> &phantom::PhantomCache;
}
