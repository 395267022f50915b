//! The core's error type. Each variant maps to exactly one [`ErrorCode`], and so to one HTTP
//! status; [`Error::into_response`] turns any of them into the JSON body the SPA expects.
//!
//! What the browser reads and what the operator reads are kept apart: [`Error`]'s `Display` is
//! the public message, fixed wherever the cause could name an internal URL, a provider's answer,
//! a transport failure or which check a token failed; [`Error::detail`] is that cause, for the
//! log only ([`Error::into_logged_response`] writes it through the [`Log`] port). Neither ever
//! holds a token or a secret.

use std::fmt;

use edgeward_shared::{ErrorBody, ErrorCode};

use super::cookies;
use super::ports::{Log, LogLevel, RandomUnavailable};
use super::respond;
use super::settings::ConfigError;
use super::Response;

/// Everything that can go wrong while answering a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The configuration failed validation (answered on every request until it is fixed). The
    /// browser learns the variable's name; the reason goes to the log.
    Config(ConfigError),
    /// No route for this path.
    RouteNotFound,
    /// The path exists but not for this method; `allowed` goes into the `Allow` header.
    MethodNotAllowed {
        /// Methods the path accepts.
        allowed: String,
    },
    /// The request is malformed; the reason is about the caller's own request and safe to show.
    InvalidRequest(String),
    /// The body is longer than `limit` bytes.
    PayloadTooLarge {
        /// The endpoint's limit, in bytes.
        limit: usize,
    },
    /// The body's media type is not the one the endpoint takes.
    UnsupportedMediaType {
        /// The media type the endpoint takes.
        expected: &'static str,
    },
    /// A state-changing request failed the Origin / `Sec-Fetch-Site` rules.
    OriginRejected(String),
    /// A state-changing request lacked the CSRF header or carried a wrong value.
    CsrfRejected(String),
    /// No valid session for an endpoint that needs one.
    Unauthorized,
    /// The API route serves sessions of other identity providers only (`providers` in
    /// `EDGEWARD_API_ROUTES`); the cause, for the log.
    ProviderNotAllowed(String),
    /// The route does not serve this kind of client (the cause, for the log).
    ClientNotAllowed(String),
    /// A machine client's proof of possession was refused (the cause, for the log).
    InvalidClientProof(String),
    /// A machine client's certificate chain was refused (the cause, for the log).
    ClientCertificateRefused(String),
    /// A machine client's proof was used before (the cause, for the log).
    ProofReplayed(String),
    /// A route that serves service clients was called with no credential at all: 401 with
    /// `WWW-Authenticate: Bearer` (RFC 6750 §3: no error code when no token was sent).
    BearerRequired,
    /// A service client's bearer token was refused (RFC 6750 `invalid_token`): 401 with
    /// `WWW-Authenticate: Bearer error="invalid_token"`; the cause, for the log.
    InvalidToken(String),
    /// A service client's token lacks a scope the route requires: 403 with
    /// `WWW-Authenticate: Bearer error="insufficient_scope", scope="<the route's scope>"`. The
    /// text is the route's scope (configuration, scope tokens only), which RFC 6750 tells the
    /// caller.
    InsufficientScope(String),
    /// The access token is active but not one the proxy may exchange (another kind of token,
    /// another API, client or issuer, not valid yet): answered like [`Error::Unauthorized`],
    /// with the cause for the log.
    TokenRefused(String),
    /// The session cannot be used any more; the response clears every session cookie. The
    /// text is the cause, for the log.
    SessionExpired(String),
    /// The login's state is missing, expired, replayed or does not match the login cookie (the
    /// cause, for the log).
    InvalidState(String),
    /// The identity provider refused the login with this OAuth error code (`access_denied`,
    /// `invalid_grant`, …): the code is shown, restricted to its RFC 6749 alphabet.
    LoginDenied(String),
    /// A silent sign-in (`prompt=none`) came back needing the user: one of the codes of
    /// [`ErrorCode::silent_sign_in_refusal`], answered with its own code and 401.
    SignInNeeded(ErrorCode),
    /// The provider's tokens failed validation, or the response was not usable (the cause, for
    /// the log).
    LoginFailed(String),
    /// A back-channel logout token was refused (the cause, for the log).
    LogoutTokenInvalid(String),
    /// The identity provider is unreachable, slow, or answered something unusable (the cause,
    /// for the log).
    IdpUnavailable(String),
    /// The upstream API could not be reached (the cause, for the log).
    UpstreamUnavailable(String),
    /// The session store or the deny-list could not be asked (the cause, for the log): the
    /// session cannot be shown to be valid, so it is refused for now and left as it is.
    SessionStoreUnavailable(String),
    /// The route forwards a connected account's token and the user has none for it (the
    /// cause, for the log).
    ConnectionRequired(String),
    /// The connected account's grant is gone: its provider refused the refresh (the cause, for
    /// the log).
    ConnectionExpired(String),
    /// A service client of the token broker was not authenticated (the cause, for the log).
    InvalidClient(String),
    /// The token broker does not issue this token: not a connection the service may use, or
    /// the user did not grant it, or there is no such user (the cause, for the log; the
    /// answer is the same for all of them).
    NotGranted(String),
    /// A fault on our side (e.g. no randomness); the client learns nothing more.
    Internal(&'static str),
    /// Over a rate limit: 429 with `Retry-After`.
    RateLimited {
        /// Seconds until the window has passed.
        retry_after: u64,
        /// Which limiter refused (`ip`, `session`, `client`), for the log.
        limiter: &'static str,
    },
    /// Too many or too large cookies, or too large a head (what, for the log).
    HeadersTooLarge(String),
    /// The identity provider refused the worker's client authentication (the cause, for the
    /// log).
    IdpRejectedClient(String),
}

impl Error {
    /// The wire code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Config(_) => ErrorCode::ConfigInvalid,
            Error::RouteNotFound => ErrorCode::RouteNotFound,
            Error::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Error::InvalidRequest(_) => ErrorCode::InvalidRequest,
            Error::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Error::UnsupportedMediaType { .. } => ErrorCode::UnsupportedMediaType,
            Error::OriginRejected(_) => ErrorCode::OriginRejected,
            Error::CsrfRejected(_) => ErrorCode::CsrfRejected,
            Error::ProviderNotAllowed(_) => ErrorCode::ProviderNotAllowed,
            Error::ClientNotAllowed(_) => ErrorCode::ClientNotAllowed,
            Error::InvalidClientProof(_) => ErrorCode::InvalidClientProof,
            Error::ClientCertificateRefused(_) => ErrorCode::ClientCertificateRefused,
            Error::ProofReplayed(_) => ErrorCode::ProofReplayed,
            Error::BearerRequired => ErrorCode::Unauthorized,
            Error::InvalidToken(_) => ErrorCode::InvalidToken,
            Error::InsufficientScope(_) => ErrorCode::InsufficientScope,
            Error::Unauthorized | Error::TokenRefused(_) => ErrorCode::Unauthorized,
            Error::SessionExpired(_) => ErrorCode::SessionExpired,
            Error::InvalidState(_) => ErrorCode::InvalidState,
            Error::LoginDenied(_) | Error::LoginFailed(_) => ErrorCode::LoginFailed,
            Error::SignInNeeded(code) => *code,
            Error::LogoutTokenInvalid(_) => ErrorCode::LogoutTokenInvalid,
            Error::IdpUnavailable(_) => ErrorCode::IdpUnavailable,
            Error::UpstreamUnavailable(_) => ErrorCode::UpstreamUnavailable,
            Error::SessionStoreUnavailable(_) => ErrorCode::SessionStoreUnavailable,
            Error::ConnectionRequired(_) => ErrorCode::ConnectionRequired,
            Error::ConnectionExpired(_) => ErrorCode::ConnectionExpired,
            Error::InvalidClient(_) => ErrorCode::InvalidClient,
            Error::NotGranted(_) => ErrorCode::NotGranted,
            Error::Internal(_) => ErrorCode::Internal,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::HeadersTooLarge(_) => ErrorCode::RequestHeadersTooLarge,
            Error::IdpRejectedClient(_) => ErrorCode::IdpRejectedClient,
        }
    }

    /// What the operator should read and the browser must not: the cause behind a fixed public
    /// message (a provider's answer, a transport failure, an internal URL, which check failed).
    /// `None` when the public message already says everything.
    pub fn detail(&self) -> Option<String> {
        match self {
            Error::Config(e) => Some(e.to_string()),
            Error::SessionExpired(d)
            | Error::ProviderNotAllowed(d)
            | Error::ClientNotAllowed(d)
            | Error::InvalidClientProof(d)
            | Error::ClientCertificateRefused(d)
            | Error::ProofReplayed(d)
            | Error::InvalidToken(d)
            | Error::TokenRefused(d)
            | Error::InvalidState(d)
            | Error::LoginFailed(d)
            | Error::LogoutTokenInvalid(d)
            | Error::IdpUnavailable(d)
            | Error::UpstreamUnavailable(d)
            | Error::SessionStoreUnavailable(d)
            | Error::ConnectionRequired(d)
            | Error::ConnectionExpired(d)
            | Error::InvalidClient(d)
            | Error::NotGranted(d)
            | Error::HeadersTooLarge(d)
            | Error::IdpRejectedClient(d) => Some(d.clone()),
            Error::RateLimited { limiter, .. } => Some(format!("over the {limiter} limit")),
            Error::Internal(what) => Some((*what).to_owned()),
            _ => None,
        }
    }

    /// The response for this error ([`Error::into_response`]), after writing its cause (if it
    /// has one the browser is not told) to `log`, with the path it happened on (never the
    /// query).
    pub fn into_logged_response(self, log: &impl Log, path: &str) -> Response {
        if let Some(detail) = self.detail() {
            let level = match self.code() {
                ErrorCode::IdpUnavailable | ErrorCode::UpstreamUnavailable => LogLevel::Warn,
                code if code.status() >= 500 => LogLevel::Error,
                _ => LogLevel::Info,
            };
            let code = wire_name(self.code());
            log.log(level, &format!("edgeward: {path}: {code}: {detail}"));
        }
        self.into_response()
    }

    /// The JSON response for this error. An ended session's answer also clears every cookie of
    /// ours.
    pub fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code(),
            message: self.to_string(),
        };
        let mut response = respond::json(self.code().status(), &body);
        // The code, for whoever reads the answer back inside the core (the audit line).
        response.extensions_mut().insert(self.code());
        match self {
            Error::MethodNotAllowed { allowed } => {
                if let Ok(value) = http::HeaderValue::from_str(&allowed) {
                    response.headers_mut().insert(http::header::ALLOW, value);
                }
            }
            Error::SessionExpired(_) => cookies::clear_all(response.headers_mut()),
            Error::BearerRequired => {
                response.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    http::HeaderValue::from_static("Bearer"),
                );
            }
            Error::InvalidToken(_) => {
                response.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    http::HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            Error::InsufficientScope(scope) => {
                // Scope tokens hold no `"` or `\` (checked when the routes are read); a value
                // that is not a header value anyway still gets the challenge, without scope.
                let challenge = http::HeaderValue::from_str(&format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
                ))
                .unwrap_or(http::HeaderValue::from_static(
                    "Bearer error=\"insufficient_scope\"",
                ));
                response
                    .headers_mut()
                    .insert(http::header::WWW_AUTHENTICATE, challenge);
            }
            Error::InvalidClient(_) => {
                response.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    http::HeaderValue::from_static("Basic realm=\"edgeward broker\""),
                );
            }
            Error::SessionStoreUnavailable(_) => {
                response.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from_static("5"),
                );
            }
            Error::RateLimited { retry_after, .. } => {
                response.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from(retry_after),
                );
            }
            _ => {}
        }
        response
    }
}

/// The public message: what the browser (or whoever called) reads.
/// No randomness: a fault on our side, told as `internal` (a state, nonce, verifier, CSRF value
/// or session id cannot be made without it).
impl From<RandomUnavailable> for Error {
    fn from(_: RandomUnavailable) -> Self {
        Error::Internal("no randomness")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => write!(
                f,
                "the worker's configuration is invalid: {} (the worker's log says why)",
                e.variable
            ),
            Error::RouteNotFound => f.write_str("no such endpoint"),
            Error::MethodNotAllowed { allowed } => {
                write!(f, "method not allowed here (allowed: {allowed})")
            }
            Error::InvalidRequest(reason) => write!(f, "invalid request: {reason}"),
            Error::PayloadTooLarge { limit } => {
                write!(f, "the request body is larger than {limit} bytes")
            }
            Error::UnsupportedMediaType { expected } => {
                write!(f, "the request body must be {expected}")
            }
            Error::OriginRejected(reason) => write!(f, "origin rejected: {reason}"),
            Error::CsrfRejected(reason) => write!(f, "CSRF check failed: {reason}"),
            Error::ProviderNotAllowed(_) => f.write_str(
                "this API does not serve sessions of the identity provider you signed in with",
            ),
            Error::Unauthorized | Error::TokenRefused(_) => {
                f.write_str("no valid session: sign in")
            }
            Error::ClientNotAllowed(_) => {
                f.write_str("this API does not serve this kind of client")
            }
            Error::InvalidClientProof(_) => f.write_str("the proof of possession was not accepted"),
            Error::ClientCertificateRefused(_) => {
                f.write_str("the client certificate was not accepted")
            }
            Error::ProofReplayed(_) => {
                f.write_str("this proof of possession was used before: make a new one")
            }
            Error::BearerRequired => {
                f.write_str("no credential: send a session's cookies or an access token")
            }
            Error::InvalidToken(_) => f.write_str("the access token is not valid for this API"),
            Error::InsufficientScope(scope) => {
                write!(
                    f,
                    "the access token lacks the scope this API needs: {scope}"
                )
            }
            Error::SessionExpired(_) => f.write_str("the session has ended: sign in again"),
            Error::InvalidState(_) => {
                f.write_str("the login does not match this browser or has expired: start it again")
            }
            Error::LoginDenied(code) => {
                write!(f, "sign-in failed: the identity provider answered {code}")
            }
            Error::LoginFailed(_) => {
                f.write_str("sign-in failed: the identity provider's answer was not accepted")
            }
            Error::SignInNeeded(_) => {
                f.write_str("a silent sign-in needs the user at the identity provider: sign in")
            }
            Error::LogoutTokenInvalid(_) => f.write_str("logout token refused"),
            Error::IdpUnavailable(_) => f.write_str("the identity provider is unavailable"),
            Error::UpstreamUnavailable(_) => f.write_str("the API is unavailable"),
            Error::SessionStoreUnavailable(_) => {
                f.write_str("the session store is unavailable: try again shortly")
            }
            Error::ConnectionRequired(_) => {
                f.write_str("this API needs a connected account: connect it first")
            }
            Error::ConnectionExpired(_) => {
                f.write_str("the connected account needs to be connected again")
            }
            Error::InvalidClient(_) => f.write_str("client authentication failed"),
            Error::NotGranted(_) => {
                f.write_str("no token for this subject and connection is granted to this client")
            }
            Error::Internal(_) => f.write_str("internal error"),
            Error::RateLimited { .. } => f.write_str("too many requests: try again later"),
            Error::HeadersTooLarge(_) => {
                f.write_str("the request carries too many or too large cookies or headers")
            }
            Error::IdpRejectedClient(_) => f.write_str(
                "the identity provider does not accept this deployment's client: the operator must fix it",
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

/// An [`ErrorCode`]'s wire name (`invalid_state`), as the JSON answer spells it: a closed set,
/// never text from the request.
pub fn wire_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "error".to_owned())
}
