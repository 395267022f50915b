//! Found by the outside review of the issue-12 fixes (each test failed then; all pass since the
//! follow-up fix): proof-of-concept attacks on the proxy's path rule that
//! the reviewed code let through. Each test asserts what the README promises.
//!
//! 1. Route confusion: routes are matched on the raw path, but a server behind us reads the
//!    path after percent-decoding unreserved characters (RFC 3986 §6.2.2.2: `%61` *is* `a`),
//!    case-folding (IIS, ASP.NET Core, Express by default) or trimming trailing dots and spaces
//!    (Windows). So a request meant for a more specific route is matched by the broader one on
//!    the same upstream and escapes the specific route's method list.
//! 2. The Unicode lookalike list claims to cover "characters that Unicode normalisation turns
//!    into `. / \ ; % ? #`", but NFKC maps more characters onto them than the list holds:
//!    U+FE30 → `..`, U+FE19 → `...`, U+FE14 → `;`, U+FE16 → `?`, U+2047 → `??`,
//!    U+2100/2101/2105/2106 → `a/c`, `a/s`, `c/o`, `c/u` (checked with Python's
//!    `unicodedata.normalize('NFKC', …)`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{config_with, json, FakePorts};
use edgeward_core::proxy::{path_is_safe, Routes};
use edgeward_core::{Edge, Outcome, Profile};
use edgeward_shared::names;
use http::{Method, Uri};

const NOW: u64 = 1_700_000_000;

/// A realistic table: the orders API may be written to, but its admin part only read. Both
/// routes go to the same upstream (the admin part is a sub-path of it).
const ROUTES: &str = r#"[
    {"prefix": "/api/orders/", "upstream": "http://orders.test/v1/", "methods": ["GET", "POST", "DELETE"]},
    {"prefix": "/api/orders/admin/", "upstream": "http://orders.test/v1/admin/", "methods": ["GET"]}
]"#;

fn resolve(method: Method, path: &str) -> Result<String, String> {
    let routes = Routes::parse(ROUTES, Profile::Local).unwrap();
    let uri: Uri = path.parse().unwrap();
    routes
        .resolve(&method, &uri)
        .map(|t| t.url.to_string())
        .map_err(|e| serde_json::to_value(e.code()).unwrap().to_string())
}

#[test]
fn review_route_confusion_escapes_the_specific_routes_method_list() {
    // The plain spelling is refused, as configured.
    assert_eq!(
        resolve(Method::POST, "/api/orders/admin/users"),
        Err("\"method_not_allowed\"".into())
    );
    // Spellings that the upstream reads as /v1/admin/users, but our router does not.
    let mut forwarded = Vec::new();
    for path in [
        "/api/orders/%61dmin/users", // %61 = a (RFC 3986 equivalent; Tomcat, nginx, Go decode it)
        "/api/orders/adm%69n/users", // %69 = i
        "/api/orders/ADMIN/users",   // case-insensitive upstreams (IIS, ASP.NET Core, Express)
        "/api/orders/Admin/users",   //
        "/api/orders/admin./users",  // Windows/IIS trims a trailing dot
        "/api/orders/admin%20/users", // ... and trailing spaces
    ] {
        for method in [Method::POST, Method::DELETE] {
            if let Ok(url) = resolve(method.clone(), path) {
                forwarded.push(format!("{method} {path} -> {url}"));
            }
        }
    }
    assert!(
        forwarded.is_empty(),
        "the admin route allows only GET, yet these reach its upstream path:\n{}",
        forwarded.join("\n")
    );
}

#[test]
fn review_route_confusion_end_to_end_a_signed_in_post_reaches_the_read_only_admin_api() {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let edge = Edge::new(
        config_with(&[
            ("EDGEWARD_API_ROUTES", ROUTES),
            ("EDGEWARD_PHANTOM_MODE", "passthrough"),
        ]),
        ports,
    );
    let b = common::binding("b-1", "demo", None, NOW);
    let all = common::session_cookies(&config_with(&[]), &b, "eyJ.a.b", None, NOW);
    let at = common::cookie_value(&all, names::COOKIE_ACCESS).unwrap();
    let cookie = format!("{}={at}", names::COOKIE_ACCESS);
    let req = common::request(
        "POST",
        "/api/orders/%61dmin/users",
        &[
            ("cookie", &cookie),
            ("origin", common::ORIGIN),
            ("x-edgeward-csrf", "c"),
        ],
        "{}",
    );
    match futures_executor::block_on(edge.handle(req)) {
        Outcome::Forward(plan) => panic!(
            "forwarded: {} {} (the admin route allows only GET)",
            plan.method, plan.url
        ),
        Outcome::Respond(r) => {
            assert!(matches!(r.status().as_u16(), 404 | 405), "{}", json(&r));
        }
    }
}

#[test]
fn review_nfkc_lookalikes_missing_from_the_path_rule() {
    // (character, what NFKC makes of it)
    let table = [
        ('\u{FE30}', ".."),
        ('\u{FE19}', "..."),
        ('\u{FE14}', ";"),
        ('\u{FE16}', "?"),
        ('\u{2047}', "??"),
        ('\u{2048}', "?!"),
        ('\u{2049}', "!?"),
        ('\u{2100}', "a/c"),
        ('\u{2101}', "a/s"),
        ('\u{2105}', "c/o"),
        ('\u{2106}', "c/u"),
    ];
    let mut accepted = Vec::new();
    for (c, nfkc) in table {
        let mut buf = [0u8; 4];
        let encoded: String = c
            .encode_utf8(&mut buf)
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect();
        // A segment that *is* the lookalike, and `..` + the `;` lookalike (Tomcat's `..;`).
        for path in [
            format!("/api/orders/{encoded}/admin/users"),
            format!("/api/orders/..{encoded}/admin/users"),
        ] {
            if path_is_safe(&path) {
                accepted.push(format!("U+{:04X} (NFKC {nfkc:?}): {path}", c as u32));
            }
        }
    }
    assert!(
        accepted.is_empty(),
        "the path rule lets these through, though the README says characters that Unicode \
         normalisation turns into . / \\ ; % ? # are refused:\n{}",
        accepted.join("\n")
    );
}

#[test]
fn review_nfkc_two_dot_leader_is_forwarded_as_a_segment_an_nfkc_server_reads_as_dot_dot() {
    // `︰` (U+FE30) alone in a segment: NFKC gives `..`, so an upstream that normalises the
    // decoded path (the threat the README names) resolves /v1/︰/admin to /admin, outside /v1/.
    let got = resolve(Method::GET, "/api/orders/%EF%B8%B0/admin");
    assert_eq!(got, Err("\"route_not_found\"".into()));
}
