//! Which refresh coordinator a refresh is sent to: the session's own, the same through every
//! rotation of its refresh token, and never another session's — in both session modes.

// A test crate: a panic here is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{apply, edge_in_mode, refresh, signed_in, FakePorts, Login, ISSUER};
use edgeward_core::Edge;
use serde_json::json;

const NOW: u64 = 1_700_000_000;

fn edge_in(mode: &str) -> Edge<FakePorts> {
    edge_in_mode(mode, NOW)
}

#[test]
fn every_refresh_of_a_session_names_its_one_coordinator_and_no_other_sessions() {
    for mode in ["stateless", "server"] {
        let edge = edge_in(mode);
        let mut sessions: Vec<(String, String)> = ["demo", "alice"]
            .iter()
            .map(|sub| {
                signed_in(
                    &edge,
                    &Login {
                        sub,
                        sid: Some(sub),
                        ..Default::default()
                    },
                )
            })
            .collect();
        let mut grants = 0;
        // Refreshes of the two sessions, interleaved; each one rotates the refresh token, and
        // the next comes after the grace window (server mode would answer one within it from
        // the store, without asking anyone).
        for round in 0..3 {
            for (jar, csrf) in sessions.iter_mut() {
                grants += 1;
                edge.ports().now.set(NOW + 100 * (round + 1));
                edge.ports().route(
                    &format!("{ISSUER}/token"),
                    200,
                    json!({"access_token": format!("at-{grants}"), "expires_in": 300,
                           "refresh_token": format!("rt-{grants}")})
                    .to_string(),
                );
                let res = refresh(&edge, jar, csrf);
                assert_eq!(res.status(), 204, "{mode}: refresh {grants}");
                *jar = apply(jar, &res);
            }
        }
        let coordinated = edge.ports().coordinated.borrow().clone();
        assert_eq!(coordinated.len(), 6, "{mode}: every refresh asked");
        let of = |session: usize| -> Vec<&(String, String)> {
            coordinated.iter().skip(session).step_by(2).collect()
        };
        for session in [0, 1] {
            let refreshes = of(session);
            let tokens: std::collections::BTreeSet<_> = refreshes.iter().map(|r| &r.1).collect();
            assert_eq!(tokens.len(), 3, "{mode}: a new refresh token each time");
            assert!(
                refreshes.iter().all(|r| r.0 == refreshes[0].0),
                "{mode}: session {session}'s refreshes all name one coordinator: {refreshes:?}"
            );
        }
        assert_ne!(
            of(0)[0].0,
            of(1)[0].0,
            "{mode}: two sessions never share a coordinator"
        );
    }
}
