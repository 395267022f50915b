//! The proxy's settings, read from the `EDGEWARD_API_ROUTES`, `EDGEWARD_PHANTOM_*`,
//! `EDGEWARD_MINT_KEY`, `EDGEWARD_MINT_ALG` and `EDGEWARD_TOKEN_*` variables.

use super::phantom::{MintAlg, MintKey, TokenPolicy};
use super::routes::Routes;
use crate::platform::settings::{invalid, ConfigError, Profile, Vars};

/// The proxied APIs: a JSON list of `{prefix, upstream, methods}` (default: none).
pub const API_ROUTES: &str = "EDGEWARD_API_ROUTES";
/// `introspect-mint` (default), `introspect-jwt` or `passthrough`.
pub const PHANTOM_MODE: &str = "EDGEWARD_PHANTOM_MODE";
/// Secret, for `introspect-mint`: the signing key, `kid:<secret>`; for ES256 the 32-byte P-256
/// secret scalar, for RS256 an RSA key of 2048 to 4096 bits, DER (PKCS#8 or PKCS#1), base64.
pub const MINT_KEY: &str = "EDGEWARD_MINT_KEY";
/// `ES256` (default) or `RS256`: the algorithm of minted tokens.
pub const MINT_ALG: &str = "EDGEWARD_MINT_ALG";
/// Longest life of a minted token and of a cached introspection, seconds (default 60).
pub const PHANTOM_MAX_TTL: &str = "EDGEWARD_PHANTOM_MAX_TTL";
/// Minted tokens cached per isolate (default 1024; 0 introspects on every call).
pub const PHANTOM_CACHE_ENTRIES: &str = "EDGEWARD_PHANTOM_CACHE_ENTRIES";
/// `true` (default) or `false`: share phantom tokens between the isolates of a location
/// through the Workers Cache API.
pub const PHANTOM_SHARED_CACHE: &str = "EDGEWARD_PHANTOM_SHARED_CACHE";
/// Gone: it let any bearer token through every route. A route serves service clients when its
/// `clients` list `service`; setting this to anything but `false` is a configuration error
/// that says so, so that no deployment silently loses (or keeps) what it asked for.
pub const BEARER_PASSTHROUGH: &str = "EDGEWARD_BEARER_PASSTHROUGH";
/// The `token_type` values an introspected token may have, comma-separated (default
/// `Bearer`); `none` also accepts answers that do not say what kind of token it is.
pub const TOKEN_TYPES: &str = "EDGEWARD_TOKEN_TYPES";
/// Clients whose tokens the proxy exchanges besides the worker's own, comma-separated
/// (default none); when set, an answer must name its client.
pub const TOKEN_CLIENT_IDS: &str = "EDGEWARD_TOKEN_CLIENT_IDS";
/// `false` (default) or `true`: refuse introspected tokens that name no audience.
pub const TOKEN_AUDIENCE_REQUIRED: &str = "EDGEWARD_TOKEN_AUDIENCE_REQUIRED";

/// How the proxy turns the cookie's access token into the JWT an API gets.
#[derive(Debug)]
pub enum PhantomMode {
    /// Introspect the opaque token (RFC 7662) and mint a short-lived JWT (ES256 or RS256).
    IntrospectMint {
        /// The worker's signing key.
        key: MintKey,
    },
    /// Ask introspection for a signed JWT (`Accept: application/jwt`, or RFC 9701), check it
    /// against the IdP's keys, forward it.
    IntrospectJwt,
    /// The access token is already a JWT: forward it as it is.
    Passthrough,
}

impl PhantomMode {
    /// Names the mode (and the minting key) in cache keys, so a key rotation or a mode change
    /// never serves an entry made under the old one.
    pub fn cache_tag(&self) -> String {
        match self {
            // ES256 as before (its cached entries stay valid); another algorithm is named.
            PhantomMode::IntrospectMint { key } => match key.alg() {
                MintAlg::Es256 => format!("mint:{}", key.kid()),
                alg => format!("mint:{}:{}", key.kid(), alg.name()),
            },
            PhantomMode::IntrospectJwt => "jwt".to_owned(),
            PhantomMode::Passthrough => "passthrough".to_owned(),
        }
    }
}

/// The API proxy.
#[derive(Debug)]
pub struct ProxyConfig {
    /// The routes (empty: every `/api/*` is 404).
    pub routes: Routes,
    /// Cookie to JWT.
    pub mode: PhantomMode,
    /// Longest life of a minted token / cache entry, seconds.
    pub max_ttl: u64,
    /// Minted tokens cached per isolate (0: none).
    pub cache_entries: usize,
    /// Whether the shared tier (Workers Cache API) is used.
    pub shared_cache: bool,
    /// What an introspected token must be to be exchanged.
    pub tokens: TokenPolicy,
}

impl ProxyConfig {
    /// Reads the proxy's variables; `profile` decides whether upstreams may be plain `http`.
    pub fn from_vars(vars: &Vars<'_>, profile: Profile) -> Result<Self, ConfigError> {
        let routes = match vars.get(API_ROUTES) {
            Some(json) => Routes::parse(&json, profile).map_err(|e| invalid(API_ROUTES, e))?,
            None => Routes::default(),
        };
        let alg = match vars.get(MINT_ALG) {
            Some(name) => MintAlg::parse(&name).map_err(|e| invalid(MINT_ALG, e))?,
            None => MintAlg::default(),
        };
        let mode = match vars.get(PHANTOM_MODE).as_deref() {
            None | Some("introspect-mint") => {
                match vars.get(MINT_KEY) {
                    Some(spec) => PhantomMode::IntrospectMint {
                        key: MintKey::parse_rotation(alg, &spec)
                            .map_err(|e| invalid(MINT_KEY, e))?,
                    },
                    // Only needed once there is something to proxy.
                    None if routes.routes().is_empty() => PhantomMode::Passthrough,
                    None => {
                        return Err(invalid(
                            MINT_KEY,
                            "is not set (introspect-mint signs with it; see README)",
                        ))
                    }
                }
            }
            Some("introspect-jwt") => PhantomMode::IntrospectJwt,
            Some("passthrough") => PhantomMode::Passthrough,
            Some(other) => {
                return Err(invalid(
                    PHANTOM_MODE,
                    format!(
                        "must be introspect-mint, introspect-jwt or passthrough, not {other:?}"
                    ),
                ))
            }
        };
        let max_ttl = vars.number(PHANTOM_MAX_TTL, 1..=3600, 60)?;
        let cache_entries =
            usize::try_from(vars.number(PHANTOM_CACHE_ENTRIES, 0..=100_000, 1024)?).unwrap_or(1024);
        let shared_cache = vars.flag(PHANTOM_SHARED_CACHE, true)?;
        if vars.flag(BEARER_PASSTHROUGH, false)? {
            return Err(invalid(
                BEARER_PASSTHROUGH,
                "is no longer read: list \"service\" in the clients of the routes that serve bearer tokens (README, \"Service clients\")",
            ));
        }
        let mut tokens = TokenPolicy::default();
        if let Some(list) = vars.get(TOKEN_TYPES) {
            (tokens.types, tokens.untyped) =
                TokenPolicy::parse_types(&list).map_err(|e| invalid(TOKEN_TYPES, e))?;
        }
        if let Some(list) = vars.get(TOKEN_CLIENT_IDS) {
            let ids: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if ids.is_empty() {
                return Err(invalid(TOKEN_CLIENT_IDS, "names no client"));
            }
            tokens.client_ids = Some(ids);
        }
        tokens.audience_required = vars.flag(TOKEN_AUDIENCE_REQUIRED, false)?;

        Ok(ProxyConfig {
            routes,
            mode,
            max_ttl,
            cache_entries,
            shared_cache,
            tokens,
        })
    }
}
