//! The token broker's settings: the connections (`EDGEWARD_CONNECTIONS`), the key their
//! tokens are sealed with (`EDGEWARD_BROKER_KEYS`) and the service clients that may ask for
//! access tokens (`EDGEWARD_BROKER_CLIENTS`). Read and validated once; a bad value names the
//! variable and never repeats a secret.

use std::collections::BTreeMap;

use serde::Deserialize;
use url::Url;

use crate::cookie::CookieKeys;
use crate::oidc::{AssertionAudience, ClientAuth, Discovery, OidcClient, ParMode, Quirks};
use crate::platform::settings::{check_scheme, invalid, ConfigError, Profile, Secret, Vars};

/// The connections: a JSON list of `{name, issuer | endpoints, clientId, clientSecretVar,
/// scopes, extraParams?, redirectUri?}`. Default none (the broker is off).
pub const CONNECTIONS: &str = "EDGEWARD_CONNECTIONS";
/// **Secret**, required with connections: `kid:key[,kid:key…]` (32-byte keys, as
/// `EDGEWARD_COOKIE_KEYS`), the first seals the stored tokens, all open.
pub const BROKER_KEYS: &str = "EDGEWARD_BROKER_KEYS";
/// The service clients: a JSON list of `{clientId, secretSha256, connections}`. Default none
/// (`POST /broker/token` refuses everyone).
pub const BROKER_CLIENTS: &str = "EDGEWARD_BROKER_CLIENTS";
/// Every connection's client secret lives in a variable whose name starts so: a connection can
/// never be pointed at another secret of the worker (the cookie keys, the IdP's client secret),
/// which would send it to a third party.
pub const SECRET_VAR_PREFIX: &str = "EDGEWARD_CONNECTION_SECRET_";

/// The most connections one deployment configures.
pub const MAX_CONNECTIONS: usize = 16;

/// Authorization parameters edgeward sets itself, or that would override them (a request
/// object) or put the client's credentials in the browser's URL: a connection's `extraParams`
/// may not name them. The login's list (review 6: connections had a shorter one, without
/// `request`, `response_mode` and the client credentials).
const OWN_PARAMS: [&str; 14] = crate::oidc::settings::RESERVED;

/// One connection: the worker as an OAuth client of a third-party provider, on the user's
/// behalf.
#[derive(Debug)]
pub struct ConnectionConfig {
    /// The connection's name (`a-z 0-9 -`, 1–32): in paths, in routes, in the store.
    pub name: String,
    /// The client (its `issuer` is empty when the provider is configured by endpoints).
    pub client: OidcClient,
    /// The provider's endpoints, when configured instead of an issuer.
    pub endpoints: Option<Discovery>,
}

/// A service client of `POST /broker/token`.
#[derive(Debug)]
pub struct ServiceClient {
    /// Its client id.
    pub client_id: String,
    /// The SHA-256 of its secret, hex (the secret itself is never configured).
    pub secret_sha256: String,
    /// The connections it may ask for (each still needs the user's grant).
    pub connections: Vec<String>,
}

/// The token broker's settings.
#[derive(Debug, Default)]
pub struct BrokerConfig {
    /// The connections, in the configuration's order.
    pub connections: Vec<ConnectionConfig>,
    /// The keys the stored tokens are sealed with (set whenever there are connections).
    pub keys: Option<CookieKeys>,
    /// The service clients.
    pub clients: Vec<ServiceClient>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scopes {
    List(Vec<String>),
    Text(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Endpoints {
    authorization: String,
    token: String,
    #[serde(default)]
    revocation: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConnectionSpec {
    name: String,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    endpoints: Option<Endpoints>,
    client_id: String,
    client_secret_var: String,
    scopes: Scopes,
    #[serde(default)]
    extra_params: BTreeMap<String, String>,
    #[serde(default)]
    redirect_uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClientSpec {
    client_id: String,
    secret_sha256: String,
    connections: Vec<String>,
}

/// Whether `name` is a connection name: 1 to 32 of `a-z`, `0-9` and `-`, not starting with `-`.
pub fn is_valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
}

fn url_of(what: &str, value: &str, profile: Profile) -> Result<Url, ConfigError> {
    let url =
        Url::parse(value).map_err(|_| invalid(CONNECTIONS, format!("{what} is not a URL")))?;
    check_scheme(CONNECTIONS, &url, profile)?;
    if url.fragment().is_some() {
        return Err(invalid(CONNECTIONS, format!("{what} has a fragment")));
    }
    Ok(url)
}

impl BrokerConfig {
    /// Reads [`CONNECTIONS`], [`BROKER_KEYS`] and [`BROKER_CLIENTS`]. `origin` is the SPA's
    /// (where the providers send the browser back).
    pub fn from_vars(vars: &Vars<'_>, profile: Profile, origin: &str) -> Result<Self, ConfigError> {
        let specs: Vec<ConnectionSpec> = match vars.get(CONNECTIONS) {
            None => Vec::new(),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                invalid(
                    CONNECTIONS,
                    format!("is not a JSON list of connections ({e})"),
                )
            })?,
        };
        if specs.len() > MAX_CONNECTIONS {
            return Err(invalid(
                CONNECTIONS,
                format!("at most {MAX_CONNECTIONS} connections"),
            ));
        }
        let mut connections: Vec<ConnectionConfig> = Vec::new();
        for spec in specs {
            let connection = connection_of(vars, spec, profile, origin)?;
            if connections.iter().any(|c| c.name == connection.name) {
                return Err(invalid(
                    CONNECTIONS,
                    format!("connection {:?} is listed twice", connection.name),
                ));
            }
            connections.push(connection);
        }
        let keys = match vars.get(BROKER_KEYS) {
            None if connections.is_empty() => None,
            None => {
                return Err(invalid(
                    BROKER_KEYS,
                    "is not set (the connections' tokens are sealed with it)",
                ))
            }
            Some(spec) => Some(
                CookieKeys::parse(&spec)
                    .map_err(|e| invalid(BROKER_KEYS, e.to_string()))?
                    .for_deployment(origin, "edgeward-broker"),
            ),
        };
        let clients = clients_from(vars, &connections)?;
        Ok(Self {
            connections,
            keys,
            clients,
        })
    }

    /// The connection called `name`, and its index.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.connections.iter().position(|c| c.name == name)
    }
}

fn connection_of(
    vars: &Vars<'_>,
    spec: ConnectionSpec,
    profile: Profile,
    origin: &str,
) -> Result<ConnectionConfig, ConfigError> {
    let name = spec.name;
    if !is_valid_name(&name) {
        return Err(invalid(
            CONNECTIONS,
            "a connection's name must be 1 to 32 of a-z, 0-9 and -",
        ));
    }
    let at = |reason: String| invalid(CONNECTIONS, format!("connection {name}: {reason}"));
    let (issuer, endpoints) = match (spec.issuer, spec.endpoints) {
        (Some(issuer), None) => {
            let url = url_of("issuer", &issuer, profile)?;
            if url.query().is_some() {
                return Err(at("the issuer has a query".into()));
            }
            (issuer, None)
        }
        (None, Some(e)) => {
            url_of("the authorization endpoint", &e.authorization, profile)?;
            url_of("the token endpoint", &e.token, profile)?;
            if let Some(r) = &e.revocation {
                url_of("the revocation endpoint", r, profile)?;
            }
            let discovery: Discovery = serde_json::from_value(serde_json::json!({
                "issuer": "",
                "authorization_endpoint": e.authorization,
                "token_endpoint": e.token,
                "jwks_uri": "",
                "revocation_endpoint": e.revocation,
            }))
            .map_err(|_| at("the endpoints do not make a provider".into()))?;
            (String::new(), Some(discovery))
        }
        _ => return Err(at("set either issuer or endpoints".into())),
    };
    let var = spec.client_secret_var;
    if !var.starts_with(SECRET_VAR_PREFIX)
        || var.len() == SECRET_VAR_PREFIX.len()
        || !var
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(at(format!(
            "clientSecretVar must be a variable name starting with {SECRET_VAR_PREFIX}"
        )));
    }
    let secret = vars
        .get(&var)
        .ok_or_else(|| at(format!("the secret {var} is not set")))?;
    let client_id = spec.client_id.trim().to_owned();
    if client_id.is_empty() || client_id.chars().any(char::is_control) {
        return Err(at("clientId is empty or holds a control character".into()));
    }
    let scopes = match spec.scopes {
        Scopes::List(list) => list.join(" "),
        Scopes::Text(text) => text,
    };
    let scopes = scopes.split_whitespace().collect::<Vec<_>>().join(" ");
    if scopes.is_empty() || scopes.chars().any(|c| c == '"' || c == '\\') {
        return Err(at("scopes must be scope tokens, at least one".into()));
    }
    if let Some(own) = spec
        .extra_params
        .keys()
        .find(|k| OWN_PARAMS.contains(&k.as_str()))
    {
        return Err(at(format!(
            "extraParams may not set {own} (edgeward sets it)"
        )));
    }
    let redirect_uri = match spec.redirect_uri {
        None => format!("{origin}{}", edgeward_shared::paths::CONNECTION_CALLBACK),
        Some(uri) => {
            let url = url_of("redirectUri", &uri, profile)?;
            if url.origin().ascii_serialization() != origin {
                return Err(at("redirectUri must be on the SPA's origin".into()));
            }
            uri
        }
    };
    let client = OidcClient {
        id: name.clone(),
        name: name.clone(),
        issuer,
        client_id,
        client_secret: Some(Secret::new(&secret)),
        client_auth: ClientAuth::Basic,
        client_key: None,
        assertion_audience: AssertionAudience::TokenEndpoint,
        par: ParMode::Never,
        redirect_uri,
        scopes,
        allowed_params: Vec::new(),
        post_logout_redirect_uri: origin.to_owned(),
        profile,
        quirks: Quirks::default(),
        auth_params: spec.extra_params.into_iter().collect(),
        tenants: Vec::new(),
        require_iss: false,
    };
    Ok(ConnectionConfig {
        name,
        client,
        endpoints,
    })
}

fn clients_from(
    vars: &Vars<'_>,
    connections: &[ConnectionConfig],
) -> Result<Vec<ServiceClient>, ConfigError> {
    let specs: Vec<ClientSpec> = match vars.get(BROKER_CLIENTS) {
        None => return Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            invalid(
                BROKER_CLIENTS,
                format!("is not a JSON list of service clients ({e})"),
            )
        })?,
    };
    let mut clients: Vec<ServiceClient> = Vec::new();
    for spec in specs {
        let id = spec.client_id;
        // RFC 6749 §2.3.1: the id is the part of the Basic credentials before the colon.
        if id.is_empty()
            || id.len() > 128
            || id.contains(':')
            || !id.chars().all(|c| c.is_ascii_graphic())
        {
            return Err(invalid(
                BROKER_CLIENTS,
                "a clientId must be 1 to 128 visible ASCII characters without ':'",
            ));
        }
        let hash = spec.secret_sha256.to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(
                BROKER_CLIENTS,
                format!(
                    "client {id}: secretSha256 must be 64 hex digits (sha256sum of the secret)"
                ),
            ));
        }
        if let Some(unknown) = spec
            .connections
            .iter()
            .find(|n| !connections.iter().any(|c| &c.name == *n))
        {
            return Err(invalid(
                BROKER_CLIENTS,
                format!("client {id}: connection {unknown:?} is not configured"),
            ));
        }
        if clients.iter().any(|c| c.client_id == id) {
            return Err(invalid(
                BROKER_CLIENTS,
                format!("client {id} is listed twice"),
            ));
        }
        clients.push(ServiceClient {
            client_id: id,
            secret_sha256: hash,
            connections: spec.connections,
        });
    }
    Ok(clients)
}
