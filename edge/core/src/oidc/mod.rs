//! The identity provider, and the worker as its OpenID Connect client: the client's settings
//! ([`settings`]), its `private_key_jwt` key and assertions ([`assertion`]), the list of
//! providers one worker serves ([`providers`]), discovery and the provider's keys cached per
//! isolate, grants at the token endpoint, revocation, pushed authorization requests and PKCE
//! ([`provider`]), the claims of its userinfo endpoint ([`userinfo`]), and the tokens the
//! provider signs — ID tokens ([`idtoken`]) and back-channel logout tokens ([`logout`]).
//!
//! Everything here speaks to the provider or checks what it said; what a validated token
//! leads to (a session, a deny-list entry, a phantom token) belongs to the capability that
//! asked.
//!
//! May use: `platform`.

pub mod assertion;
pub mod idtoken;
pub mod logout;
pub mod provider;
pub mod providers;
pub mod settings;
pub mod userinfo;

pub use assertion::ClientKey;
pub use provider::{
    assertion_audience, authorization_url, code_request_params, oauth_error_code,
    oauth_metadata_urls, parse_token_answer, pkce_challenge, push_authorization, refusal_code,
    revoke, token_request, Discovery, IdpCache, KeyLookup, PushedRequest, TokenError,
    TokenResponse, DISCOVERY_TTL, INVALID_GRANT, JWKS_REFETCH_FROM_PROVIDER,
    JWKS_REFETCH_MIN_INTERVAL,
};
pub(crate) use provider::{client_post, client_post_accepting};
pub use providers::{Provider, Providers, PROVIDERS};
pub use settings::{AssertionAudience, ClientAuth, OidcClient, ParMode, Quirks};
