//! How the worker authenticates at the token endpoint: client_secret_basic or client_secret_post.

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{FakePorts, ISSUER};
use edgeward_core::oidc::{token_request, Discovery};
use edgeward_core::Config;

fn config(auth: &str) -> Config {
    common::config_with(&[
        ("OIDC_CLIENT_SECRET", "s3cret+/="),
        ("OIDC_CLIENT_AUTH", auth),
    ])
}

fn discovery() -> Discovery {
    serde_json::from_value(serde_json::json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/auth"),
        "token_endpoint": format!("{ISSUER}/token"),
        "jwks_uri": format!("{ISSUER}/jwks"),
    }))
    .unwrap()
}

#[test]
fn secret_post_puts_the_credentials_in_the_form_and_basic_keeps_them_out() {
    for (auth, in_body) in [("client_secret_post", true), ("client_secret_basic", false)] {
        let ports = FakePorts::default();
        ports.route(&format!("{ISSUER}/token"), 200, r#"{"access_token":"at"}"#);
        let grant = [("grant_type", "refresh_token"), ("refresh_token", "rt")];
        let tokens = futures_executor::block_on(token_request(
            config(auth).oidc(),
            &ports,
            &discovery(),
            &grant,
        ))
        .unwrap();
        assert_eq!(tokens.access_token, "at");
        let body = ports.sent.borrow()[0].2.clone();
        assert!(body.contains("grant_type=refresh_token"), "{body}");
        // The secret is form-encoded when it travels in the body.
        assert_eq!(
            body.contains("client_id=edgeward"),
            in_body,
            "{auth}: {body}"
        );
        assert_eq!(
            body.contains("client_secret=s3cret%2B%2F%3D"),
            in_body,
            "{auth}: {body}"
        );
    }
}
