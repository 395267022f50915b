//! Routing: which handler answers which `/auth/*` and `/api/*` request.

use edgeward_shared::paths;
use http::Method;

use crate::error::Error;
use crate::ports::{Clock, HttpClient, Random};
use crate::{agent, Edge, Request, Response};

pub(crate) async fn dispatch<P: Clock + Random + HttpClient>(
    edge: &Edge<P>,
    req: &Request,
) -> Result<Response, Error> {
    let path = req.uri().path();
    match path {
        paths::SESSION => {
            only(req, &[Method::GET, Method::HEAD], "GET, HEAD")?;
            Ok(agent::session(edge, req))
        }
        paths::LOGIN_END => {
            only(req, &[Method::POST], "POST")?;
            agent::login_end(edge, req).await
        }
        paths::REFRESH => {
            only(req, &[Method::POST], "POST")?;
            agent::refresh(edge, req).await
        }
        paths::LOGOUT => {
            only(req, &[Method::POST], "POST")?;
            agent::logout(edge, req).await
        }
        paths::LOGIN_START => {
            only(req, &[Method::POST], "POST")?;
            agent::login_start(edge, req).await
        }
        _ => Err(Error::RouteNotFound),
    }
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
