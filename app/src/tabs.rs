//! Tabs of the app tell each other about sign-in and sign-out over a `BroadcastChannel`
//! (same origin only; nothing but the event's name is sent, never a token or a claim).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

/// The channel's name.
pub const CHANNEL: &str = "edgeward-session";

/// What one tab tells the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A login finished.
    SignedIn,
    /// The user signed out, or the session ended.
    SignedOut,
}

impl Event {
    /// The message on the channel.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::SignedIn => "signed-in",
            Event::SignedOut => "signed-out",
        }
    }

    /// Reads a message; anything else is ignored.
    pub fn parse(message: &str) -> Option<Self> {
        match message {
            "signed-in" => Some(Event::SignedIn),
            "signed-out" => Some(Event::SignedOut),
            _ => None,
        }
    }
}

thread_local! {
    // None where the browser has no BroadcastChannel: tabs then just do not follow each other.
    static PORT: Option<BroadcastChannel> = BroadcastChannel::new(CHANNEL).ok();
}

/// Tells the other tabs.
pub fn announce(event: Event) {
    PORT.with(|port| {
        if let Some(port) = port {
            let _ = port.post_message(&JsValue::from_str(event.as_str()));
        }
    });
}

/// Calls `on_event` for every event another tab announces (for the page's lifetime).
pub fn listen(on_event: impl Fn(Event) + 'static) {
    PORT.with(|port| {
        if let Some(port) = port {
            let handler = Closure::<dyn Fn(MessageEvent)>::new(move |message: MessageEvent| {
                if let Some(event) = message.data().as_string().as_deref().and_then(Event::parse) {
                    on_event(event);
                }
            });
            port.set_onmessage(Some(handler.as_ref().unchecked_ref()));
            // The listener lives as long as the page.
            handler.forget();
        }
    });
}
