//! What a request must look like before a handler acts on it: the size and media type of the
//! bodies the core reads ([`body`]), the Origin and CSRF rules of state-changing requests and
//! the `returnTo` paths a login may come back to ([`guard`]).
//!
//! May use: `platform`.

pub mod body;
pub mod guard;
