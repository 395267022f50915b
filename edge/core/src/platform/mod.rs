//! The ground every capability stands on: the [`ports`] (what the core needs from its
//! platform: clock, randomness, outgoing HTTP, the shared cache, the refresh coordinator, the
//! session registry, signature checks, the log), the request and response types, the [`Error`]
//! every failure becomes and the JSON answer it turns into, the cookie jar (reading the `Cookie`
//! fields, writing `__Host-` `Set-Cookie` lines), the one-string form of a header list in which
//! an adapter hands over a request's head ([`header_list`]), reading settings, a request's [`trail`] (what
//! its handler noted for the audit line), and the small cryptographic helpers (SHA-256 names,
//! random tokens, constant-time comparison).
//!
//! Nothing here knows what a session, a route or a token is.
//!
//! May use: nothing in the core (only the shared contract and external crates).

pub mod cookies;
pub mod crypto;
pub mod error;
pub mod header_list;
pub mod ports;
pub(crate) mod respond;
pub mod settings;
pub mod trail;

pub use error::Error;

/// A request as the core sees it: the body is read in full (the endpoints the core answers
/// itself take small bodies, and their size is limited before any handler runs).
pub type Request = http::Request<Vec<u8>>;
/// A response as the core produces it.
pub type Response = http::Response<Vec<u8>>;
