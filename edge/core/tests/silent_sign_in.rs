//! Silent sign-in: an authorization request with `prompt=none` that the provider cannot answer
//! without the user comes back with `error=login_required` (or `interaction_required`,
//! `consent_required`, `account_selection_required`). `login/end` answers those with 401 and
//! the provider's code as the JSON `code`, so the SPA can tell "sign in interactively" from a
//! failed login; every other error stays 400 `login_failed`. `GET /auth/session` tells a
//! signed-out SPA whether to try a silent sign-in (`EDGEWARD_SILENT_SIGN_IN`).

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    call, code, config_result, config_with, json, post_login_end, request, set_cookies, FakePorts,
    ORIGIN,
};
use edgeward_core::Edge;
use serde_json::json;

fn edge_with(vars: &[(&str, &str)]) -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(1_700_000_000);
    Edge::new(config_with(vars), ports.with_idp(json!({})))
}

/// login/start with `prompt=none`; the state and the login cookie.
fn start_silent(edge: &Edge<FakePorts>) -> (String, String) {
    let res = call(
        edge,
        request(
            "POST",
            "/auth/login/start",
            &[("origin", ORIGIN), ("content-type", "application/json")],
            r#"{"extraParams":{"prompt":"none"}}"#,
        ),
    );
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let url = url::Url::parse(json(&res)["authorizationUrl"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["prompt"], "none");
    let (_, login_cookie, _) = set_cookies(&res).remove(0);
    (
        q["state"].clone(),
        format!("__Host-edgeward-login={login_cookie}"),
    )
}

#[test]
fn prompt_none_answers_that_need_the_user_are_401_with_the_providers_code() {
    let edge = edge_with(&[]);
    let table = [
        ("login_required", 401, "login_required"),
        ("interaction_required", 401, "interaction_required"),
        ("consent_required", 401, "consent_required"),
        (
            "account_selection_required",
            401,
            "account_selection_required",
        ),
        // Every other error keeps today's answer.
        ("access_denied", 400, "login_failed"),
        ("invalid_request", 400, "login_failed"),
        ("server_error", 400, "login_failed"),
        // Near misses are not the codes.
        ("Login_Required", 400, "login_failed"),
        ("login_required_", 400, "login_failed"),
        ("login_required%3Cb%3E", 400, "login_failed"),
    ];
    for (error, status, wire) in table {
        let (state, cookie) = start_silent(&edge);
        let page = format!(
            "{ORIGIN}/callback?error={error}&error_description=End-User+authentication+is+required&state={state}&iss=http%3A%2F%2Fidp.test"
        );
        let res = post_login_end(&edge, &page, &cookie);
        assert_eq!(code(&res), (status, wire.to_owned()), "{error}");
        let body = json(&res);
        assert!(
            !body["message"]
                .as_str()
                .unwrap()
                .contains("authentication is required"),
            "the provider's description is not echoed: {body}"
        );
        // The login is over either way: its cookie goes, no session cookie comes.
        let set = set_cookies(&res);
        assert!(
            set.iter()
                .any(|(n, v, _)| n == "__Host-edgeward-login" && v.is_empty()),
            "{error}: {set:?}"
        );
        assert!(set.iter().all(|(_, v, _)| v.is_empty()), "{error}: {set:?}");
        assert_eq!(
            edge.ports().calls_to("http://idp.test/token"),
            0,
            "{error}: no code exchanged"
        );
    }
}

#[test]
fn the_session_answer_says_whether_to_try_a_silent_sign_in() {
    for (value, expected) in [(None, None), (Some("off"), None), (Some("on"), Some(true))] {
        let vars: Vec<(&str, &str)> = value
            .map(|v| vec![("EDGEWARD_SILENT_SIGN_IN", v)])
            .unwrap_or_default();
        let edge = edge_with(&vars);
        let res = call(&edge, request("GET", "/auth/session", &[], ""));
        let body = json(&res);
        assert_eq!(body["isLoggedIn"], false);
        assert_eq!(
            body.get("silentSignIn").and_then(|v| v.as_bool()),
            expected,
            "{value:?}: {body}"
        );
    }
}

#[test]
fn a_signed_in_session_answer_says_nothing_of_silent_sign_in() {
    let edge = edge_with(&[("EDGEWARD_SILENT_SIGN_IN", "on")]);
    let (cookies, _) = common::signed_in(&edge, &common::Login::default());
    let res = call(
        &edge,
        request("GET", "/auth/session", &[("cookie", &cookies)], ""),
    );
    let body = json(&res);
    assert_eq!(body["isLoggedIn"], true);
    assert!(body.get("silentSignIn").is_none(), "{body}");
}

#[test]
fn silent_sign_in_needs_prompt_among_the_allowed_parameters() {
    let err = config_result(&[
        ("EDGEWARD_SILENT_SIGN_IN", "on"),
        ("OIDC_ALLOWED_PARAMS", "login_hint"),
    ])
    .expect_err("refused");
    assert_eq!(err.variable, "EDGEWARD_SILENT_SIGN_IN");
    let err = config_result(&[("EDGEWARD_SILENT_SIGN_IN", "yes")]).expect_err("refused");
    assert_eq!(err.variable, "EDGEWARD_SILENT_SIGN_IN");
}
