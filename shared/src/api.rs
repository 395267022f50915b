//! Request and response bodies of the `/auth/*` endpoints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `GET /auth/session` answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    /// Whether the request carried a valid session.
    pub is_logged_in: bool,
    /// What the SPA may show of the user: claims of the ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<UserClaims>,
    /// When the access token expires, in seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_expires_at: Option<u64>,
    /// The value to send in the `x-edgeward-csrf` header on state-changing requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
    /// When the session ends (a new login is needed then), in seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_expires_at: Option<u64>,
    /// The id of the identity provider the user signed in with (one of `GET /auth/providers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Signed out only: the worker is configured for silent sign-in, so the SPA may try one
    /// (`prompt=none`) once before showing its sign-in page.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub silent_sign_in: bool,
}

impl SessionResponse {
    /// The answer for a request without a valid session.
    pub fn signed_out() -> Self {
        Self::default()
    }
}

/// The ID-token claims the SPA gets to see.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UserClaims {
    /// Subject: the user's id at the identity provider.
    pub sub: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Preferred user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// When the user authenticated, in seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
}

/// `POST /auth/login/start` body. `{}` is valid.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginStartRequest {
    /// Where the SPA wants to land after login: a same-origin path such as `/profile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
    /// Extra authorization-request parameters; only names on the configured allow-list
    /// (e.g. `prompt`, `login_hint`, `acr_values`) are accepted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_params: BTreeMap<String, String>,
    /// The identity provider to sign in with, by id (one of `GET /auth/providers`); the first
    /// configured one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// `GET /auth/providers` answer: the identity providers the sign-in page offers, the default
/// first. Ids and names only.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProvidersResponse {
    /// The providers.
    pub providers: Vec<ProviderInfo>,
}

/// One identity provider as the sign-in page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// What `provider` in `POST /auth/login/start` names it by.
    pub id: String,
    /// Its name, from the configuration.
    pub name: String,
}

/// `POST /auth/login/start` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginStartResponse {
    /// Where to send the browser.
    pub authorization_url: String,
}

/// `POST /auth/login/end` body: the callback page's full URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginEndRequest {
    /// `location.href` of the page the identity provider redirected to.
    pub page_url: String,
}

/// `POST /auth/login/end` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginEndResponse {
    /// Whether the URL carried an authorization response that this call processed.
    pub handled: bool,
    /// Whether a session exists after the call.
    pub is_logged_in: bool,
    /// The session's CSRF value, when logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
    /// Where to navigate next (the `returnTo` given at login start, or `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
}

/// `POST /auth/logout` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogoutResponse {
    /// The identity provider's end-session URL to navigate to, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_out_session_is_exactly_is_logged_in_false() {
        let json = serde_json::to_string(&SessionResponse::signed_out()).unwrap();
        assert_eq!(json, r#"{"isLoggedIn":false}"#);
    }

    #[test]
    fn the_silent_sign_in_hint_is_there_only_when_on() {
        let on = SessionResponse {
            silent_sign_in: true,
            ..SessionResponse::signed_out()
        };
        let json = serde_json::to_string(&on).unwrap();
        assert_eq!(json, r#"{"isLoggedIn":false,"silentSignIn":true}"#);
        assert_eq!(serde_json::from_str::<SessionResponse>(&json).unwrap(), on);
        // An older worker's answer has none: no silent sign-in.
        let old: SessionResponse = serde_json::from_str(r#"{"isLoggedIn":false}"#).unwrap();
        assert!(!old.silent_sign_in);
    }

    #[test]
    fn login_start_accepts_an_empty_object() {
        let req: LoginStartRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(req, LoginStartRequest::default());
        let req: LoginStartRequest =
            serde_json::from_str(r#"{"returnTo":"/p","extraParams":{"prompt":"login"}}"#).unwrap();
        assert_eq!(req.return_to.as_deref(), Some("/p"));
        assert_eq!(req.extra_params["prompt"], "login");
    }

    #[test]
    fn signed_in_session_uses_camel_case() {
        let s = SessionResponse {
            is_logged_in: true,
            claims: Some(UserClaims {
                sub: "u1".into(),
                ..Default::default()
            }),
            access_token_expires_at: Some(10),
            csrf: Some("c".into()),
            session_expires_at: Some(20),
            provider: None,
            ..SessionResponse::default()
        };
        let v: serde_json::Value = serde_json::to_value(&s).unwrap();
        assert_eq!(v["accessTokenExpiresAt"], 10);
        assert_eq!(v["sessionExpiresAt"], 20);
        assert_eq!(v["claims"]["sub"], "u1");
        assert_eq!(v["isLoggedIn"], true);
    }
}

/// `POST /auth/connections/{name}/start` body (all optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectStartRequest {
    /// Where the SPA goes once the account is connected: a same-origin path (default `/`).
    #[serde(default)]
    pub return_to: Option<String>,
    /// The service clients (`clientId`s of `EDGEWARD_BROKER_CLIENTS`) the user lets obtain
    /// this connection's access tokens through `POST /broker/token`; each must be configured
    /// for the connection. Default none.
    #[serde(default)]
    pub grants: Vec<String>,
}

/// `POST /auth/connections/{name}/end` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectEndResponse {
    /// The connection that is now connected.
    pub connection: String,
    /// Where the SPA goes next (a same-origin path).
    pub return_to: String,
}

/// One configured connection, as `GET /auth/connections` lists it for the signed-in user.
/// Never a token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    /// The connection's name.
    pub name: String,
    /// `not_connected`, `connected` or `reauthorization_required` (the provider refused the
    /// refresh: connect again).
    pub status: String,
    /// The scopes asked for, space-separated.
    pub scopes: String,
    /// When the user connected it, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_at: Option<u64>,
    /// When a token of it was last used, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<u64>,
    /// The service clients the user let use it.
    #[serde(default)]
    pub grants: Vec<String>,
}

/// `GET /auth/connections` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionsResponse {
    /// Every configured connection, in the configuration's order.
    pub connections: Vec<ConnectionInfo>,
}

/// `POST /broker/token` body (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerTokenRequest {
    /// The connection's name.
    pub connection: String,
    /// The user: their `sub` at the identity provider they sign in with.
    pub subject: String,
    /// That identity provider's id, when it is not the default one.
    #[serde(default)]
    pub provider: Option<String>,
}

/// `POST /broker/token` answer (RFC 6749 §5.1's shape; never a refresh token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerTokenResponse {
    /// The connection's current access token.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds it has left.
    pub expires_in: u64,
}

/// `PUT /auth/connections/{name}/grants` body: the service clients the user now lets use the
/// connection (replacing the list; empty revokes every service's access).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionGrantsRequest {
    /// `clientId`s of `EDGEWARD_BROKER_CLIENTS` configured for this connection.
    pub grants: Vec<String>,
}
