//! A request's trail: what its handler learned on the way that the audit line needs and the
//! answer does not carry. Whom the request concerns (the provider's id and the user's `sub`,
//! once a session, an ID token or a logout token has told it), and the error a handler answered
//! itself instead of returning it (a login's end that clears its cookie with its refusal).
//!
//! The dispatcher puts one [`Trail`] into the request's extensions before any handler runs
//! ([`Trail::start`]) and reads it once the answer is made; handlers only write to it, through
//! the `note_*` functions, which do nothing for a request without one (a handler called
//! directly, as in unit tests).

use std::sync::{Arc, Mutex};

use edgeward_shared::ErrorCode;

use super::Request;

/// What the handlers noted of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Noted {
    /// The id of the configured provider the request is about.
    pub provider: Option<String>,
    /// The user's subject at that provider, as its validated token or the session says.
    pub sub: Option<String>,
    /// The error a handler answered as its own response (its code only).
    pub refused: Option<ErrorCode>,
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

/// Notes that `req` concerns the user `sub` of the provider `provider` (its id).
pub fn note_subject(req: &Request, provider: &str, sub: &str) {
    with(req, |n| {
        n.provider = Some(provider.to_owned());
        n.sub = Some(sub.to_owned());
    });
}

/// Notes that `req` concerns the provider `provider` (its id), the user not (yet) known.
pub fn note_provider(req: &Request, provider: &str) {
    with(req, |n| n.provider = Some(provider.to_owned()));
}

/// Notes that the handler answered `code` itself.
pub fn note_refusal(req: &Request, code: ErrorCode) {
    with(req, |n| n.refused = Some(code));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn notes_reach_the_dispatcher_only_through_a_started_trail() {
        let mut req = Request::new(Vec::new());
        // Before a trail: nothing to write to, and nothing breaks.
        note_subject(&req, "p", "alice");
        let trail = Trail::start(&mut req);
        assert_eq!(trail.noted(), Noted::default());
        note_provider(&req, "corp");
        note_refusal(&req, ErrorCode::InvalidState);
        assert_eq!(trail.noted().provider.as_deref(), Some("corp"));
        note_subject(&req, "corp", "alice");
        let noted = trail.noted();
        assert_eq!(noted.sub.as_deref(), Some("alice"));
        assert_eq!(noted.refused, Some(ErrorCode::InvalidState));
    }
}
