//! What hosted providers need beyond the specifications' common case: fixed authorization
//! parameters per provider (`OIDC_AUTH_PARAMS`: Auth0's `audience`, Google's
//! `access_type=offline`), and Entra ID's multi-tenant endpoints (`OIDC_TENANTS`: discovery's
//! `issuer` is a `{tenantid}` template, each ID token's `iss` carries the user's tenant, which
//! must be its `tid` and on the allow-list). Each hostile case is an attack that must fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use common::{
    code, config_result, config_with, discovery, json, login_with, request, FakePorts, Login,
    ISSUER, ORIGIN,
};
use edgeward_core::Edge;
use serde_json::json;

const NOW: u64 = 1_700_000_000;
const T1: &str = "11111111-1111-4111-8111-111111111111";
const T2: &str = "99999999-9999-4999-8999-999999999999";

fn start_url(
    edge: &Edge<FakePorts>,
    body: serde_json::Value,
) -> Result<HashMap<String, String>, (u16, String)> {
    let res = common::call(
        edge,
        request(
            "POST",
            "/auth/login/start",
            &[("origin", ORIGIN), ("content-type", "application/json")],
            &body.to_string(),
        ),
    );
    if res.status() != 200 {
        return Err(code(&res));
    }
    let url = url::Url::parse(json(&res)["authorizationUrl"].as_str().unwrap()).unwrap();
    Ok(url.query_pairs().into_owned().collect())
}

fn plain_edge(vars: &[(&str, &str)]) -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({}));
    Edge::new(config_with(vars), ports)
}

#[test]
fn fixed_authorization_parameters_go_with_every_login() {
    let edge = plain_edge(&[(
        "OIDC_AUTH_PARAMS",
        "audience=https%3A%2F%2Fapi.example&access_type=offline",
    )]);
    let q = start_url(&edge, json!({})).unwrap();
    assert_eq!(q["audience"], "https://api.example");
    assert_eq!(q["access_type"], "offline");
    // The SPA cannot name one (it is not among the allowed parameters).
    let refused = start_url(
        &edge,
        json!({"extraParams": {"audience": "https://evil.example"}}),
    );
    assert_eq!(refused.unwrap_err(), (400, "invalid_request".into()));
}

#[test]
fn fixed_authorization_parameters_are_validated_at_start() {
    for (value, says) in [
        ("redirect_uri=https%3A%2F%2Fevil.example%2F", "redirect_uri"),
        ("state=x", "state"),
        ("audience", "name=value"),
        ("=x", "name=value"),
        ("audience=a&audience=b", "twice"),
        ("prompt=consent", "OIDC_ALLOWED_PARAMS"),
    ] {
        let err = config_result(&[("OIDC_AUTH_PARAMS", value)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("OIDC_AUTH_PARAMS"), "{value}: {err}");
        assert!(err.contains(says), "{value}: {err}");
    }
    // With prompt no longer SPA-allowed, a fixed prompt is fine.
    config_with(&[
        ("OIDC_AUTH_PARAMS", "prompt=consent"),
        ("OIDC_ALLOWED_PARAMS", "login_hint"),
    ]);
}

/// An Entra-like provider: the configured issuer is the `organizations` endpoint, whose
/// discovery says `issuer: <ISSUER>/{tenantid}/v2.0`.
fn entra_edge(tenants: Option<&str>, template: &str) -> Edge<FakePorts> {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(json!({}));
    let mut d = discovery();
    d["issuer"] = json!(template);
    ports.route(
        &format!("{ISSUER}/organizations/v2.0/.well-known/openid-configuration"),
        200,
        d.to_string(),
    );
    let issuer = format!("{ISSUER}/organizations/v2.0");
    let mut vars = vec![("OIDC_ISSUER", issuer.as_str())];
    if let Some(t) = tenants {
        vars.push(("OIDC_TENANTS", t));
    }
    Edge::new(config_with(&vars), ports)
}

fn template() -> String {
    format!("{ISSUER}/{{tenantid}}/v2.0")
}

fn tenant_login(edge: &Edge<FakePorts>, iss: &str, tid: Option<&str>) -> (u16, String) {
    let mut claims = json!({ "iss": iss });
    if let Some(tid) = tid {
        claims["tid"] = json!(tid);
    }
    let res = login_with(
        edge,
        &Login {
            iss: None,
            claims,
            ..Login::default()
        },
    );
    if res.status() == 200 {
        (200, "ok".into())
    } else {
        code(&res)
    }
}

#[test]
fn a_tenant_template_without_a_tenant_list_is_refused() {
    let edge = entra_edge(None, &template());
    assert_eq!(
        start_url(&edge, json!({})).unwrap_err(),
        (502, "idp_unavailable".into())
    );
}

#[test]
fn a_user_of_an_allowed_tenant_signs_in() {
    // Listed in upper case: tenant ids compare without case.
    let edge = entra_edge(Some(&format!("{}, {T2}", T1.to_uppercase())), &template());
    let iss = format!("{ISSUER}/{T1}/v2.0");
    assert_eq!(tenant_login(&edge, &iss, Some(T1)), (200, "ok".into()));
}

#[test]
fn hostile_a_user_of_another_tenant_is_refused() {
    let edge = entra_edge(Some(T1), &template());
    let iss = format!("{ISSUER}/{T2}/v2.0");
    assert_eq!(
        tenant_login(&edge, &iss, Some(T2)),
        (400, "login_failed".into())
    );
}

#[test]
fn hostile_a_token_whose_tid_and_issuer_disagree_is_refused() {
    let edge = entra_edge(Some(T1), &template());
    // Tenant T2's issuer claiming the allowed tenant in tid, and the other way round.
    let t2 = format!("{ISSUER}/{T2}/v2.0");
    assert_eq!(
        tenant_login(&edge, &t2, Some(T1)),
        (400, "login_failed".into())
    );
    let t1 = format!("{ISSUER}/{T1}/v2.0");
    assert_eq!(
        tenant_login(&edge, &t1, Some(T2)),
        (400, "login_failed".into())
    );
    // No tid at all, and the template itself as the issuer.
    assert_eq!(tenant_login(&edge, &t1, None), (400, "login_failed".into()));
    assert_eq!(
        tenant_login(&edge, &template(), Some(T1)),
        (400, "login_failed".into())
    );
}

#[test]
fn hostile_a_template_for_another_place_is_refused() {
    // The template must be the configured issuer with one segment as {tenantid}: not another
    // host, not another path.
    for bad in [
        "http://evil.test/{tenantid}/v2.0".to_owned(),
        format!("{ISSUER}/{{tenantid}}/v1.0"),
        format!("{ISSUER}/{{tenantid}}/{{tenantid}}"),
        format!("{ISSUER}/x{{tenantid}}/v2.0"),
    ] {
        let edge = entra_edge(Some(T1), &bad);
        assert_eq!(
            start_url(&edge, json!({})).unwrap_err(),
            (502, "idp_unavailable".into()),
            "{bad}"
        );
    }
}

#[test]
fn tenant_ids_are_validated_at_start() {
    for bad in [
        "a/b",
        "{tenantid}",
        "a b",
        "common",
        "organizations",
        "consumers",
    ] {
        let err = config_result(&[("OIDC_TENANTS", bad)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("OIDC_TENANTS"), "{bad}: {err}");
    }
}

/// A provider that sends RFC 9207 `iss` without saying so in discovery (Glewlwyd): with
/// `OIDC_REQUIRE_ISS=true` a callback without it is refused, as for one that says so.
#[test]
fn hostile_a_callback_without_iss_when_the_provider_is_known_to_send_it() {
    let login = |edge: &Edge<FakePorts>| {
        let res = login_with(
            edge,
            &Login {
                iss: None,
                ..Login::default()
            },
        );
        if res.status() == 200 {
            (200, "ok".into())
        } else {
            code(&res)
        }
    };
    // The discovery of the fake IdP does not advertise iss: by default the callback passes.
    assert_eq!(login(&plain_edge(&[])), (200, "ok".into()));
    let strict = plain_edge(&[("OIDC_REQUIRE_ISS", "true")]);
    assert_eq!(login(&strict), (400, "login_failed".into()));
    // With iss, the strict worker signs in.
    let res = login_with(&strict, &Login::default());
    assert_eq!(res.status(), 200);
    let err = config_result(&[("OIDC_REQUIRE_ISS", "yes")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("OIDC_REQUIRE_ISS"), "{err}");
}

/// The same settings as members of an `EDGEWARD_PROVIDERS` entry.
#[test]
fn the_settings_as_members_of_a_provider_entry() {
    let providers = json!([{
        "id": "entra", "name": "Entra", "issuer": format!("{ISSUER}/organizations/v2.0"),
        "clientId": "edgeward", "tenants": [T1], "authParams": "domain_hint=contoso.example",
        "requireIss": true,
    }])
    .to_string();
    let config = config_with(&[
        ("OIDC_ISSUER", ""),
        ("OIDC_CLIENT_ID", ""),
        ("OIDC_CLIENT_SECRET", ""),
        ("EDGEWARD_PROVIDERS", &providers),
        ("OIDC_CLIENT_SECRET_ENTRA", "secret"),
    ]);
    let client = config.providers.first();
    assert_eq!(client.tenants, [T1]);
    assert_eq!(
        client.auth_params,
        [("domain_hint".to_owned(), "contoso.example".to_owned())]
    );
    assert!(client.require_iss);
    let bad =
        json!([{"id": "entra", "issuer": ISSUER, "clientId": "edgeward", "tenants": ["common"]}])
            .to_string();
    let err = config_result(&[
        ("OIDC_ISSUER", ""),
        ("OIDC_CLIENT_ID", ""),
        ("OIDC_CLIENT_SECRET", ""),
        ("EDGEWARD_PROVIDERS", &bad),
        ("OIDC_CLIENT_SECRET_ENTRA", "secret"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("entra") && err.contains("many tenants"),
        "{err}"
    );
}
