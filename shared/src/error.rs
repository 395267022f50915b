//! Error codes: every failure reaches the browser as an [`ErrorBody`] with one of these codes.

use serde::{Deserialize, Serialize};

/// What went wrong, as a stable machine-readable code. Each code has one HTTP status
/// ([`ErrorCode::status`]); the human text travels in [`ErrorBody::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The worker's configuration is invalid; the message names the variable (never a secret).
    ConfigInvalid,
    /// The request is malformed: bad JSON, a field out of range, a `returnTo` that is not a
    /// same-origin path.
    InvalidRequest,
    /// No route answers this path.
    RouteNotFound,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The login's `state` is missing, replayed, or does not match the login cookie.
    InvalidState,
    /// The identity provider refused the login (its error code is in the message), or the
    /// tokens it returned failed validation.
    LoginFailed,
    /// A silent sign-in (`prompt=none`) needs the user: the provider has no session for them.
    /// Sign in interactively.
    LoginRequired,
    /// A silent sign-in needs the user to interact with the provider (for instance a second
    /// factor). Sign in interactively.
    InteractionRequired,
    /// A silent sign-in needs the user's consent at the provider. Sign in interactively.
    ConsentRequired,
    /// A silent sign-in needs the user to choose an account at the provider. Sign in
    /// interactively.
    AccountSelectionRequired,
    /// A back-channel logout token failed validation (signature, issuer, audience, events,
    /// nonce, replayed `jti`); nothing was changed.
    LogoutTokenInvalid,
    /// No valid session: sign in (or refresh, for an expired access token).
    Unauthorized,
    /// The session can no longer be refreshed; every session cookie was cleared.
    SessionExpired,
    /// A state-changing request lacked the CSRF header or carried a wrong value.
    CsrfRejected,
    /// A state-changing request came from an origin not on the allow-list.
    OriginRejected,
    /// The API route does not serve sessions of the identity provider this one is from.
    ProviderNotAllowed,
    /// The API route does not serve this kind of caller (`clients` in `EDGEWARD_API_ROUTES`):
    /// a browser session on a route for machines only, a proof of possession on a route that
    /// takes none.
    ClientNotAllowed,
    /// A machine client's proof of possession (`Authorization: PoP`) is malformed, badly
    /// signed, expired or not for this request.
    InvalidClientProof,
    /// A machine client's certificate chain was refused (another CA, expired, revoked, wrong
    /// usage).
    ClientCertificateRefused,
    /// A machine client's proof of possession was used before (its `jti`).
    ProofReplayed,
    /// A service client's bearer token is not valid for this route (RFC 6750 `invalid_token`):
    /// not an access token, expired, another issuer, audience or client, a bad signature.
    InvalidToken,
    /// A service client's token lacks a scope the route requires (RFC 6750
    /// `insufficient_scope`); the `WWW-Authenticate` header names the scope.
    InsufficientScope,
    /// The identity provider could not be reached, timed out, or answered nonsense.
    IdpUnavailable,
    /// The upstream API could not be reached.
    UpstreamUnavailable,
    /// The request body is larger than the endpoint accepts; nothing was read past the limit.
    PayloadTooLarge,
    /// The request body is not in the media type the endpoint takes (`application/json` for
    /// the SPA's calls, a form for back-channel logout).
    UnsupportedMediaType,
    /// The session store (or the deny-list of ended sessions) could not be asked, so the session
    /// cannot be shown to be still valid: refused, cookies untouched; try again shortly.
    SessionStoreUnavailable,
    /// The API route forwards a connected account's token (token broker), and the user has
    /// not connected that account: connect it (`POST /auth/connections/{name}/start`).
    ConnectionRequired,
    /// The connected account's grant is gone (its provider refused the refresh, or it was
    /// revoked there): connect it again.
    ConnectionExpired,
    /// The token broker did not authenticate the service client (unknown client or wrong
    /// secret).
    InvalidClient,
    /// The token broker will not issue this token: the connection is not one the service may
    /// use, or no user granted it (the same answer whether or not the user exists).
    NotGranted,
    /// Too many requests of this client, session or address in the current window; the
    /// `Retry-After` header says when to try again.
    RateLimited,
    /// The request carries too many cookies, a cookie too large, or too large a head.
    RequestHeadersTooLarge,
    /// The identity provider refused the worker's own client authentication
    /// (`invalid_client`): the deployment is misconfigured; the session is kept.
    IdpRejectedClient,
    /// A bug on our side; the message says nothing more to the client.
    Internal,
    /// A code this build does not know (a newer worker); kept so old SPAs still parse errors.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The code of an authorization response's `error` that says a silent sign-in
    /// (`prompt=none`, OpenID Connect Core §3.1.2.6) needs the user; `None` for every other
    /// error.
    pub fn silent_sign_in_refusal(error: &str) -> Option<Self> {
        match error {
            "login_required" => Some(ErrorCode::LoginRequired),
            "interaction_required" => Some(ErrorCode::InteractionRequired),
            "consent_required" => Some(ErrorCode::ConsentRequired),
            "account_selection_required" => Some(ErrorCode::AccountSelectionRequired),
            _ => None,
        }
    }

    /// The HTTP status that goes with this code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest
            | ErrorCode::InvalidState
            | ErrorCode::LoginFailed
            | ErrorCode::LogoutTokenInvalid => 400,
            ErrorCode::Unauthorized
            | ErrorCode::InvalidToken
            | ErrorCode::SessionExpired
            | ErrorCode::LoginRequired
            | ErrorCode::InteractionRequired
            | ErrorCode::ConsentRequired
            | ErrorCode::AccountSelectionRequired
            | ErrorCode::InvalidClientProof
            | ErrorCode::ClientCertificateRefused
            | ErrorCode::ProofReplayed
            | ErrorCode::ConnectionRequired
            | ErrorCode::ConnectionExpired
            | ErrorCode::InvalidClient => 401,
            ErrorCode::CsrfRejected
            | ErrorCode::OriginRejected
            | ErrorCode::ProviderNotAllowed
            | ErrorCode::ClientNotAllowed
            | ErrorCode::InsufficientScope
            | ErrorCode::NotGranted => 403,
            ErrorCode::RouteNotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::RequestHeadersTooLarge => 431,
            ErrorCode::SessionStoreUnavailable => 503,
            ErrorCode::IdpUnavailable
            | ErrorCode::UpstreamUnavailable
            | ErrorCode::IdpRejectedClient => 502,
            ErrorCode::ConfigInvalid | ErrorCode::Internal | ErrorCode::Unknown => 500,
        }
    }
}

/// The JSON body of every error response: `{"code": "...", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation; never contains a token or a secret.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_on_the_wire_and_round_trip() {
        let body = ErrorBody {
            code: ErrorCode::CsrfRejected,
            message: "missing header".into(),
        };
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(
            json,
            r#"{"code":"csrf_rejected","message":"missing header"}"#
        );
        assert_eq!(serde_json::from_str::<ErrorBody>(&json).unwrap(), body);
    }

    #[test]
    fn only_the_four_prompt_none_refusals_are_silent_sign_in_codes() {
        let table = [
            ("login_required", Some(ErrorCode::LoginRequired)),
            ("interaction_required", Some(ErrorCode::InteractionRequired)),
            ("consent_required", Some(ErrorCode::ConsentRequired)),
            (
                "account_selection_required",
                Some(ErrorCode::AccountSelectionRequired),
            ),
            ("access_denied", None),
            ("Login_Required", None),
            ("login_required ", None),
            ("", None),
        ];
        for (error, code) in table {
            assert_eq!(ErrorCode::silent_sign_in_refusal(error), code, "{error:?}");
            if let Some(code) = code {
                assert_eq!(code.status(), 401);
                // The wire code is the provider's own.
                assert_eq!(
                    serde_json::to_value(code).unwrap(),
                    serde_json::Value::from(error)
                );
            }
        }
    }

    #[test]
    fn an_unknown_code_still_parses() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"code":"added_later","message":"x"}"#).unwrap();
        assert_eq!(body.code, ErrorCode::Unknown);
    }

    #[test]
    fn statuses() {
        let table = [
            ("invalid_request", 400),
            ("invalid_state", 400),
            ("login_failed", 400),
            ("logout_token_invalid", 400),
            ("unauthorized", 401),
            ("session_expired", 401),
            ("login_required", 401),
            ("interaction_required", 401),
            ("consent_required", 401),
            ("account_selection_required", 401),
            ("csrf_rejected", 403),
            ("origin_rejected", 403),
            ("provider_not_allowed", 403),
            ("client_not_allowed", 403),
            ("invalid_client_proof", 401),
            ("client_certificate_refused", 401),
            ("proof_replayed", 401),
            ("route_not_found", 404),
            ("method_not_allowed", 405),
            ("payload_too_large", 413),
            ("unsupported_media_type", 415),
            ("rate_limited", 429),
            ("request_headers_too_large", 431),
            ("idp_rejected_client", 502),
            ("session_store_unavailable", 503),
            ("idp_unavailable", 502),
            ("upstream_unavailable", 502),
            ("config_invalid", 500),
            ("internal", 500),
        ];
        for (code, status) in table {
            let parsed: ErrorCode = serde_json::from_str(&format!("\"{code}\"")).unwrap();
            assert_eq!(parsed.status(), status, "{code}");
            assert_ne!(parsed, ErrorCode::Unknown, "{code}");
        }
    }
}
