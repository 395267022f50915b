//! Routing: which handler answers which `/auth/*` and `/api/*` request, and what every request
//! the core answers itself must look like before its handler runs: the method, a body of at most
//! [`body::MAX_BODY_BYTES`], and the media type of the endpoint ([`body::MediaType`]); and
//! before those, for every request, its cookies and head ([`limits`]) and the rate limits
//! ([`rate::check`]). The
//! handlers (`agent`) can then take their bodies as given.

use edgeward_shared::paths;
use http::Method;

use super::{Edge, Outcome};
use crate::platform::ports::Platform;
use crate::platform::{Error, Request, Response};
use crate::proxy::PhantomMode;
use crate::request::body::{self, MediaType};
use crate::request::limits;
use crate::{agent, broker, proxy, rate};

pub(crate) async fn dispatch<P: Platform>(edge: &Edge<P>, req: &Request) -> Result<Outcome, Error> {
    let path = req.uri().path();
    // What the head may carry, then the rate limits, before anything is opened or asked.
    limits::check_cookies(req.headers())?;
    if path.starts_with(paths::AUTH_PREFIX) {
        limits::check_head(req.headers())?;
    }
    let (rate, penalties) = (edge.config().rate, &edge.penalties);
    let counted = rate::check(edge.ports(), rate, penalties, req).await?;
    let outcome = route(edge, req, path).await;
    if let Err(error) = &outcome {
        let status = error.code().status();
        rate::charge_refusal(edge.ports(), rate, penalties, req, counted.as_ref(), status).await?;
    }
    outcome
}

async fn route<P: Platform>(edge: &Edge<P>, req: &Request, path: &str) -> Result<Outcome, Error> {
    if path.starts_with(paths::API_PREFIX) || path == paths::API_PREFIX.trim_end_matches('/') {
        return proxy::forward(edge, req).await.map(Outcome::Forward);
    }
    body::check_length(req.headers(), req.body().len())?;
    if path == paths::JWKS {
        only(req, &[Method::GET, Method::HEAD], "GET, HEAD")?;
        return match &edge.config().proxy.mode {
            PhantomMode::IntrospectMint { key } => {
                let mut response = Response::new(key.jwks_json().into_bytes());
                let headers = response.headers_mut();
                headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                headers.insert(
                    http::header::CACHE_CONTROL,
                    http::HeaderValue::from_static("public, max-age=300"),
                );
                Ok(Outcome::Respond(response))
            }
            PhantomMode::IntrospectJwt | PhantomMode::Passthrough => Err(Error::RouteNotFound),
        };
    }
    auth(edge, req, path).await.map(Outcome::Respond)
}

async fn auth<P: Platform>(edge: &Edge<P>, req: &Request, path: &str) -> Result<Response, Error> {
    match path {
        paths::SESSION => {
            only(req, &[Method::GET, Method::HEAD], "GET, HEAD")?;
            Ok(agent::session(edge, req).await)
        }
        paths::PROVIDERS => {
            only(req, &[Method::GET, Method::HEAD], "GET, HEAD")?;
            Ok(agent::providers(edge))
        }
        paths::LOGIN_END => {
            post_of(req, MediaType::Json)?;
            agent::login_end(edge, req).await
        }
        paths::REFRESH => {
            post_of(req, MediaType::Json)?;
            agent::refresh(edge, req).await
        }
        paths::LOGOUT => {
            post_of(req, MediaType::Json)?;
            agent::logout(edge, req).await
        }
        paths::LOGIN_START => {
            post_of(req, MediaType::Json)?;
            agent::login_start(edge, req).await
        }
        paths::ADMIN_SESSIONS => {
            only(req, &[Method::GET, Method::DELETE], "GET, DELETE")?;
            agent::admin_sessions(edge, req).await
        }
        paths::ADMIN_CLIENT_REVOCATIONS => {
            only(
                req,
                &[Method::GET, Method::PUT, Method::DELETE],
                "GET, PUT, DELETE",
            )?;
            agent::admin_client_revocations(edge, req).await
        }
        paths::BACKCHANNEL_LOGOUT => {
            only(req, &[Method::POST], "POST")?;
            // Off without a registry: 404 whatever the request looks like.
            if !edge.ports().has_registry() {
                return Err(Error::RouteNotFound);
            }
            body::check_media_type(req.headers(), req.body(), MediaType::Form)?;
            agent::backchannel_logout(edge, req).await
        }
        paths::BROKER_TOKEN => {
            post_of(req, MediaType::Json)?;
            broker::broker_token(edge, req).await
        }
        paths::CONNECTIONS => {
            only(req, &[Method::GET, Method::HEAD], "GET, HEAD")?;
            broker::connections(edge, req).await
        }
        _ => connections(edge, req, path).await,
    }
}

/// `/auth/connections/{name}` (`DELETE`), `…/{name}/start` and `…/{name}/end` (`POST`, JSON),
/// `…/{name}/grants` (`PUT`, JSON).
async fn connections<P: Platform>(
    edge: &Edge<P>,
    req: &Request,
    path: &str,
) -> Result<Response, Error> {
    let Some(rest) = path
        .strip_prefix(paths::CONNECTIONS)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return Err(Error::RouteNotFound);
    };
    let (name, action) = rest.split_once('/').unwrap_or((rest, ""));
    if !broker::settings::is_valid_name(name) {
        return Err(Error::RouteNotFound);
    }
    match action {
        "" => {
            only(req, &[Method::DELETE], "DELETE")?;
            broker::disconnect(edge, req, name).await
        }
        "start" => {
            post_of(req, MediaType::Json)?;
            broker::connect_start(edge, req, name).await
        }
        "end" => {
            post_of(req, MediaType::Json)?;
            broker::connect_end(edge, req, name).await
        }
        "grants" => {
            only(req, &[Method::PUT], "PUT")?;
            body::check_media_type(req.headers(), req.body(), MediaType::Json)?;
            broker::set_grants(edge, req, name).await
        }
        _ => Err(Error::RouteNotFound),
    }
}

/// A POST whose body (if any) is of media type `media`.
fn post_of(req: &Request, media: MediaType) -> Result<(), Error> {
    only(req, &[Method::POST], "POST")?;
    body::check_media_type(req.headers(), req.body(), media)
}

fn only(req: &Request, methods: &[Method], allowed: &'static str) -> Result<(), Error> {
    if methods.contains(req.method()) {
        Ok(())
    } else {
        Err(Error::MethodNotAllowed {
            allowed: allowed.to_owned(),
        })
    }
}
