//! `POST /broker/token`: a service client (`EDGEWARD_BROKER_CLIENTS`), authenticated with
//! `client_secret_basic` (RFC 6749 §2.3.1), asks for the current access token of a user's
//! connection: `{connection, subject, provider?}` → `{access_token, token_type, expires_in}`.
//! Never a refresh token.
//!
//! The client's secret is configured only as its SHA-256 (a random 256-bit secret needs no
//! slow hash) and compared in constant time; an unknown client costs the same hash. Refusals:
//! 401 `invalid_client` (no or malformed credentials, unknown client, wrong secret); 403
//! `not_granted` for a connection the client is not configured for, a subject without that
//! connection, and a subject who did not grant it — one answer, so the endpoint does not tell
//! whether a user exists. Every issuance writes one audit line (client, the subject's digest,
//! connection, lifetime; no token).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use edgeward_shared::api::{BrokerTokenRequest, BrokerTokenResponse};
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};

use super::store::{connection_token, Asker, User};
use super::{Context, ServiceClient};
use crate::platform::crypto::constant_time_eq;
use crate::platform::ports::{Clock, Log, LogLevel};
use crate::platform::{respond, Error, Request, Response};
use crate::sessions::scoped;

/// The `(client_id, secret)` of `Authorization: Basic …`, each form-urlencoded (RFC 6749
/// §2.3.1); `None` when there is no such header or it does not parse.
fn basic_credentials(req: &Request) -> Option<(String, String)> {
    let value = req
        .headers()
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let form = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    Some((form(id)?, form(secret)?))
}

/// The configured client these credentials authenticate, or [`Error::InvalidClient`].
fn authenticate<'a>(
    clients: &'a [ServiceClient],
    req: &Request,
) -> Result<&'a ServiceClient, Error> {
    let (id, secret) = basic_credentials(req)
        .ok_or_else(|| Error::InvalidClient("no client_secret_basic credentials".into()))?;
    let presented = hex(&Sha256::digest(secret.as_bytes()));
    let client = clients.iter().find(|c| c.client_id == id);
    // An unknown client is compared against a hash no secret has, in the same time.
    let expected = client.map_or("-".repeat(64), |c| c.secret_sha256.clone());
    let good = constant_time_eq(&presented, &expected);
    match client {
        Some(c) if good => Ok(c),
        Some(_) => Err(Error::InvalidClient(format!("client {id}: wrong secret"))),
        None => Err(Error::InvalidClient("an unknown client".into())),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `POST /broker/token`.
pub(crate) async fn broker_token(edge: &impl Context, req: &Request) -> Result<Response, Error> {
    let client = authenticate(&edge.broker().clients, req)?;
    let body: BrokerTokenRequest = serde_json::from_slice(req.body())
        .map_err(|e| Error::InvalidRequest(format!("body is not a broker token request: {e}")))?;
    let name = body.connection.as_str();
    let id = client.client_id.as_str();
    if !client.connections.iter().any(|c| c == name) {
        return Err(Error::NotGranted(format!(
            "client {id} is not configured for connection {:?}",
            name.chars().take(40).collect::<String>()
        )));
    }
    if body.subject.is_empty() || body.subject.chars().any(char::is_control) {
        return Err(Error::NotGranted(format!(
            "client {id}: a subject that is no user"
        )));
    }
    // The subject as the registry knows it: scoped by a provider that is not the default.
    let provider = match body.provider.as_deref() {
        None => None,
        Some(p) => match edge.provider(p) {
            Some(found) if !found.first => Some(p),
            Some(_) => None,
            None => {
                return Err(Error::NotGranted(format!(
                    "client {id}: provider {:?} is not configured",
                    p.chars().take(40).collect::<String>()
                )))
            }
        },
    };
    let user = User::of(
        &scoped(provider, &body.subject),
        edge.session_settings().shards,
    );
    let (token, expires_at) = connection_token(edge, &user, name, Asker::Service(id)).await?;
    let now = edge.ports().now();
    let expires_in = expires_at.saturating_sub(now);
    edge.ports().log(
        LogLevel::Info,
        &format!(
            "edgeward: broker: issued client={id} connection={name} subject=sha256:{} expires_in={expires_in}",
            &user.digest[..16]
        ),
    );
    let mut response = respond::json(
        200,
        &BrokerTokenResponse {
            access_token: token,
            token_type: "Bearer".into(),
            expires_in,
        },
    );
    let headers = response.headers_mut();
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        http::header::PRAGMA,
        http::HeaderValue::from_static("no-cache"),
    );
    Ok(response)
}
