//! Several identity providers on one worker (issue 15), through `Edge::handle` with fake ports:
//! two providers, `a` (the default) and `b`, each with its own issuer, client, signing key and
//! endpoints. The attacks first: a response of one provider finishing a login started for the
//! other (mix-up), a session of one presented to a route restricted to the other, a logout
//! token of one naming a user or session of the other, a refresh token of one sent to the
//! other. Then what must keep working: each provider's users sign in, refresh and log out at
//! their own provider; one provider down is 502 for its users only; a single-provider
//! deployment's sessions survive listing a second provider.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use common::two_providers::{
    backchannel, idp, serve, session, sign, A, B, KEY_A, KEY_B, NOW, PROVIDERS,
};
use common::{
    apply, call, code, cookie_header, json, request, set_cookies, FakePorts, KEYS, ORIGIN,
};
use edgeward_core::sessions::{coordinated_refresh, RefreshFlights};
use edgeward_core::{Config, Edge, Outcome};
use serde_json::{json, Value};

fn config(extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<&str, &str> = [
        ("EDGEWARD_PROFILE", "local"),
        ("EDGEWARD_ORIGIN", ORIGIN),
        ("EDGEWARD_COOKIE_KEYS", KEYS),
        ("EDGEWARD_PROVIDERS", PROVIDERS),
        ("OIDC_CLIENT_SECRET_A", "secret-a"),
        ("OIDC_CLIENT_SECRET_B", "secret-b"),
    ]
    .into_iter()
    .collect();
    vars.extend(extra.iter().copied());
    Config::from_vars(|name| vars.get(name).map(|v| (*v).to_owned())).unwrap()
}

fn edge_with(extra: &[(&str, &str)], registry: bool) -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    serve(&ports, "a", json!({}));
    serve(&ports, "b", json!({}));
    let ports = if registry {
        ports.with_registry()
    } else {
        ports
    };
    Edge::new(config(extra), ports)
}

fn edge() -> Edge<FakePorts> {
    edge_with(&[], true)
}

/// `POST /auth/login/start` with `body`.
fn start(edge: &Edge<FakePorts>, body: Value) -> edgeward_core::Response {
    call(
        edge,
        request(
            "POST",
            "/auth/login/start",
            &[("origin", ORIGIN), ("content-type", "application/json")],
            &body.to_string(),
        ),
    )
}

/// A login started (for provider `chosen`, or the default), as the browser holds it: the
/// authorization request's query and the login cookie.
fn started(edge: &Edge<FakePorts>, chosen: Option<&str>) -> (HashMap<String, String>, String) {
    let body = match chosen {
        Some(id) => json!({ "provider": id }),
        None => json!({}),
    };
    let res = start(edge, body);
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let url = url::Url::parse(json(&res)["authorizationUrl"].as_str().unwrap()).unwrap();
    let query = url.query_pairs().into_owned().collect();
    let (_, cookie, _) = set_cookies(&res).remove(0);
    (query, cookie)
}

/// Provider `by` answers the token request of a login with `sub`'s tokens (`nonce` from the
/// authorization request).
fn tokens_from(edge: &Edge<FakePorts>, by: &str, sub: &str, nonce: &str, sid: &str) {
    let (issuer, client, key) = idp(by);
    let id_token = sign(
        key,
        &json!({"iss": issuer, "sub": sub, "aud": client, "nonce": nonce, "sid": sid,
                "iat": NOW, "exp": NOW + 300}),
        None,
    );
    edge.ports().route(
        &format!("{issuer}/token"),
        200,
        json!({"access_token": format!("at-{by}"), "token_type": "Bearer", "expires_in": 300,
               "refresh_token": format!("rt-{by}"), "id_token": id_token})
        .to_string(),
    );
}

/// The callback page for `state`, with `iss` when given.
fn callback(state: &str, iss: Option<&str>) -> String {
    let mut page = format!("{ORIGIN}/callback?code=the-code&state={state}");
    if let Some(iss) = iss {
        page.push_str(&format!(
            "&iss={}",
            url::form_urlencoded::byte_serialize(iss.as_bytes()).collect::<String>()
        ));
    }
    page
}

/// A user `sub` of provider `id` signs in: the browser's cookies and the CSRF value.
fn sign_in(edge: &Edge<FakePorts>, id: &str, sub: &str) -> (String, String) {
    let (q, login) = started(edge, Some(id));
    tokens_from(edge, id, sub, &q["nonce"], &format!("sid-{id}-{sub}"));
    let res = common::post_login_end(
        edge,
        &callback(&q["state"], Some(idp(id).0)),
        &format!("__Host-edgeward-login={login}"),
    );
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let csrf = json(&res)["csrf"].as_str().unwrap().to_owned();
    (cookie_header(res.headers()), csrf)
}

/// A logout token of provider `by` (signed with `key`) naming `sub` and/or `sid`.
fn logout_token(by: &str, key: &str, jti: &str, sub: Option<&str>, sid: Option<&str>) -> String {
    let (issuer, client, _) = idp(by);
    let mut claims = json!({
        "iss": issuer, "aud": client, "iat": NOW, "jti": jti,
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    });
    if let Some(sub) = sub {
        claims["sub"] = json!(sub);
    }
    if let Some(sid) = sid {
        claims["sid"] = json!(sid);
    }
    sign(key, &claims, Some("logout+jwt"))
}

// ---- Attacks ----

/// Mix-up (RFC 9700 §4.4): the login went to `b`; an answer naming `a` (say, a code an
/// attacker got from `a`, with the state of the victim's login) must not finish it — not at
/// `a`, not at `b`.
#[test]
fn a_response_of_provider_a_does_not_finish_a_login_started_for_b() {
    let edge = edge();
    let (q, login) = started(&edge, Some("b"));
    assert!(
        q["client_id"] == "edge-b",
        "the request went to b as b's client"
    );
    tokens_from(&edge, "a", "mallory", &q["nonce"], "sid-a");
    tokens_from(&edge, "b", "mallory", &q["nonce"], "sid-b");
    let res = common::post_login_end(
        &edge,
        &callback(&q["state"], Some(A)),
        &format!("__Host-edgeward-login={login}"),
    );
    assert_eq!(code(&res), (400, "login_failed".into()));
    assert!(
        !res.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("__Host-edgeward-id=")),
        "no session"
    );
    assert_eq!(edge.ports().calls_to(&format!("{A}/token")), 0);
    assert_eq!(edge.ports().calls_to(&format!("{B}/token")), 0);
}

/// A provider that says it always sends `iss` (RFC 9207) must have sent it in an answer to
/// a login started for it, even when another provider never sends it.
#[test]
fn a_provider_that_always_sends_iss_must_have_sent_it() {
    let edge = edge();
    serve(
        edge.ports(),
        "b",
        json!({"authorization_response_iss_parameter_supported": true}),
    );
    let (q, login) = started(&edge, Some("b"));
    tokens_from(&edge, "b", "u", &q["nonce"], "sid-b");
    let res = common::post_login_end(
        &edge,
        &callback(&q["state"], None),
        &format!("__Host-edgeward-login={login}"),
    );
    assert_eq!(code(&res), (400, "login_failed".into()));
    // `a` does not say so: its answers without `iss` are taken.
    let (q, login) = started(&edge, Some("a"));
    tokens_from(&edge, "a", "u", &q["nonce"], "sid-a");
    let res = common::post_login_end(
        &edge,
        &callback(&q["state"], None),
        &format!("__Host-edgeward-login={login}"),
    );
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
}

/// The ID token of a login started for `b` is checked against `b`'s issuer, client and keys:
/// one signed by `a` (for `a`'s client) is refused even when `b`'s token endpoint hands it out.
#[test]
fn the_id_token_is_checked_against_the_chosen_provider_only() {
    let edge = edge();
    let (q, login) = started(&edge, Some("b"));
    let id_token = sign(
        KEY_A,
        &json!({"iss": A, "sub": "u", "aud": "edge-a", "nonce": q["nonce"],
                "iat": NOW, "exp": NOW + 300}),
        None,
    );
    edge.ports().route(
        &format!("{B}/token"),
        200,
        json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token}).to_string(),
    );
    let res = common::post_login_end(
        &edge,
        &callback(&q["state"], Some(B)),
        &format!("__Host-edgeward-login={login}"),
    );
    assert_eq!(code(&res), (400, "login_failed".into()));
}

#[test]
fn an_unknown_provider_is_a_clear_400() {
    let edge = edge();
    for body in [
        json!({"provider": "c"}),
        json!({"provider": ""}),
        json!({"provider": "A"}),
    ] {
        let res = start(&edge, body.clone());
        assert_eq!(code(&res), (400, "invalid_request".into()), "{body}");
        assert!(set_cookies(&res).is_empty(), "{body}: no login cookie");
    }
    assert!(edge.ports().sent.borrow().is_empty(), "no provider asked");
}

/// A route restricted to `b`'s sessions refuses `a`'s with 403 `provider_not_allowed` (in both
/// session modes), and serves `b`'s.
#[test]
fn a_session_of_a_is_refused_on_a_route_restricted_to_b() {
    let routes = r#"[
        {"prefix": "/api/shop/", "upstream": "http://shop.test/", "methods": ["GET"],
         "providers": ["b"]},
        {"prefix": "/api/any/", "upstream": "http://any.test/", "methods": ["GET"]}
    ]"#;
    for mode in ["stateless", "server"] {
        let edge = edge_with(
            &[
                ("EDGEWARD_API_ROUTES", routes),
                ("EDGEWARD_PHANTOM_MODE", "passthrough"),
                ("EDGEWARD_SESSION_MODE", mode),
            ],
            true,
        );
        let get = |path: &str, cookies: &str| {
            common::outcome(&edge, request("GET", path, &[("cookie", cookies)], ""))
        };
        let (a, _) = sign_in(&edge, "a", "42");
        let (b, _) = sign_in(&edge, "b", "42");
        match get("/api/shop/cart", &a) {
            Outcome::Respond(res) => {
                assert_eq!(code(&res), (403, "provider_not_allowed".into()), "{mode}");
                assert!(
                    !String::from_utf8_lossy(res.body()).contains("at-a"),
                    "no token in the answer"
                );
            }
            Outcome::Forward(f) => panic!("{mode}: a's session forwarded to {}", f.url),
        }
        match get("/api/shop/cart", &b) {
            Outcome::Forward(f) => {
                assert_eq!(f.headers["authorization"], "Bearer at-b", "{mode}")
            }
            Outcome::Respond(res) => panic!("{mode}: {:?}", json(&res)),
        }
        match get("/api/any/x", &a) {
            Outcome::Forward(f) => {
                assert_eq!(f.headers["authorization"], "Bearer at-a", "{mode}")
            }
            Outcome::Respond(res) => panic!("{mode}: {:?}", json(&res)),
        }
    }
}

#[test]
fn a_route_naming_an_unknown_provider_is_a_configuration_error() {
    let routes = r#"[{"prefix": "/api/shop/", "upstream": "http://shop.test/",
                      "methods": ["GET"], "providers": ["c"]}]"#;
    let mut vars: HashMap<&str, &str> = [
        ("EDGEWARD_PROFILE", "local"),
        ("EDGEWARD_ORIGIN", ORIGIN),
        ("EDGEWARD_COOKIE_KEYS", KEYS),
        ("EDGEWARD_PROVIDERS", PROVIDERS),
        ("OIDC_CLIENT_SECRET_A", "secret-a"),
        ("OIDC_CLIENT_SECRET_B", "secret-b"),
    ]
    .into_iter()
    .collect();
    vars.insert("EDGEWARD_API_ROUTES", routes);
    vars.insert("EDGEWARD_PHANTOM_MODE", "passthrough");
    let err = Config::from_vars(|name| vars.get(name).map(|v| (*v).to_owned())).unwrap_err();
    assert_eq!(err.variable, "EDGEWARD_API_ROUTES");
    assert!(
        err.reason.contains("provider \"c\" is not configured"),
        "{err}"
    );
}

/// django-oauth-toolkit's `sub` is a database id: both providers may have a user 42. A logout
/// token of `a` for its user 42 (or naming `b`'s IdP session id) ends `a`'s sessions only.
#[test]
fn a_logout_token_of_a_does_not_end_a_session_of_b() {
    for mode in ["stateless", "server"] {
        let edge = edge_with(&[("EDGEWARD_SESSION_MODE", mode)], true);
        let (a, _) = sign_in(&edge, "a", "42");
        let (b, _) = sign_in(&edge, "b", "42");
        // By sub.
        let res = backchannel(&edge, &logout_token("a", KEY_A, "j1", Some("42"), None));
        assert_eq!(res.status(), 200, "{mode}: {:?}", json(&res));
        assert_eq!(session(&edge, &a)["isLoggedIn"], false, "{mode}: a's ended");
        assert_eq!(session(&edge, &b)["isLoggedIn"], true, "{mode}: b's lives");
        // By b's IdP session id, in a token of a's.
        let res = backchannel(
            &edge,
            &logout_token("a", KEY_A, "j2", None, Some("sid-b-42")),
        );
        assert_eq!(res.status(), 200, "{mode}: {:?}", json(&res));
        assert_eq!(session(&edge, &b)["isLoggedIn"], true, "{mode}: b's lives");
        // b's own token ends it.
        let res = backchannel(&edge, &logout_token("b", KEY_B, "j1", Some("42"), None));
        assert_eq!(
            res.status(),
            200,
            "{mode}: b's jti j1 is not a's: {:?}",
            json(&res)
        );
        assert_eq!(session(&edge, &b)["isLoggedIn"], false, "{mode}: b's ended");
    }
}

/// A logout token claiming `b` but signed with `a`'s key is refused: the issuer picks the
/// provider, whose keys must have signed it. One naming no configured issuer is refused
/// without asking anyone.
#[test]
fn a_logout_token_is_checked_with_the_keys_of_the_provider_it_names() {
    let edge = edge();
    let (b, _) = sign_in(&edge, "b", "42");
    let forged = logout_token("b", KEY_A, "j1", Some("42"), None);
    assert_eq!(
        code(&backchannel(&edge, &forged)),
        (400, "logout_token_invalid".into())
    );
    assert_eq!(session(&edge, &b)["isLoggedIn"], true);
    let sent = edge.ports().sent.borrow().len();
    let mut claims = json!({"iss": "http://idp-c.test", "aud": "edge-b", "iat": NOW,
        "jti": "j9", "sub": "42",
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}}});
    let stranger = sign(KEY_B, &claims, Some("logout+jwt"));
    assert_eq!(
        code(&backchannel(&edge, &stranger)),
        (400, "logout_token_invalid".into())
    );
    assert_eq!(edge.ports().sent.borrow().len(), sent, "nobody asked");
    // The default provider's values are used unscoped: one with a control character (which
    // could spell another provider's scoped value) is refused.
    claims["iss"] = json!(A);
    claims["aud"] = json!("edge-a");
    claims["sub"] = json!("b\u{1f}42");
    let spelled = sign(KEY_A, &claims, Some("logout+jwt"));
    assert_eq!(
        code(&backchannel(&edge, &spelled)),
        (400, "logout_token_invalid".into())
    );
    assert_eq!(session(&edge, &b)["isLoggedIn"], true);
}

/// A session refreshes, revokes and logs out at its own provider, as its client: `b`'s
/// refresh token never goes to `a` (nor `a`'s to `b`).
#[test]
fn a_refresh_token_goes_to_its_own_provider_only() {
    let edge = edge();
    let (a, a_csrf) = sign_in(&edge, "a", "u");
    let (b, b_csrf) = sign_in(&edge, "b", "u");
    let ports = edge.ports();
    let before = (
        ports.calls_to(&format!("{A}/token")),
        ports.calls_to(&format!("{B}/token")),
    );
    let res = common::refresh(&edge, &b, &b_csrf);
    assert_eq!(
        res.status(),
        204,
        "{:?}",
        String::from_utf8_lossy(res.body())
    );
    assert_eq!(
        ports.calls_to(&format!("{A}/token")),
        before.0,
        "nothing to a"
    );
    let bodies = ports.bodies_to(&format!("{B}/token"));
    assert_eq!(bodies.len(), before.1 + 1);
    let last = bodies.last().unwrap();
    assert!(
        last.contains("refresh_token=rt-b") && last.contains("client_id=edge-b"),
        "{last}"
    );
    let res = common::refresh(&edge, &a, &a_csrf);
    assert_eq!(res.status(), 204);
    assert_eq!(ports.calls_to(&format!("{A}/token")), before.0 + 1);
    assert_eq!(ports.calls_to(&format!("{B}/token")), before.1 + 1);

    // Logout: b's refresh token revoked at b, the end-session URL b's.
    let res = call(
        &edge,
        request(
            "POST",
            "/auth/logout",
            &[
                ("origin", ORIGIN),
                ("x-edgeward-csrf", &b_csrf),
                ("cookie", &b),
                ("content-type", "application/json"),
            ],
            "{}",
        ),
    );
    assert_eq!(res.status(), 200);
    assert!(json(&res)["logoutUrl"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{B}/end?")));
    assert_eq!(ports.calls_to(&format!("{A}/revoke")), 0);
    assert!(ports.bodies_to(&format!("{B}/revoke"))[0].contains("token=rt-b"));
}

/// The refresh coordinator is told the session's provider, and grants there.
#[test]
fn the_refresh_coordinator_grants_at_the_sessions_provider() {
    let edge = std::rc::Rc::new(edge());
    tokens_from(&edge, "a", "u", "n", "s");
    tokens_from(&edge, "b", "u", "n", "s");
    let flights = RefreshFlights::default();
    let body = edgeward_core::sessions::coordinator_body(Some("b"), "rt-b");
    let res = futures_executor::block_on(coordinated_refresh(edge.clone(), &flights, body));
    assert_eq!(res.status(), 200);
    assert_eq!(edge.ports().calls_to(&format!("{B}/token")), 1);
    assert_eq!(edge.ports().calls_to(&format!("{A}/token")), 0);
    // Without a provider: the default one (bodies of the release before).
    let res =
        futures_executor::block_on(coordinated_refresh(edge.clone(), &flights, "rt-a".into()));
    assert_eq!(res.status(), 200);
    assert_eq!(edge.ports().calls_to(&format!("{A}/token")), 1);
    // A token of the default provider that holds a line feed (no RFC 6749 token does) cannot
    // pass for another provider's: it goes to the default provider whole.
    let body = edgeward_core::sessions::coordinator_body(None, "b\nrt-b");
    let res = futures_executor::block_on(coordinated_refresh(edge.clone(), &flights, body));
    assert_eq!(res.status(), 200);
    assert_eq!(edge.ports().calls_to(&format!("{B}/token")), 1);
    assert_eq!(edge.ports().calls_to(&format!("{A}/token")), 2);
    assert!(edge.ports().bodies_to(&format!("{A}/token"))[1].contains("refresh_token=b%0Art-b"));
    // A provider that is not configured: refused, nobody asked.
    let sent = edge.ports().sent.borrow().len();
    let body = edgeward_core::sessions::coordinator_body(Some("c"), "rt");
    let res = futures_executor::block_on(coordinated_refresh(edge.clone(), &flights, body));
    assert_eq!(res.status(), 502);
    assert_eq!(edge.ports().sent.borrow().len(), sent);
}

// ---- What keeps working ----

#[test]
fn each_providers_users_sign_in_and_the_session_says_which() {
    let edge = edge();
    let (a, _) = sign_in(&edge, "a", "ann");
    let (b, _) = sign_in(&edge, "b", "bob");
    let sa = session(&edge, &a);
    let sb = session(&edge, &b);
    assert_eq!(
        (sa["provider"].as_str(), sa["claims"]["sub"].as_str()),
        (Some("a"), Some("ann"))
    );
    assert_eq!(
        (sb["provider"].as_str(), sb["claims"]["sub"].as_str()),
        (Some("b"), Some("bob"))
    );
    // No provider named: the first.
    let (q, _) = started(&edge, None);
    assert_eq!(q["client_id"], "edge-a");
    // The list the sign-in page shows: ids and names, nothing else.
    let res = call(&edge, request("GET", "/auth/providers", &[], ""));
    assert_eq!(res.status(), 200);
    assert_eq!(
        json(&res),
        json!({"providers": [{"id": "a", "name": "Staff"}, {"id": "b", "name": "Customers"}]})
    );
}

/// One provider down: 502 for its users (sign-in and refresh), the other's go on.
#[test]
fn one_provider_down_is_502_for_its_users_only() {
    let edge = edge();
    let (a, a_csrf) = sign_in(&edge, "a", "u");
    let (b, b_csrf) = sign_in(&edge, "b", "u");
    // A fresh isolate (nothing cached) while a is down.
    let ports = FakePorts::default();
    ports.now.set(NOW);
    serve(&ports, "b", json!({}));
    let edge = Edge::new(config(&[]), ports.with_registry());
    assert_eq!(
        code(&start(&edge, json!({"provider": "a"}))),
        (502, "idp_unavailable".into())
    );
    assert_eq!(
        code(&common::refresh(&edge, &a, &a_csrf)),
        (502, "idp_unavailable".into())
    );
    assert_eq!(
        session(&edge, &a)["isLoggedIn"],
        true,
        "a's session is kept"
    );
    tokens_from(&edge, "b", "u", "n", "s");
    assert_eq!(common::refresh(&edge, &b, &b_csrf).status(), 204);
    let (q, login) = started(&edge, Some("b"));
    tokens_from(&edge, "b", "v", &q["nonce"], "sid");
    let res = common::post_login_end(
        &edge,
        &callback(&q["state"], Some(B)),
        &format!("__Host-edgeward-login={login}"),
    );
    assert_eq!(res.status(), 200);
}

/// A single-provider deployment (the `OIDC_*` variables) that lists a second provider after
/// its first keeps its sessions: same cookie keys, same provider (cookies name none).
#[test]
fn a_single_provider_deployments_sessions_survive_a_second_provider() {
    let single = |name: &str| -> Option<String> {
        Some(
            match name {
                "EDGEWARD_PROFILE" => "local",
                "EDGEWARD_ORIGIN" => ORIGIN,
                "EDGEWARD_COOKIE_KEYS" => KEYS,
                "OIDC_ISSUER" => A,
                "OIDC_CLIENT_ID" => "edge-a",
                "OIDC_CLIENT_SECRET" => "secret-a",
                _ => return None,
            }
            .to_owned(),
        )
    };
    let ports = FakePorts::default();
    ports.now.set(NOW);
    serve(&ports, "a", json!({}));
    let old = Edge::new(Config::from_vars(single).unwrap(), ports);
    let (q, login) = started(&old, None);
    tokens_from(&old, "a", "u", &q["nonce"], "sid");
    let res = common::post_login_end(
        &old,
        &callback(&q["state"], Some(A)),
        &format!("__Host-edgeward-login={login}"),
    );
    assert_eq!(res.status(), 200);
    let (cookies, csrf) = (
        cookie_header(res.headers()),
        json(&res)["csrf"].as_str().unwrap().to_owned(),
    );
    assert_eq!(session(&old, &cookies)["provider"], "default");

    let new = edge_with(&[], false);
    let s = session(&new, &cookies);
    assert_eq!(s["isLoggedIn"], true);
    assert_eq!(s["provider"], "a");
    tokens_from(&new, "a", "u", "n", "sid");
    let res = common::refresh(&new, &cookies, &csrf);
    assert_eq!(res.status(), 204);
    assert_eq!(new.ports().calls_to(&format!("{A}/token")), 1);
    let _ = apply(&cookies, &res);
}

/// A session whose provider left the configuration is no session: signed out, cookies cleared.
#[test]
fn a_session_of_a_provider_no_longer_configured_is_refused() {
    let edge = edge();
    let (b, _) = sign_in(&edge, "b", "u");
    let only_a = r#"[{"id": "a", "issuer": "http://idp-a.test", "clientId": "edge-a"}]"#;
    let ports = FakePorts::default();
    ports.now.set(NOW);
    serve(&ports, "a", json!({}));
    let edge = Edge::new(config(&[("EDGEWARD_PROVIDERS", only_a)]), ports);
    let res = call(
        &edge,
        request("GET", "/auth/session", &[("cookie", &b)], ""),
    );
    assert_eq!(json(&res)["isLoggedIn"], false);
    assert!(set_cookies(&res)
        .iter()
        .all(|(_, _, raw)| raw.contains("Max-Age=0")));
}

/// The admin endpoint finds a user of another provider than the first by `&provider=`: the
/// same `sub` at two providers is two users.
#[test]
fn the_admin_endpoint_tells_the_providers_users_apart() {
    let token = "an-admin-token-of-at-least-32-characters";
    let edge = edge_with(
        &[
            ("EDGEWARD_SESSION_MODE", "server"),
            ("EDGEWARD_ADMIN_TOKEN", token),
        ],
        true,
    );
    let (a, _) = sign_in(&edge, "a", "42");
    let (b, _) = sign_in(&edge, "b", "42");
    let (_, _) = sign_in(&edge, "b", "42");
    let admin = |method: &str, query: &str| {
        json(&call(
            &edge,
            request(
                method,
                &format!("/auth/admin/sessions?{query}"),
                &[("authorization", &format!("Bearer {token}"))],
                "",
            ),
        ))
    };
    let count = |v: Value| v["sessions"].as_array().map(Vec::len);
    assert_eq!(count(admin("GET", "sub=42")), Some(1), "a's user 42");
    assert_eq!(
        count(admin("GET", "sub=42&provider=b")),
        Some(2),
        "b's user 42"
    );
    assert_eq!(admin("GET", "sub=42&provider=c")["code"], "invalid_request");
    assert_eq!(admin("DELETE", "sub=42&provider=b")["revoked"], 2);
    assert_eq!(
        session(&edge, &b)["isLoggedIn"],
        false,
        "b's sessions ended"
    );
    assert_eq!(session(&edge, &a)["isLoggedIn"], true, "a's lives");
    assert!(edge.ports().bodies_to(&format!("{B}/revoke")).len() == 2);
    assert_eq!(edge.ports().calls_to(&format!("{A}/revoke")), 0);
}
