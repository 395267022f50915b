//! The SPA's client for its own origin's `/auth/*` endpoints. It never sees a token: the
//! browser attaches edgeward's HttpOnly cookies by itself.

use edgeward_shared::api::SessionResponse;
use edgeward_shared::{paths, ErrorBody};
use gloo_net::http::Request;

/// Why a call failed, in words a person can act on.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The worker answered with one of edgeward's JSON errors.
    Edge(ErrorBody),
    /// No usable answer: network down, or a body that is not what the contract says.
    Network(String),
}

impl ApiError {
    /// A sentence for the page.
    pub fn message(&self) -> String {
        match self {
            ApiError::Edge(body) => body.message.clone(),
            ApiError::Network(reason) => format!("The service could not be reached ({reason})."),
        }
    }
}

/// `GET /auth/session`.
pub async fn session() -> Result<SessionResponse, ApiError> {
    let response = Request::get(paths::SESSION)
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    if response.ok() {
        response
            .json::<SessionResponse>()
            .await
            .map_err(|e| ApiError::Network(e.to_string()))
    } else {
        match response.json::<ErrorBody>().await {
            Ok(body) => Err(ApiError::Edge(body)),
            Err(_) => Err(ApiError::Network(format!("HTTP {}", response.status()))),
        }
    }
}
