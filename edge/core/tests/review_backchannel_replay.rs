//! Found by the outside review of the issue-12 fixes (each test failed then; all pass since the
//! follow-up fix): a back-channel logout that is lost for good when the
//! registry fails half-way.
//!
//! `Registry::handle(Record)` first stores the token's `jti` (the replay guard), then the order
//! (`sid:` or `sub:`). When the second write fails (a Durable Object storage error: overload, a
//! timeout, an object reset), the worker answers the IdP 503 `session_store_unavailable` and
//! asks it, with `Retry-After`, to come back. But the retry carries the same logout token, whose
//! `jti` is now on file: the registry answers `Replayed`, the worker answers 400
//! `logout_token_invalid` (agent/admin.rs `backchannel_logout`: every shard replayed → 400), and
//! the session the IdP ended stays live in the deny-list's eyes — failing open.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::Cell;

use edgeward_core::oidc::logout::LogoutOrder;
use edgeward_core::sessions::{
    MemoryStore, Registry, RegistryAnswer, RegistryRequest, RegistryStore,
};
use edgeward_core::TransportError;

const NOW: u64 = 1_700_000_000;

/// A Durable Object's storage whose next write of an ended-IdP-session key fails once.
#[derive(Default)]
struct FlakyStore {
    inner: MemoryStore,
    fail_next_order_write: Cell<bool>,
}

impl RegistryStore for FlakyStore {
    async fn get(&self, key: &str) -> Result<Option<String>, TransportError> {
        self.inner.get(key).await
    }

    async fn put(&self, key: &str, value: String) -> Result<(), TransportError> {
        if (key.starts_with("sid:") || key.starts_with("sub:"))
            && self.fail_next_order_write.replace(false)
        {
            return Err(TransportError {
                reason: "Durable Object storage operation exceeded timeout".into(),
            });
        }
        self.inner.put(key, value).await
    }

    async fn delete(&self, key: &str) -> Result<(), TransportError> {
        self.inner.delete(key).await
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, TransportError> {
        self.inner.list(prefix, after, limit).await
    }
}

fn handle(store: &FlakyStore, request: &RegistryRequest) -> Result<RegistryAnswer, TransportError> {
    futures_executor::block_on(Registry::handle(store, request))
}

#[test]
fn review_a_logout_whose_order_write_failed_is_refused_as_a_replay_on_retry() {
    for (sid, sub) in [(Some("idp-session-1"), None), (None, Some("victim"))] {
        let store = FlakyStore::default();
        let record = RegistryRequest::Record {
            order: LogoutOrder {
                jti: "logout-1".into(),
                sid: sid.map(str::to_owned),
                sub: sub.map(str::to_owned),
                issued_at: NOW,
            },
            now: NOW,
            session_ttl: 24 * 3600,
        };
        let check = RegistryRequest::Check {
            session: Some("binding-1".into()),
            sid: Some("idp-session-1".into()),
            sub: "victim".into(),
            started_at: NOW - 100,
        };

        // First delivery: the storage fails after the jti was written → the worker answers 503.
        store.fail_next_order_write.set(true);
        assert!(handle(&store, &record).is_err(), "the first delivery fails");

        // The IdP retries the same token, as a 503 with Retry-After asks it to.
        let retry = handle(&store, &record).unwrap();
        let live = handle(&store, &check).unwrap();
        assert_eq!(
            (retry, live),
            (
                RegistryAnswer::Recorded { revoke: vec![] },
                RegistryAnswer::Ended
            ),
            "sid={sid:?} sub={sub:?}: the retry of a logout that was never applied must apply it"
        );
    }
}
