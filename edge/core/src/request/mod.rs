//! What a request must look like before a handler acts on it: the size and media type of the
//! bodies the core reads ([`body`]), the Origin and CSRF rules of state-changing requests and
//! the `returnTo` paths a login may come back to ([`guard`]), how many cookies and how large a
//! head it may carry ([`limits`]), and the origins they are judged by
//! ([`Origins`]).
//!
//! May use: `platform`.

pub mod body;
pub mod guard;
pub mod limits;

/// The origins a request is judged by, lent by the dispatcher's `Edge`: the SPA's own and those
/// allowed on state-changing requests.
pub trait Origins {
    /// The SPA's origin (scheme, host, port), without a trailing slash.
    fn origin(&self) -> &str;
    /// Origins allowed on state-changing requests; always holds [`Origins::origin`].
    fn allowed_origins(&self) -> &[String];
}
