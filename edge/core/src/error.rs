//! The core's error type. Each variant maps to exactly one [`ErrorCode`], and so to one HTTP
//! status; [`Error::into_response`] turns any of them into the JSON body the SPA expects.

use std::fmt;

use edgeward_shared::{ErrorBody, ErrorCode};

use crate::config::ConfigError;
use crate::respond;
use crate::Response;

/// Everything that can go wrong while answering a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The configuration failed validation (answered on every request until it is fixed).
    Config(ConfigError),
    /// No route for this path.
    RouteNotFound,
    /// The path exists but not for this method; `allowed` goes into the `Allow` header.
    MethodNotAllowed {
        /// Methods the path accepts.
        allowed: String,
    },
    /// The request is malformed; the reason is safe to show.
    InvalidRequest(String),
    /// A state-changing request failed the Origin / `Sec-Fetch-Site` rules.
    OriginRejected(String),
    /// A state-changing request lacked the CSRF header or carried a wrong value.
    CsrfRejected(String),
    /// No valid session for an endpoint that needs one.
    Unauthorized,
    /// The session cannot be refreshed any more; the response clears every session cookie.
    SessionExpired(String),
    /// The login's state is missing, expired, replayed or does not match the login cookie.
    InvalidState(String),
    /// The identity provider refused the login, or its tokens failed validation.
    LoginFailed(String),
    /// A back-channel logout token was refused.
    LogoutTokenInvalid(String),
    /// The identity provider is unreachable, slow, or answered something unusable.
    IdpUnavailable(String),
    /// The upstream API could not be reached.
    UpstreamUnavailable(String),
    /// A fault on our side (e.g. no randomness); the client learns nothing more.
    Internal(&'static str),
}

impl Error {
    /// The wire code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Config(_) => ErrorCode::ConfigInvalid,
            Error::RouteNotFound => ErrorCode::RouteNotFound,
            Error::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Error::InvalidRequest(_) => ErrorCode::InvalidRequest,
            Error::OriginRejected(_) => ErrorCode::OriginRejected,
            Error::CsrfRejected(_) => ErrorCode::CsrfRejected,
            Error::Unauthorized => ErrorCode::Unauthorized,
            Error::SessionExpired(_) => ErrorCode::SessionExpired,
            Error::InvalidState(_) => ErrorCode::InvalidState,
            Error::LoginFailed(_) => ErrorCode::LoginFailed,
            Error::LogoutTokenInvalid(_) => ErrorCode::LogoutTokenInvalid,
            Error::IdpUnavailable(_) => ErrorCode::IdpUnavailable,
            Error::UpstreamUnavailable(_) => ErrorCode::UpstreamUnavailable,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The JSON response for this error.
    pub fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code(),
            message: self.to_string(),
        };
        let mut response = respond::json(self.code().status(), &body);
        match self {
            Error::MethodNotAllowed { allowed } => {
                if let Ok(value) = http::HeaderValue::from_str(&allowed) {
                    response.headers_mut().insert(http::header::ALLOW, value);
                }
            }
            Error::SessionExpired(_) => crate::session::clear(response.headers_mut()),
            _ => {}
        }
        response
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => write!(f, "the worker's configuration is invalid: {e}"),
            Error::RouteNotFound => f.write_str("no such endpoint"),
            Error::MethodNotAllowed { allowed } => {
                write!(f, "method not allowed here (allowed: {allowed})")
            }
            Error::InvalidRequest(reason) => write!(f, "invalid request: {reason}"),
            Error::OriginRejected(reason) => write!(f, "origin rejected: {reason}"),
            Error::CsrfRejected(reason) => write!(f, "CSRF check failed: {reason}"),
            Error::Unauthorized => f.write_str("no valid session: sign in"),
            Error::SessionExpired(reason) => write!(f, "the session has ended: {reason}"),
            Error::InvalidState(reason) => write!(f, "invalid login state: {reason}"),
            Error::LoginFailed(reason) => write!(f, "login failed: {reason}"),
            Error::LogoutTokenInvalid(reason) => write!(f, "logout token refused: {reason}"),
            Error::IdpUnavailable(reason) => {
                write!(f, "the identity provider is unavailable: {reason}")
            }
            Error::UpstreamUnavailable(reason) => write!(f, "the API is unavailable: {reason}"),
            Error::Internal(what) => write!(f, "internal error ({what})"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}
