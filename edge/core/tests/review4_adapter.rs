//! Outside review of the worker adapter's JavaScript bridge (merge 18ff713): header lists as
//! `name:value` lines, the proxied fetch on the runtime's own types, the outgoing calls. What the
//! core decides about a proxied answer's headers is shown here natively; what only the runtime
//! does (its `Headers`, its `fetch`) is in `tests/integration/review4-adapter.test.mjs`. Each
//! test performs an attack; its header says whether it failed on the code as it landed (and what
//! fixed it) or documents a defence that held.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edgeward_core::proxy::{forward_response_headers, Routes};
use edgeward_core::Profile;
use http::{HeaderMap, HeaderValue, Method, Uri};

const ROUTES: &str =
    r#"[{"prefix": "/api/files/", "upstream": "http://files.test/", "methods": ["GET"]}]"#;

/// What the browser gets of an upstream answer with these headers, for `GET /api/files/x`.
fn browser_gets(upstream: &[(&str, &str)]) -> HeaderMap {
    let routes = Routes::parse(ROUTES, Profile::Local).unwrap();
    let uri: Uri = "/api/files/x".parse().unwrap();
    let target = routes.resolve(&Method::GET, &uri).unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in upstream {
        headers.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    forward_response_headers(&headers, target.route, &target.url)
}

/// The script types a browser takes from a `Content-Type` the way the Fetch standard's "extract
/// a MIME type" does: the values split on commas, the last one that parses wins.
fn browser_mime(headers: &HeaderMap) -> String {
    let mut mime = String::new();
    for value in headers.get_all("content-type") {
        for part in value.to_str().unwrap().split(',') {
            let essence = part.split(';').next().unwrap().trim().to_ascii_lowercase();
            if essence.contains('/') && essence != "*/*" {
                mime = essence;
            }
        }
    }
    mime
}

/// FAILED on the code as it landed: `is_script_type` looked only at the first type of a
/// `Content-Type` value. The runtime's `Headers` join an upstream's two `Content-Type` headers
/// into one value (`application/json, text/javascript`; the adapter's header list carries what
/// `Headers` iterates), and an upstream serving a stored file with the type its uploader chose
/// sends such a value as it is. A browser takes the LAST type of the list (Fetch "extract a MIME
/// type"), so the answer was a script to it, on the SPA's origin, which the SPA's CSP lets
/// scripts come from: `<script src="/api/files/x">` ran it despite `nosniff`.
/// Failure line: `[("content-type", "application/json, text/javascript")] ->
/// ["application/json, text/javascript"]: the browser runs it as text/javascript`.
/// Fixed in `proxy::headers::is_script_type`: every type of the list counts.
#[test]
fn a_script_type_after_a_comma_is_not_passed_as_one() {
    let cases: &[&[(&str, &str)]] = &[
        &[("content-type", "application/json, text/javascript")],
        &[(
            "content-type",
            "text/plain,application/javascript; charset=utf-8",
        )],
        &[("content-type", "application/json,  TEXT/JavaScript ")],
        &[("content-type", "text/html; q=\"a\", text/ecmascript")],
        // Two headers, each judged alone before, then joined by the runtime.
        &[
            ("content-type", "application/json"),
            ("content-type", "text/javascript"),
        ],
    ];
    for upstream in cases {
        let out = browser_gets(upstream);
        let shown: Vec<&str> = out
            .get_all("content-type")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        // The runtime's Headers join several values with ", " before the browser sees them.
        let mut joined = HeaderMap::new();
        joined.insert(
            "content-type",
            HeaderValue::from_str(&shown.join(", ")).unwrap(),
        );
        let mime = browser_mime(&joined);
        assert!(
            !mime.contains("script"),
            "{upstream:?} -> {shown:?}: the browser runs it as {mime}"
        );
        assert_eq!(out["x-content-type-options"], "nosniff");
    }
    // Ordinary types pass unchanged.
    for value in [
        "application/json",
        "application/json; charset=utf-8",
        "text/csv",
        "multipart/mixed; boundary=\"a,b\"",
    ] {
        let out = browser_gets(&[("content-type", value)]);
        assert_eq!(out["content-type"], value);
    }
}

/// HELD: two `WWW-Authenticate` headers, a Bearer and a Basic one, arrive joined into one value
/// (`Bearer realm="a", Basic realm="b"`); the Bearer-only rule looks at the whole value, so no
/// browser login prompt on our origin.
#[test]
fn a_basic_challenge_joined_after_a_bearer_one_is_dropped() {
    let out = browser_gets(&[("www-authenticate", r#"Bearer realm="a", Basic realm="b""#)]);
    assert!(out.get("www-authenticate").is_none());
}

/// HELD: two `Location` headers joined into one value (`/a, https://evil.example/`) resolve
/// against the upstream URL as one relative path: at worst a path under the route on our
/// origin, never another host.
#[test]
fn two_locations_joined_stay_on_our_origin() {
    for location in [
        "/x, https://evil.example/",
        "https://evil.example/, http://files.test/y",
        "http://files.test/y, //evil.example/",
    ] {
        let out = browser_gets(&[("location", location)]);
        if let Some(rewritten) = out.get("location") {
            let rewritten = rewritten.to_str().unwrap();
            assert!(
                rewritten.starts_with("/api/files/"),
                "{location} -> {rewritten}"
            );
        }
    }
}
