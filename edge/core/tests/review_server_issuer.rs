//! Found by the outside review of the issue-12 fixes (each test failed then; all pass since the
//! follow-up fix): in server mode the stored session's issuer is never
//! compared with the configured one.
//!
//! A stateless session names its issuer in its binding and is refused when the deployment now
//! trusts another provider (cookie/session.rs `current`). A server-side session records its
//! issuer too (`SessionRecord::issuer`), but `read_session` (server branch; now in
//! sessions/live.rs) hands the record out without looking at it: after the deployment moves to
//! another provider (or a second provider is configured on the same origin and client id),
//! sessions of the old one still read as signed in, and their tokens are sent to the new
//! provider (introspection, refresh).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{call, config_with, json, request, signed_in, FakePorts, Login};
use edgeward_core::Edge;

const NOW: u64 = 1_700_000_000;

#[test]
fn review_a_server_session_of_another_provider_still_reads_as_signed_in() {
    let ports = FakePorts::default();
    ports.now.set(NOW);
    let ports = ports.with_idp(serde_json::json!({})).with_registry();
    let shards = ports.shards();
    let before = Edge::new(config_with(&[("EDGEWARD_SESSION_MODE", "server")]), ports);
    let (jar, _) = signed_in(&before, &Login::default());

    // The same deployment (origin, client id, cookie keys, registry), now with another issuer.
    let ports = FakePorts::default();
    ports.now.set(NOW + 10);
    *ports.registry.borrow_mut() = Some(shards);
    let after = Edge::new(
        config_with(&[
            ("EDGEWARD_SESSION_MODE", "server"),
            ("OIDC_ISSUER", "http://other-idp.test"),
        ]),
        ports,
    );
    let res = call(
        &after,
        request("GET", "/auth/session", &[("cookie", &jar)], ""),
    );
    assert_eq!(
        json(&res)["isLoggedIn"],
        false,
        "a session of http://idp.test is served under http://other-idp.test: {}",
        json(&res)
    );
}
