//! Outside review of sealed format 3 and the one-cookie reads (ef4f54b). Each test performs an
//! attack; the header of each says whether it failed on the code as it landed (and what fixed
//! it) or documents a defence that held.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::rc::Rc;

use common::{
    call, code, config_with, cookie_value, edit, json, parts, pick, request, seal_format_2,
    signed_in, FakePorts, Login, SealNow, ISSUER, KEYS, ORIGIN,
};
use edgeward_core::cookie::seal::{CookieKeys, Label, OpenError};
use edgeward_core::{Edge, Outcome};
use edgeward_shared::names;
use serde_json::json;

const NOW: u64 = 1_700_000_000;
const ROUTES: &str = r#"[{"prefix": "/api/orders/", "upstream": "http://orders.test/",
    "methods": ["GET", "POST"]}]"#;
const MINT: &str = "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";

fn ports() -> FakePorts {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    ports.with_idp(json!({})).with_registry()
}

fn edge_with(ports: FakePorts) -> Edge<FakePorts> {
    Edge::new(
        config_with(&[("EDGEWARD_API_ROUTES", ROUTES), ("EDGEWARD_MINT_KEY", MINT)]),
        ports,
    )
}

fn edge() -> Edge<FakePorts> {
    edge_with(ports())
}

fn keys() -> CookieKeys {
    CookieKeys::parse(KEYS)
        .unwrap()
        .for_deployment(ORIGIN, "edgeward")
}

fn session(edge: &Edge<FakePorts>, cookies: &str) -> serde_json::Value {
    json(&call(
        edge,
        request("GET", "/auth/session", &[("cookie", cookies)], ""),
    ))
}

/// `method /api/orders/1` with `cookies` and `csrf`: `Ok(forwarded Authorization)` or the error.
fn api(
    edge: &Edge<FakePorts>,
    method: &str,
    cookies: &str,
    csrf: Option<&str>,
) -> Result<String, (u16, String)> {
    let mut headers = vec![("cookie", cookies), ("origin", ORIGIN)];
    if let Some(csrf) = csrf {
        headers.push(("x-edgeward-csrf", csrf));
    }
    match futures_executor::block_on(edge.handle(request(method, "/api/orders/1", &headers, ""))) {
        Outcome::Forward(f) => Ok(f.headers["authorization"].to_str().unwrap().to_owned()),
        Outcome::Respond(r) => Err(code(&r)),
    }
}

fn with_field(value: &str, i: usize, field: &str) -> String {
    let mut p = parts(value);
    p[i] = field.to_owned();
    p.join(".")
}

fn rng() -> FakePorts {
    FakePorts::default()
}

/// FAILED on ef4f54b: `assertion failed: left: Ok([118]) right: Err(Malformed)` ("leading
/// zeros"). The label's expiry was parsed as a number and written back into the associated
/// data in its canonical form, so `…​.2000.…` and `…​.0002000.…` authenticated as the same
/// value: the clear label could be changed without the value ceasing to open (the module's
/// promise: "a value whose label was changed does not open"), and one sealed value had many
/// spellings. Fixed: an expiry with a leading zero is malformed (`parse_exp`).
#[test]
fn review3_a_label_expiry_with_leading_zeros_does_not_open() {
    let keys = keys();
    let label = Label {
        tag: "t",
        expires_at: 2_000,
    };
    let sealed = keys.seal_now("c", label, b"v", &rng()).unwrap();
    assert_eq!(keys.open_now("c", &sealed, 1_000).unwrap().value, b"v");
    for spelling in ["02000", "0002000", "00000000000000002000"] {
        let respelled = with_field(&sealed, 3, spelling);
        assert_eq!(
            keys.open_now("c", &respelled, 1_000).map(|o| o.value),
            Err(OpenError::Malformed),
            "leading zeros: {spelling}"
        );
        assert_eq!(keys.peek(&respelled), Err(OpenError::Malformed));
    }
    // Zero itself is a number (always expired): written as one digit it parses.
    let zero = keys
        .seal_now(
            "c",
            Label {
                tag: "",
                expires_at: 0,
            },
            b"v",
            &rng(),
        )
        .unwrap();
    assert_eq!(parts(&zero)[3], "0");
    assert_eq!(keys.open_now("c", &zero, 0), Err(OpenError::Expired));
    assert_eq!(
        keys.open_now("c", &with_field(&zero, 3, "00"), 0),
        Err(OpenError::Malformed)
    );
}

/// The same attack through the edge: the ID cookie with its expiry respelled. FAILED on
/// ef4f54b (`/auth/session` answered `isLoggedIn: true` for the respelled cookie).
#[test]
fn review3_a_respelled_session_cookie_label_is_refused_by_the_session_read() {
    let edge = edge();
    let (jar, _) = signed_in(&edge, &Login::default());
    let respelled = edit(&jar, names::COOKIE_ID, |v| {
        let exp = parts(v)[3].clone();
        with_field(v, 3, &format!("0{exp}"))
    });
    assert_eq!(session(&edge, &jar)["isLoggedIn"], true);
    assert_eq!(session(&edge, &respelled)["isLoggedIn"], false);
}

/// HELD: malformed labels of every kind (empty fields, signs, unicode, overflow, dots in the
/// tag) are refused, and a value's clear label is bound to what opens it.
#[test]
fn review3_label_parsing_ambiguities_are_refused() {
    let keys = keys();
    let sealed = keys
        .seal_now(
            "c",
            Label {
                tag: "tag",
                expires_at: 2_000,
            },
            b"v",
            &rng(),
        )
        .unwrap();
    let p = parts(&sealed);
    let payload = &p[4];
    let table: Vec<(&str, String)> = vec![
        ("empty kid", format!("3..tag.2000.{payload}")),
        ("empty exp", format!("3.k1.tag..{payload}")),
        ("empty payload", "3.k1.tag.2000.".into()),
        ("six fields", format!("3.k1.tag.2000.x.{payload}")),
        ("dot moved into the tag", format!("3.k1.ta.g.2000{payload}")),
        ("unicode digit", format!("3.k1.tag.２000.{payload}")),
        ("unicode tag", format!("3.k1.tág.2000.{payload}")),
        ("space", format!("3.k1.tag. 2000.{payload}")),
        ("negative", format!("3.k1.tag.-2000.{payload}")),
        (
            "u64 overflow",
            format!("3.k1.tag.18446744073709551616.{payload}"),
        ),
        ("version 03", format!("03.k1.tag.2000.{payload}")),
        (
            "format 2 spelling of a format-3 payload",
            format!("2.k1.{payload}"),
        ),
        ("padded payload", format!("{sealed}=")),
    ];
    for (what, value) in table {
        let opened = keys.open_now("c", &value, 1_000);
        assert!(opened.is_err(), "{what}: {value} opened");
    }
    // u64::MAX parses, and binds: the largest expiry relabelled does not open.
    assert_eq!(
        keys.open_now("c", &with_field(&sealed, 3, &u64::MAX.to_string()), 1_000),
        Err(OpenError::Forged)
    );
}

/// HELD: the associated data `edgeward/3/<kid>/<deployment>/<name>/<tag>/<exp>` cannot be
/// made equal for two different (deployment, name, tag, expiry): the tag, expiry, name and kid
/// carry no `/`, so splitting from the right is unique, and the deployment is what is left.
/// Deployments whose origins or client ids contain `/` and spaces do not open each other's
/// values.
#[test]
fn review3_associated_data_is_unambiguous_across_deployments() {
    let deployments = [
        ("https://app.example", "edgeward"),
        ("https://app.example/a", "edgeward"),
        ("https://app.example", "a/edgeward"),
        ("https://app.example/a edgeward", ""),
        ("https://app.example", "edgeward/__Host-edgeward-id"),
        ("https://app.example edgeward/__Host-edgeward-id", ""),
    ];
    let label = Label {
        tag: "t",
        expires_at: 2_000,
    };
    for (i, (o1, c1)) in deployments.iter().enumerate() {
        let k1 = CookieKeys::parse(KEYS).unwrap().for_deployment(o1, c1);
        let sealed = k1.seal_now(names::COOKIE_ID, label, b"v", &rng()).unwrap();
        for (j, (o2, c2)) in deployments.iter().enumerate() {
            let k2 = CookieKeys::parse(KEYS).unwrap().for_deployment(o2, c2);
            for name in names::ALL_COOKIES {
                let opened = k2.open_now(name, &sealed, 1_000).is_ok();
                assert_eq!(
                    opened,
                    i == j && name == names::COOKIE_ID,
                    "sealed for {o1:?} {c1:?} {}, opened as {o2:?} {c2:?} {name}",
                    names::COOKIE_ID
                );
            }
        }
    }
}

/// HELD: the CSRF value `/auth/session` hands out is the ID cookie's; the proxy checks the
/// access cookie's own. A jar mixing Mallory's ID and refresh cookies with the victim's access
/// cookie (as it is, or with its label's expiry lowered so the session read takes it for
/// absent) never gets a state-changing call forwarded with the victim's token.
#[test]
fn review3_a_mixed_jar_gets_no_csrf_value_that_unlocks_another_sessions_access_cookie() {
    let edge = edge();
    let (victim, _victim_csrf) = signed_in(
        &edge,
        &Login {
            sub: "victim",
            access: "victim-at",
            refresh: Some("victim-rt"),
            ..Default::default()
        },
    );
    let (mallory, mallory_csrf) = signed_in(
        &edge,
        &Login {
            sub: "mallory",
            access: "mallory-at",
            refresh: Some("mallory-rt"),
            ..Default::default()
        },
    );
    let mixed = format!(
        "{}; {}",
        pick(&mallory, &[names::COOKIE_ID, names::COOKIE_REFRESH]),
        pick(&victim, &[names::COOKIE_ACCESS])
    );
    // As it is: the labels disagree, the session read says signed out.
    let read = session(&edge, &mixed);
    assert_eq!(read["isLoggedIn"], false);
    // Mallory's CSRF value with the victim's access cookie: refused.
    assert_eq!(
        api(&edge, "POST", &mixed, Some(&mallory_csrf)),
        Err((403, "csrf_rejected".into()))
    );
    // The access cookie's label expiry lowered: the session read takes it for absent and
    // answers Mallory's session, with her CSRF value ...
    let lowered = edit(&mixed, names::COOKIE_ACCESS, |v| with_field(v, 3, "1"));
    let read = session(&edge, &lowered);
    assert_eq!(read["isLoggedIn"], true);
    assert_eq!(read["claims"]["sub"], "mallory");
    assert_eq!(read["csrf"], mallory_csrf.as_str());
    // ... and the proxy takes it for absent too: nothing is forwarded with either method.
    assert_eq!(
        api(&edge, "POST", &lowered, Some(&mallory_csrf)),
        Err((401, "unauthorized".into()))
    );
    assert_eq!(
        api(&edge, "GET", &lowered, None),
        Err((401, "unauthorized".into()))
    );
    // Nothing ever reached introspection with the victim's token.
    let bodies = edge
        .ports()
        .bodies_to(&format!("{ISSUER}/token/introspection"));
    assert!(
        bodies.iter().all(|b| !b.contains("victim-at")),
        "{bodies:?}"
    );
}

/// HELD: the ended-session path of `/auth/session` revokes the refresh token only when it
/// opens and carries the ended session's binding. A session Mallory ended (logged out in one
/// isolate), read in another isolate beside the victim's refresh cookie relabelled with her tag,
/// ends without the victim's refresh token going to the IdP's revocation endpoint; her own
/// refresh cookie there is revoked (the path works).
#[test]
fn review3_the_ended_session_path_revokes_no_other_sessions_refresh_token() {
    let first = edge();
    let (victim, _) = signed_in(
        &first,
        &Login {
            sub: "victim",
            access: "victim-at",
            refresh: Some("victim-rt"),
            ..Default::default()
        },
    );
    let (mallory, mallory_csrf) = signed_in(
        &first,
        &Login {
            sub: "mallory",
            access: "mallory-at",
            refresh: Some("mallory-rt"),
            ..Default::default()
        },
    );
    // Mallory logs out in the first isolate (her binding goes on the shared deny-list).
    let out = call(
        &first,
        request(
            "POST",
            "/auth/logout",
            &[
                ("origin", ORIGIN),
                ("x-edgeward-csrf", &mallory_csrf),
                ("cookie", &mallory),
                ("content-type", "application/json"),
            ],
            "{}",
        ),
    );
    assert_eq!(out.status(), 200);
    // A second isolate, same registry.
    let second_ports = ports();
    *second_ports.registry.borrow_mut() = Some(Rc::clone(&first.ports().shards()));
    let second = edge_with(second_ports);
    let revocation = format!("{ISSUER}/token/revocation");
    let mallory_tag = parts(&cookie_value(&mallory, names::COOKIE_ID).unwrap())[2].clone();
    let mixed = format!(
        "{}; {}",
        pick(&mallory, &[names::COOKIE_ID]),
        edit(
            &pick(&victim, &[names::COOKIE_REFRESH]),
            names::COOKIE_REFRESH,
            |v| with_field(v, 2, &mallory_tag)
        )
    );
    assert_eq!(session(&second, &mixed)["isLoggedIn"], false);
    assert!(
        second
            .ports()
            .bodies_to(&revocation)
            .iter()
            .all(|b| !b.contains("victim-rt")),
        "the victim's refresh token was revoked by Mallory's ended session"
    );
    // A third isolate: Mallory's own jar there has her own refresh token revoked.
    let third_ports = ports();
    *third_ports.registry.borrow_mut() = Some(Rc::clone(&first.ports().shards()));
    let third = edge_with(third_ports);
    assert_eq!(session(&third, &mallory)["isLoggedIn"], false);
    assert_eq!(
        third.ports().bodies_to(&revocation),
        vec!["token=mallory-rt&token_type_hint=refresh_token".to_owned()]
    );
}

/// HELD: a format-2 cookie in a jar sends the session read to the full read (every cookie
/// opened, bindings compared), never to a more lenient one. Mallory's format-3 ID cookie beside
/// the victim's token cookies re-sealed in format 2 (a jar of the release before) is refused
/// by the session read, refresh and the proxy alike; the victim's refresh token never reaches
/// the IdP.
#[test]
fn review3_a_format_2_cookie_in_a_mixed_jar_gets_the_strict_read() {
    let edge = edge();
    let (victim, _) = signed_in(
        &edge,
        &Login {
            sub: "victim",
            access: "victim-at",
            refresh: Some("victim-rt"),
            ..Default::default()
        },
    );
    let (mallory, mallory_csrf) = signed_in(
        &edge,
        &Login {
            sub: "mallory",
            ..Default::default()
        },
    );
    let keys = &edge.config().cookie_keys;
    let downgraded = |name: &str| {
        let v = cookie_value(&victim, name).unwrap();
        let opened = keys
            .open_json_now::<serde_json::Value>(name, &v, NOW)
            .unwrap();
        format!(
            "{name}={}",
            seal_format_2(name, &opened.value, opened.expires_at, 5)
        )
    };
    let mixed = format!(
        "{}; {}; {}",
        pick(&mallory, &[names::COOKIE_ID]),
        downgraded(names::COOKIE_ACCESS),
        downgraded(names::COOKIE_REFRESH)
    );
    assert!(cookie_value(&mixed, names::COOKIE_REFRESH)
        .unwrap()
        .starts_with("2.k1."));
    assert_eq!(session(&edge, &mixed)["isLoggedIn"], false);
    let res = common::refresh(&edge, &mixed, &mallory_csrf);
    assert_eq!(code(&res), (401, "session_expired".into()));
    assert!(edge
        .ports()
        .bodies_to(&format!("{ISSUER}/token"))
        .iter()
        .all(|b| !b.contains("victim-rt")));
    // The proxy judges the access cookie alone (as designed): the victim's own access cookie,
    // format 2 or 3, is the victim's, with the victim's CSRF value, never Mallory's.
    assert_eq!(
        api(&edge, "POST", &mixed, Some(&mallory_csrf)),
        Err((403, "csrf_rejected".into()))
    );
}
