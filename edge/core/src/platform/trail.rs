//! A request's trail: what its handler learned on the way that the audit line needs and the
//! answer does not carry: whom the request concerns (the provider's id and issuer, and the
//! user's `sub`), once a session, an ID token, a logout token or an authorized admin call has
//! told it. (An error a handler answers itself carries its code on the answer: see
//! `Error::into_response`.)
//!
//! The dispatcher puts one [`Trail`] into the request's extensions before any handler runs
//! ([`Trail::start`]) and reads it once the answer is made; handlers only write to it, through
//! the `note_*` functions, which do nothing for a request without one (a handler called
//! directly, as in unit tests).

use std::sync::{Arc, Mutex};

use super::Request;

/// What the handlers noted of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Noted {
    /// The id of the configured provider the request is about.
    pub provider: Option<String>,
    /// That provider's issuer: with `sub`, who the user is (entries of one issuer share users).
    pub issuer: Option<String>,
    /// The user's subject at that issuer, as its validated token or the session says.
    pub sub: Option<String>,
}

/// One request's trail, shared between the request's extensions and the dispatcher.
#[derive(Debug, Clone, Default)]
pub struct Trail(Arc<Mutex<Noted>>);

impl Trail {
    /// A new trail, put into `req`'s extensions (replacing one that came with it).
    pub fn start(req: &mut Request) -> Self {
        let trail = Self::default();
        req.extensions_mut().insert(trail.clone());
        trail
    }

    /// What was noted so far.
    pub fn noted(&self) -> Noted {
        self.0.lock().map(|n| n.clone()).unwrap_or_default()
    }
}

fn with(req: &Request, write: impl FnOnce(&mut Noted)) {
    if let Some(Trail(noted)) = req.extensions().get::<Trail>() {
        if let Ok(mut noted) = noted.lock() {
            write(&mut noted);
        }
    }
}

/// Notes that `req` concerns the user `sub` of the provider with the id `provider` and the
/// issuer `issuer`.
pub fn note_subject(req: &Request, (provider, issuer): (&str, &str), sub: &str) {
    with(req, |n| {
        n.provider = Some(provider.to_owned());
        n.issuer = Some(issuer.to_owned());
        n.sub = Some(sub.to_owned());
    });
}

/// Notes that `req` concerns the provider `provider` (its id), the user not (yet) known; a user
/// noted before for another provider is forgotten.
pub fn note_provider(req: &Request, provider: &str) {
    with(req, |n| {
        if n.provider.as_deref() != Some(provider) {
            n.issuer = None;
            n.sub = None;
        }
        n.provider = Some(provider.to_owned());
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn notes_reach_the_dispatcher_only_through_a_started_trail() {
        let mut req = Request::new(Vec::new());
        // Before a trail: nothing to write to, and nothing breaks.
        note_subject(&req, ("p", "https://p"), "alice");
        let trail = Trail::start(&mut req);
        assert_eq!(trail.noted(), Noted::default());
        note_provider(&req, "corp");
        assert_eq!(trail.noted().provider.as_deref(), Some("corp"));
        note_subject(&req, ("corp", "https://corp"), "alice");
        note_provider(&req, "corp");
        let noted = trail.noted();
        assert_eq!(noted.sub.as_deref(), Some("alice"));
        assert_eq!(noted.issuer.as_deref(), Some("https://corp"));
        // Another provider: the user noted for the first is not this one's.
        note_provider(&req, "other");
        assert_eq!((trail.noted().sub, trail.noted().issuer), (None, None));
    }
}
