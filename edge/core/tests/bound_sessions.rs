//! One session, bound: the attacks of the security review's first item, performed through
//! `Edge::handle` with fake ports, and refused on every path — cookies of two sessions mixed in
//! one jar, a session stretched past its 24 hours, a refresh token inherited from the previous
//! user, copies of logged-out cookies, a registry that cannot be asked, a refresh racing an
//! admin's revoke — plus the registry's shards and RFC 9207 / `acr` at login.

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    apply, call, code, config_with, cookie_value, json, login_with, pick, refresh, request,
    set_cookies, signed_in, FakePorts, Login, ISSUER, ORIGIN,
};
use edgeward_core::sessions::{Registry, RegistryRequest};
use edgeward_core::{Edge, Outcome, Response};
use edgeward_shared::names;
use serde_json::json;

const NOW: u64 = 1_700_000_000;
const ADMIN: &str = "an-admin-token-of-at-least-32-characters";
const ROUTES: &str = r#"[{"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET", "POST"]}]"#;
const MINT: &str = "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";

fn edge_with(extra: &[(&str, &str)], registry: bool) -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({}));
    let ports = if registry {
        ports.with_registry()
    } else {
        ports
    };
    let mut vars = vec![
        ("EDGEWARD_API_ROUTES", ROUTES),
        ("EDGEWARD_MINT_KEY", MINT),
        ("EDGEWARD_ADMIN_TOKEN", ADMIN),
    ];
    vars.extend_from_slice(extra);
    Edge::new(config_with(&vars), ports)
}

fn session(edge: &Edge<FakePorts>, cookies: &str) -> Response {
    call(
        edge,
        request("GET", "/auth/session", &[("cookie", cookies)], ""),
    )
}

fn logged_in(edge: &Edge<FakePorts>, cookies: &str) -> bool {
    json(&session(edge, cookies))["isLoggedIn"] == true
}

fn logout(edge: &Edge<FakePorts>, cookies: &str, csrf: &str) -> Response {
    call(
        edge,
        request(
            "POST",
            "/auth/logout",
            &[
                ("origin", ORIGIN),
                ("x-edgeward-csrf", csrf),
                ("cookie", cookies),
                ("content-type", "application/json"),
            ],
            "{}",
        ),
    )
}

/// `GET /api/orders/1`: `Ok(bearer forwarded)` or `Err((status, code))`.
fn api(edge: &Edge<FakePorts>, cookies: &str) -> Result<String, (u16, String)> {
    let req = request("GET", "/api/orders/1", &[("cookie", cookies)], "");
    match futures_executor::block_on(edge.handle(req)) {
        Outcome::Forward(f) => Ok(f.headers["authorization"].to_str().unwrap().to_owned()),
        Outcome::Respond(r) => Err((
            r.status().as_u16(),
            json(&r)["code"].as_str().unwrap().to_owned(),
        )),
    }
}

fn clears_everything(res: &Response) -> bool {
    let cleared: Vec<String> = set_cookies(res)
        .into_iter()
        .filter(|(_, _, raw)| raw.contains("Max-Age=0"))
        .map(|(n, _, _)| n)
        .collect();
    [
        names::COOKIE_ID,
        names::COOKIE_ACCESS,
        names::COOKIE_REFRESH,
    ]
    .iter()
    .all(|n| cleared.iter().any(|c| c == n))
}

fn grants(edge: &Edge<FakePorts>) -> Vec<String> {
    edge.ports().bodies_to(&format!("{ISSUER}/token"))
}

fn backchannel(edge: &Edge<FakePorts>, claims: serde_json::Value) -> u16 {
    let mut full = json!({
        "iss": ISSUER, "aud": "edgeward", "iat": edge.ports().now.get(),
        "jti": format!("j-{}", edge.ports().now.get()),
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    });
    for (k, v) in claims.as_object().unwrap() {
        full[k] = v.clone();
    }
    let token = common::idp_sign(&full, Some("logout+jwt"));
    call(
        edge,
        request(
            "POST",
            "/auth/backchannel-logout",
            &[("content-type", "application/x-www-form-urlencoded")],
            &format!("logout_token={token}"),
        ),
    )
    .status()
    .as_u16()
}

fn admin_revoke_all(edge: &Edge<FakePorts>, sub: &str) -> serde_json::Value {
    let auth = format!("Bearer {ADMIN}");
    json(&call(
        edge,
        request(
            "DELETE",
            &format!("/auth/admin/sessions?sub={sub}"),
            &[("authorization", &auth)],
            "",
        ),
    ))
}

#[test]
fn cookies_of_two_sessions_in_one_jar_are_refused_on_every_path() {
    let edge = edge_with(&[], true);
    let victim = Login {
        sub: "victim",
        sid: Some("idp-victim"),
        access: "victim-at",
        refresh: Some("victim-rt"),
        ..Default::default()
    };
    let (victim_jar, _) = signed_in(&edge, &victim);
    let mallory = Login {
        sub: "mallory",
        sid: Some("idp-mallory"),
        access: "mallory-at",
        refresh: Some("mallory-rt"),
        ..Default::default()
    };
    let (mallory_jar, mallory_csrf) = signed_in(&edge, &mallory);
    // Mallory keeps her own ID cookie (and so knows its CSRF value) and adds a copy of the
    // victim's token cookies.
    let mixed = format!(
        "{}; {}",
        pick(&mallory_jar, &[names::COOKIE_ID]),
        pick(&victim_jar, &[names::COOKIE_ACCESS, names::COOKIE_REFRESH])
    );

    // While the victim's session is live: the mixed jar is no session, and its cookies go.
    let res = session(&edge, &mixed);
    assert_eq!(json(&res)["isLoggedIn"], false);
    assert!(clears_everything(&res));
    let before = grants(&edge).len();
    let res = refresh(&edge, &mixed, &mallory_csrf);
    assert_eq!(code(&res), (401, "session_expired".into()));
    assert!(clears_everything(&res));
    assert_eq!(
        grants(&edge).len(),
        before,
        "the victim's refresh token never reached the IdP"
    );

    // The victim is signed out at the IdP (back-channel) and by the admin.
    assert_eq!(
        backchannel(&edge, json!({"sid": "idp-victim", "sub": "victim"})),
        200
    );
    assert_eq!(admin_revoke_all(&edge, "victim")["revoked"], 0);
    assert!(
        logged_in(&edge, &mallory_jar),
        "Mallory's own session lives on"
    );

    // The victim's access cookie is judged by its own binding: refused at the proxy, too.
    assert_eq!(api(&edge, &mixed), Err((401, "session_expired".into())));
    let res = refresh(&edge, &mixed, &mallory_csrf);
    assert_eq!(code(&res), (401, "session_expired".into()));
    assert_eq!(json(&session(&edge, &mixed))["isLoggedIn"], false);
    assert_eq!(grants(&edge).len(), before);
    // And the victim's refresh token, seen again in this jar, was revoked at the IdP.
    let revoked = edge
        .ports()
        .bodies_to(&format!("{ISSUER}/token/revocation"));
    assert!(
        revoked.iter().any(|b| b.contains("token=victim-rt")),
        "{revoked:?}"
    );
}

#[test]
fn a_session_never_outlives_its_24_hours() {
    let edge = edge_with(&[], false);
    let (first, csrf) = signed_in(&edge, &Login::default());
    // 23 hours later the user signs in again; someone keeps the first session's refresh cookie
    // and puts it beside the new session's ID cookie.
    edge.ports().now.set(NOW + 23 * 3600);
    let (second, second_csrf) = signed_in(&edge, &Login::default());
    let stretched = format!(
        "{}; {}",
        pick(&second, &[names::COOKIE_ID]),
        pick(&first, &[names::COOKIE_REFRESH])
    );
    let res = refresh(&edge, &stretched, &second_csrf);
    assert_eq!(code(&res), (401, "session_expired".into()));

    // A refresh near the end gives an access token that ends with the session, not after it.
    edge.ports().now.set(NOW + 24 * 3600 - 100);
    edge.ports().route(
        &format!("{ISSUER}/token"),
        200,
        json!({"access_token": "at-2", "expires_in": 300, "refresh_token": "rt-2"}).to_string(),
    );
    let res = refresh(&edge, &first, &csrf);
    assert_eq!(res.status(), 204, "{}", String::from_utf8_lossy(res.body()));
    let jar = apply(&first, &res);
    let at = set_cookies(&res)
        .into_iter()
        .find(|(n, _, _)| n == names::COOKIE_ACCESS)
        .unwrap();
    assert!(at.2.contains("Max-Age=100"), "{}", at.2);
    let s = json(&session(&edge, &jar));
    assert_eq!(s["sessionExpiresAt"], NOW + 24 * 3600);
    assert_eq!(s["accessTokenExpiresAt"], NOW + 24 * 3600);

    // At the end, the session is over whatever the cookies say.
    edge.ports().now.set(NOW + 24 * 3600);
    assert!(!logged_in(&edge, &jar));
    assert_eq!(code(&refresh(&edge, &jar, &csrf)).0, 401);
}

#[test]
fn a_login_replaces_every_cookie_of_the_session_before() {
    let edge = edge_with(&[], false);
    let (before, _) = signed_in(&edge, &Login::default());
    assert!(cookie_value(&before, names::COOKIE_REFRESH).is_some());
    // The next user's provider issues no refresh token: the earlier one must not stay.
    let res = login_with(
        &edge,
        &Login {
            sub: "next-user",
            refresh: None,
            cookies: &before,
            ..Default::default()
        },
    );
    assert_eq!(res.status(), 200);
    let after = apply(&before, &res);
    assert_eq!(cookie_value(&after, names::COOKIE_REFRESH), None);
    assert_ne!(
        cookie_value(&after, names::COOKIE_ID),
        cookie_value(&before, names::COOKIE_ID)
    );
    let s = json(&session(&edge, &after));
    assert_eq!(s["claims"]["sub"], "next-user");
    // Putting the old refresh cookie back does not give the new user the old session's grant.
    let csrf = s["csrf"].as_str().unwrap().to_owned();
    let planted = format!("{after}; {}", pick(&before, &[names::COOKIE_REFRESH]));
    assert_eq!(
        code(&refresh(&edge, &planted, &csrf)),
        (401, "session_expired".into())
    );
}

#[test]
fn a_registry_that_cannot_be_asked_fails_closed() {
    let edge = edge_with(&[], true);
    let (jar, csrf) = signed_in(&edge, &Login::default());
    assert!(logged_in(&edge, &jar));
    edge.ports().shards().down.set(true);
    // The isolate's "live" answer is trusted for CHECK_TTL seconds; after that, nobody can say.
    edge.ports().now.set(NOW + 11);
    let res = session(&edge, &jar);
    assert_eq!(code(&res), (503, "session_store_unavailable".into()));
    assert!(set_cookies(&res).is_empty(), "cookies untouched");
    assert_eq!(res.headers()["retry-after"], "5");
    assert_eq!(
        api(&edge, &jar),
        Err((503, "session_store_unavailable".into()))
    );
    let before = grants(&edge).len();
    let res = refresh(&edge, &jar, &csrf);
    assert_eq!(code(&res), (503, "session_store_unavailable".into()));
    assert!(set_cookies(&res).is_empty());
    assert_eq!(
        grants(&edge).len(),
        before,
        "no grant for an unchecked session"
    );
    assert!(edge
        .ports()
        .log_text()
        .contains("session_store_unavailable"));
    // Logging out still works (the cookies go); what could not be recorded is logged.
    let res = logout(&edge, &jar, &csrf);
    assert_eq!(res.status(), 200);
    assert!(clears_everything(&res));
    assert!(edge.ports().log_text().contains("logout not recorded"));
    // The registry is back: the session answers again.
    edge.ports().shards().down.set(false);
    edge.ports().now.set(NOW + 30);
    let other = edge_with(&[], true);
    *other.ports().registry.borrow_mut() = edge.ports().registry.borrow().clone();
    other.ports().now.set(NOW + 30);
    assert!(
        logged_in(&other, &jar),
        "not recorded: the copy still works"
    );
}

#[test]
fn logged_out_cookies_are_refused_in_every_isolate_and_their_phantom_tokens_dropped() {
    let edge = edge_with(&[], true);
    let (jar, csrf) = signed_in(&edge, &Login::default());
    let copy = jar.clone();
    assert!(api(&edge, &jar).is_ok());
    assert_eq!(edge.phantom_cache().len(), 1);
    assert_eq!(edge.ports().shared.borrow().len(), 1);
    // Another isolate of the same deployment has seen the session live a moment ago.
    let other = edge_with(&[], true);
    *other.ports().registry.borrow_mut() = edge.ports().registry.borrow().clone();
    assert!(api(&other, &copy).is_ok());

    let res = logout(&edge, &jar, &csrf);
    assert_eq!(res.status(), 200);
    assert!(clears_everything(&res));
    assert_eq!(
        edge.phantom_cache().len(),
        0,
        "this isolate's phantom token is gone"
    );
    assert!(
        edge.ports().shared.borrow().is_empty(),
        "and the shared tier's"
    );
    // A copy of the cookies taken before: refused here at once...
    assert_eq!(api(&edge, &copy), Err((401, "session_expired".into())));
    assert!(!logged_in(&edge, &copy));
    // ...and in the other isolate once its live answer is CHECK_TTL seconds old.
    other.ports().now.set(NOW + 10);
    assert_eq!(api(&other, &copy), Err((401, "session_expired".into())));
    let res = refresh(&other, &copy, &csrf);
    assert_eq!(code(&res), (401, "session_expired".into()));
}

fn server_edge() -> Edge<FakePorts> {
    edge_with(&[("EDGEWARD_SESSION_MODE", "server")], true)
}

#[test]
fn a_server_refresh_never_revives_a_session_revoked_while_the_grant_ran() {
    let edge = server_edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    edge.ports().now.set(NOW + 301);
    edge.ports().route(
        &format!("{ISSUER}/token"),
        200,
        json!({"access_token": "at-2", "expires_in": 300, "refresh_token": "rt-2"}).to_string(),
    );
    // The admin revokes every session of the user while the grant is at the IdP.
    let shards = edge.ports().shards();
    let revoke = move |url: &str| {
        if url.ends_with("/token") {
            for store in shards.stores.borrow().values() {
                let end = RegistryRequest::EndUser {
                    sub: "demo".into(),
                    now: NOW + 301,
                };
                // The in-memory store answers at once (no executor inside the executor).
                let done = futures_util::FutureExt::now_or_never(Registry::handle(&**store, &end));
                done.unwrap().unwrap();
            }
        }
    };
    *edge.ports().on_send.borrow_mut() = Some(Box::new(revoke));
    let res = refresh(&edge, &jar, &csrf);
    assert_eq!(code(&res), (401, "session_expired".into()));
    *edge.ports().on_send.borrow_mut() = None;
    assert!(!logged_in(&edge, &jar), "the session stays revoked");
    assert!(
        edge.ports()
            .shards()
            .keys()
            .iter()
            .all(|k| !k.contains("/session:")),
        "nothing was written back"
    );
    let revoked = edge
        .ports()
        .bodies_to(&format!("{ISSUER}/token/revocation"));
    assert!(
        revoked.iter().any(|b| b.contains("token=rt-2")),
        "the refresh token the grant returned is revoked: {revoked:?}"
    );
}

#[test]
fn users_live_in_different_registry_objects() {
    let edge = server_edge();
    let (demo, _) = signed_in(&edge, &Login::default());
    let (alice, _) = signed_in(
        &edge,
        &Login {
            sub: "alice",
            sid: Some("idp-alice"),
            ..Default::default()
        },
    );
    assert!(logged_in(&edge, &demo) && logged_in(&edge, &alice));
    let shards = edge.ports().shards();
    let holding: Vec<String> = shards
        .stores
        .borrow()
        .iter()
        .filter(|(_, s)| s.0.borrow().keys().any(|k| k.starts_with("session:")))
        .map(|(name, _)| name.clone())
        .collect();
    assert_eq!(holding.len(), 2, "one object each: {holding:?}");
    // Reading a session asks its user's object only.
    shards.asked.borrow_mut().clear();
    assert!(logged_in(&edge, &alice));
    assert_eq!(
        *shards.asked.borrow(),
        [edgeward_core::sessions::shard_of("alice", 16)]
    );
    // A logout token with only a sid reaches every object; with a sub, only the user's.
    shards.asked.borrow_mut().clear();
    assert_eq!(backchannel(&edge, json!({"sid": "idp-alice"})), 200);
    assert_eq!(shards.asked.borrow().len(), 16);
    assert!(!logged_in(&edge, &alice));
    assert!(logged_in(&edge, &demo));
    shards.asked.borrow_mut().clear();
    edge.ports().now.set(NOW + 1);
    assert_eq!(backchannel(&edge, json!({"sub": "demo"})), 200);
    assert_eq!(shards.asked.borrow().len(), 1);
    assert!(!logged_in(&edge, &demo));
    // The stored sessions' refresh tokens were revoked at the IdP on the way.
    let revoked = edge
        .ports()
        .bodies_to(&format!("{ISSUER}/token/revocation"));
    assert_eq!(revoked.len(), 2, "{revoked:?}");
}

#[test]
fn rfc_9207_iss_and_the_acr_asked_for_are_checked_exactly() {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({"authorization_response_iss_parameter_supported": true}));
    let edge = Edge::new(config_with(&[]), ports);
    let refused = |l: &Login<'_>| {
        let res = login_with(&edge, l);
        (code(&res), edge.ports().log_text())
    };
    // The provider says it always sends iss: a response without it is refused.
    let (got, log) = refused(&Login {
        iss: None,
        ..Default::default()
    });
    assert_eq!(got, (400, "login_failed".into()));
    assert!(log.contains("RFC 9207"), "{log}");
    // Issuers compare exactly: a trailing slash is another issuer.
    let slash = format!("{ISSUER}/");
    let (got, _) = refused(&Login {
        iss: Some(&slash),
        ..Default::default()
    });
    assert_eq!(got, (400, "login_failed".into()));
    let (got, _) = refused(&Login {
        claims: json!({"iss": slash}),
        ..Default::default()
    });
    assert_eq!(got, (400, "login_failed".into()));
    // acr_values asked for: the ID token's acr must be one of them.
    let start = json!({"extraParams": {"acr_values": "urn:gold urn:platinum"}});
    for (claims, status) in [
        (json!({}), 400),
        (json!({"acr": "urn:silver"}), 400),
        (json!({"acr": "urn:gold"}), 200),
    ] {
        let res = login_with(
            &edge,
            &Login {
                claims: claims.clone(),
                start: start.clone(),
                ..Default::default()
            },
        );
        assert_eq!(res.status().as_u16(), status, "{claims}");
    }
    assert!(edge.ports().log_text().contains("acr"));
    // Without acr_values, acr is not looked at.
    assert_eq!(login_with(&edge, &Login::default()).status(), 200);
}

#[test]
fn a_refresh_the_provider_refuses_ends_the_session_everywhere() {
    let edge = edge_with(&[], true);
    let (jar, csrf) = signed_in(&edge, &Login::default());
    let copy = jar.clone();
    assert!(api(&edge, &copy).is_ok());
    // The provider has revoked the grant (reuse detected, user disabled, …).
    edge.ports().route(
        &format!("{ISSUER}/token"),
        400,
        json!({"error": "invalid_grant"}).to_string(),
    );
    let res = refresh(&edge, &jar, &csrf);
    assert_eq!(code(&res), (401, "session_expired".into()));
    assert!(clears_everything(&res));
    // A copy of the access cookie no longer works, here or (after CHECK_TTL) elsewhere.
    assert_eq!(api(&edge, &copy), Err((401, "session_expired".into())));
    let other = edge_with(&[], true);
    *other.ports().registry.borrow_mut() = edge.ports().registry.borrow().clone();
    assert_eq!(api(&other, &copy), Err((401, "session_expired".into())));
}
