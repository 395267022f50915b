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
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use edgeward_core::oidc::idtoken::{self, IdTokenError, Jwks};
use edgeward_core::RustSignatures;
use futures_executor::block_on;
use serde::Deserialize;
use serde_json::{json, Value};
use tiny_http::{Header, Response, Server};

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
                    if let Ok(h) = Header::from_bytes(name.trim(), value.trim()) {
                        shape.headers.push(h);
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

fn json_response(status: u16, value: &Value) -> Response<std::io::Cursor<Vec<u8>>> {
    let mut response = Response::from_data(value.to_string().into_bytes()).with_status_code(status);
    if let Ok(h) = Header::from_bytes("content-type", "application/json") {
        response.add_header(h);
    }
    response
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
    let server = match Server::http(format!("127.0.0.1:{port}")) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("example-api: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "example-api: http://localhost:{port} (audience {})",
        settings.audience
    );
    let server = Arc::new(server);
    let settings = Arc::new(settings);
    let jwks: Arc<Mutex<Option<Jwks>>> = Arc::new(Mutex::new(None));
    let seen: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (server, settings, jwks, seen) =
                (server.clone(), settings.clone(), jwks.clone(), seen.clone());
            thread::spawn(move || serve(&server, &settings, &jwks, &seen))
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

/// One handler thread: takes requests off the shared server.
fn serve(
    server: &Server,
    settings: &Settings,
    shared_jwks: &Mutex<Option<Jwks>>,
    seen: &Mutex<Vec<String>>,
) {
    for mut request in server.incoming_requests() {
        let method = request.method().to_string();
        let (path, query) = match request.url().split_once('?') {
            Some((p, q)) => (p.to_owned(), q.to_owned()),
            None => (request.url().to_owned(), String::new()),
        };
        let headers: BTreeMap<String, String> = request
            .headers()
            .iter()
            .map(|h| {
                (
                    h.field.as_str().as_str().to_ascii_lowercase(),
                    h.value.as_str().to_owned(),
                )
            })
            .collect();
        let mut body = String::new();
        let _ = request.as_reader().take(1 << 20).read_to_string(&mut body);

        // A poisoned lock only means another thread panicked mid-update: the data is usable.
        let mut log = seen.lock().unwrap_or_else(|e| e.into_inner());
        if path == "/_test/requests" {
            let answer = json!({"count": log.len(), "paths": *log});
            drop(log);
            let _ = request.respond(json_response(200, &answer));
            continue;
        }
        log.push(request.url().to_owned());
        drop(log);

        // A route's base is `…/name/` in the proxy's table: a trailing slash is the same path.
        let route = match (method.as_str(), path.trim_end_matches('/')) {
            ("GET", "/whoami") => Some("openid"),
            (_, p) if p == "/echo" || p.starts_with("/echo/") => Some("openid"),
            ("GET", "/admin") => Some("admin"),
            _ => None,
        };
        let response = match route {
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
        };
        let _ = request.respond(response);
    }
}

/// The echo's answer: `value` as JSON, or as the query shaped it.
fn shaped(shape: Shape, value: &Value) -> Response<std::io::Cursor<Vec<u8>>> {
    let body = shape.body.unwrap_or_else(|| value.to_string());
    let mut response =
        Response::from_data(body.into_bytes()).with_status_code(shape.status.unwrap_or(200));
    let content_type = shape
        .content_type
        .unwrap_or_else(|| "application/json".to_owned());
    if let Ok(h) = Header::from_bytes("content-type", content_type) {
        response.add_header(h);
    }
    for h in shape.headers {
        response.add_header(h);
    }
    response
}
