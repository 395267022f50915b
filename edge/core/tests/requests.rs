//! What the dispatcher accepts of a request's body before any handler runs: at most 16 KiB on
//! every endpoint the core answers, and the media type each endpoint takes (`application/json`
//! for the SPA's calls, a form for the back-channel logout). Through `Edge::handle`.

mod common;

use common::{call, edge, json, request, set_cookies, FakePorts, ORIGIN};

const LIMIT: usize = 16 * 1024;

fn with_registry() -> FakePorts {
    FakePorts::default().with_discovery().with_registry()
}

#[test]
fn the_limit_is_the_documented_one() {
    assert_eq!(edgeward_core::request::body::MAX_BODY_BYTES, LIMIT);
}

/// The unauthenticated back-channel endpoint and the SPA's endpoints, over the limit: 413 before
/// the handler reads anything (no IdP call, no cookie).
#[test]
fn a_body_over_the_limit_is_413() {
    let form = ("content-type", "application/x-www-form-urlencoded");
    let json_type = ("content-type", "application/json");
    let token = format!("logout_token={}", "a".repeat(LIMIT));
    let start = format!(r#"{{"returnTo":"/{}"}}"#, "a".repeat(LIMIT));
    let end = format!(
        r#"{{"pageUrl":"{ORIGIN}/callback?code={}"}}"#,
        "a".repeat(LIMIT)
    );
    let declared = (LIMIT + 1).to_string();
    // (path, headers, body)
    let table: &[(&str, Vec<(&str, &str)>, &str)] = &[
        ("/auth/backchannel-logout", vec![form], &token),
        (
            "/auth/login/start",
            vec![("origin", ORIGIN), json_type],
            &start,
        ),
        ("/auth/login/end", vec![("origin", ORIGIN), json_type], &end),
        // Declared over the limit: refused whatever arrived.
        (
            "/auth/backchannel-logout",
            vec![form, ("content-length", &declared)],
            "logout_token=x",
        ),
        (
            "/auth/login/start",
            vec![("origin", ORIGIN), json_type, ("content-length", &declared)],
            "{}",
        ),
    ];
    for (path, headers, body) in table {
        let ports = with_registry();
        let edge = edge(ports);
        let res = call(&edge, request("POST", path, headers, body));
        assert_eq!(
            res.status(),
            413,
            "{path} {headers:?}: {}",
            String::from_utf8_lossy(res.body())
        );
        assert_eq!(json(&res)["code"], "payload_too_large", "{path}");
        assert!(
            json(&res)["message"].as_str().unwrap().contains("16384"),
            "{path}"
        );
        assert!(set_cookies(&res).is_empty(), "{path}");
        assert!(
            edge.ports().sent.borrow().is_empty(),
            "{path}: asked the IdP"
        );
    }
    // At the limit, the back-channel endpoint reads the form and goes on to check the token
    // (which names no issuer: refused before any provider is asked).
    let at = format!("logout_token={}", "a".repeat(LIMIT - "logout_token=".len()));
    assert_eq!(at.len(), LIMIT);
    let edge = edge(with_registry());
    let res = call(
        &edge,
        request("POST", "/auth/backchannel-logout", &[form], &at),
    );
    assert_eq!(json(&res)["code"], "logout_token_invalid");
    assert!(edge.ports().sent.borrow().is_empty());
}

/// A `text/plain` POST from an allowed origin is a "simple" request: a `<form
/// enctype="text/plain">` or a `no-cors` fetch sends it without a CORS preflight. The JSON
/// endpoints refuse it, whatever its body looks like.
#[test]
fn a_text_plain_post_to_a_json_endpoint_is_415() {
    let plain = [("origin", ORIGIN), ("content-type", "text/plain")];
    let table = [
        ("/auth/login/start", r#"{"returnTo":"/"}"#),
        (
            "/auth/login/end",
            r#"{"pageUrl":"http://localhost:8787/callback?code=c&state=s"}"#,
        ),
        ("/auth/logout", "{}"),
        ("/auth/refresh", "{}"),
        ("/auth/logout", ""),
    ];
    for (path, body) in table {
        let edge = edge(with_registry());
        let res = call(&edge, request("POST", path, &plain, body));
        assert_eq!(
            res.status(),
            415,
            "{path} {body:?}: {}",
            String::from_utf8_lossy(res.body())
        );
        assert_eq!(json(&res)["code"], "unsupported_media_type", "{path}");
        assert!(set_cookies(&res).is_empty(), "{path}");
        assert!(
            edge.ports().sent.borrow().is_empty(),
            "{path}: asked the IdP"
        );
    }
    // A JSON body without any Content-Type: also refused.
    let res = call(
        &edge(with_registry()),
        request("POST", "/auth/login/start", &[("origin", ORIGIN)], "{}"),
    );
    assert_eq!(res.status(), 415);
}

#[test]
fn the_back_channel_endpoint_takes_only_a_form() {
    for headers in [
        &[("content-type", "application/json")][..],
        &[("content-type", "text/plain")][..],
        &[][..],
    ] {
        let res = call(
            &edge(with_registry()),
            request(
                "POST",
                "/auth/backchannel-logout",
                headers,
                "logout_token=x",
            ),
        );
        assert_eq!(res.status(), 415, "{headers:?}");
        assert_eq!(json(&res)["code"], "unsupported_media_type");
    }
    // Off without a registry: 404 whatever is sent.
    let res = call(
        &edge(FakePorts::default()),
        request(
            "POST",
            "/auth/backchannel-logout",
            &[("content-type", "text/plain")],
            "x",
        ),
    );
    assert_eq!(res.status(), 404);
}

/// What the SPA's client (`app/src/api.rs`) sends still reaches the handlers: JSON bodies with
/// `application/json`, and `refresh` without a body or a type.
#[test]
fn the_spas_calls_pass() {
    let json_type = [("origin", ORIGIN), ("content-type", "application/json")];
    let res = call(
        &edge(FakePorts::default().with_discovery()),
        request(
            "POST",
            "/auth/login/start",
            &json_type,
            r#"{"returnTo":"/x"}"#,
        ),
    );
    assert_eq!(res.status(), 200);
    let res = call(
        &edge(FakePorts::default().with_discovery()),
        request(
            "POST",
            "/auth/login/start",
            &[
                ("origin", ORIGIN),
                ("content-type", "application/json; charset=UTF-8"),
            ],
            "{}",
        ),
    );
    assert_eq!(res.status(), 200);
    let res = call(
        &edge(FakePorts::default()),
        request("POST", "/auth/logout", &json_type, "{}"),
    );
    assert_eq!(res.status(), 200);
    // Without a body and without a type (the SPA's refresh; curl -X POST): the handler decides.
    for path in ["/auth/login/start", "/auth/logout", "/auth/refresh"] {
        let res = call(
            &edge(FakePorts::default().with_discovery()),
            request("POST", path, &[("origin", ORIGIN)], ""),
        );
        assert_ne!(json(&res)["code"], "unsupported_media_type", "{path}");
    }
    let res = call(
        &edge(FakePorts::default()),
        request("POST", "/auth/refresh", &[("origin", ORIGIN)], ""),
    );
    assert_eq!(res.status(), 401, "{}", String::from_utf8_lossy(res.body()));
}

/// The worker adapter hands the core `http::Uri::try_from(request.url)`: the runtime's WHATWG
/// serialization as it is, with no URL parser of its own in between (edge/worker `into_core`).
/// Every such serialization (here the `url` crate's, the same standard) must parse, and read
/// the same path and query the core used to get through `url::Url`, or the routing and the
/// path checks would see something else than before.
#[test]
fn every_whatwg_serialization_is_an_http_uri_with_the_same_path_and_query() {
    let printable: String = (0x21u8..0x7f)
        .filter(|b| *b != b'#')
        .map(char::from)
        .collect();
    let inputs = [
        format!("{ORIGIN}/api/echo/{printable}?q={printable}"),
        format!("{ORIGIN}/a b/ü/%zz/%2e%2E/x?x=ü y&z=\"'<>"),
        format!("{ORIGIN}/./api/../api/echo/.%2e/a?"),
        format!("{ORIGIN}/api/echo/x\\y\t\n?\u{0}"),
        "HTTP://LOCALHOST:8787/auth/session".to_owned(),
        "http://[::1]:8787/api/echo/?a=%".to_owned(),
        "https://xn--bcher-kva.example/api/echo/".to_owned(),
        "https://bücher.example/api/ech%6f/".to_owned(),
    ];
    for input in inputs {
        let whatwg = url::Url::parse(&input).unwrap();
        let uri = http::Uri::try_from(whatwg.as_str())
            .unwrap_or_else(|e| panic!("{whatwg} is not an http::Uri: {e}"));
        assert_eq!(uri.path(), whatwg.path(), "{whatwg}");
        assert_eq!(uri.query(), whatwg.query(), "{whatwg}");
    }
}
