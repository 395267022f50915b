//! Reading settings: the deployment's variables (wrangler vars and secrets) through a lookup
//! function, and what every capability's parser shares — the [`ConfigError`] that names a
//! variable, [`Secret`] values that never print, the [`Profile`] that decides whether plain
//! `http` is allowed, and whole numbers and flags within bounds.
//!
//! Each capability parses its own variables with these (the cookie keys in `cookie`, the
//! OpenID Connect client in `oidc`, the routes and phantom tokens in `proxy`, where sessions
//! live in `sessions`, the admin token in `agent`); the dispatcher's `Config` composes them.

use std::fmt;
use std::ops::RangeInclusive;

use url::Url;

/// Where the worker runs. `production` refuses plain-http URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Local development on `http://localhost`.
    Local,
    /// Anything reachable by real users.
    Production,
}

/// A secret string. `Debug` and `Display` print `***`; get the value with [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
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

/// The error for `variable`, saying `reason`.
pub fn invalid(variable: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        reason: reason.into(),
    }
}

/// The deployment's variables, read through a lookup function (a map in tests, `Env` in the
/// adapter). Values are trimmed; empty values count as not set.
pub struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl fmt::Debug for Vars<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Vars")
    }
}

impl<'a> Vars<'a> {
    /// Variables read through `lookup`, which returns a variable's value or `None` when it is
    /// not set.
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self(lookup)
    }

    /// The trimmed value of `name`, unless it is unset or empty.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A whole number in `range`, or `default` when unset.
    pub fn number(
        &self,
        name: &'static str,
        range: RangeInclusive<u64>,
        default: u64,
    ) -> Result<u64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    invalid(
                        name,
                        format!("must be {} to {}", range.start(), range.end()),
                    )
                }),
        }
    }

    /// `true` or `false`, or `default` when unset.
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(invalid(
                name,
                format!("must be true or false, not {other:?}"),
            )),
        }
    }
}

/// `https` always works; `http` only in the local profile.
pub fn check_scheme(
    variable: &'static str,
    url: &Url,
    profile: Profile,
) -> Result<(), ConfigError> {
    match (url.scheme(), profile) {
        ("https", _) | ("http", Profile::Local) => Ok(()),
        ("http", Profile::Production) => Err(invalid(
            variable,
            format!("{url} uses http, which the production profile refuses (set EDGEWARD_PROFILE=local for development)"),
        )),
        (scheme, _) => Err(invalid(variable, format!("scheme {scheme:?} is not http(s)"))),
    }
}
