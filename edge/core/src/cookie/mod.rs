//! What the browser holds: values sealed with AES-256-GCM under the deployment's cookie keys
//! ([`seal`]), and the session's cookies — the binding every one of them carries, what each
//! holds, how a jar of them is read and written ([`session`]).
//!
//! Reading and writing the `Cookie` and `Set-Cookie` headers themselves is the platform's
//! cookie jar; what a session is *worth* (whether it has ended, where a server-side one is
//! stored) is `sessions`' business.
//!
//! May use: `platform`.

pub mod flow;
pub mod memo;
pub mod seal;
pub mod session;

pub use seal::CookieKeys;

use crate::platform::settings::{invalid, ConfigError, Vars};

/// Secret: cookie keys, `kid:key[,kid:key…]`, 32-byte keys in hex or base64; the first seals.
pub const COOKIE_KEYS: &str = "EDGEWARD_COOKIE_KEYS";

/// Reads [`COOKIE_KEYS`]. The keys still have to be bound to the deployment
/// ([`CookieKeys::for_deployment`]) once the client id is known.
pub fn keys_from_vars(vars: &Vars<'_>) -> Result<CookieKeys, ConfigError> {
    vars.get(COOKIE_KEYS)
        .ok_or_else(|| {
            invalid(
                COOKIE_KEYS,
                "is not set (generate one: openssl rand -hex 32, as k1:<hex>)",
            )
        })
        .and_then(|spec| CookieKeys::parse(&spec).map_err(|e| invalid(COOKIE_KEYS, e.to_string())))
}
