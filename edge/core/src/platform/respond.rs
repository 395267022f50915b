//! Building responses: JSON bodies with the headers every API answer carries.

use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use serde::Serialize;

use super::Response;

/// A JSON response that no cache may store (answers depend on the caller's cookies).
pub(crate) fn json<T: Serialize>(status: u16, value: &T) -> Response {
    // Serialising our own plain structs cannot fail; fall back to a fixed body rather than panic.
    // Room for a whole session answer at once: growing the buffer as the writer goes was a
    // tenth of a session read's CPU in wasm.
    let mut body = Vec::with_capacity(512);
    if serde_json::to_writer(&mut body, value).is_err() {
        body = br#"{"code":"internal","message":"response serialisation failed"}"#.to_vec();
    }
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
