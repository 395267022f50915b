//! Configuration: read from wrangler vars and secrets once, validated into typed values.
//!
//! [`Config::from_vars`] takes a lookup function rather than a platform handle, so tests pass a
//! map and the adapter passes `Env`. It reads what the whole deployment shares (the profile,
//! the SPA's origin, the allowed origins) and has each capability read its own variables (the
//! cookie keys, the OpenID Connect client, the proxy, sessions, the admin token), in that order.
//! A bad value is a [`ConfigError`] naming the variable; the message never repeats the value of
//! a secret.

use url::Url;

use crate::agent;
use crate::audit::AuditSettings;
use crate::broker::BrokerConfig;
use crate::cookie::{self, CookieKeys};
use crate::cors::CorsConfig;
use crate::machine::{self, MachineConfig};
use crate::oidc::{OidcClient, Providers};
use crate::platform::settings::{check_scheme, invalid, ConfigError, Profile, Secret, Vars};
use crate::proxy::ProxyConfig;
use crate::rate::RateSettings;
use crate::sessions::SessionSettings;

/// `local` or `production` (default `production`).
pub const PROFILE: &str = "EDGEWARD_PROFILE";
/// The SPA's public origin, e.g. `https://app.example.com`.
pub const ORIGIN: &str = "EDGEWARD_ORIGIN";
/// Comma-separated origins allowed to make state-changing calls (default: `EDGEWARD_ORIGIN`).
pub const ALLOWED_ORIGINS: &str = "EDGEWARD_ALLOWED_ORIGINS";

/// Validated configuration.
#[derive(Debug)]
pub struct Config {
    /// Local or production rules.
    pub profile: Profile,
    /// The SPA's origin (scheme, host, port), serialised without a trailing slash.
    pub origin: String,
    /// Origins allowed on state-changing requests; always contains [`Config::origin`].
    pub allowed_origins: Vec<String>,
    /// Keys for sealing cookies.
    pub cookie_keys: CookieKeys,
    /// The identity providers, the default first (the worker is an OpenID Connect client of
    /// each).
    pub providers: Providers,
    /// The API proxy.
    pub proxy: ProxyConfig,
    /// Machine clients: their trust anchors and deny-list.
    pub machine: MachineConfig,
    /// Where sessions live, how the registry is split, how refreshes are shared.
    pub sessions: SessionSettings,
    /// The admin endpoint's bearer token, if it is on.
    pub admin_token: Option<Secret>,
    /// Whether a signed-out SPA is told to try a silent sign-in (`prompt=none`) once.
    pub silent_sign_in: bool,
    /// The token broker: connections, their sealing keys, the service clients.
    pub broker: BrokerConfig,
    /// The origins that may read answers across origins (CORS); empty: off.
    pub cors: CorsConfig,
    /// What an answer over a rate limit says.
    pub rate: RateSettings,
    /// What the audit lines show of the user.
    pub audit: AuditSettings,
}

impl Config {
    /// Reads and validates every variable. `lookup` returns a variable's value, or `None` when
    /// it is not set; empty values count as not set.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(&lookup);

        let profile = match vars.get(PROFILE).as_deref() {
            None | Some("production") => Profile::Production,
            Some("local") => Profile::Local,
            Some(other) => {
                return Err(invalid(
                    PROFILE,
                    format!("must be \"local\" or \"production\", not {other:?}"),
                ))
            }
        };

        let origin = vars
            .get(ORIGIN)
            .ok_or_else(|| invalid(ORIGIN, "is not set"))?;
        let origin = parse_origin(ORIGIN, &origin, profile)?;

        let mut allowed_origins = vec![origin.clone()];
        if let Some(list) = vars.get(ALLOWED_ORIGINS) {
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let o = parse_origin(ALLOWED_ORIGINS, item, profile)?;
                if !allowed_origins.contains(&o) {
                    allowed_origins.push(o);
                }
            }
        }

        let cookie_keys = cookie::keys_from_vars(&vars)?;

        let providers = Providers::from_vars(&vars, profile, &origin)?;

        let proxy = ProxyConfig::from_vars(&vars, profile)?;
        for route in proxy.routes.routes() {
            let unknown = route
                .providers
                .iter()
                .flatten()
                .find(|id| providers.position(id).is_none());
            if let Some(id) = unknown {
                return Err(invalid(
                    crate::proxy::settings::API_ROUTES,
                    format!(
                        "route {}: provider {id:?} is not configured ({})",
                        route.prefix,
                        crate::oidc::PROVIDERS
                    ),
                ));
            }
        }
        let machine = MachineConfig::from_vars(&vars)?;
        // A route for proof-of-possession clients needs anchors to check them against and a
        // key to mint their tokens with.
        if let Some(route) = proxy.routes.routes().iter().find(|r| r.clients.pop) {
            if machine.anchors.is_empty() {
                return Err(invalid(
                    machine::CLIENT_CA,
                    format!(
                        "route {} takes pop clients: set the CA bundle",
                        route.prefix
                    ),
                ));
            }
            if !matches!(proxy.mode, crate::proxy::PhantomMode::IntrospectMint { .. }) {
                return Err(invalid(
                    crate::proxy::settings::API_ROUTES,
                    format!(
                        "route {} takes pop clients, which need a minting key (EDGEWARD_PHANTOM_MODE introspect-mint)",
                        route.prefix
                    ),
                ));
            }
        }
        let sessions = SessionSettings::from_vars(&vars)?;
        let admin_token = agent::admin_token_from_vars(&vars)?;
        // A silent sign-in goes to the default provider (the SPA names none).
        let silent_sign_in = agent::silent_sign_in_from_vars(&vars, providers.first())?;
        let broker = BrokerConfig::from_vars(&vars, profile, &origin)?;
        for route in proxy.routes.routes() {
            if let Some(name) = &route.connection {
                if broker.position(name).is_none() {
                    return Err(invalid(
                        crate::proxy::settings::API_ROUTES,
                        format!(
                            "route {}: connection {name:?} is not configured ({})",
                            route.prefix,
                            crate::broker::settings::CONNECTIONS
                        ),
                    ));
                }
            }
        }

        // Bound to the first provider's client id: a single-provider deployment's cookies stay
        // valid when it lists more providers after the first.
        let cors = CorsConfig::from_vars(&vars, profile, &allowed_origins)?;
        let rate = RateSettings {
            server_sessions: sessions.mode == crate::sessions::SessionMode::Server,
            ..RateSettings::from_vars(&vars)?
        };
        let cookie_keys = cookie_keys.for_deployment(&origin, &providers.first().client_id);
        let hash_key = cookie_keys
            .derive_secret("audit sub")
            .ok_or_else(|| invalid(cookie::COOKIE_KEYS, "no key could be derived from it"))?;
        let audit = AuditSettings::from_vars(&vars, hash_key)?;
        Ok(Config {
            profile,
            origin,
            allowed_origins,
            cookie_keys,
            providers,
            proxy,
            machine,
            sessions,
            admin_token,
            silent_sign_in,
            broker,
            cors,
            rate,
            audit,
        })
    }
}

impl Config {
    /// The default (first) provider's client.
    pub fn oidc(&self) -> &OidcClient {
        self.providers.first()
    }
}

/// Parses an origin (`scheme://host[:port]`, nothing after it) into its serialised form.
fn parse_origin(
    variable: &'static str,
    value: &str,
    profile: Profile,
) -> Result<String, ConfigError> {
    let url = Url::parse(value)
        .map_err(|e| invalid(variable, format!("{value:?} is not a URL ({e})")))?;
    if !(url.path() == "/" || url.path().is_empty())
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(invalid(
            variable,
            format!("{value:?} must be an origin only (scheme://host[:port]), without a path"),
        ));
    }
    check_scheme(variable, &url, profile)?;
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::oidc::ClientAuth;
    use crate::proxy::phantom::TokenPolicy;
    use crate::proxy::PhantomMode;

    const KEY: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const ROUTES: &str = r#"[{"prefix": "/api/orders/", "upstream": "https://orders.example/", "methods": ["GET"]}]"#;

    /// A complete configuration with `pairs` laid over it ("" unsets a variable).
    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = [
            ("EDGEWARD_COOKIE_KEYS", KEY),
            ("OIDC_ISSUER", "https://idp.example"),
            ("OIDC_CLIENT_ID", "edgeward"),
            ("OIDC_CLIENT_SECRET", "very-secret-value"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            map.insert(k.to_string(), v.to_string());
        }
        Config::from_vars(|name| map.get(name).cloned())
    }

    #[test]
    fn a_local_config() {
        let c = from(&[
            ("EDGEWARD_PROFILE", "local"),
            ("EDGEWARD_ORIGIN", "http://localhost:8787/"),
        ])
        .unwrap();
        assert_eq!(c.profile, Profile::Local);
        assert_eq!(c.origin, "http://localhost:8787");
        assert_eq!(c.allowed_origins, vec!["http://localhost:8787"]);
    }

    #[test]
    fn oidc_defaults_and_secrets_stay_hidden() {
        let c = from(&[("EDGEWARD_ORIGIN", "https://app.example")]).unwrap();
        assert_eq!(c.oidc().redirect_uri, "https://app.example/callback");
        assert_eq!(c.oidc().scopes, "openid profile email");
        assert_eq!(c.oidc().client_auth, ClientAuth::Basic);
        assert_eq!(
            c.oidc().allowed_params,
            ["prompt", "login_hint", "acr_values"]
        );
        assert_eq!(c.cookie_keys.current_id(), "k1");
        let debug = format!("{c:?}");
        assert!(!debug.contains("very-secret-value"), "{debug}");
        assert!(!debug.contains("0001020304"), "{debug}");
        // No error message ever carries a secret's value.
        let err = from(&[
            ("EDGEWARD_ORIGIN", "https://a.example"),
            ("EDGEWARD_COOKIE_KEYS", "k1:0001020304"),
        ])
        .unwrap_err();
        assert!(!err.to_string().contains("0001020304"), "{err}");
    }

    #[test]
    fn proxy_settings() {
        let c = from(&[("EDGEWARD_ORIGIN", "https://a.example")]).unwrap();
        assert!(c.proxy.routes.routes().is_empty());
        assert_eq!(c.proxy.max_ttl, 60);
        let c = from(&[
            ("EDGEWARD_ORIGIN", "https://a.example"),
            ("EDGEWARD_API_ROUTES", ROUTES),
            (
                "EDGEWARD_MINT_KEY",
                "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
            ),
            ("EDGEWARD_PHANTOM_MAX_TTL", "30"),
        ])
        .unwrap();
        assert!(matches!(c.proxy.mode, PhantomMode::IntrospectMint { .. }));
        assert_eq!(c.proxy.routes.routes().len(), 1);
        assert_eq!(c.proxy.max_ttl, 30);
        assert!(
            !format!("{c:?}").contains("AQEBAQ"),
            "the mint key never prints"
        );
        assert_eq!(c.proxy.mode.cache_tag(), "mint:m1");
        assert!(c.proxy.shared_cache, "the shared tier is on by default");
        assert_eq!(c.proxy.tokens, TokenPolicy::default());
        assert_eq!(c.proxy.tokens.types, ["bearer"]);

        let c = from(&[
            ("EDGEWARD_ORIGIN", "https://a.example"),
            ("EDGEWARD_API_ROUTES", ROUTES),
            ("EDGEWARD_PHANTOM_MODE", "introspect-jwt"),
            ("EDGEWARD_PHANTOM_SHARED_CACHE", "false"),
            ("EDGEWARD_BEARER_PASSTHROUGH", "false"),
            ("EDGEWARD_TOKEN_TYPES", " Bearer, DPoP ,none,bearer"),
            ("EDGEWARD_TOKEN_CLIENT_IDS", "cli, batch ,"),
            ("EDGEWARD_TOKEN_AUDIENCE_REQUIRED", "true"),
        ])
        .unwrap();
        assert!(matches!(c.proxy.mode, PhantomMode::IntrospectJwt));
        assert!(!c.proxy.shared_cache);
        let tokens = &c.proxy.tokens;
        assert_eq!(tokens.types, ["bearer", "dpop"]);
        assert!(tokens.untyped && tokens.audience_required);
        assert_eq!(
            tokens.client_ids.as_deref(),
            Some(&["cli".into(), "batch".into()][..])
        );

        for (variable, value, reason) in [
            (
                "EDGEWARD_PHANTOM_MODE",
                "jwt",
                "introspect-jwt or passthrough",
            ),
            ("EDGEWARD_PHANTOM_SHARED_CACHE", "yes", "true or false"),
            ("EDGEWARD_BEARER_PASSTHROUGH", "1", "true or false"),
            (
                "EDGEWARD_BEARER_PASSTHROUGH",
                "true",
                "list \"service\" in the clients",
            ),
            ("EDGEWARD_REFRESH_GRACE", "301", "0 to 300"),
            ("EDGEWARD_SESSION_SHARDS", "0", "1 to 256"),
            ("EDGEWARD_SESSION_SHARDS", "257", "1 to 256"),
            ("EDGEWARD_REGISTRY_SWEEP_SECONDS", "0", "1 to 86400"),
            ("EDGEWARD_REGISTRY_SWEEP_SECONDS", "hourly", "1 to 86400"),
            ("EDGEWARD_SESSION_MODE", "cookie", "stateless or server"),
            ("EDGEWARD_ADMIN_TOKEN", "short", "at least 32"),
            ("EDGEWARD_PHANTOM_MAX_TTL", "0", "1 to 3600"),
            ("EDGEWARD_MINT_KEY", "", "is not set"),
            ("EDGEWARD_MINT_KEY", "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE,m1:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI", "key 2: its key id"),
            ("EDGEWARD_TOKEN_TYPES", "none", "at least one"),
            (
                "EDGEWARD_TOKEN_TYPES",
                "Bearer,Re fresh",
                "not a token type",
            ),
            ("EDGEWARD_TOKEN_CLIENT_IDS", " , ", "names no client"),
            ("EDGEWARD_TOKEN_AUDIENCE_REQUIRED", "yes", "true or false"),
        ] {
            let err = from(&[
                ("EDGEWARD_ORIGIN", "https://a.example"),
                ("EDGEWARD_API_ROUTES", ROUTES),
                (
                    "EDGEWARD_MINT_KEY",
                    "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
                ),
                (variable, value),
            ])
            .unwrap_err();
            assert_eq!(err.variable, variable, "{err}");
            assert!(err.reason.contains(reason), "{err}");
        }
    }

    #[test]
    fn profile_defaults_to_production() {
        let c = from(&[("EDGEWARD_ORIGIN", "https://app.example.com")]).unwrap();
        assert_eq!(c.profile, Profile::Production);
    }

    #[test]
    fn allowed_origins_are_parsed_and_deduplicated() {
        let c = from(&[
            ("EDGEWARD_ORIGIN", "https://app.example.com"),
            (
                "EDGEWARD_ALLOWED_ORIGINS",
                "https://app.example.com, https://admin.example.com:8443,",
            ),
        ])
        .unwrap();
        assert_eq!(
            c.allowed_origins,
            vec!["https://app.example.com", "https://admin.example.com:8443"]
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        // (variables, the variable named in the error, part of the reason)
        type Row<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let table: &[Row] = &[
            (&[("EDGEWARD_ORIGIN", "")], "EDGEWARD_ORIGIN", "is not set"),
            (
                &[("EDGEWARD_ORIGIN", "  ")],
                "EDGEWARD_ORIGIN",
                "is not set",
            ),
            (
                &[("EDGEWARD_ORIGIN", "app.example.com")],
                "EDGEWARD_ORIGIN",
                "not a URL",
            ),
            (
                &[("EDGEWARD_ORIGIN", "https://a.example/app")],
                "EDGEWARD_ORIGIN",
                "origin only",
            ),
            (
                &[("EDGEWARD_ORIGIN", "http://a.example")],
                "EDGEWARD_ORIGIN",
                "production profile refuses",
            ),
            (
                &[("EDGEWARD_ORIGIN", "ftp://a.example")],
                "EDGEWARD_ORIGIN",
                "not http(s)",
            ),
            (
                &[
                    ("EDGEWARD_PROFILE", "dev"),
                    ("EDGEWARD_ORIGIN", "https://a.example"),
                ],
                "EDGEWARD_PROFILE",
                "\"local\" or \"production\"",
            ),
            (
                &[
                    ("EDGEWARD_ORIGIN", "https://a.example"),
                    ("EDGEWARD_ALLOWED_ORIGINS", "http://b.example"),
                ],
                "EDGEWARD_ALLOWED_ORIGINS",
                "production profile refuses",
            ),
        ];
        for (vars, variable, reason) in table {
            let err = from(vars).unwrap_err();
            assert_eq!(err.variable, *variable, "{vars:?}");
            assert!(err.reason.contains(reason), "{vars:?}: {}", err.reason);
        }
    }
}
