//! Configuration: read from wrangler vars and secrets once, validated into typed values.
//!
//! [`Config::from_vars`] takes a lookup function rather than a platform handle, so tests pass a
//! map and the adapter passes `Env`. A bad value is a [`ConfigError`] naming the variable; the
//! message never repeats the value of a secret.

use std::fmt;

use url::Url;

/// Where the worker runs. `production` refuses plain-http URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Local development on `http://localhost`.
    Local,
    /// Anything reachable by real users.
    Production,
}

/// Names of the variables, in one place for error messages and docs.
pub mod vars {
    /// `local` or `production` (default `production`).
    pub const PROFILE: &str = "EDGEWARD_PROFILE";
    /// The SPA's public origin, e.g. `https://app.example.com`.
    pub const ORIGIN: &str = "EDGEWARD_ORIGIN";
    /// Comma-separated origins allowed to make state-changing calls (default: `EDGEWARD_ORIGIN`).
    pub const ALLOWED_ORIGINS: &str = "EDGEWARD_ALLOWED_ORIGINS";
}

/// Validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Local or production rules.
    pub profile: Profile,
    /// The SPA's origin (scheme, host, port), serialised without a trailing slash.
    pub origin: String,
    /// Origins allowed on state-changing requests; always contains [`Config::origin`].
    pub allowed_origins: Vec<String>,
}

/// A configuration variable is missing or invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable's name.
    pub variable: &'static str,
    /// What is wrong with it (never its value when it is a secret).
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.reason)
    }
}

impl std::error::Error for ConfigError {}

fn invalid(variable: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        reason: reason.into(),
    }
}

impl Config {
    /// Reads and validates every variable. `lookup` returns a variable's value, or `None` when
    /// it is not set; empty values count as not set.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let profile = match get(vars::PROFILE).as_deref() {
            None | Some("production") => Profile::Production,
            Some("local") => Profile::Local,
            Some(other) => {
                return Err(invalid(
                    vars::PROFILE,
                    format!("must be \"local\" or \"production\", not {other:?}"),
                ))
            }
        };

        let origin = get(vars::ORIGIN).ok_or_else(|| invalid(vars::ORIGIN, "is not set"))?;
        let origin = parse_origin(vars::ORIGIN, &origin, profile)?;

        let mut allowed_origins = vec![origin.clone()];
        if let Some(list) = get(vars::ALLOWED_ORIGINS) {
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let o = parse_origin(vars::ALLOWED_ORIGINS, item, profile)?;
                if !allowed_origins.contains(&o) {
                    allowed_origins.push(o);
                }
            }
        }

        Ok(Config {
            profile,
            origin,
            allowed_origins,
        })
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

/// `https` always works; `http` only in the local profile.
fn check_scheme(variable: &'static str, url: &Url, profile: Profile) -> Result<(), ConfigError> {
    match (url.scheme(), profile) {
        ("https", _) | ("http", Profile::Local) => Ok(()),
        ("http", Profile::Production) => Err(invalid(
            variable,
            format!("{url} uses http, which the production profile refuses (set EDGEWARD_PROFILE=local for development)"),
        )),
        (scheme, _) => Err(invalid(variable, format!("scheme {scheme:?} is not http(s)"))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
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
            (&[], "EDGEWARD_ORIGIN", "is not set"),
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
