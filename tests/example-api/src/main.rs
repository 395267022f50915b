//! The example API behind edgeward's proxy (a test fixture, also run by the dev command).
//!
//! It trusts nothing but the `Authorization: Bearer` JWT, validated the way a real API must:
//! signature against the JWKS (fetched on first use, re-fetched once for an unknown key), the
//! header's `typ` (RFC 9068 §4: `at+jwt`, so that no other JWT of the same issuer passes for an
//! access token), `iss`, `aud`, `exp`, `nbf`, and the scope its route requires. It answers with the caller's identity and the
//! request exactly as it arrived (method, path, query, body, headers), so tests can prove what
//! the proxy forwards — and that the browser's cookies never arrive.
//!
//! Settings (environment): `PORT` (8081), `JWKS_URL`, `ISSUER`, `AUDIENCE`, `TOKEN_TYP` (the
//! `typ` a token must have: `at+jwt` by default, as the worker mints them; `any` for issuers
//! whose access tokens do not say, like the local IdP's introspection JWTs).
//! Routes: `GET /whoami` (scope `openid`), `ANY /echo[/…]` (scope `openid`), `GET /admin`
//! (scope `admin`, which nobody has: shows a 403).
//!
//! For the proxy's tests, an echo can be asked to answer like a careless API: the query
//! parameters `respond-header=Name: value` (repeatable), `respond-status=302`,
//! `respond-type=text/html` and `respond-body=…` shape its answer. And `GET /_test/requests`
//! (no token) lists every path it was asked for, so a test can show a request never arrived.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use edgeward_core::oidc::idtoken::{self, IdTokenError, Jwks};
use edgeward_core::RustSignatures;
use futures_executor::block_on;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
}

struct Settings {
    jwks_url: String,
    issuer: String,
    audience: String,
    /// The header `typ` required (lower case), or `None` for any.
    token_typ: Option<String>,
}

/// Clock skew tolerated on `exp` and `nbf`, seconds.
const LEEWAY: i64 = 60;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn fetch_jwks(url: &str) -> Result<Jwks, String> {
    let mut response = ureq::get(url).call().map_err(|e| format!("{url}: {e}"))?;
    let body = response
        .body_mut()
        .read_to_vec()
        .map_err(|e| format!("{url}: {e}"))?;
    Jwks::parse(&body)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Checks the bearer token; `Err((status, code, message))` when it does not pass.
fn authorize(
    bearer: Option<&str>,
    settings: &Settings,
    jwks: &mut Option<Jwks>,
    required_scope: &str,
) -> Result<Claims, (u16, &'static str, String)> {
    let unauthorized = |m: String| (401, "invalid_token", m);
    let token = bearer
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("no bearer token".into()))?;
    if jwks.is_none() {
        *jwks = Some(fetch_jwks(&settings.jwks_url).map_err(|e| (502, "jwks_unavailable", e))?);
    }
    let keys = jwks
        .as_ref()
        .ok_or_else(|| unauthorized("no keys".into()))?;
    // Signatures checked in Rust (the verifier's future is ready at once).
    let verify = |keys| block_on(idtoken::verify::<Claims, _>(token, keys, &RustSignatures));
    let verified = match verify(keys) {
        Err(IdTokenError::UnknownKey) => {
            let fresh = fetch_jwks(&settings.jwks_url).map_err(|e| (502, "jwks_unavailable", e))?;
            let result = verify(&fresh);
            *jwks = Some(fresh);
            result
        }
        other => other,
    }
    .map_err(|e| unauthorized(e.to_string()))?;
    if let Some(expected) = &settings.token_typ {
        // RFC 9068 §4: `at+jwt`, or the full media type `application/at+jwt`.
        let typ = verified
            .header()
            .token_type
            .as_deref()
            .unwrap_or("")
            .to_ascii_lowercase();
        if typ.strip_prefix("application/").unwrap_or(&typ) != expected {
            return Err(unauthorized(format!(
                "the token's typ {typ:?} is not {expected:?}"
            )));
        }
    }
    let claims = verified.claims();
    let now = now() as i64;
    let exp = claims.expiration.map(|e| e.timestamp()).unwrap_or(0);
    if exp <= now {
        return Err(unauthorized("token expired".into()));
    }
    if claims
        .not_before
        .is_some_and(|nbf| nbf.timestamp() > now + LEEWAY)
    {
        return Err(unauthorized("token not valid yet".into()));
    }
    let custom = &claims.custom;
    if custom.iss != settings.issuer {
        return Err(unauthorized(format!(
            "issuer {:?} is not trusted",
            custom.iss
        )));
    }
    if custom.aud != settings.audience {
        return Err(unauthorized(format!(
            "audience {:?} is not this API",
            custom.aud
        )));
    }
    let scopes = custom.scope.as_deref().unwrap_or("");
    if !scopes.split(' ').any(|s| s == required_scope) {
        return Err((
            403,
            "insufficient_scope",
            format!("needs scope {required_scope}"),
        ));
    }
    Ok(Claims {
        iss: custom.iss.clone(),
        aud: custom.aud.clone(),
        sub: custom.sub.clone(),
        scope: custom.scope.clone(),
        client_id: custom.client_id.clone(),
    })
}

/// An answer: status, headers, body.
type Response = hyper::Response<Full<Bytes>>;

/// One header of a shaped answer.
type Header = (HeaderName, HeaderValue);

/// What the query asks an echo's answer to be: extra headers, a status, a content type, a body.
#[derive(Debug, Default)]
struct Shape {
    headers: Vec<Header>,
    status: Option<u16>,
    content_type: Option<String>,
    body: Option<String>,
}

fn shape(query: &str) -> Shape {
    let mut shape = Shape::default();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "respond-header" => {
                if let Some((name, value)) = value.split_once(':') {
                    if let (Ok(n), Ok(v)) = (
                        HeaderName::from_bytes(name.trim().as_bytes()),
                        HeaderValue::from_str(value.trim()),
                    ) {
                        shape.headers.push((n, v));
                    }
                }
            }
            "respond-status" => shape.status = value.parse().ok(),
            "respond-type" => shape.content_type = Some(value.into_owned()),
            "respond-body" => shape.body = Some(value.into_owned()),
            _ => {}
        }
    }
    shape
}

fn json_response(status: u16, value: &Value) -> Response {
    answer(status, "application/json", value.to_string(), Vec::new())
}

/// An answer with this status, content type, body and further headers (a status out of range
/// becomes 500).
fn answer(status: u16, content_type: &str, body: String, headers: Vec<Header>) -> Response {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(CONTENT_TYPE, v);
    }
    for (name, value) in headers {
        response.headers_mut().append(name, value);
    }
    response
}

/// What every connection shares.
struct State {
    settings: Settings,
    jwks: Mutex<Option<Jwks>>,
    seen: Mutex<Vec<String>>,
}

fn main() {
    let port = env("PORT", "8081");
    let settings = Settings {
        jwks_url: env("JWKS_URL", "http://localhost:8787/.well-known/jwks.json"),
        issuer: env("ISSUER", "http://localhost:8787"),
        audience: env("AUDIENCE", &format!("http://localhost:{port}")),
        token_typ: match env("TOKEN_TYP", "at+jwt").to_ascii_lowercase().as_str() {
            "any" => None,
            typ => Some(typ.to_owned()),
        },
    };
    let state = Arc::new(State {
        settings,
        jwks: Mutex::new(None),
        seen: Mutex::new(Vec::new()),
    });
    // Requests are answered on blocking threads (the JWKS is fetched with a blocking client);
    // every connection is its own task, so no connection waits behind another one.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("example-api: cannot start: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port_number(&port))).await
        {
            Ok(l) => l,
            Err(e) => {
                eprintln!("example-api: cannot listen on 127.0.0.1:{port}: {e}");
                std::process::exit(1);
            }
        };
        println!(
            "example-api: http://localhost:{port} (audience {})",
            state.settings.audience
        );
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| respond(req, state.clone()));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

fn port_number(port: &str) -> u16 {
    port.parse().unwrap_or_else(|_| {
        eprintln!("example-api: PORT {port:?} is not a port number");
        std::process::exit(1);
    })
}

/// Reads the request (its body up to 1 MiB) and answers it on a blocking thread.
async fn respond(req: hyper::Request<Incoming>, state: Arc<State>) -> Result<Response, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, 1 << 20).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let answer = tokio::task::spawn_blocking(move || handle(&parts, body, &state)).await;
    Ok(answer.unwrap_or_else(|_| {
        json_response(
            500,
            &json!({"code": "internal", "message": "handler failed"}),
        )
    }))
}

/// Answers one request.
fn handle(parts: &hyper::http::request::Parts, body: String, state: &State) -> Response {
    let (settings, shared_jwks, seen) = (&state.settings, &state.jwks, &state.seen);
    let method = parts.method.to_string();
    let url = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (url.clone(), String::new()),
    };
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    // A poisoned lock only means another thread panicked mid-update: the data is usable.
    let mut log = seen.lock().unwrap_or_else(|e| e.into_inner());
    if path == "/_test/requests" {
        let answer = json!({"count": log.len(), "paths": *log});
        drop(log);
        return json_response(200, &answer);
    }
    log.push(url.clone());
    drop(log);

    // A route's base is `…/name/` in the proxy's table: a trailing slash is the same path.
    let route = match (method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/whoami") => Some("openid"),
        (_, p) if p == "/echo" || p.starts_with("/echo/") => Some("openid"),
        ("GET", "/admin") => Some("admin"),
        _ => None,
    };
    match route {
        None => json_response(404, &json!({"code": "not_found", "message": path})),
        Some(scope) => {
            // A poisoned lock: as above (the keys are still usable, or get fetched again).
            let mut jwks = shared_jwks.lock().unwrap_or_else(|e| e.into_inner());
            let bearer = headers.get("authorization").map(String::as_str);
            match authorize(bearer, settings, &mut jwks, scope) {
                Err((status, code, message)) => {
                    json_response(status, &json!({"code": code, "message": message}))
                }
                Ok(claims) => shaped(
                    shape(if path.starts_with("/echo") {
                        &query
                    } else {
                        ""
                    }),
                    &json!({
                        "sub": claims.sub,
                        "scopes": claims.scope.unwrap_or_default().split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
                        "clientId": claims.client_id,
                        "issuer": claims.iss,
                        "audience": claims.aud,
                        "request": {
                            "method": method,
                            "path": path,
                            "query": query,
                            "body": body,
                            "headers": headers,
                        },
                    }),
                ),
            }
        }
    }
}

/// The echo's answer: `value` as JSON, or as the query shaped it.
fn shaped(shape: Shape, value: &Value) -> Response {
    answer(
        shape.status.unwrap_or(200),
        shape.content_type.as_deref().unwrap_or("application/json"),
        shape.body.unwrap_or_else(|| value.to_string()),
        shape.headers,
    )
}
