//! edgeward's platform-free core.
//!
//! A request comes in as an [`http::Request`], a response goes out as an [`http::Response`].
//! Nothing here touches a platform: the clock, randomness and outgoing HTTP are
//! [`ports`](platform::ports) the caller passes in (the Cloudflare adapter in `edge/worker`
//! implements them with `worker::Date`, WebCrypto and `worker::Fetch`; tests implement them with
//! fixed values). So the whole core compiles and is tested natively with `cargo test`.
//!
//! Entry point: [`Edge::handle`]. Failures are [`Error`]s, which become JSON
//! `{"code", "message"}` responses with the status of their [`edgeward_shared::ErrorCode`].
//!
//! The modules are capabilities, each a folder whose `mod.rs` says what it owns and what it may
//! use, declared below from the ground up; a module never names one declared after it
//! (README "Layout" has the map; `scripts/core-layout.mjs`, in the test command, fails on an
//! import cycle between modules and on a use a module's `May use:` line does not list).

#![forbid(unsafe_code)]

pub mod platform;

pub mod audit;

pub mod cors;

pub mod cookie;
pub mod oidc;
pub mod request;

pub mod sessions;

pub mod machine;

pub mod broker;
pub mod rate;

pub(crate) mod agent;
pub mod proxy;

pub mod edge;

pub use edge::{Config, Edge, Outcome};
pub use oidc::{ClientAuth, OidcClient};
pub use platform::ports::{
    AeadCipher, AuthenticationFailed, Clock, HttpClient, Log, LogLevel, MetricPoint, Platform,
    Random, RandomUnavailable, RateLimiter, RateVerdict, RefreshCoordinator, RustCipher,
    RustSignatures, SessionRegistry, SharedCache, SignatureVerifier, Signer, TransportError,
};
pub use platform::settings::{ConfigError, Profile, Secret};
pub use platform::{Error, Request, Response};
pub use proxy::{PhantomMode, ProxyConfig};
pub use sessions::SessionMode;
