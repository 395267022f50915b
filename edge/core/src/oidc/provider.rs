//! The identity provider as the worker sees it: discovery, fetched on demand over the
//! [`HttpClient`] port and cached in the isolate for [`DISCOVERY_TTL`] seconds, with its keys;
//! grants at the token endpoint and revocation (RFC 7009), as the configured client; the PKCE
//! challenge of an authorization request.
//!
//! Every IdP failure (unreachable, timeout, a 5xx, a body that is not the JSON we need, an
//! issuer that does not match the configuration) becomes [`Error::IdpUnavailable`]; nothing is
//! cached then, so the next request tries again.

use std::cell::RefCell;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::assertion::ASSERTION_TYPE;
use super::idtoken::{Jwks, TENANT_SLOT};
use super::settings::{AssertionAudience, ClientAuth, OidcClient, Quirks};
use crate::platform::crypto::random_token;
use crate::platform::ports::{Clock, HttpClient, Random};
use crate::platform::settings::Profile;
use crate::platform::Error;

/// How long discovery and the JWKS are reused before they are fetched again, in seconds.
pub const DISCOVERY_TTL: u64 = 3600;
/// An unknown `kid` in a token someone presented to us (a logout token, a service token)
/// re-fetches the JWKS at most this often, in seconds (key rollover without letting forged
/// tokens make us hammer the provider).
pub const JWKS_REFETCH_MIN_INTERVAL: u64 = 60;
/// An unknown `kid` in a token the provider itself just answered with (an ID token from its
/// token endpoint, an introspection JWT) re-fetches at most this often: nobody else can put a
/// key id there, and a provider that replaced its keys without an overlap (a restart with new
/// keys) would otherwise fail every sign-in for a minute. The second only makes a burst of
/// such answers share one fetch.
pub const JWKS_REFETCH_FROM_PROVIDER: u64 = 1;

/// How the provider's keys are wanted for one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLookup {
    /// The cached keys while they are fresh ([`DISCOVERY_TTL`]).
    Cached,
    /// A token the provider answered with names a key the cache lacks: fetched again unless
    /// that happened less than [`JWKS_REFETCH_FROM_PROVIDER`] seconds ago.
    AnsweredWithUnknownKey,
    /// A token someone presented names a key the cache lacks: fetched again unless that
    /// happened less than [`JWKS_REFETCH_MIN_INTERVAL`] seconds ago.
    PresentedWithUnknownKey,
}
/// How long a discovery whose missing endpoints the OAuth 2 metadata could not settle (no
/// document naming the issuer was read: a 5xx, a timeout, no document at all) is reused, in
/// seconds. A passing failure then costs minutes of no revocation and no introspection, not an
/// hour; a provider without the document is asked again this often.
pub const METADATA_RETRY: u64 = 300;

/// The parts of an OpenID Provider's metadata that edgeward uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Discovery {
    /// Must equal the configured issuer.
    pub issuer: String,
    /// Where the browser goes to log in.
    pub authorization_endpoint: String,
    /// Where codes and refresh tokens are exchanged.
    pub token_endpoint: String,
    /// The signing keys.
    pub jwks_uri: String,
    /// RP-initiated logout, when the provider has it.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// The userinfo endpoint, when the provider has it (claims missing from the ID token).
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// Token revocation (RFC 7009), when the provider has it.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// Token introspection (RFC 7662), when the provider has it.
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    /// RFC 9207: the provider puts `iss` in every authorization response (then a response
    /// without it is refused).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// RFC 9126: where authorization requests are pushed, when the provider takes them.
    #[serde(default)]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// RFC 9126 §5: the provider takes authorization requests only when pushed.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
}

/// What the isolate remembers about the identity provider.
#[derive(Debug, Default)]
pub struct IdpCache {
    /// Discovery, and until when it is reused.
    discovery: RefCell<Option<(Rc<Discovery>, u64)>>,
    jwks: RefCell<Option<(Rc<Jwks>, u64)>>,
}

impl IdpCache {
    /// A cache holding `discovery` for good: for a provider configured by its endpoints
    /// rather than an issuer (a token broker connection to a plain OAuth 2 provider), which is
    /// never asked for its metadata.
    pub fn fixed(discovery: Discovery) -> Self {
        Self {
            discovery: RefCell::new(Some((Rc::new(discovery), u64::MAX))),
            jwks: RefCell::new(None),
        }
    }

    /// Discovery, from the cache while it is fresh, else from the provider.
    pub async fn discovery(
        &self,
        client: &OidcClient,
        ports: &(impl Clock + HttpClient),
    ) -> Result<Rc<Discovery>, Error> {
        let now = ports.now();
        if let Some((d, until)) = self.discovery.borrow().as_ref() {
            if now < *until {
                return Ok(d.clone());
            }
        }
        let issuer = client.issuer.trim_end_matches('/');
        let url = format!("{issuer}/.well-known/openid-configuration");
        let mut d: Discovery = get_json(ports, &url).await?;
        validate(&d, client)?;
        let mut ttl = DISCOVERY_TTL;
        if (d.introspection_endpoint.is_none() || d.revocation_endpoint.is_none())
            && !oauth_metadata_fallback(&mut d, client, ports).await
        {
            ttl = METADATA_RETRY;
        }
        let d = Rc::new(d);
        *self.discovery.borrow_mut() = Some((d.clone(), now + ttl));
        Ok(d)
    }
}

impl IdpCache {
    /// The provider's keys, from the cache while fresh enough for `lookup` ([`KeyLookup`]);
    /// the second value says whether this call fetched.
    pub async fn jwks(
        &self,
        discovery: &Discovery,
        ports: &(impl Clock + HttpClient),
        lookup: KeyLookup,
    ) -> Result<(Rc<Jwks>, bool), Error> {
        let now = ports.now();
        if let Some((jwks, fetched)) = self.jwks.borrow().as_ref() {
            let max_age = match lookup {
                KeyLookup::Cached => DISCOVERY_TTL,
                KeyLookup::AnsweredWithUnknownKey => JWKS_REFETCH_FROM_PROVIDER,
                KeyLookup::PresentedWithUnknownKey => JWKS_REFETCH_MIN_INTERVAL,
            };
            if now < fetched + max_age {
                return Ok((jwks.clone(), false));
            }
        }
        let body = get_bytes(ports, &discovery.jwks_uri).await?;
        let jwks = Jwks::parse(&body).map_err(Error::IdpUnavailable)?;
        let jwks = Rc::new(jwks);
        *self.jwks.borrow_mut() = Some((jwks.clone(), now));
        Ok((jwks, true))
    }
}

/// A successful token-endpoint answer. `Debug` never shows the tokens.
#[derive(Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Its lifetime in seconds, when given.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// A refresh token, when issued (or rotated).
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// An ID token, when issued.
    #[serde(default)]
    pub id_token: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("id_token", &self.id_token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// Why the token endpoint gave no tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The provider refused the grant; its OAuth error code (e.g. `invalid_grant`).
    Refused(String),
    /// The provider could not be asked, or answered nonsense.
    Unavailable(String),
}

/// POSTs a grant to the token endpoint, authenticating as the configured client.
pub async fn token_request(
    client: &OidcClient,
    ports: &(impl HttpClient + Clock + Random),
    discovery: &Discovery,
    grant: &[(&str, &str)],
) -> Result<TokenResponse, TokenError> {
    let url = &discovery.token_endpoint;
    let response = client_post(client, ports, discovery, url, grant).await?;
    parse_token_answer(url, &response, client.quirks)
}

/// Reads the token endpoint's answer (RFC 6749 §5.1 and §5.2): tokens, the provider's refusal
/// (its OAuth error code only), or a provider that answered nonsense.
pub fn parse_token_answer(
    url: &str,
    response: &http::Response<Vec<u8>>,
    quirks: Quirks,
) -> Result<TokenResponse, TokenError> {
    let status = response.status();
    if status.is_success() {
        return serde_json::from_slice(response.body()).map_err(|_| {
            TokenError::Unavailable(format!("{url} did not answer a token response"))
        });
    }
    if let Some(code) = refusal_code(status, response.body(), quirks) {
        return Err(TokenError::Refused(code));
    }
    Err(TokenError::Unavailable(format!(
        "{url} answered HTTP {}",
        status.as_u16()
    )))
}

/// The OAuth error code of a token endpoint's refusal: the `error` of a 4xx answer's OAuth
/// error body, and — only with the provider's `bare-400-is-invalid-grant` quirk
/// ([`Quirks`]) — [`INVALID_GRANT`] for a 400 with an empty body. `None` for anything else,
/// which is the provider failing rather than refusing.
///
/// Why the bare 400 is a quirk to name and not a rule: Glewlwyd answers a refresh token that
/// is no longer good (a rotated one presented again, or one of the chain that reuse revoked)
/// with a bare 400, and for it that can only mean the grant is gone. But RFC 6749 §5.2 requires
/// an `error`, and a bare 400 from anything else in the path (a gateway, a proxy, a provider
/// misconfigured) would end every session that refreshes; so without the quirk it is the
/// provider failing (502, cookies kept). A 400 with a body that is not an OAuth error (a
/// gateway's HTML page) stays a failure either way, as does an empty 401, 403 or 429.
pub fn refusal_code(status: http::StatusCode, body: &[u8], quirks: Quirks) -> Option<String> {
    if !status.is_client_error() {
        return None;
    }
    if quirks.bare_400_is_invalid_grant
        && status == http::StatusCode::BAD_REQUEST
        && body.iter().all(u8::is_ascii_whitespace)
    {
        return Some(INVALID_GRANT.to_owned());
    }
    oauth_error_code(body)
}

/// The OAuth error code that says a grant is gone for good (RFC 6749 §5.2: the authorization
/// code or refresh token is invalid, expired, revoked or was issued to another client). It is
/// the only refusal that ends a session: any other (`invalid_client` after a secret rotated,
/// a `429` rate limit with an OAuth body, `temporarily_unavailable`, …) says nothing about the
/// grant itself.
pub const INVALID_GRANT: &str = "invalid_grant";

/// The `error` of an OAuth error body (RFC 6749 §5.2), restricted to its RFC 6749 alphabet and
/// 64 characters (never echoed as free text); `None` when the body is not one.
pub fn oauth_error_code(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
    }
    let e = serde_json::from_slice::<OAuthError>(body).ok()?;
    Some(
        e.error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect(),
    )
}

/// Revokes a token (RFC 7009) of the type `hint` says (`refresh_token`, `access_token`). `Ok`
/// when the provider answered 2xx.
pub async fn revoke(
    client: &OidcClient,
    ports: &(impl HttpClient + Clock + Random),
    discovery: &Discovery,
    endpoint: &str,
    token: &str,
    hint: &str,
) -> Result<(), TokenError> {
    let form = [("token", token), ("token_type_hint", hint)];
    let response = client_post(client, ports, discovery, endpoint, &form).await?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(TokenError::Unavailable(format!(
            "{endpoint} answered HTTP {}",
            response.status().as_u16()
        )))
    }
}

/// A pushed authorization request's answer (RFC 9126 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PushedRequest {
    /// What the authorization URL carries instead of the parameters.
    pub request_uri: String,
    /// How long `request_uri` is good for, in seconds.
    pub expires_in: u64,
}

/// Pushes the authorization request `params` to the provider's
/// `pushed_authorization_request_endpoint` (RFC 9126 §2.1), authenticated as the configured
/// client. A provider without the endpoint, one that cannot be asked or answers nonsense is
/// [`TokenError::Unavailable`]; a refusal is its OAuth error code.
pub async fn push_authorization(
    client: &OidcClient,
    ports: &(impl HttpClient + Clock + Random),
    discovery: &Discovery,
    params: &[(&str, &str)],
) -> Result<PushedRequest, TokenError> {
    let url = discovery
        .pushed_authorization_request_endpoint
        .as_deref()
        .ok_or_else(|| {
            TokenError::Unavailable(
                "pushed authorization requests are required or configured (OIDC_PAR), but the \
                 provider's discovery has no pushed_authorization_request_endpoint"
                    .into(),
            )
        })?;
    let response = client_post(client, ports, discovery, url, params).await?;
    let status = response.status();
    if status.is_success() {
        let pushed: PushedRequest = serde_json::from_slice(response.body()).map_err(|_| {
            TokenError::Unavailable(format!("{url} did not answer a pushed request"))
        })?;
        // RFC 9126 §2.2: a URN the authorization URL carries; anything else is not one.
        if pushed.request_uri.is_empty()
            || pushed.request_uri.len() > 2048
            || !pushed.request_uri.starts_with("urn:")
        {
            return Err(TokenError::Unavailable(format!(
                "{url} answered an unusable request_uri"
            )));
        }
        return Ok(pushed);
    }
    if let Some(code) = refusal_code(status, response.body(), Quirks::default()) {
        return Err(TokenError::Refused(code));
    }
    Err(TokenError::Unavailable(format!(
        "{url} answered HTTP {}",
        status.as_u16()
    )))
}

/// The `aud` of a client assertion for this provider ([`AssertionAudience`]).
pub fn assertion_audience<'a>(client: &'a OidcClient, discovery: &'a Discovery) -> &'a str {
    match client.assertion_audience {
        AssertionAudience::TokenEndpoint => &discovery.token_endpoint,
        AssertionAudience::Issuer => &client.issuer,
    }
}

/// POSTs a form to one of the provider's endpoints, authenticated as the configured client
/// (with `private_key_jwt`, a fresh assertion for each call).
pub(crate) async fn client_post(
    client: &OidcClient,
    ports: &(impl HttpClient + Clock + Random),
    discovery: &Discovery,
    url: &str,
    fields: &[(&str, &str)],
) -> Result<http::Response<Vec<u8>>, TokenError> {
    client_post_accepting(client, ports, discovery, url, fields, "application/json").await
}

/// [`client_post`] with another `Accept` header (JWT introspection answers).
pub(crate) async fn client_post_accepting(
    client: &OidcClient,
    ports: &(impl HttpClient + Clock + Random),
    discovery: &Discovery,
    url: &str,
    fields: &[(&str, &str)],
    accept: &str,
) -> Result<http::Response<Vec<u8>>, TokenError> {
    let oidc = client;
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.extend_pairs(fields);
    let mut request = http::Request::post(url)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, accept);
    let no_secret = || TokenError::Unavailable("no client secret is configured".into());
    match oidc.client_auth {
        ClientAuth::Basic => {
            let secret = oidc.client_secret.as_ref().ok_or_else(no_secret)?;
            // RFC 6749 §2.3.1: id and secret are form-encoded before they are joined.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let credentials = format!("{}:{}", enc(&oidc.client_id), enc(secret.expose()));
            request = request.header(
                http::header::AUTHORIZATION,
                format!("Basic {}", STANDARD.encode(credentials)),
            );
        }
        ClientAuth::Post => {
            let secret = oidc.client_secret.as_ref().ok_or_else(no_secret)?;
            form.append_pair("client_id", &oidc.client_id);
            form.append_pair("client_secret", secret.expose());
        }
        ClientAuth::PrivateKeyJwt => {
            let key = oidc
                .client_key
                .as_ref()
                .ok_or_else(|| TokenError::Unavailable("no client key is configured".into()))?;
            let jti = random_token(ports, 24)
                .map_err(|_| TokenError::Unavailable("no randomness for the assertion".into()))?;
            let aud = assertion_audience(oidc, discovery);
            let assertion = key
                .assertion(&oidc.client_id, aud, &jti, ports.now())
                .ok_or_else(|| {
                    TokenError::Unavailable("signing the client assertion failed".into())
                })?;
            form.append_pair("client_id", &oidc.client_id);
            form.append_pair("client_assertion_type", ASSERTION_TYPE);
            form.append_pair("client_assertion", &assertion);
        }
    }
    let request = request
        .body(form.finish().into_bytes())
        .map_err(|_| TokenError::Unavailable(format!("cannot build a request to {url}")))?;
    ports
        .send(request)
        .await
        .map_err(|e| TokenError::Unavailable(format!("{url}: {e}")))
}

/// The members of an OAuth 2 Authorization Server Metadata document (RFC 8414) that can fill
/// gaps in OpenID discovery.
#[derive(Deserialize)]
struct OAuthMetadata {
    issuer: String,
    #[serde(default)]
    introspection_endpoint: Option<String>,
    #[serde(default)]
    revocation_endpoint: Option<String>,
}

/// Where a provider may publish its OAuth 2 metadata: RFC 8414 §3.1's address (the well-known
/// segment inserted between host and path), then the issuer with the segment appended (where
/// django-oauth-toolkit, like OpenID discovery, has it). One address when the issuer has no path.
pub fn oauth_metadata_urls(issuer: &str) -> Vec<String> {
    let appended = format!(
        "{}/.well-known/oauth-authorization-server",
        issuer.trim_end_matches('/')
    );
    let Ok(url) = Url::parse(issuer) else {
        return vec![appended];
    };
    let path = url.path().trim_end_matches('/');
    let mut inserted = url.clone();
    inserted.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    inserted.set_query(None);
    let inserted = inserted.to_string();
    if inserted == appended {
        vec![appended]
    } else {
        vec![inserted, appended]
    }
}

/// Fills the introspection and revocation endpoints that OpenID discovery left out from the
/// provider's OAuth 2 metadata (django-oauth-toolkit lists them only there). The document must
/// name the configured issuer (RFC 8414 §3.3) and its endpoints pass the same checks as
/// discovery's; anything else (no document, another issuer, an unusable URL) leaves the gap, so
/// the provider is treated as not having the endpoint. Once per discovery fetch. Whether the
/// gaps are settled: `true` once a document naming the issuer was read (whatever it lent),
/// `false` when none was (then the discovery is kept for [`METADATA_RETRY`] seconds only).
async fn oauth_metadata_fallback(
    d: &mut Discovery,
    client: &OidcClient,
    http: &impl HttpClient,
) -> bool {
    let mut settled = false;
    for url in oauth_metadata_urls(&client.issuer) {
        let Ok(meta) = get_json::<OAuthMetadata>(http, &url).await else {
            continue;
        };
        if meta.issuer != client.issuer {
            continue;
        }
        settled = true;
        let mut filled = d.clone();
        if filled.introspection_endpoint.is_none() {
            filled.introspection_endpoint = meta.introspection_endpoint;
        }
        if filled.revocation_endpoint.is_none() {
            filled.revocation_endpoint = meta.revocation_endpoint;
        }
        if validate(&filled, client).is_ok() {
            *d = filled;
            return true;
        }
    }
    settled
}

/// Whether `template` is `issuer` with exactly one path segment replaced by [`TENANT_SLOT`]
/// (and the slot nowhere else).
fn is_tenant_template(template: &str, issuer: &str) -> bool {
    if template.matches(TENANT_SLOT).count() != 1 {
        return false;
    }
    let (t, i): (Vec<&str>, Vec<&str>) =
        (template.split('/').collect(), issuer.split('/').collect());
    // Scheme and host come before the fourth part: the slot must be in the path.
    t.len() == i.len()
        && t.iter().zip(&i).enumerate().all(
            |(n, (a, b))| {
                if *a == TENANT_SLOT {
                    n >= 3
                } else {
                    a == b
                }
            },
        )
}

fn validate(d: &Discovery, client: &OidcClient) -> Result<(), Error> {
    // OpenID Connect Discovery §4.3: exactly the issuer that was configured; at a
    // multi-tenant provider, the configured issuer with one whole path segment as the tenant.
    if !client.tenants.is_empty() {
        if !is_tenant_template(&d.issuer, &client.issuer) {
            return Err(Error::IdpUnavailable(format!(
                "discovery names issuer {:?}, not the configured {:?} with one path segment as \
                 {TENANT_SLOT} (OIDC_TENANTS is set)",
                d.issuer, client.issuer
            )));
        }
    } else if d.issuer != client.issuer {
        return Err(Error::IdpUnavailable(format!(
            "discovery names issuer {:?}, not the configured {:?}",
            d.issuer, client.issuer
        )));
    }
    let endpoints = [
        Some(&d.authorization_endpoint),
        Some(&d.token_endpoint),
        Some(&d.jwks_uri),
        d.end_session_endpoint.as_ref(),
        d.userinfo_endpoint.as_ref(),
        d.revocation_endpoint.as_ref(),
        d.introspection_endpoint.as_ref(),
        d.pushed_authorization_request_endpoint.as_ref(),
    ];
    for endpoint in endpoints.into_iter().flatten() {
        let ok = match Url::parse(endpoint) {
            Ok(u) => {
                u.scheme() == "https" || (u.scheme() == "http" && client.profile == Profile::Local)
            }
            Err(_) => false,
        };
        if !ok {
            return Err(Error::IdpUnavailable(format!(
                "discovery lists an unusable endpoint {endpoint:?}"
            )));
        }
    }
    Ok(())
}

/// GETs `url` and parses a JSON body; anything else is [`Error::IdpUnavailable`].
pub(crate) async fn get_json<T: DeserializeOwned>(
    http: &impl HttpClient,
    url: &str,
) -> Result<T, Error> {
    let body = get_bytes(http, url).await?;
    serde_json::from_slice(&body)
        .map_err(|_| Error::IdpUnavailable(format!("{url} did not answer the expected JSON")))
}

/// GETs `url`; a transport error or a non-2xx status is [`Error::IdpUnavailable`].
async fn get_bytes(http: &impl HttpClient, url: &str) -> Result<Vec<u8>, Error> {
    let request = http::Request::get(url)
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|_| Error::IdpUnavailable(format!("cannot request {url}")))?;
    let response = http
        .send(request)
        .await
        .map_err(|e| Error::IdpUnavailable(format!("{url}: {e}")))?;
    if !response.status().is_success() {
        return Err(Error::IdpUnavailable(format!(
            "{url} answered HTTP {}",
            response.status().as_u16()
        )));
    }
    Ok(response.into_body())
}

/// The PKCE S256 challenge of a code verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// An authorization code request's parameters (a login's, or a connection's): the client's
/// identity and redirect, its scopes, `state`, the `nonce` when there is one, the PKCE S256
/// `challenge`, then the client's fixed extra parameters.
pub fn code_request_params<'a>(
    client: &'a OidcClient,
    state: &'a str,
    nonce: Option<&'a str>,
    challenge: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("scope", client.scopes.as_str()),
        ("state", state),
    ];
    if let Some(nonce) = nonce {
        params.push(("nonce", nonce));
    }
    params.push(("code_challenge", challenge));
    params.push(("code_challenge_method", "S256"));
    for (name, value) in &client.auth_params {
        params.push((name.as_str(), value.as_str()));
    }
    params
}

/// The URL the browser is sent to with `params` (a login's, or a connection's): on the
/// authorization endpoint with every parameter, or, when the authorization request is pushed
/// (RFC 9126, `OIDC_PAR`), with only `client_id` and the `request_uri` the provider gave for the
/// pushed parameters. `refused` turns the provider's refusal of a pushed request into the
/// caller's error; a refusal of the client itself (`invalid_client`) is the provider failing.
pub async fn authorization_url(
    client: &OidcClient,
    ports: &(impl HttpClient + Clock + Random),
    discovery: &Discovery,
    params: &[(&str, &str)],
    refused: impl FnOnce(String) -> Error,
) -> Result<Url, Error> {
    let mut url = Url::parse(&discovery.authorization_endpoint)
        .map_err(|_| Error::IdpUnavailable("the authorization endpoint is not a URL".into()))?;
    if !client.par.applies(discovery) {
        url.query_pairs_mut().extend_pairs(params);
        return Ok(url);
    }
    // The client authentication of `client_secret_post` and `private_key_jwt` puts `client_id`
    // into the form itself: once only (RFC 6749 §3.1).
    let in_auth = client.client_auth != ClientAuth::Basic;
    let pushed_params: Vec<(&str, &str)> = params
        .iter()
        .copied()
        .filter(|(name, _)| !(in_auth && *name == "client_id"))
        .collect();
    let pushed = push_authorization(client, ports, discovery, &pushed_params)
        .await
        .map_err(|e| match e {
            // The worker's own credentials were refused: the operator's to fix, not the user's.
            TokenError::Refused(code) if code == "invalid_client" => Error::IdpUnavailable(
                "the pushed authorization request was refused: invalid_client".into(),
            ),
            TokenError::Refused(code) => refused(code),
            TokenError::Unavailable(reason) => Error::IdpUnavailable(reason),
        })?;
    url.query_pairs_mut()
        .append_pair("client_id", &client.client_id)
        .append_pair("request_uri", &pushed.request_uri);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_metadata_is_looked_for_where_rfc_8414_and_providers_put_it() {
        assert_eq!(
            oauth_metadata_urls("http://localhost:9520/o"),
            [
                "http://localhost:9520/.well-known/oauth-authorization-server/o",
                "http://localhost:9520/o/.well-known/oauth-authorization-server",
            ]
        );
        assert_eq!(
            oauth_metadata_urls("https://idp.example"),
            ["https://idp.example/.well-known/oauth-authorization-server"]
        );
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
