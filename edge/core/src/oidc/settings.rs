//! The worker as an OpenID Connect client: its settings, read from the `OIDC_*` variables.

use url::Url;

use super::assertion::ClientKey;
use super::provider::Discovery;
use crate::platform::settings::{check_scheme, invalid, ConfigError, Profile, Secret, Vars};

/// The identity provider's issuer URL (discovery is read from it).
pub const ISSUER: &str = "OIDC_ISSUER";
/// The worker's client id at the identity provider.
pub const CLIENT_ID: &str = "OIDC_CLIENT_ID";
/// Secret: the worker's client secret (not read with `private_key_jwt`).
pub const CLIENT_SECRET: &str = "OIDC_CLIENT_SECRET";
/// `client_secret_basic` (default), `client_secret_post` or `private_key_jwt`.
pub const CLIENT_AUTH: &str = "OIDC_CLIENT_AUTH";
/// Secret, with `private_key_jwt`: the client's private key, a JWK or a PKCS#8 PEM, EC P-256
/// (ES256) or RSA (RS256); see [`ClientKey`].
pub const CLIENT_KEY: &str = "OIDC_CLIENT_KEY";
/// With `private_key_jwt`: the `kid` the provider registered the key under (default: the
/// JWK's `kid`).
pub const CLIENT_KEY_ID: &str = "OIDC_CLIENT_KEY_ID";
/// With `private_key_jwt`: the client assertion's `aud`, `token_endpoint` (default: the
/// provider's token endpoint URL) or `issuer` (the issuer identifier).
pub const CLIENT_ASSERTION_AUD: &str = "OIDC_CLIENT_ASSERTION_AUD";
/// Pushed authorization requests (RFC 9126): `auto` (default: when discovery says the
/// provider requires them), `always` or `never`.
pub const PAR: &str = "OIDC_PAR";
/// Where the identity provider sends the browser back (default `<origin>/callback`).
pub const REDIRECT_URI: &str = "OIDC_REDIRECT_URI";
/// Scopes to ask for, space-separated (default `openid profile email`); must include `openid`.
pub const SCOPES: &str = "OIDC_SCOPES";
/// Authorization-request parameters the SPA may add (default `prompt,login_hint,acr_values`).
pub const ALLOWED_PARAMS: &str = "OIDC_ALLOWED_PARAMS";
/// Where the IdP sends the browser after logout (default `<origin>/`).
pub const POST_LOGOUT_REDIRECT_URI: &str = "OIDC_POST_LOGOUT_REDIRECT_URI";
/// Authorization-request parameters sent with every login, as a query string
/// (`audience=https%3A%2F%2Fapi.example&access_type=offline`; default none): what a provider
/// needs that the specifications do not name (Auth0's `audience`, Google's `access_type`).
pub const AUTH_PARAMS: &str = "OIDC_AUTH_PARAMS";
/// The tenants whose users may sign in at a multi-tenant provider (Entra ID's `organizations`
/// or `common` endpoints), comma-separated tenant ids (GUIDs; default none: a single-tenant
/// provider). When set, discovery's `issuer` must be the configured issuer with one path
/// segment as `{tenantid}`, and each ID token's `iss` that template filled with its `tid`,
/// which must be on this list.
pub const TENANTS: &str = "OIDC_TENANTS";
/// `true`: every authorization response must carry RFC 9207 `iss`, also from a provider whose
/// discovery does not say it sends one (Glewlwyd sends it unadvertised); default `false`
/// (required only when discovery says `authorization_response_iss_parameter_supported`).
pub const REQUIRE_ISS: &str = "OIDC_REQUIRE_ISS";

/// Parameters edgeward sets itself: neither the SPA nor [`AUTH_PARAMS`] (nor a connection's
/// `extraParams`, `broker::settings`) may name them.
pub(crate) const RESERVED: [&str; 14] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    // A request object, or a pushed one, would replace everything above.
    "request",
    "request_uri",
    // Client authentication (sent with a pushed request) is the worker's.
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];
/// The provider's departures from the specifications that the worker should accept, by name,
/// comma-separated (default none): an allow-list, see [`Quirks`].
pub const QUIRKS: &str = "OIDC_QUIRKS";

/// The id of the provider the `OIDC_*` variables describe (the single-provider shorthand).
pub const DEFAULT_ID: &str = "default";

/// What a provider does differently that the worker accepts only when told to
/// ([`QUIRKS`]). Each is a name the configuration must spell out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quirks {
    /// `bare-400-is-invalid-grant`: a 400 with an empty body from the token endpoint means
    /// `invalid_grant` (Glewlwyd answers a dead refresh token so). Without it, such an answer
    /// is the provider failing (502, the session kept): a gateway or proxy in front of the
    /// provider answering bare 400s must not end every session that refreshes.
    pub bare_400_is_invalid_grant: bool,
}

impl Quirks {
    /// The names [`QUIRKS`] accepts.
    pub const NAMES: [&'static str; 1] = ["bare-400-is-invalid-grant"];

    fn parse(spec: &str) -> Result<Self, ConfigError> {
        let mut quirks = Quirks::default();
        for name in spec.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "bare-400-is-invalid-grant" => quirks.bare_400_is_invalid_grant = true,
                other => {
                    return Err(invalid(
                        QUIRKS,
                        format!(
                            "{other:?} is not a quirk edgeward knows (known: {})",
                            Self::NAMES.join(", ")
                        ),
                    ))
                }
            }
        }
        Ok(quirks)
    }
}

/// How the worker authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with the client id and secret (RFC 6749 §2.3.1).
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
    /// A JWT client assertion signed with the client's key (RFC 7523 §2.2).
    PrivateKeyJwt,
}

/// Whom a `private_key_jwt` assertion is for ([`CLIENT_ASSERTION_AUD`]). RFC 7523 §3 leaves
/// it to the provider: most take the token endpoint's URL, some (Auth0) the issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionAudience {
    /// The provider's token endpoint URL (also for revocation and introspection calls).
    TokenEndpoint,
    /// The provider's issuer identifier.
    Issuer,
}

/// When the authorization request is pushed to the provider first (RFC 9126, [`PAR`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParMode {
    /// When discovery says `require_pushed_authorization_requests: true`.
    Auto,
    /// Always (the provider must have a `pushed_authorization_request_endpoint`).
    Always,
    /// Never (a provider that requires PAR then refuses the login).
    Never,
}

impl ParMode {
    /// Whether a login with this provider pushes its authorization request.
    pub fn applies(self, discovery: &Discovery) -> bool {
        match self {
            ParMode::Always => true,
            ParMode::Never => false,
            ParMode::Auto => discovery.require_pushed_authorization_requests,
        }
    }
}

/// The worker as an OpenID Connect client of one provider.
#[derive(Debug)]
pub struct OidcClient {
    /// The provider's id in this deployment ([`DEFAULT_ID`] for the single provider of the
    /// `OIDC_*` variables; see [`super::providers`]).
    pub id: String,
    /// The provider's name as the sign-in page shows it.
    pub name: String,
    /// The issuer, exactly as configured (it must equal discovery's `issuer`).
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret (`client_secret_basic` and `client_secret_post` only).
    pub client_secret: Option<Secret>,
    /// Token-endpoint authentication.
    pub client_auth: ClientAuth,
    /// The signing key (`private_key_jwt` only).
    pub client_key: Option<ClientKey>,
    /// The `aud` of client assertions.
    pub assertion_audience: AssertionAudience,
    /// When to push authorization requests.
    pub par: ParMode,
    /// Redirect URI registered at the IdP.
    pub redirect_uri: String,
    /// Scopes, space-separated, with `openid`.
    pub scopes: String,
    /// Extra authorization parameters the SPA may pass.
    pub allowed_params: Vec<String>,
    /// Where the IdP sends the browser after logout.
    pub post_logout_redirect_uri: String,
    /// The deployment's profile: the provider's endpoints may be plain `http` only in the local
    /// one.
    pub profile: Profile,
    /// What the provider does differently that the worker accepts.
    pub quirks: Quirks,
    /// Authorization parameters sent with every login ([`AUTH_PARAMS`]).
    pub auth_params: Vec<(String, String)>,
    /// The tenants allowed at a multi-tenant provider ([`TENANTS`]); empty: single-tenant.
    pub tenants: Vec<String>,
    /// Whether a callback must carry `iss` whatever discovery says ([`REQUIRE_ISS`]).
    pub require_iss: bool,
}

impl OidcClient {
    /// The provider's id and issuer: what a request's trail notes of it
    /// (`platform::trail::note_subject`).
    pub fn who(&self) -> (&str, &str) {
        (&self.id, &self.issuer)
    }

    /// Reads the `OIDC_*` variables. `origin` is the SPA's origin (the redirect URIs must be on
    /// it, and default to paths of it); `profile` decides whether `http` URLs are allowed.
    pub fn from_vars(vars: &Vars<'_>, profile: Profile, origin: &str) -> Result<Self, ConfigError> {
        let issuer = vars
            .get(ISSUER)
            .ok_or_else(|| invalid(ISSUER, "is not set"))?;
        let issuer_url = Url::parse(&issuer)
            .map_err(|e| invalid(ISSUER, format!("{issuer:?} is not a URL ({e})")))?;
        check_scheme(ISSUER, &issuer_url, profile)?;
        if issuer_url.query().is_some() || issuer_url.fragment().is_some() {
            return Err(invalid(ISSUER, "must not have a query or fragment"));
        }

        let client_id = vars
            .get(CLIENT_ID)
            .ok_or_else(|| invalid(CLIENT_ID, "is not set"))?;
        let client_auth = match vars.get(CLIENT_AUTH).as_deref() {
            None | Some("client_secret_basic") => ClientAuth::Basic,
            Some("client_secret_post") => ClientAuth::Post,
            Some("private_key_jwt") => ClientAuth::PrivateKeyJwt,
            Some(other) => {
                return Err(invalid(
                    CLIENT_AUTH,
                    format!(
                        "must be client_secret_basic, client_secret_post or private_key_jwt, \
                         not {other:?}"
                    ),
                ))
            }
        };
        let (client_secret, client_key) = if client_auth == ClientAuth::PrivateKeyJwt {
            let key = vars
                .get(CLIENT_KEY)
                .ok_or_else(|| invalid(CLIENT_KEY, "is not set (private_key_jwt needs it)"))?;
            let key = ClientKey::parse(CLIENT_KEY, &key, vars.get(CLIENT_KEY_ID), CLIENT_KEY_ID)?;
            (None, Some(key))
        } else {
            let secret = vars
                .get(CLIENT_SECRET)
                .map(Secret::new)
                .ok_or_else(|| invalid(CLIENT_SECRET, "is not set"))?;
            (Some(secret), None)
        };
        let assertion_audience = match vars.get(CLIENT_ASSERTION_AUD).as_deref() {
            None | Some("token_endpoint") => AssertionAudience::TokenEndpoint,
            Some("issuer") => AssertionAudience::Issuer,
            Some(other) => {
                return Err(invalid(
                    CLIENT_ASSERTION_AUD,
                    format!("must be token_endpoint or issuer, not {other:?}"),
                ))
            }
        };
        let par = match vars.get(PAR).as_deref() {
            None | Some("auto") => ParMode::Auto,
            Some("always") => ParMode::Always,
            Some("never") => ParMode::Never,
            Some(other) => {
                return Err(invalid(
                    PAR,
                    format!("must be auto, always or never, not {other:?}"),
                ))
            }
        };

        let redirect_uri = vars
            .get(REDIRECT_URI)
            .unwrap_or_else(|| format!("{origin}/callback"));
        let redirect = Url::parse(&redirect_uri)
            .map_err(|e| invalid(REDIRECT_URI, format!("{redirect_uri:?} is not a URL ({e})")))?;
        if redirect.origin().ascii_serialization() != origin {
            return Err(invalid(
                REDIRECT_URI,
                format!("must be on the SPA's origin {origin} (the SPA finishes the login)"),
            ));
        }

        let scopes = vars
            .get(SCOPES)
            .unwrap_or_else(|| "openid profile email".into());
        let scopes = scopes.split_whitespace().collect::<Vec<_>>().join(" ");
        if !scopes.split(' ').any(|s| s == "openid") {
            return Err(invalid(SCOPES, "must include openid"));
        }

        let allowed_params = vars
            .get(ALLOWED_PARAMS)
            .unwrap_or_else(|| "prompt,login_hint,acr_values".into())
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>();
        if let Some(p) = allowed_params
            .iter()
            .find(|p| RESERVED.contains(&p.as_str()))
        {
            return Err(invalid(
                ALLOWED_PARAMS,
                format!("{p} is set by edgeward itself"),
            ));
        }

        let post_logout = vars
            .get(POST_LOGOUT_REDIRECT_URI)
            .unwrap_or_else(|| format!("{origin}/"));
        let post_logout_url = Url::parse(&post_logout).map_err(|e| {
            invalid(
                POST_LOGOUT_REDIRECT_URI,
                format!("{post_logout:?} is not a URL ({e})"),
            )
        })?;
        if post_logout_url.origin().ascii_serialization() != origin {
            return Err(invalid(
                POST_LOGOUT_REDIRECT_URI,
                format!("must be on the SPA's origin {origin}"),
            ));
        }

        let quirks = Quirks::parse(&vars.get(QUIRKS).unwrap_or_default())?;
        let auth_params =
            parse_auth_params(&vars.get(AUTH_PARAMS).unwrap_or_default(), &allowed_params)?;
        let tenants = parse_tenants(&vars.get(TENANTS).unwrap_or_default())?;
        let require_iss = vars.flag(REQUIRE_ISS, false)?;

        let name = issuer_url.host_str().unwrap_or("sign in").to_owned();
        Ok(OidcClient {
            id: DEFAULT_ID.to_owned(),
            name,
            issuer,
            client_id,
            client_secret,
            client_auth,
            client_key,
            assertion_audience,
            par,
            redirect_uri: redirect.to_string(),
            scopes,
            allowed_params,
            post_logout_redirect_uri: post_logout_url.to_string(),
            profile,
            quirks,
            auth_params,
            tenants,
            require_iss,
        })
    }
}

/// [`AUTH_PARAMS`]: `name=value` pairs, URL-encoded, joined by `&`; no name edgeward sets
/// itself, none the SPA may set too ([`ALLOWED_PARAMS`]: one place decides each), none twice.
fn parse_auth_params(
    spec: &str,
    allowed_params: &[String],
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut params: Vec<(String, String)> = Vec::new();
    for pair in spec.split('&').filter(|p| !p.trim().is_empty()) {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(invalid(AUTH_PARAMS, format!("{pair:?} is not name=value")));
        };
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let (name, value) = (decode(name.trim()), decode(value.trim()));
        if name.is_empty() {
            return Err(invalid(AUTH_PARAMS, format!("{pair:?} is not name=value")));
        }
        if RESERVED.contains(&name.as_str()) {
            return Err(invalid(
                AUTH_PARAMS,
                format!("{name} is set by edgeward itself"),
            ));
        }
        if allowed_params.contains(&name) {
            return Err(invalid(
                AUTH_PARAMS,
                format!(
                    "{name} is also in {ALLOWED_PARAMS}: the SPA may set it, so it cannot be fixed"
                ),
            ));
        }
        if name == "max_age" && value.parse::<u64>().is_err() {
            return Err(invalid(AUTH_PARAMS, "max_age must be a number of seconds"));
        }
        if params.iter().any(|(n, _)| *n == name) {
            return Err(invalid(AUTH_PARAMS, format!("{name} is given twice")));
        }
        params.push((name, value));
    }
    Ok(params)
}

/// [`TENANTS`]: tenant ids, the GUIDs an ID token's `tid` carries (a tenant's domain name never
/// appears there, so it could never match), kept in lower case; not the aliases that stand for
/// many tenants (`common`, `organizations`, `consumers`).
fn parse_tenants(spec: &str) -> Result<Vec<String>, ConfigError> {
    let mut tenants = Vec::new();
    for t in spec.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if ["common", "organizations", "consumers"].contains(&t.to_ascii_lowercase().as_str()) {
            return Err(invalid(
                TENANTS,
                format!("{t:?} stands for many tenants: list the tenants themselves"),
            ));
        }
        if !is_guid(t) {
            return Err(invalid(
                TENANTS,
                format!("{t:?} is not a tenant id (a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47)"),
            ));
        }
        tenants.push(t.to_ascii_lowercase());
    }
    Ok(tenants)
}

/// `8-4-4-4-12` hex digits.
fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}
