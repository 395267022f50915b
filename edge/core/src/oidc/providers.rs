//! Several identity providers on one worker: the list ([`Providers`], read from
//! [`PROVIDERS`] or, as the shorthand for a list of one, from the `OIDC_*` variables), and a
//! provider as a request uses it ([`Provider`]: its client settings and this isolate's cache of
//! its discovery and keys).
//!
//! Each entry of [`PROVIDERS`] is read through the very code that reads the `OIDC_*` variables
//! ([`OidcClient::from_vars`]): a member stands for the variable of the same name
//! (`clientId` for `OIDC_CLIENT_ID`, lists joined), and the entry's secrets are the variables
//! `OIDC_CLIENT_SECRET_<ID>` ([`secret_variable`]). Members are an allow-list; secrets are
//! never members.

use std::rc::Rc;

use serde_json::Value;

use super::idtoken::Jwks;
use super::provider::{Discovery, IdpCache, KeyLookup};
use super::settings::{self as oidc_vars, OidcClient};
use crate::platform::ports::{Clock, HttpClient};
use crate::platform::settings::{invalid, ConfigError, Profile, Vars};
use crate::platform::Error;

/// A JSON list of providers, e.g.
/// `[{"id":"staff","name":"Staff","issuer":"https://idp.example","clientId":"edgeward"}]`.
/// Unset: the `OIDC_*` variables describe the one provider, with id [`DEFAULT_ID`](super::settings::DEFAULT_ID).
pub const PROVIDERS: &str = "EDGEWARD_PROVIDERS";

/// The most providers one worker takes.
pub const MAX_PROVIDERS: usize = 16;

/// The members an entry of [`PROVIDERS`] may have besides `id` and `name`, with the variable
/// each stands for and how a list is joined.
const MEMBERS: [(&str, &str, &str); 14] = [
    ("issuer", oidc_vars::ISSUER, ""),
    ("clientId", oidc_vars::CLIENT_ID, ""),
    ("clientAuth", oidc_vars::CLIENT_AUTH, ""),
    ("redirectUri", oidc_vars::REDIRECT_URI, ""),
    ("scopes", oidc_vars::SCOPES, " "),
    ("allowedParams", oidc_vars::ALLOWED_PARAMS, ","),
    (
        "postLogoutRedirectUri",
        oidc_vars::POST_LOGOUT_REDIRECT_URI,
        "",
    ),
    ("quirks", oidc_vars::QUIRKS, ","),
    ("authParams", oidc_vars::AUTH_PARAMS, ""),
    ("tenants", oidc_vars::TENANTS, ","),
    ("requireIss", oidc_vars::REQUIRE_ISS, ""),
    ("clientKeyId", oidc_vars::CLIENT_KEY_ID, ""),
    ("clientAssertionAud", oidc_vars::CLIENT_ASSERTION_AUD, ""),
    ("par", oidc_vars::PAR, ""),
];

/// The variables of a provider that are secrets: given as `<NAME>_<ID>`, never as members.
const SECRETS: [&str; 2] = [oidc_vars::CLIENT_SECRET, oidc_vars::CLIENT_KEY];

/// Whether `id` is a provider id: 1 to 32 of `a-z`, `0-9` and `-`, starting with a letter or
/// digit. (So ids map one-to-one onto variable-name suffixes, see [`secret_variable`].)
pub fn is_valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

/// The variable that holds secret `name` (e.g. `OIDC_CLIENT_SECRET`) of provider `id`: the
/// name, `_`, and the id in upper case with `-` as `_` (`staff-eu` → `OIDC_CLIENT_SECRET_STAFF_EU`).
pub fn secret_variable(name: &str, id: &str) -> String {
    format!("{name}_{}", id.to_ascii_uppercase().replace('-', "_"))
}

/// The configured providers, in order; never empty. The first is the default.
#[derive(Debug)]
pub struct Providers(Vec<OidcClient>);

impl Providers {
    /// Reads [`PROVIDERS`], or the `OIDC_*` variables when it is unset.
    pub fn from_vars(vars: &Vars<'_>, profile: Profile, origin: &str) -> Result<Self, ConfigError> {
        let Some(json) = vars.get(PROVIDERS) else {
            return Ok(Self(vec![OidcClient::from_vars(vars, profile, origin)?]));
        };
        // A single-provider variable left beside the list would be silently unused.
        let plain_variables = MEMBERS.iter().map(|(_, variable, _)| *variable);
        for plain in plain_variables.chain(SECRETS) {
            if vars.get(plain).is_some() {
                return Err(invalid(
                    plain,
                    format!(
                        "must not be set with {PROVIDERS} (each provider's settings are in its \
                         entry, its secrets in variables named <NAME>_<ID>)"
                    ),
                ));
            }
        }
        let entries: Vec<serde_json::Map<String, Value>> = serde_json::from_str(&json)
            .map_err(|e| invalid(PROVIDERS, format!("is not a JSON list of objects ({e})")))?;
        if entries.is_empty() || entries.len() > MAX_PROVIDERS {
            return Err(invalid(
                PROVIDERS,
                format!("must list 1 to {MAX_PROVIDERS} providers"),
            ));
        }
        let mut clients: Vec<OidcClient> = Vec::with_capacity(entries.len());
        for (n, entry) in entries.iter().enumerate() {
            let client = from_entry(entry, n, vars, profile, origin)?;
            if clients.iter().any(|c| c.id == client.id) {
                return Err(invalid(
                    PROVIDERS,
                    format!("provider {:?} is listed twice", client.id),
                ));
            }
            clients.push(client);
        }
        Ok(Self(clients))
    }

    /// The default provider (the first).
    pub fn first(&self) -> &OidcClient {
        // Never empty: both constructors refuse an empty list.
        &self.0[0]
    }

    /// Every provider, the default first.
    pub fn all(&self) -> &[OidcClient] {
        &self.0
    }

    /// The provider with this id, and its place in the list.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.0.iter().position(|c| c.id == id)
    }
}

/// One entry of [`PROVIDERS`], read through [`OidcClient::from_vars`].
fn from_entry(
    entry: &serde_json::Map<String, Value>,
    n: usize,
    vars: &Vars<'_>,
    profile: Profile,
    origin: &str,
) -> Result<OidcClient, ConfigError> {
    let text = |name: &str| entry.get(name).and_then(Value::as_str).map(str::trim);
    let id = text("id")
        .ok_or_else(|| invalid(PROVIDERS, format!("entry {n} has no \"id\" (a string)")))?;
    if !is_valid_id(id) {
        return Err(invalid(
            PROVIDERS,
            format!("entry {n}: id {id:?} must be 1 to 32 of a-z, 0-9 and -, not starting with -"),
        ));
    }
    let fail = |reason: String| invalid(PROVIDERS, format!("provider {id:?}: {reason}"));
    // `OIDC_CLIENT_KEY_` + `ID` is `OIDC_CLIENT_KEY_ID`: an id whose secret would be read from
    // another setting's variable cannot be configured.
    let plain = MEMBERS
        .iter()
        .map(|(_, variable, _)| *variable)
        .chain(SECRETS);
    if let Some(taken) = plain.clone().find(|v| {
        SECRETS
            .iter()
            .any(|secret| secret_variable(secret, id) == *v)
    }) {
        return Err(fail(format!(
            "choose another id: its key variable is another setting ({taken})"
        )));
    }
    let mut values: Vec<(&'static str, String)> = Vec::new();
    for (member, value) in entry {
        if member == "id" || member == "name" {
            continue;
        }
        let Some((_, variable, join)) = MEMBERS.iter().find(|(m, _, _)| m == member) else {
            let known: Vec<&str> = MEMBERS.iter().map(|(m, _, _)| *m).collect();
            return Err(fail(format!(
                "unknown member {member:?} (known: id, name, {}; the client secret is the \
                 variable {})",
                known.join(", "),
                secret_variable(oidc_vars::CLIENT_SECRET, id)
            )));
        };
        let joined = match value {
            Value::String(s) => s.clone(),
            // A flag (`requireIss`) read as its variable would be.
            Value::Bool(b) => b.to_string(),
            Value::Array(items) if !join.is_empty() => {
                let parts: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                parts
                    .ok_or_else(|| fail(format!("{member} must be a list of strings")))?
                    .join(join)
            }
            _ => {
                return Err(fail(format!(
                    "{member} must be a string{}",
                    if join.is_empty() {
                        ""
                    } else {
                        " or a list of strings"
                    }
                )))
            }
        };
        values.push((variable, joined));
    }
    let lookup = |name: &str| -> Option<String> {
        if SECRETS.contains(&name) {
            return vars.get(&secret_variable(name, id));
        }
        values
            .iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, v)| v.clone())
    };
    let mut client = OidcClient::from_vars(&Vars::new(&lookup), profile, origin).map_err(|e| {
        let what = if SECRETS.contains(&e.variable) {
            secret_variable(e.variable, id)
        } else {
            MEMBERS
                .iter()
                .find(|(_, variable, _)| *variable == e.variable)
                .map(|(member, _, _)| format!("{member:?}"))
                .unwrap_or_else(|| e.variable.to_owned())
        };
        fail(format!("{what} {}", e.reason))
    })?;
    client.id = id.to_owned();
    client.name = match entry.get("name") {
        None => id.to_owned(),
        Some(Value::String(s)) if (1..=64).contains(&s.trim().chars().count()) => {
            s.trim().to_owned()
        }
        Some(_) => return Err(fail("name must be a string of 1 to 64 characters".into())),
    };
    Ok(client)
}

/// A provider as a request uses it: its settings and what this isolate caches of it. `first`
/// says whether it is the default (its sessions are recorded without a provider, as before
/// there were several).
#[derive(Debug, Clone, Copy)]
pub struct Provider<'a> {
    /// The worker as this provider's client.
    pub client: &'a OidcClient,
    /// This isolate's cache of its discovery and keys.
    pub idp: &'a IdpCache,
    /// Whether it is the first (default) provider.
    pub first: bool,
}

impl Provider<'_> {
    /// Its discovery ([`IdpCache::discovery`]).
    pub async fn discovery(
        &self,
        ports: &(impl Clock + HttpClient),
    ) -> Result<Rc<Discovery>, Error> {
        self.idp.discovery(self.client, ports).await
    }

    /// Its keys ([`IdpCache::jwks`]).
    pub async fn jwks(
        &self,
        discovery: &Discovery,
        ports: &(impl Clock + HttpClient),
        lookup: KeyLookup,
    ) -> Result<(Rc<Jwks>, bool), Error> {
        self.idp.jwks(discovery, ports, lookup).await
    }

    /// What a session of this provider records as its provider: `None` for the first (so a
    /// deployment that adds providers keeps its sessions), else its id.
    pub fn session_tag(&self) -> Option<String> {
        (!self.first).then(|| self.client.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Providers, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = |name: &str| map.get(name).cloned();
        Providers::from_vars(
            &Vars::new(&lookup),
            Profile::Production,
            "https://app.example",
        )
    }

    const TWO: &str = r#"[
        {"id": "staff", "name": "Staff", "issuer": "https://staff.example", "clientId": "a",
         "scopes": ["openid", "email"], "quirks": ["bare-400-is-invalid-grant"]},
        {"id": "cust-eu", "issuer": "https://cust.example/eu", "clientId": "b",
         "clientAuth": "client_secret_post", "allowedParams": ["prompt"]}
    ]"#;

    #[test]
    fn the_oidc_variables_are_a_list_of_one() {
        let p = read(&[
            ("OIDC_ISSUER", "https://idp.example"),
            ("OIDC_CLIENT_ID", "edgeward"),
            ("OIDC_CLIENT_SECRET", "s"),
        ])
        .unwrap();
        assert_eq!(p.all().len(), 1);
        assert_eq!(p.first().id, "default");
        assert_eq!(p.first().name, "idp.example");
    }

    #[test]
    fn a_list_is_read_through_the_same_checks() {
        let p = read(&[
            ("EDGEWARD_PROVIDERS", TWO),
            ("OIDC_CLIENT_SECRET_STAFF", "s1"),
            ("OIDC_CLIENT_SECRET_CUST_EU", "s2"),
        ])
        .unwrap();
        let [staff, cust] = p.all() else {
            panic!("two providers")
        };
        assert_eq!((staff.id.as_str(), staff.name.as_str()), ("staff", "Staff"));
        assert_eq!(staff.scopes, "openid email");
        assert!(staff.quirks.bare_400_is_invalid_grant);
        assert_eq!(staff.client_secret.as_ref().unwrap().expose(), "s1");
        assert_eq!(
            (cust.id.as_str(), cust.name.as_str()),
            ("cust-eu", "cust-eu")
        );
        assert_eq!(cust.client_auth, super::super::ClientAuth::Post);
        assert_eq!(cust.allowed_params, ["prompt"]);
        assert_eq!(cust.client_secret.as_ref().unwrap().expose(), "s2");
        assert_eq!(cust.redirect_uri, "https://app.example/callback");
        assert_eq!(p.position("cust-eu"), Some(1));
        assert_eq!(p.position("nope"), None);
    }

    #[test]
    fn bad_entries_name_the_variable_and_the_provider() {
        let one = |entry: &str| format!("[{entry}]");
        let table: &[(String, &[(&str, &str)], &str, &str)] = &[
            ("{}".into(), &[], "EDGEWARD_PROVIDERS", "a JSON list"),
            ("[]".into(), &[], "EDGEWARD_PROVIDERS", "1 to 16"),
            (
                one(r#"{"issuer":"https://a.example"}"#),
                &[],
                "EDGEWARD_PROVIDERS",
                "has no \"id\"",
            ),
            (
                one(r#"{"id":"Staff"}"#),
                &[],
                "EDGEWARD_PROVIDERS",
                "a-z, 0-9",
            ),
            (
                one(r#"{"id":"a_b"}"#),
                &[],
                "EDGEWARD_PROVIDERS",
                "a-z, 0-9",
            ),
            (
                one(r#"{"id":"a","issuer":"http://a.example","clientId":"x"}"#),
                &[("OIDC_CLIENT_SECRET_A", "s")],
                "EDGEWARD_PROVIDERS",
                "provider \"a\": \"issuer\" http://a.example/ uses http",
            ),
            (
                one(r#"{"id":"a","issuer":"https://a.example","clientId":"x"}"#),
                &[],
                "EDGEWARD_PROVIDERS",
                "provider \"a\": OIDC_CLIENT_SECRET_A is not set",
            ),
            (
                one(r#"{"id":"a","issuer":"https://a.example","clientId":"x","clientSecret":"s"}"#),
                &[("OIDC_CLIENT_SECRET_A", "s")],
                "EDGEWARD_PROVIDERS",
                "provider \"a\": unknown member \"clientSecret\"",
            ),
            (
                one(r#"{"id":"a","issuer":"https://a.example","clientId":"x","scopes":"email"}"#),
                &[("OIDC_CLIENT_SECRET_A", "s")],
                "EDGEWARD_PROVIDERS",
                "provider \"a\": \"scopes\" must include openid",
            ),
            (
                one(r#"{"id":"a","issuer":"https://a.example","clientId":["x"]}"#),
                &[("OIDC_CLIENT_SECRET_A", "s")],
                "EDGEWARD_PROVIDERS",
                "provider \"a\": clientId must be a string",
            ),
            (
                r#"[{"id":"a","issuer":"https://a.example","clientId":"x"},
                    {"id":"a","issuer":"https://b.example","clientId":"y"}]"#
                    .into(),
                &[("OIDC_CLIENT_SECRET_A", "s")],
                "EDGEWARD_PROVIDERS",
                "listed twice",
            ),
            (
                one(r#"{"id":"a","issuer":"https://a.example","clientId":"x"}"#),
                &[
                    ("OIDC_CLIENT_SECRET_A", "s"),
                    ("OIDC_ISSUER", "https://b.example"),
                ],
                "OIDC_ISSUER",
                "must not be set with EDGEWARD_PROVIDERS",
            ),
            (
                one(r#"{"id":"a","issuer":"https://a.example","clientId":"x"}"#),
                &[("OIDC_CLIENT_SECRET_A", "s"), ("OIDC_SCOPES", "openid")],
                "OIDC_SCOPES",
                "must not be set with EDGEWARD_PROVIDERS",
            ),
            (
                one(r#"{"id":"a","issuer":"https://a.example","clientId":"x"}"#),
                &[("OIDC_CLIENT_SECRET_A", "s"), ("OIDC_CLIENT_SECRET", "s")],
                "OIDC_CLIENT_SECRET",
                "must not be set with EDGEWARD_PROVIDERS",
            ),
        ];
        for (json, extra, variable, reason) in table {
            let mut pairs = vec![("EDGEWARD_PROVIDERS", json.as_str())];
            pairs.extend_from_slice(extra);
            let err = read(&pairs).unwrap_err();
            assert_eq!(err.variable, *variable, "{json}: {err}");
            assert!(err.reason.contains(reason), "{json}: {err}");
            assert!(!err.reason.contains("\"s\""), "no secret in {err}");
        }
    }

    #[test]
    fn ids_map_one_to_one_onto_variable_suffixes() {
        assert_eq!(
            secret_variable("OIDC_CLIENT_SECRET", "staff-eu"),
            "OIDC_CLIENT_SECRET_STAFF_EU"
        );
        for id in ["a", "default", "a-1", "0"] {
            assert!(is_valid_id(id), "{id}");
        }
        for id in ["", "-a", "A", "a_b", "a.b", &"a".repeat(33)] {
            assert!(!is_valid_id(id), "{id}");
        }
    }
}
