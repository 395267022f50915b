//! One cookie per read: every session cookie carries its binding's tag and its expiry in clear
//! (sealed into the associated data), so `GET /auth/session` opens the ID cookie only, the proxy
//! the access cookie only, and the refresh cookie is opened by refresh and logout alone. The
//! attacks on the clear label (another session's tag, a later expiry written in), the proof
//! that the reads open no more than they need, and the jars of the release before (format 2,
//! no label), which keep their users signed in.

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{
    apply, call, code, config_with, cookie_value, edit, idp_sign, json, parts, pick,
    post_login_end, refresh, request, seal_format_2, set_cookies, signed_in, FakePorts, Login,
    SealNow, ISSUER, ORIGIN,
};
use edgeward_core::{Edge, Outcome};
use edgeward_shared::names;
use serde_json::json;

const NOW: u64 = 1_700_000_000;
const ROUTES: &str =
    r#"[{"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET"]}]"#;
const MINT: &str = "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";

fn edge() -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({})).with_registry();
    Edge::new(
        config_with(&[("EDGEWARD_API_ROUTES", ROUTES), ("EDGEWARD_MINT_KEY", MINT)]),
        ports,
    )
}

fn session(edge: &Edge<FakePorts>, cookies: &str) -> serde_json::Value {
    json(&call(
        edge,
        request("GET", "/auth/session", &[("cookie", cookies)], ""),
    ))
}

/// `GET /api/orders/1`: `Ok(the forwarded Authorization)` or `Err((status, code))`.
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

fn grants(edge: &Edge<FakePorts>) -> usize {
    edge.ports().bodies_to(&format!("{ISSUER}/token")).len()
}

/// The value with its label's tag replaced.
fn with_tag(value: &str, tag: &str) -> String {
    let mut p = parts(value);
    p[2] = tag.to_owned();
    p.join(".")
}

/// The value with its label's expiry replaced.
fn with_exp(value: &str, exp: u64) -> String {
    let mut p = parts(value);
    p[3] = exp.to_string();
    p.join(".")
}

/// The value with one byte of its ciphertext flipped, its label untouched.
fn tampered(value: &str) -> String {
    let mut p = parts(value);
    let mut bytes = URL_SAFE_NO_PAD.decode(&p[4]).unwrap();
    bytes[20] ^= 1;
    p[4] = URL_SAFE_NO_PAD.encode(bytes);
    p.join(".")
}

fn victim_and_mallory(edge: &Edge<FakePorts>) -> (String, String, String) {
    let victim = Login {
        sub: "victim",
        sid: Some("idp-victim"),
        access: "victim-at",
        refresh: Some("victim-rt"),
        ..Default::default()
    };
    let (victim_jar, _) = signed_in(edge, &victim);
    let mallory = Login {
        sub: "mallory",
        sid: Some("idp-mallory"),
        access: "mallory-at",
        refresh: Some("mallory-rt"),
        ..Default::default()
    };
    let (mallory_jar, mallory_csrf) = signed_in(edge, &mallory);
    (victim_jar, mallory_jar, mallory_csrf)
}

#[test]
fn every_session_cookie_carries_one_tag_and_its_expiry_in_clear() {
    let edge = edge();
    let (jar, _) = signed_in(&edge, &Login::default());
    let labels: Vec<Vec<String>> = [
        names::COOKIE_ID,
        names::COOKIE_ACCESS,
        names::COOKIE_REFRESH,
    ]
    .iter()
    .map(|n| parts(&cookie_value(&jar, n).unwrap()))
    .collect();
    for p in &labels {
        assert_eq!((p[0].as_str(), p[1].as_str()), ("3", "k1"));
        assert_eq!(p[2], labels[0][2], "one tag for the whole session");
        assert_eq!(p[2].len(), 22, "128 bits, base64url");
    }
    // The tag is not the binding id, nor anything else the browser could read from the body.
    let body = session(&edge, &jar);
    assert!(!body.to_string().contains(&labels[0][2]));
    // The expiries: the session's end for the ID and refresh cookies, the token's for access.
    assert_eq!(labels[0][3], (NOW + 24 * 3600).to_string());
    assert_eq!(labels[2][3], (NOW + 24 * 3600).to_string());
    assert_eq!(labels[1][3], (NOW + 300).to_string());
    assert_eq!(body["accessTokenExpiresAt"], NOW + 300);
    // Two sessions, two tags.
    let (other, _) = signed_in(&edge, &Login::default());
    assert_ne!(
        parts(&cookie_value(&other, names::COOKIE_ID).unwrap())[2],
        labels[0][2]
    );
}

#[test]
fn the_session_read_opens_the_id_cookie_only() {
    let edge = edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    // Token cookies whose ciphertext is broken but whose labels still agree: the session read
    // does not open them, so it answers as for the intact jar.
    let broken = edit(&jar, names::COOKIE_ACCESS, tampered);
    let broken = edit(&broken, names::COOKIE_REFRESH, tampered);
    let read = session(&edge, &broken);
    assert_eq!(read["isLoggedIn"], true);
    assert_eq!(read, session(&edge, &jar));
    // Where they are opened, they are refused as a whole jar: the proxy (the access cookie) and
    // refresh (all three), and nothing reaches the upstream or the IdP.
    assert_eq!(api(&edge, &broken), Err((401, "session_expired".into())));
    let before = grants(&edge);
    let res = refresh(&edge, &broken, &csrf);
    assert_eq!(code(&res), (401, "session_expired".into()));
    assert_eq!(grants(&edge), before);
    // A broken ID cookie is refused by the session read itself.
    let res = call(
        &edge,
        request(
            "GET",
            "/auth/session",
            &[("cookie", &edit(&jar, names::COOKIE_ID, tampered))],
            "",
        ),
    );
    assert_eq!(json(&res)["isLoggedIn"], false);
    assert!(set_cookies(&res)
        .iter()
        .any(|(n, _, raw)| n == names::COOKIE_ID && raw.contains("Max-Age=0")));
    // The intact jar still works everywhere.
    assert!(api(&edge, &jar).unwrap().starts_with("Bearer "));
}

#[test]
fn the_proxy_opens_the_access_cookie_only() {
    let edge = edge();
    let (jar, _) = signed_in(&edge, &Login::default());
    // The ID and refresh cookies with their ciphertext broken (labels intact): the proxy never
    // opens them, so the call is forwarded as with the intact jar.
    let broken = edit(&jar, names::COOKIE_ID, tampered);
    let broken = edit(&broken, names::COOKIE_REFRESH, tampered);
    assert!(api(&edge, &broken).unwrap().starts_with("Bearer "));
    // Nor does it need them: the access cookie alone is forwarded too.
    let access = cookie_value(&jar, names::COOKIE_ACCESS).unwrap();
    let alone = format!("{}={access}", names::COOKIE_ACCESS);
    assert!(api(&edge, &alone).unwrap().starts_with("Bearer "));
    // And a broken access cookie is refused whatever the others are.
    let broken = edit(&jar, names::COOKIE_ACCESS, tampered);
    assert_eq!(api(&edge, &broken), Err((401, "session_expired".into())));
}

#[test]
fn token_cookies_relabelled_with_another_sessions_tag_are_refused_where_they_are_opened() {
    let edge = edge();
    let (victim_jar, mallory_jar, mallory_csrf) = victim_and_mallory(&edge);
    let mallory_tag = parts(&cookie_value(&mallory_jar, names::COOKIE_ID).unwrap())[2].clone();
    // Mallory's ID cookie beside the victim's token cookies, their labels rewritten to agree.
    let mixed = format!(
        "{}; {}",
        pick(&mallory_jar, &[names::COOKIE_ID]),
        pick(&victim_jar, &[names::COOKIE_ACCESS, names::COOKIE_REFRESH])
    );
    let relabelled = edit(&mixed, names::COOKIE_ACCESS, |v| with_tag(v, &mallory_tag));
    let relabelled = edit(&relabelled, names::COOKIE_REFRESH, |v| {
        with_tag(v, &mallory_tag)
    });
    // Unrelabelled, the session read sees the disagreement at once.
    assert_eq!(session(&edge, &mixed)["isLoggedIn"], false);
    // Relabelled, it sees Mallory's own session only (her ID cookie is what it opens).
    let read = session(&edge, &relabelled);
    assert_eq!(read["claims"]["sub"], "mallory");
    // Opened, the relabelled cookies do not authenticate: the victim's tokens go nowhere.
    assert_eq!(
        api(&edge, &relabelled),
        Err((401, "session_expired".into()))
    );
    let before = grants(&edge);
    let res = refresh(&edge, &relabelled, &mallory_csrf);
    assert_eq!(code(&res), (401, "session_expired".into()));
    assert_eq!(
        grants(&edge),
        before,
        "the victim's refresh token never reached the IdP"
    );
}

#[test]
fn an_access_cookie_past_its_expiry_with_a_later_one_written_in_does_not_open() {
    let edge = edge();
    let (jar, _) = signed_in(&edge, &Login::default());
    edge.ports().now.set(NOW + 301);
    // Expired as its label says: absent, so the proxy asks for a refresh.
    assert_eq!(api(&edge, &jar), Err((401, "unauthorized".into())));
    assert_eq!(session(&edge, &jar)["accessTokenExpiresAt"], json!(null));
    // The label rewritten to a later expiry: the value no longer opens.
    let stretched = edit(&jar, names::COOKIE_ACCESS, |v| with_exp(v, NOW + 3600));
    assert_eq!(api(&edge, &stretched), Err((401, "session_expired".into())));
}

#[test]
fn a_login_cookie_past_its_ten_minutes_with_a_later_expiry_written_in_does_not_finish_a_login() {
    let edge = edge();
    let start = call(
        &edge,
        request(
            "POST",
            "/auth/login/start",
            &[("origin", ORIGIN), ("content-type", "application/json")],
            "{}",
        ),
    );
    let url = url::Url::parse(json(&start)["authorizationUrl"].as_str().unwrap()).unwrap();
    let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
    let (_, login_cookie, _) = set_cookies(&start).remove(0);
    let id_token = idp_sign(
        &json!({"iss": ISSUER, "sub": "demo", "aud": "edgeward", "nonce": q["nonce"],
                "iat": NOW + 660, "exp": NOW + 960}),
        None,
    );
    edge.ports().route(
        &format!("{ISSUER}/token"),
        200,
        json!({"access_token": "at", "token_type": "Bearer", "expires_in": 300,
               "id_token": id_token})
        .to_string(),
    );
    let page = format!(
        "{ORIGIN}/callback?code=c&state={}&iss={}",
        q["state"],
        url::form_urlencoded::byte_serialize(ISSUER.as_bytes()).collect::<String>()
    );
    // Eleven minutes later, the login cookie has expired; its label says so.
    edge.ports().now.set(NOW + 660);
    let stretched = with_exp(&login_cookie, NOW + 1200);
    let res = post_login_end(&edge, &page, &format!("__Host-edgeward-login={stretched}"));
    assert_eq!(res.status(), 400, "{}", String::from_utf8_lossy(res.body()));
    assert_eq!(grants(&edge), 0, "no code was redeemed");
}

/// `jar` with every session cookie re-sealed in format 2.
fn as_format_2(edge: &Edge<FakePorts>, jar: &str) -> String {
    let keys = &edge.config().cookie_keys;
    let mut out = jar.to_owned();
    for name in [
        names::COOKIE_ID,
        names::COOKIE_ACCESS,
        names::COOKIE_REFRESH,
    ] {
        out = edit(&out, name, |v| {
            let opened = keys
                .open_json_now::<serde_json::Value>(name, v, edge.ports().now.get())
                .unwrap();
            seal_format_2(name, &opened.value, opened.expires_at, 9)
        });
    }
    out
}

#[test]
fn jars_of_the_release_before_stay_signed_in() {
    let edge = edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    let old = as_format_2(&edge, &jar);
    assert!(cookie_value(&old, names::COOKIE_ID)
        .unwrap()
        .starts_with("2.k1."));
    // Read, proxied and refreshed as before.
    assert_eq!(session(&edge, &old), session(&edge, &jar));
    assert!(api(&edge, &old).is_ok());
    edge.ports().route(
        &format!("{ISSUER}/token"),
        200,
        json!({"access_token": "at-2", "expires_in": 300, "refresh_token": "rt-2"}).to_string(),
    );
    let res = refresh(&edge, &old, &csrf);
    assert_eq!(res.status(), 204, "{}", String::from_utf8_lossy(res.body()));
    // After the refresh: format-3 token cookies beside the format-2 ID cookie, still one session.
    let mixed_formats = apply(&old, &res);
    assert!(cookie_value(&mixed_formats, names::COOKIE_ACCESS)
        .unwrap()
        .starts_with("3.k1."));
    assert!(cookie_value(&mixed_formats, names::COOKIE_ID)
        .unwrap()
        .starts_with("2.k1."));
    assert_eq!(session(&edge, &mixed_formats)["isLoggedIn"], true);
    assert_eq!(
        api(&edge, &mixed_formats).map(|a| a.starts_with("Bearer ")),
        Ok(true)
    );
    // A format-2 ID cookie beside another session's format-3 token cookies is still refused.
    let (other, _) = signed_in(&edge, &Login::default());
    let mixed_sessions = format!(
        "{}; {}",
        pick(&old, &[names::COOKIE_ID]),
        pick(&other, &[names::COOKIE_ACCESS, names::COOKIE_REFRESH])
    );
    assert_eq!(session(&edge, &mixed_sessions)["isLoggedIn"], false);
}

#[test]
fn an_isolate_opens_the_same_id_and_access_cookie_once_and_never_remembers_a_refresh_token() {
    let edge = edge();
    let keys = &edge.config().cookie_keys;
    let (jar, csrf) = signed_in(&edge, &Login::default());
    assert_eq!(keys.remembered(), 0, "login opened nothing it keeps");
    let first = session(&edge, &jar);
    assert_eq!(keys.remembered(), 1, "the ID cookie");
    assert_eq!(session(&edge, &jar), first, "the same answer from memory");
    assert_eq!(keys.remembered(), 1);
    assert!(api(&edge, &jar).is_ok());
    assert!(api(&edge, &jar).is_ok());
    assert_eq!(keys.remembered(), 2, "and the access cookie");
    // A refresh opens all three cookies and keeps none of them.
    edge.ports().route(
        &format!("{ISSUER}/token"),
        200,
        json!({"access_token": "at-2", "expires_in": 300, "refresh_token": "rt-2"}).to_string(),
    );
    let res = refresh(&edge, &jar, &csrf);
    assert_eq!(res.status(), 204);
    assert_eq!(keys.remembered(), 2, "no refresh token in memory");
    let jar = apply(&jar, &res);
    assert!(api(&edge, &jar).is_ok());
    assert_eq!(keys.remembered(), 3, "the new access cookie");
}

#[test]
fn a_remembered_cookie_is_judged_as_an_opened_one_expiry_and_end_of_session_included() {
    let edge = edge();
    let (jar, csrf) = signed_in(&edge, &Login::default());
    assert_eq!(session(&edge, &jar)["isLoggedIn"], true);
    assert!(api(&edge, &jar).is_ok());
    // The same last characters (the GCM tag) on another ciphertext: not the remembered value.
    let forged = edit(&jar, names::COOKIE_ACCESS, |v| {
        let mut p = parts(v);
        let mut bytes = URL_SAFE_NO_PAD.decode(&p[4]).unwrap();
        bytes[16] ^= 1; // the first ciphertext byte, after the salt; the tag (last 16) kept
        p[4] = URL_SAFE_NO_PAD.encode(bytes);
        p.join(".")
    });
    assert_eq!(api(&edge, &forged), Err((401, "session_expired".into())));
    // Past the access token's expiry, the remembered access cookie is absent as any other.
    edge.ports().now.set(NOW + 301);
    assert_eq!(api(&edge, &jar), Err((401, "unauthorized".into())));
    edge.ports().now.set(NOW + 10);
    // Logged out: the remembered ID cookie leads to no session.
    let res = call(
        &edge,
        request(
            "POST",
            "/auth/logout",
            &[
                ("origin", ORIGIN),
                ("x-edgeward-csrf", &csrf),
                ("cookie", &jar),
                ("content-type", "application/json"),
            ],
            "{}",
        ),
    );
    assert_eq!(res.status(), 200);
    assert_eq!(session(&edge, &jar)["isLoggedIn"], false);
    assert_eq!(api(&edge, &jar), Err((401, "session_expired".into())));
}
