//! The provider's userinfo endpoint (OpenID Connect Core §5.3): the profile claims of a
//! provider that keeps them out of the ID token (oidc-provider by default, django-oauth-toolkit
//! when its validator says so).
//!
//! [`fetch`] asks once, with the access token a code exchange just returned, and accepts only an
//! answer about the user the ID token named (§5.3.2: the `sub` must match, or the answer must
//! not be used). What it returns are display claims; the session's identity stays the ID
//! token's.

use serde::Deserialize;

use crate::platform::ports::HttpClient;

/// Userinfo values longer than this many bytes are left out: the claims travel in a cookie,
/// and no name or address that long is one to show.
pub const MAX_CLAIM_LEN: usize = 256;

/// The claims edgeward reads from a userinfo answer (others are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// Display name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Preferred user name.
    pub preferred_username: Option<String>,
}

/// Why a userinfo answer gave no claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserInfoError {
    /// The answer is about another user than the ID token's: it must not be used, and the
    /// login that asked must not go on (a provider mixed up, a token substituted).
    OtherSubject,
    /// No usable answer (unreachable, not 2xx, not a JSON object with a string `sub`, a signed
    /// or encrypted JWT): the cause, for the log.
    Unusable(String),
}

#[derive(Deserialize)]
struct Answer {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
}

/// GETs `endpoint` with `access_token` as the Bearer token and returns its claims when its
/// `sub` is `expected_sub`, exactly.
pub async fn fetch(
    http: &impl HttpClient,
    endpoint: &str,
    access_token: &str,
    expected_sub: &str,
) -> Result<UserInfo, UserInfoError> {
    let request = http::Request::get(endpoint)
        .header(http::header::ACCEPT, "application/json")
        .header(
            http::header::AUTHORIZATION,
            format!("Bearer {access_token}"),
        )
        .body(Vec::new())
        .map_err(|_| UserInfoError::Unusable(format!("cannot request {endpoint}")))?;
    let response = http
        .send(request)
        .await
        .map_err(|e| UserInfoError::Unusable(format!("{endpoint}: {e}")))?;
    if !response.status().is_success() {
        return Err(UserInfoError::Unusable(format!(
            "{endpoint} answered HTTP {}",
            response.status().as_u16()
        )));
    }
    let answer: Answer = serde_json::from_slice(response.body()).map_err(|_| {
        UserInfoError::Unusable(format!(
            "{endpoint} did not answer a JSON userinfo object with a sub (a signed or \
             encrypted userinfo JWT is not read)"
        ))
    })?;
    if answer.sub != expected_sub {
        return Err(UserInfoError::OtherSubject);
    }
    let keep = |v: Option<String>| v.filter(|v| !v.is_empty() && v.len() <= MAX_CLAIM_LEN);
    Ok(UserInfo {
        name: keep(answer.name),
        email: keep(answer.email),
        preferred_username: keep(answer.preferred_username),
    })
}
