//! Outside review (round 4) of the agent's and oidc's changes for issues 14 and 15: several
//! providers on one worker, fixed authorization parameters, userinfo claims, silent sign-in.
//! Each test performs an attack; its header says whether it failed on the code as it landed
//! (the failure line, and what fixed it) or documents a defence that held ("HELD").
//!
//! Two providers, `a` (the default) and `b`, as in `multi_provider.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use common::two_providers::{backchannel, idp, serve, session, sign, A, B, NOW, PROVIDERS};
use common::{call, cookie_header, json, request, set_cookies, FakePorts, KEYS, ORIGIN};
use edgeward_core::{Config, Edge};
use serde_json::{json, Value};

fn config_result(providers: &str, extra: &[(&str, &str)]) -> Result<Config, String> {
    let mut vars: HashMap<&str, &str> = [
        ("EDGEWARD_PROFILE", "local"),
        ("EDGEWARD_ORIGIN", ORIGIN),
        ("EDGEWARD_COOKIE_KEYS", KEYS),
        ("EDGEWARD_PROVIDERS", providers),
        ("OIDC_CLIENT_SECRET_A", "secret-a"),
        ("OIDC_CLIENT_SECRET_B", "secret-b"),
    ]
    .into_iter()
    .collect();
    vars.extend(extra.iter().copied());
    Config::from_vars(|name| vars.get(name).map(|v| (*v).to_owned())).map_err(|e| e.to_string())
}

fn edge_of(providers: &str, extra: &[(&str, &str)]) -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    serve(&ports, "a", json!({}));
    serve(&ports, "b", json!({}));
    Edge::new(
        config_result(providers, extra).unwrap(),
        ports.with_registry(),
    )
}

/// A login started for provider `id`: the authorization request's query and the login cookie.
fn started(edge: &Edge<FakePorts>, id: &str) -> (HashMap<String, String>, String) {
    let res = call(
        edge,
        request(
            "POST",
            "/auth/login/start",
            &[("origin", ORIGIN), ("content-type", "application/json")],
            &json!({ "provider": id }).to_string(),
        ),
    );
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let url = url::Url::parse(json(&res)["authorizationUrl"].as_str().unwrap()).unwrap();
    let query = url.query_pairs().into_owned().collect();
    let (_, cookie, _) = set_cookies(&res).remove(0);
    (query, cookie)
}

/// Provider `by` answers the login's token request with an ID token of `claims` (besides
/// `iss`, `aud`, `nonce`, the times).
fn tokens_from(edge: &Edge<FakePorts>, by: &str, nonce: &str, claims: Value) {
    let (issuer, client, key) = idp(by);
    let mut id_claims = json!({"iss": issuer, "aud": client, "nonce": nonce,
                              "iat": NOW, "exp": NOW + 300});
    // `_at`: the access token to answer with (else `at-<by>`).
    let mut access = format!("at-{by}");
    for (k, v) in claims.as_object().unwrap() {
        match k.as_str() {
            "_at" => access = v.as_str().unwrap().to_owned(),
            _ => id_claims[k] = v.clone(),
        }
    }
    edge.ports().route(
        &format!("{issuer}/token"),
        200,
        json!({"access_token": access, "token_type": "Bearer", "expires_in": 300,
               "refresh_token": format!("rt-{by}"), "id_token": sign(key, &id_claims, None)})
        .to_string(),
    );
}

/// Provider `id`'s user signs in with an ID token of `claims`: login/end's answer.
fn sign_in_with(edge: &Edge<FakePorts>, id: &str, claims: Value) -> edgeward_core::Response {
    sign_in_at(edge, id, id, claims)
}

/// A user signs in with provider `id`, whose IdP is `by` (`a` or `b`).
fn sign_in_at(
    edge: &Edge<FakePorts>,
    id: &str,
    by: &str,
    claims: Value,
) -> edgeward_core::Response {
    let (q, login) = started(edge, id);
    tokens_from(edge, by, &q["nonce"], claims);
    common::post_login_end(
        edge,
        &format!("{ORIGIN}/callback?code=the-code&state={}", q["state"]),
        &format!("__Host-edgeward-login={login}"),
    )
}

fn logout_token(by: &str, jti: &str, sub: Option<&str>, sid: Option<&str>) -> String {
    let (issuer, client, key) = idp(by);
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

// ---- OIDC_AUTH_PARAMS ----

/// FAILED as landed: `acr_values fixed by the deployment is enforced (...): left: 200 right: 400`.
/// `OIDC_AUTH_PARAMS` (member `authParams`) fixes `acr_values=urn:mfa` for every login, but
/// the authorization URL travels through the user's browser: without PAR the user strips the
/// parameter (or edits it), signs in with a password only, and the ID token's `acr` was never
/// compared with what the deployment fixed (only the SPA's own `acr_values` were). Fixed: the
/// fixed `acr_values` are what the ID token's `acr` must meet, as the SPA's are.
#[test]
fn review4_fixed_acr_values_are_enforced_on_the_id_token() {
    let providers = r#"[
        {"id": "a", "issuer": "http://idp-a.test", "clientId": "edge-a",
         "allowedParams": ["prompt", "login_hint"], "authParams": "acr_values=urn:mfa"},
        {"id": "b", "issuer": "http://idp-b.test", "clientId": "edge-b"}
    ]"#;
    let edge = edge_of(providers, &[]);
    let (q, _) = started(&edge, "a");
    assert_eq!(q.get("acr_values").map(String::as_str), Some("urn:mfa"));
    // The user removed acr_values from the URL; the provider signed them in with a password.
    for claims in [
        json!({"sub": "alice", "acr": "urn:pwd"}),
        json!({"sub": "alice"}),
    ] {
        let res = sign_in_with(&edge, "a", claims.clone());
        assert_eq!(
            res.status(),
            400,
            "acr_values fixed by the deployment is enforced ({claims})"
        );
        assert_eq!(json(&res)["code"], "login_failed");
    }
    // The fixed value met: signed in.
    let res = sign_in_with(&edge, "a", json!({"sub": "alice", "acr": "urn:mfa"}));
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
}

/// FAILED as landed: `max_age fixed by the deployment is enforced ({"auth_time":1699990000,...})
/// left: 200 right: 400`. The same for `max_age=300` in `authParams` (re-authentication at
/// least every five minutes): the user removed it from the URL and came back with a day-old
/// IdP session, and the ID token's `auth_time` was never compared (OpenID Connect Core
/// §3.1.2.1: with `max_age`, `auth_time` is required and the client checks it). Fixed: with
/// `max_age` fixed (or sent by the SPA when allowed), the ID token must carry an `auth_time`
/// no older than that.
#[test]
fn review4_a_fixed_max_age_is_enforced_on_auth_time() {
    let providers = r#"[
        {"id": "a", "issuer": "http://idp-a.test", "clientId": "edge-a",
         "authParams": "max_age=300"},
        {"id": "b", "issuer": "http://idp-b.test", "clientId": "edge-b",
         "allowedParams": ["prompt", "max_age"]}
    ]"#;
    let edge = edge_of(providers, &[]);
    let (q, _) = started(&edge, "a");
    assert_eq!(q.get("max_age").map(String::as_str), Some("300"));
    for claims in [
        json!({"sub": "alice", "auth_time": NOW - 10_000}),
        json!({"sub": "alice"}),
    ] {
        let res = sign_in_with(&edge, "a", claims.clone());
        assert_eq!(
            res.status(),
            400,
            "max_age fixed by the deployment is enforced ({claims})"
        );
        assert_eq!(json(&res)["code"], "login_failed");
    }
    let res = sign_in_with(&edge, "a", json!({"sub": "alice", "auth_time": NOW - 100}));
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    // The SPA's own max_age (where allowed) holds the same way; a value that is not a number
    // of seconds is refused at start.
    let start_b = |max_age: &str| {
        call(
            &edge,
            request(
                "POST",
                "/auth/login/start",
                &[("origin", ORIGIN), ("content-type", "application/json")],
                &json!({"provider": "b", "extraParams": {"max_age": max_age}}).to_string(),
            ),
        )
    };
    assert_eq!(start_b("soon").status(), 400, "max_age is a number");
    let res = start_b("60");
    assert_eq!(res.status(), 200);
    let url = url::Url::parse(json(&res)["authorizationUrl"].as_str().unwrap()).unwrap();
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let (_, login, _) = set_cookies(&res).remove(0);
    tokens_from(
        &edge,
        "b",
        &q["nonce"],
        json!({"sub": "bob", "auth_time": NOW - 600}),
    );
    let res = common::post_login_end(
        &edge,
        &format!("{ORIGIN}/callback?code=the-code&state={}", q["state"]),
        &format!("__Host-edgeward-login={login}"),
    );
    assert_eq!(res.status(), 400, "the SPA's max_age is enforced");
    // A fixed max_age that is not a number is a configuration error.
    let bad = r#"[{"id": "a", "issuer": "http://idp-a.test", "clientId": "edge-a",
                   "authParams": "max_age=5m"}]"#;
    let err = config_result(bad, &[]).unwrap_err();
    assert!(err.contains("max_age must be a number"), "{err}");
}

// ---- Registry keys across providers ----

/// FAILED as landed (stateless, the first case): `b's logout of its alice ends no session of a's
/// left: Bool(false) right: true`. The registry knows the default provider's users by their `sub`
/// as it is and another provider's as `<id>` U+001F `<sub>` (`sessions::scoped`). Back-channel
/// logout refuses a default-provider token whose `sub` or `sid` holds a control character, but
/// login did not: an ID token of `a` with `sub` `"b\u{1f}alice"` made a session the registry took
/// for `b`'s alice. `b`'s logout token for alice then ended it, and in server mode `b`'s (or an
/// admin's) revocation for alice would send `a`'s refresh token to `b`'s revocation endpoint.
/// Fixed: login refuses an ID token whose `sub` or `sid` holds a control character (no provider
/// issues one; OpenID Connect Core §2 makes `sub` printable ASCII at most 255 long).
#[test]
fn review4_a_sub_of_the_default_provider_cannot_spell_another_providers_user() {
    for mode in ["stateless", "server"] {
        // b's logout token names its alice by sub, or her IdP session by sid.
        for (sub, sid, by_sub, by_sid) in [
            ("b\u{1f}alice", "sid-x", Some("alice"), None),
            ("mallory", "b\u{1f}sid-alice", None, Some("sid-alice")),
        ] {
            let edge = edge_of(PROVIDERS, &[("EDGEWARD_SESSION_MODE", mode)]);
            let res = sign_in_with(&edge, "a", json!({"sub": sub, "sid": sid}));
            if res.status() != 200 {
                // Refused at login: the registry never holds such a key.
                assert_eq!(res.status(), 400, "{mode}");
                assert_eq!(json(&res)["code"], "login_failed", "{mode}");
                continue;
            }
            let cookies = cookie_header(res.headers());
            assert_eq!(session(&edge, &cookies)["isLoggedIn"], true);
            let res = backchannel(&edge, &logout_token("b", "j1", by_sub, by_sid));
            assert_eq!(res.status(), 200, "{mode}: {:?}", json(&res));
            assert_eq!(
                session(&edge, &cookies)["isLoggedIn"],
                true,
                "{mode} {sub:?}/{sid:?}: b's logout of its alice ends no session of a's"
            );
        }
    }
}

/// The same spelling through the admin endpoint: `sub=b%1Falice` of the default provider is
/// `b`'s alice to the registry. FAILED as landed: `an admin's sub for a names no user of b:
/// left: 200 right: 400`. Fixed: a `sub=` holding a control character is 400.
#[test]
fn review4_an_admin_sub_cannot_spell_another_providers_user() {
    let admin = "an-admin-token-of-at-least-32-characters";
    let edge = edge_of(
        PROVIDERS,
        &[
            ("EDGEWARD_SESSION_MODE", "server"),
            ("EDGEWARD_ADMIN_TOKEN", admin),
        ],
    );
    let res = sign_in_with(&edge, "b", json!({"sub": "alice", "sid": "s1"}));
    assert_eq!(res.status(), 200);
    let cookies = cookie_header(res.headers());
    let bearer = format!("Bearer {admin}");
    let res = call(
        &edge,
        request(
            "DELETE",
            "/auth/admin/sessions?sub=b%1Falice",
            &[("authorization", bearer.as_str())],
            "",
        ),
    );
    assert_eq!(res.status(), 400, "an admin's sub for a names no user of b");
    assert_eq!(session(&edge, &cookies)["isLoggedIn"], true);
    // b's alice, asked for as such, is hers to end.
    let res = call(
        &edge,
        request(
            "DELETE",
            "/auth/admin/sessions?sub=alice&provider=b",
            &[("authorization", bearer.as_str())],
            "",
        ),
    );
    assert_eq!(res.status(), 200);
    assert_eq!(session(&edge, &cookies)["isLoggedIn"], false);
}

// ---- Back-channel logout with providers sharing an issuer ----

/// FAILED as landed: `the logout token ends the user's session signed in through the second
/// entry left: Bool(true) right: false`. Two entries of one client at one issuer (Auth0's
/// `connection` per sign-in button: `authParams` differ, issuer and client are the same) are
/// legal, and a user may sign in through either. A logout token of that issuer was taken by the
/// first entry whose checks it passed, and ended only the sessions recorded for it: the same
/// user's session through the second entry lived on after the provider logged them out.
/// Fixed: a logout token ends what it names for every provider whose checks it passes.
#[test]
fn review4_a_logout_token_reaches_every_entry_of_its_client() {
    let providers = r#"[
        {"id": "google", "issuer": "http://idp-a.test", "clientId": "edge-a",
         "authParams": "connection=google-oauth2"},
        {"id": "github", "issuer": "http://idp-a.test", "clientId": "edge-a",
         "authParams": "connection=github"},
        {"id": "b", "issuer": "http://idp-b.test", "clientId": "edge-b"}
    ]"#;
    let secrets = [
        ("OIDC_CLIENT_SECRET_GOOGLE", "secret-a"),
        ("OIDC_CLIENT_SECRET_GITHUB", "secret-a"),
    ];
    for mode in ["stateless", "server"] {
        let mut extra = vec![("EDGEWARD_SESSION_MODE", mode)];
        extra.extend(secrets);
        for (by_sub, by_sid) in [(Some("google-oauth2|1"), None), (None, Some("s-2"))] {
            let edge = edge_of(providers, &extra);
            let claims = json!({"sub": "google-oauth2|1", "sid": "s-2"});
            let res = sign_in_at(&edge, "github", "a", claims.clone());
            assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
            let second = cookie_header(res.headers());
            let res = sign_in_at(&edge, "google", "a", claims);
            assert_eq!(res.status(), 200);
            let first = cookie_header(res.headers());
            let res = sign_in_at(
                &edge,
                "b",
                "b",
                json!({"sub": "google-oauth2|1", "sid": "s-2"}),
            );
            assert_eq!(res.status(), 200);
            let other = cookie_header(res.headers());

            let res = backchannel(&edge, &logout_token("a", "j1", by_sub, by_sid));
            assert_eq!(res.status(), 200, "{mode}: {:?}", json(&res));
            assert_eq!(session(&edge, &first)["isLoggedIn"], false, "{mode}");
            assert_eq!(
                session(&edge, &second)["isLoggedIn"],
                false,
                "{mode} {by_sub:?}/{by_sid:?}: the logout token ends the user's session signed \
                 in through the second entry"
            );
            assert_eq!(
                session(&edge, &other)["isLoggedIn"],
                true,
                "{mode}: another issuer's user of the same sub lives"
            );
            // Replayed: refused, whichever entry it would reach.
            let res = backchannel(&edge, &logout_token("a", "j1", by_sub, by_sid));
            assert_eq!(res.status(), 400, "{mode}: a replay");
        }
    }
}

// ---- Providers reordered or removed ----

/// HELD: the default provider's sessions record no provider (`None`), so reordering the list
/// could make them another provider's. It does not: a session is its provider's only while
/// that provider still has the session's issuer (`sessions::provider_of`), a session naming
/// the provider that is now the first is refused (`Context::session_provider`), and the cookie
/// keys are derived with the first provider's client id. Reordered: every session is signed
/// out, none taken for another provider's (in both modes); removed: the removed provider's
/// sessions are signed out. Caveat (not fixed, reported): two entries of one client at one
/// issuer, reordered, do take each other's sessions (both are the same client's users).
#[test]
fn review4_reordered_or_removed_providers_take_no_sessions() {
    let reordered = r#"[
        {"id": "b", "name": "Customers", "issuer": "http://idp-b.test", "clientId": "edge-b",
         "clientAuth": "client_secret_post"},
        {"id": "a", "name": "Staff", "issuer": "http://idp-a.test", "clientId": "edge-a"}
    ]"#;
    let a_removed = r#"[
        {"id": "b", "name": "Customers", "issuer": "http://idp-b.test", "clientId": "edge-b",
         "clientAuth": "client_secret_post"}
    ]"#;
    let b_removed = r#"[
        {"id": "a", "name": "Staff", "issuer": "http://idp-a.test", "clientId": "edge-a"}
    ]"#;
    for mode in ["stateless", "server"] {
        let extra = [("EDGEWARD_SESSION_MODE", mode)];
        let edge = edge_of(PROVIDERS, &extra);
        let res = sign_in_with(&edge, "a", json!({"sub": "42", "sid": "sa"}));
        let a = cookie_header(res.headers());
        let res = sign_in_with(&edge, "b", json!({"sub": "42", "sid": "sb"}));
        let b = cookie_header(res.headers());
        assert_eq!(session(&edge, &a)["provider"], "a");
        assert_eq!(session(&edge, &b)["provider"], "b");
        // The same registry (server mode: the store) under the new configuration.
        let later = |providers: &str| {
            let ports = FakePorts::default();
            ports.now.set(NOW);
            serve(&ports, "a", json!({}));
            serve(&ports, "b", json!({}));
            *ports.registry.borrow_mut() = Some(edge.ports().shards());
            Edge::new(config_result(providers, &extra).unwrap(), ports)
        };
        for (providers, name) in [(reordered, "reordered"), (a_removed, "a removed")] {
            let edge = later(providers);
            for (cookies, who) in [(&a, "a"), (&b, "b")] {
                let answer = session(&edge, cookies);
                assert_ne!(
                    answer["isLoggedIn"], true,
                    "{mode} {name}: {who}'s session is not taken as another's: {answer}"
                );
            }
        }
        let edge = later(b_removed);
        assert_ne!(session(&edge, &b)["isLoggedIn"], true, "{mode}: b removed");
        assert_eq!(session(&edge, &a)["isLoggedIn"], true, "{mode}: a's lives");
    }
}

// ---- Phantom tokens across providers ----

/// HELD: two providers hand out the same opaque access token string to their user 42 (both
/// django-oauth-toolkit: short random tokens, database ids). `a`'s answer about it is cached;
/// `b`'s session presenting the same string is introspected at `b` (which says it is no longer
/// active): refused, never served `a`'s cached JWT. The cache key holds the provider's id,
/// issuer and client id (`proxy::forward::cache_key`).
#[test]
fn review4_the_phantom_cache_is_per_provider() {
    let routes =
        r#"[{"prefix": "/api/orders/", "upstream": "http://orders.test/", "methods": ["GET"]}]"#;
    let edge = edge_of(
        PROVIDERS,
        &[
            ("EDGEWARD_API_ROUTES", routes),
            (
                "EDGEWARD_MINT_KEY",
                "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
            ),
            ("EDGEWARD_PHANTOM_MODE", "introspect-mint"),
        ],
    );
    let res = sign_in_with(&edge, "a", json!({"sub": "42", "_at": "same-token"}));
    let a = cookie_header(res.headers());
    let res = sign_in_with(&edge, "b", json!({"sub": "42", "_at": "same-token"}));
    let b = cookie_header(res.headers());
    let api = |cookies: &str| {
        common::outcome(
            &edge,
            request("GET", "/api/orders/1", &[("cookie", cookies)], ""),
        )
    };
    assert!(
        matches!(api(&a), edgeward_core::Outcome::Forward(_)),
        "a's call goes through"
    );
    edge.ports().route(
        &format!("{B}/introspect"),
        200,
        json!({"active": false}).to_string(),
    );
    match api(&b) {
        edgeward_core::Outcome::Respond(res) => assert_eq!(res.status(), 401),
        edgeward_core::Outcome::Forward(f) => panic!("b's revoked token forwarded to {}", f.url),
    }
    assert_eq!(edge.ports().calls_to(&format!("{B}/introspect")), 1);
    assert_eq!(edge.ports().calls_to(&format!("{A}/introspect")), 1);
}

// ---- Admin: a session handle of another user or provider ----

/// FAILED as landed: `a handle of b's alice is not a's alice's (or b's bob's) to delete
/// left: 1 right: 0` (`revoked`).
/// `DELETE /auth/admin/sessions?sub=alice&session=<handle>` deleted whatever session had that
/// handle in the user's shard, whoever's it was, and revoked its refresh token at the provider
/// the query named: with `&provider=b` left out (or another user's handle pasted), `b`'s
/// session was deleted and its refresh token sent to `a`'s revocation endpoint, with `a`'s
/// client credentials. Fixed: a handle is deleted only when it is one of the named user's
/// sessions at the named provider; else the answer is an unknown handle's (`{"revoked": 0}`),
/// nothing deleted or revoked.
#[test]
fn review4_an_admin_deletes_a_handle_only_of_the_user_and_provider_named() {
    let admin = "an-admin-token-of-at-least-32-characters";
    let edge = edge_of(
        PROVIDERS,
        &[
            ("EDGEWARD_SESSION_MODE", "server"),
            ("EDGEWARD_SESSION_SHARDS", "1"),
            ("EDGEWARD_ADMIN_TOKEN", admin),
        ],
    );
    let res = sign_in_with(&edge, "b", json!({"sub": "alice", "sid": "s1"}));
    assert_eq!(res.status(), 200);
    let cookies = cookie_header(res.headers());
    let bearer = format!("Bearer {admin}");
    let admin_call = |method: &str, query: &str| {
        call(
            &edge,
            request(
                method,
                &format!("/auth/admin/sessions?{query}"),
                &[("authorization", bearer.as_str())],
                "",
            ),
        )
    };
    let listed = json(&admin_call("GET", "sub=alice&provider=b"));
    let handle = listed["sessions"][0]["handle"].as_str().unwrap().to_owned();
    for query in [
        format!("sub=alice&session={handle}"),
        format!("sub=bob&session={handle}&provider=b"),
    ] {
        let res = admin_call("DELETE", &query);
        assert_eq!(res.status(), 200, "{query}");
        assert_eq!(
            json(&res)["revoked"],
            0,
            "{query}: a handle of b's alice is not a's alice's (or b's bob's) to delete"
        );
        assert_eq!(session(&edge, &cookies)["isLoggedIn"], true, "{query}");
        assert_eq!(edge.ports().calls_to(&format!("{A}/revoke")), 0);
    }
    let res = admin_call("DELETE", &format!("sub=alice&session={handle}&provider=b"));
    assert_eq!(res.status(), 200);
    assert_eq!(json(&res)["revoked"], 1);
    assert_eq!(session(&edge, &cookies)["isLoggedIn"], false);
    assert_eq!(edge.ports().calls_to(&format!("{B}/revoke")), 1);
    assert_eq!(edge.ports().calls_to(&format!("{A}/revoke")), 0);
}

// ---- PAR with the client's credentials in the form ----

/// FAILED as landed: `client_id once in the pushed request left: 2 right: 1`. With
/// `client_secret_post` (or `private_key_jwt`) the client authentication adds `client_id` to
/// the form, and the pushed authorization request already had it: the parameter went twice,
/// which RFC 6749 §3.1 forbids (a strict provider refuses every login with `invalid_request`;
/// a lax one may read either). Fixed: a pushed request carries `client_id` once.
#[test]
fn review4_a_pushed_request_names_the_client_once() {
    let providers = r#"[
        {"id": "a", "issuer": "http://idp-a.test", "clientId": "edge-a"},
        {"id": "b", "issuer": "http://idp-b.test", "clientId": "edge-b",
         "clientAuth": "client_secret_post", "par": "always"}
    ]"#;
    let ports = FakePorts::default();
    ports.now.set(NOW);
    serve(&ports, "a", json!({}));
    serve(&ports, "b", json!({}));
    let (issuer, _, _) = idp("b");
    let mut discovery: Value = serde_json::from_str(
        &ports.routes.borrow()[&format!("{issuer}/.well-known/openid-configuration")].2,
    )
    .unwrap();
    discovery["pushed_authorization_request_endpoint"] = json!(format!("{B}/par"));
    ports.route(
        &format!("{issuer}/.well-known/openid-configuration"),
        200,
        discovery.to_string(),
    );
    ports.route(
        &format!("{B}/par"),
        201,
        json!({"request_uri": "urn:ietf:params:oauth:request_uri:x", "expires_in": 60}).to_string(),
    );
    let edge = Edge::new(
        config_result(providers, &[]).unwrap(),
        ports.with_registry(),
    );
    let (q, _) = started(&edge, "b");
    assert_eq!(q["request_uri"], "urn:ietf:params:oauth:request_uri:x");
    let body = edge.ports().bodies_to(&format!("{B}/par")).remove(0);
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let client_ids: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "client_id")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(client_ids.len(), 1, "client_id once in the pushed request");
    assert_eq!(client_ids, ["edge-b"]);
    assert!(pairs
        .iter()
        .any(|(k, v)| k == "client_secret" && v == "secret-b"));
}

// ---- EDGEWARD_PROVIDERS validation ----

/// Odd entries, each refused with the variable named and no secret shown. HELD for all but one.
/// FAILED as landed for the id `id` with `private_key_jwt`: `EDGEWARD_PROVIDERS: provider
/// "id": OIDC_CLIENT_KEY_ID is not set (private_key_jwt needs it)`. Its key variable,
/// `OIDC_CLIENT_KEY_` + `ID`, is the plain `OIDC_CLIENT_KEY_ID`, which beside the list is
/// refused as a single-provider setting: the errors sent the operator in a circle. Fixed: an
/// id whose secret variable is another setting's is refused as an id (fail-closed before
/// too: configuration, not a hole).
#[test]
fn review4_odd_provider_entries_are_refused_clearly() {
    let entry = |extra: &str| {
        format!(r#"[{{"id": "a", "issuer": "http://idp-a.test", "clientId": "edge-a"{extra}}}]"#)
    };
    let table: Vec<(String, Vec<(&str, &str)>, &str)> = vec![
        (
            entry(r#", "requireIss": 1"#),
            vec![],
            "requireIss must be a string",
        ),
        (entry(r#", "par": "sometimes""#), vec![], "\"par\""),
        (
            entry(r#", "tenants": ["common"]"#),
            vec![],
            "stands for many tenants",
        ),
        (
            entry(r#", "name": "  ""#),
            vec![],
            "name must be a string of 1 to 64",
        ),
        (
            entry(r#", "authParams": "client_assertion=x""#),
            vec![],
            "set by edgeward itself",
        ),
        (
            entry(r#", "authParams": "request_uri=urn:x""#),
            vec![],
            "set by edgeward itself",
        ),
        (
            entry(r#", "allowedParams": ["request"]"#),
            vec![],
            "set by edgeward itself",
        ),
        (
            r#"[{"id": "a", "issuer": "http://idp-a.test", "clientId": "edge-a"},
                {"id": " a ", "issuer": "http://idp-b.test", "clientId": "edge-b"}]"#
                .to_owned(),
            vec![],
            "listed twice",
        ),
        (
            r#"[{"id": "id", "issuer": "http://idp-a.test", "clientId": "edge-a",
                 "clientAuth": "private_key_jwt", "clientKeyId": "k1"}]"#
                .to_owned(),
            vec![],
            "its key variable is another setting",
        ),
    ];
    for (providers, extra, reason) in table {
        let err = config_result(&providers, &extra).unwrap_err();
        assert!(err.contains("EDGEWARD_PROVIDERS"), "{providers}: {err}");
        assert!(err.contains(reason), "{providers}: {err}");
        assert!(!err.contains("secret-a"), "no secret in {err}");
    }
}

// ---- Userinfo per provider ----

/// HELD: the claims an ID token lacks come from the userinfo endpoint of the login's own
/// provider, with that login's access token: `b`'s user gets `b`'s answer, `a`'s endpoint is
/// never asked (and never sees `b`'s token).
#[test]
fn review4_userinfo_is_asked_at_the_logins_provider_only() {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    serve(&ports, "a", json!({}));
    serve(&ports, "b", json!({}));
    for (id, issuer, name) in [("a", A, "Aay"), ("b", B, "Bee")] {
        let url = format!("{issuer}/.well-known/openid-configuration");
        let mut discovery: Value = serde_json::from_str(&ports.routes.borrow()[&url].2).unwrap();
        discovery["userinfo_endpoint"] = json!(format!("{issuer}/userinfo"));
        ports.route(&url, 200, discovery.to_string());
        ports.route(
            &format!("{issuer}/userinfo"),
            200,
            json!({"sub": "42", "name": name, "email": format!("{id}@example.test")}).to_string(),
        );
    }
    let edge = Edge::new(
        config_result(PROVIDERS, &[]).unwrap(),
        ports.with_registry(),
    );
    let res = sign_in_with(&edge, "b", json!({"sub": "42"}));
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let claims = &session(&edge, &cookie_header(res.headers()))["claims"];
    assert_eq!(claims["name"], "Bee");
    assert_eq!(claims["email"], "b@example.test");
    assert_eq!(edge.ports().calls_to(&format!("{A}/userinfo")), 0);
    assert_eq!(edge.ports().calls_to(&format!("{B}/userinfo")), 1);
    assert_eq!(
        edge.ports()
            .authorizations
            .borrow()
            .last()
            .map(String::as_str),
        Some("Bearer at-b")
    );
}
