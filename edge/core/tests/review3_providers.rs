//! Outside review of the independent-provider fixes (merge f52b102): the OAuth 2 metadata
//! fallback, the bare 400 taken for `invalid_grant`, the session's `sub` in a minted token, and
//! the second `introspect-jwt` request. Each test performs an attack; its header says whether
//! it failed on the code as it landed (and what fixed it) or documents a defence that held.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{call, code, config_with, request, signed_in, FakePorts, Login, ISSUER, ORIGIN};
use edgeward_core::{Edge, Outcome};
use serde_json::json;

const NOW: u64 = 1_700_000_000;
const ROUTES: &str = r#"[{"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET"], "clients": ["browser", "service"]}]"#;
const MINT: &str = "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";

fn introspect_url() -> String {
    format!("{ISSUER}/o/introspect/")
}

fn revoke_url() -> String {
    format!("{ISSUER}/o/revoke_token/")
}

fn metadata_url() -> String {
    format!("{ISSUER}/.well-known/oauth-authorization-server")
}

/// A django-oauth-toolkit-like provider (introspection and revocation only in the OAuth 2
/// metadata, an introspection answer without `sub`), with `extra` configuration.
fn dot_like_edge(extra: &[(&str, &str)]) -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({
        "introspection_endpoint": null,
        "revocation_endpoint": null,
    }));
    ports.route(
        &metadata_url(),
        200,
        json!({"issuer": ISSUER, "introspection_endpoint": introspect_url(),
            "revocation_endpoint": revoke_url()})
        .to_string(),
    );
    ports.route(
        &introspect_url(),
        200,
        json!({"active": true, "scope": "openid", "exp": NOW + 300, "client_id": "edgeward",
            "username": "demo"})
        .to_string(),
    );
    ports.route(&revoke_url(), 200, "");
    let mut vars = vec![
        ("EDGEWARD_API_ROUTES", ROUTES),
        ("EDGEWARD_MINT_KEY", MINT),
        ("EDGEWARD_TOKEN_TYPES", "Bearer,none"),
    ];
    vars.extend_from_slice(extra);
    Edge::new(config_with(&vars), ports)
}

fn claims_of(outcome: Outcome) -> Result<serde_json::Value, (u16, String)> {
    match outcome {
        Outcome::Forward(f) => {
            let bearer = f.headers["authorization"].to_str().unwrap().to_owned();
            let payload = bearer.split('.').nth(1).unwrap();
            Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap())
        }
        Outcome::Respond(r) => Err(code(&r)),
    }
}

/// `GET /api/orders/1` with the session's cookies.
fn api_cookie(edge: &Edge<FakePorts>, jar: &str) -> Result<serde_json::Value, (u16, String)> {
    let req = request("GET", "/api/orders/1", &[("cookie", jar)], "");
    claims_of(futures_executor::block_on(edge.handle(req)))
}

/// `GET /api/orders/1` as a non-browser client with `Authorization: Bearer <token>`.
fn api_bearer(edge: &Edge<FakePorts>, token: &str) -> Result<serde_json::Value, (u16, String)> {
    let auth = format!("Bearer {token}");
    let req = request("GET", "/api/orders/1", &[("authorization", &auth)], "");
    claims_of(futures_executor::block_on(edge.handle(req)))
}

fn logout(edge: &Edge<FakePorts>, jar: &str, csrf: &str) -> u16 {
    call(
        edge,
        request(
            "POST",
            "/auth/logout",
            &[
                ("origin", ORIGIN),
                ("x-edgeward-csrf", csrf),
                ("cookie", jar),
                ("content-type", "application/json"),
            ],
            "{}",
        ),
    )
    .status()
    .as_u16()
}

/// FAILED on f52b102: `assertion left == right failed: the session's user, whoever asked
/// first; left: String("edgeward") right: "42"`. The subject of a minted token depends on
/// the session (an introspection answer without `sub` is minted for the session's user), but
/// the phantom cache was keyed by the token alone: whoever asked first decided the subject
/// for everyone. A bearer client (then `EDGEWARD_BEARER_PASSTHROUGH`, now a route for service clients) presenting the token first
/// made the session's own calls reach the API as the client; the other way round, the
/// session's call first, a bearer client holding the token got a JWT naming the user, which
/// its own call would never have been minted. Fixed: the session's user is part of the cache
/// key (and of the keys logout forgets).
#[test]
fn review3_the_minted_subject_does_not_depend_on_who_asked_first() {
    // Bearer first, then the session.
    let edge = dot_like_edge(&[]);
    let (jar, _) = signed_in(
        &edge,
        &Login {
            sub: "42",
            access: "shared-at",
            ..Default::default()
        },
    );
    assert_eq!(api_bearer(&edge, "shared-at").unwrap()["sub"], "edgeward");
    assert_eq!(
        api_cookie(&edge, &jar).unwrap()["sub"],
        "42",
        "the session's user, whoever asked first"
    );

    // The session first, then a bearer client with the same token.
    let edge = dot_like_edge(&[]);
    let (jar, _) = signed_in(
        &edge,
        &Login {
            sub: "42",
            access: "shared-at",
            ..Default::default()
        },
    );
    assert_eq!(api_cookie(&edge, &jar).unwrap()["sub"], "42");
    assert_eq!(
        api_bearer(&edge, "shared-at").unwrap()["sub"],
        "edgeward",
        "a bearer client is not handed the session's user"
    );
}

/// HELD (after the fix above): logout still forgets the session's minted token (the cache key
/// it computes names the same user) and the one minted for a bearer client presenting the same
/// token, so a copy of either is introspected afresh.
#[test]
fn review3_logout_forgets_the_session_keyed_phantom_token() {
    let edge = dot_like_edge(&[]);
    let (jar, csrf) = signed_in(&edge, &Login::default());
    api_cookie(&edge, &jar).unwrap();
    api_cookie(&edge, &jar).unwrap();
    api_bearer(&edge, "opaque-at").unwrap();
    api_bearer(&edge, "opaque-at").unwrap();
    assert_eq!(edge.ports().calls_to(&introspect_url()), 2, "cached");
    assert_eq!(logout(&edge, &jar, &csrf), 200);
    // No registry here, so a copy of the cookie is not refused by a deny-list; but neither it
    // nor the bearer client is served from the cache: each goes to introspection again.
    let _ = api_cookie(&edge, &jar);
    let _ = api_bearer(&edge, "opaque-at");
    assert_eq!(
        edge.ports().calls_to(&introspect_url()),
        4,
        "logout dropped both cached phantom tokens"
    );
}

/// The session's user only fills an absent `sub`, and never overrides the provider's; a token
/// whose introspection names another user than the session's is refused (401) rather than
/// minted for either (recommended by this review; the assertion failed before the lead's fix
/// with `left: Ok({"sub": "from-idp", …}) right: Err((401, "unauthorized"))`).
#[test]
fn review3_a_token_of_another_user_in_the_sessions_cookie_is_refused() {
    let edge = dot_like_edge(&[]);
    edge.ports().route(
        &introspect_url(),
        200,
        json!({"active": true, "exp": NOW + 300, "client_id": "edgeward", "sub": "from-idp"})
            .to_string(),
    );
    let (jar, _) = signed_in(
        &edge,
        &Login {
            sub: "from-session",
            ..Default::default()
        },
    );
    // Neither user's token is minted: the provider's `sub` and the session's disagree
    // (recommended by this review, made by the lead: before, the provider's `sub` was minted).
    assert_eq!(api_cookie(&edge, &jar), Err((401, "unauthorized".into())));
}

/// FAILED on f52b102: `panicked at review3_providers.rs: the proxy introspects once the
/// metadata answered again` (it answered 502 `idp_unavailable`; logout then revoked nothing).
/// One failed fetch of the OAuth 2 metadata (a 503, a timeout) was cached with the discovery
/// it was completing for the whole `DISCOVERY_TTL` (an hour): for that hour logout silently
/// revoked no refresh token and the proxy answered 502 to every call (no introspection
/// endpoint). Fixed: a discovery whose gaps the metadata could not settle (no document naming
/// the issuer was read) is kept for `METADATA_RETRY` seconds only.
#[test]
fn review3_a_metadata_blip_does_not_disable_revocation_and_introspection_for_an_hour() {
    let edge = dot_like_edge(&[]);
    edge.ports().route(&metadata_url(), 503, "");
    let (jar, _) = signed_in(&edge, &Login::default());
    assert_eq!(
        api_cookie(&edge, &jar),
        Err((502, "idp_unavailable".into()))
    );
    // The metadata answers again; ten minutes later.
    edge.ports().route(
        &metadata_url(),
        200,
        json!({"issuer": ISSUER, "introspection_endpoint": introspect_url(),
            "revocation_endpoint": revoke_url()})
        .to_string(),
    );
    edge.ports().now.set(NOW + 600);
    let (jar, csrf) = signed_in(
        &edge,
        &Login {
            access: "at-2",
            refresh: Some("rt-2"),
            ..Default::default()
        },
    );
    edge.ports().route(
        &introspect_url(),
        200,
        json!({"active": true, "exp": NOW + 900, "client_id": "edgeward"}).to_string(),
    );
    let after = api_cookie(&edge, &jar);
    assert!(
        after.is_ok(),
        "the proxy introspects once the metadata answered again: {after:?}"
    );
    assert_eq!(logout(&edge, &jar, &csrf), 200);
    assert_eq!(
        edge.ports().bodies_to(&revoke_url()),
        vec!["token=rt-2&token_type_hint=refresh_token".to_owned()],
        "logout revoked the refresh token once the metadata answered again"
    );
}

/// HELD: endpoints from the OAuth 2 metadata pass the same checks as discovery's; one that is
/// not an http(s) URL lends nothing, and the metadata never replaces an endpoint discovery has.
#[test]
fn review3_metadata_endpoints_are_checked_and_never_override_discovery() {
    let edge = dot_like_edge(&[]);
    edge.ports().route(
        &metadata_url(),
        200,
        json!({"issuer": ISSUER, "introspection_endpoint": "file:///etc/passwd",
            "revocation_endpoint": "javascript:alert(1)"})
        .to_string(),
    );
    let (jar, csrf) = signed_in(&edge, &Login::default());
    assert_eq!(
        api_cookie(&edge, &jar),
        Err((502, "idp_unavailable".into()))
    );
    assert_eq!(logout(&edge, &jar, &csrf), 200);
    assert!(edge
        .ports()
        .sent
        .borrow()
        .iter()
        .all(|(_, u, _)| !u.starts_with("file:") && !u.starts_with("javascript:")));

    // Discovery lists introspection; the metadata lists another: discovery's is used.
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({"revocation_endpoint": null}));
    ports.route(
        &metadata_url(),
        200,
        json!({"issuer": ISSUER, "introspection_endpoint": "http://evil.test/introspect",
            "revocation_endpoint": revoke_url()})
        .to_string(),
    );
    ports.route(&revoke_url(), 200, "");
    let edge = Edge::new(
        config_with(&[("EDGEWARD_API_ROUTES", ROUTES), ("EDGEWARD_MINT_KEY", MINT)]),
        ports,
    );
    let (jar, _) = signed_in(&edge, &Login::default());
    assert!(api_cookie(&edge, &jar).is_ok());
    assert_eq!(edge.ports().calls_to("http://evil.test/introspect"), 0);
    assert_eq!(
        edge.ports()
            .calls_to(&format!("{ISSUER}/token/introspection")),
        1
    );
}

/// HELD: a bare 400 ends a session only as the token endpoint's answer to a refresh; the same
/// answer from introspection is the provider failing (502), and the session stays signed in.
#[test]
fn review3_a_bare_400_from_introspection_ends_nothing() {
    let edge = dot_like_edge(&[]);
    edge.ports().route(&introspect_url(), 400, "");
    let (jar, _) = signed_in(&edge, &Login::default());
    assert_eq!(
        api_cookie(&edge, &jar),
        Err((502, "idp_unavailable".into()))
    );
    let read = common::json(&call(
        &edge,
        request("GET", "/auth/session", &[("cookie", &jar)], ""),
    ));
    assert_eq!(read["isLoggedIn"], true);
}

/// HELD: `introspect-jwt` never accepts JSON where a JWT is required: a provider that answers
/// JSON to both requests is refused (502), nothing is forwarded. Cost documented: such a
/// (misconfigured) provider is asked twice per call, and the refusal is not cached.
#[test]
fn review3_introspect_jwt_refuses_json_to_both_requests() {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({}));
    let edge = Edge::new(
        config_with(&[
            ("EDGEWARD_API_ROUTES", ROUTES),
            ("EDGEWARD_PHANTOM_MODE", "introspect-jwt"),
        ]),
        ports,
    );
    let (jar, _) = signed_in(&edge, &Login::default());
    let url = format!("{ISSUER}/token/introspection");
    for n in 1..=2 {
        assert_eq!(
            api_cookie(&edge, &jar),
            Err((502, "idp_unavailable".into()))
        );
        assert_eq!(edge.ports().calls_to(&url), 2 * n);
    }
    let accepts = edge.ports().accepts.borrow().clone();
    assert!(accepts.iter().any(|a| a == "application/jwt"));
}

/// HELD: path confusion at a provider whose issuer has a path (one tenant of a shared host). The
/// metadata document at RFC 8414's address (host root, then the path) or appended to the issuer
/// lends endpoints only when it names exactly this issuer: a sibling tenant's, the host's own,
/// or ours with a trailing slash lend nothing, and no introspection goes to their endpoints.
#[test]
fn review3_metadata_of_another_tenant_or_the_host_lends_nothing() {
    let issuer = "http://idp.test/tenant-a";
    let inserted = "http://idp.test/.well-known/oauth-authorization-server/tenant-a";
    let appended = "http://idp.test/tenant-a/.well-known/oauth-authorization-server";
    for (inserted_names, appended_names) in [
        ("http://idp.test/tenant-b", "http://idp.test"),
        ("http://idp.test", "http://idp.test/tenant-a/"),
        ("http://idp.test/tenant-a/", "http://idp.test/tenant-b"),
    ] {
        let ports = FakePorts::default();
        ports.now.set(NOW);
        let mut discovery = common::discovery();
        discovery["issuer"] = json!(issuer);
        discovery["introspection_endpoint"] = json!(null);
        discovery["revocation_endpoint"] = json!(null);
        ports.route(
            &format!("{issuer}/.well-known/openid-configuration"),
            200,
            discovery.to_string(),
        );
        for (url, names) in [(inserted, inserted_names), (appended, appended_names)] {
            ports.route(
                url,
                200,
                json!({"issuer": names, "introspection_endpoint": "http://evil.test/introspect",
                    "revocation_endpoint": "http://evil.test/revoke"})
                .to_string(),
            );
        }
        ports.route(
            "http://evil.test/introspect",
            200,
            json!({"active": true, "exp": NOW + 300, "client_id": "edgeward", "sub": "admin"})
                .to_string(),
        );
        let edge = Edge::new(
            config_with(&[
                ("OIDC_ISSUER", issuer),
                ("EDGEWARD_API_ROUTES", ROUTES),
                ("EDGEWARD_MINT_KEY", MINT),
            ]),
            ports,
        );
        assert_eq!(
            api_bearer(&edge, "some-token"),
            Err((502, "idp_unavailable".into())),
            "{inserted_names} / {appended_names}"
        );
        assert_eq!(
            edge.ports().calls_to(inserted),
            1,
            "both addresses were read"
        );
        assert_eq!(edge.ports().calls_to(appended), 1);
        assert_eq!(edge.ports().calls_to("http://evil.test/introspect"), 0);
    }
}
