//! The ports: what the core needs from its platform, as traits the caller implements.
//!
//! None of them requires `Send`: a Workers isolate is single-threaded, and its futures
//! (JS promises) are not `Send`. Time and randomness are ports too, because on
//! `wasm32-unknown-unknown` `SystemTime::now()` panics and there is no OS entropy: the adapter
//! takes them from JavaScript, and tests make them deterministic.

use std::fmt;
use std::future::Future;

/// Wall-clock time.
pub trait Clock {
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;
}

/// A cryptographically secure random source.
pub trait Random {
    /// Fills `dest` with random bytes, or says the platform has none to give. There is no
    /// fallback: a caller that needs randomness fails the request instead.
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable>;
}

/// The platform's random source failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomUnavailable;

impl fmt::Display for RandomUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the platform's random source failed")
    }
}

impl std::error::Error for RandomUnavailable {}

/// Outgoing HTTP (to the identity provider and the upstream APIs).
pub trait HttpClient {
    /// Sends `request` and returns the whole response; errors are transport failures only
    /// (an HTTP error status is a normal response).
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> impl Future<Output = Result<http::Response<Vec<u8>>, TransportError>>;
}

/// A request that produced no HTTP response: unreachable host, timeout, reset connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    /// What the platform said (never contains request bodies or headers).
    pub reason: String,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for TransportError {}

/// A cache shared by every isolate of one location (on Cloudflare: the Workers Cache API), the
/// second tier behind each isolate's memory. Best effort by contract: a lookup that fails is a
/// miss and a store that fails is forgotten (the adapter logs why), so the cache can never
/// fail a request. Keys are hex SHA-256 digests, never tokens.
pub trait SharedCache {
    /// The bytes stored under `key`, unless missing or expired.
    fn get(&self, key: &str) -> impl Future<Output = Option<Vec<u8>>>;
    /// Stores `value` under `key` for `ttl` seconds.
    fn put(&self, key: &str, value: Vec<u8>, ttl: u64) -> impl Future<Output = ()>;
    /// Removes what is stored under `key` (at logout).
    fn delete(&self, key: &str) -> impl Future<Output = ()>;
}

/// Where refresh-token grants are made when the platform can make them once for everyone:
/// every isolate's refresh of one session meets in one place (on Cloudflare a Durable Object
/// named by `session`, which runs the core's single-flight refresh, one flight per refresh
/// token), so parallel refreshes make one grant and rotation never sees the old token twice.
pub trait RefreshCoordinator {
    /// The token endpoint's answer (status and body) to a refresh-token grant for
    /// `refresh_token`; `session` names the session's coordinator (the SHA-256, hex, of its
    /// binding id: the same for the whole session, whichever refresh token it holds). `None`
    /// when the platform has no coordinator: the core then asks the provider itself.
    fn coordinate_refresh(
        &self,
        session: &str,
        refresh_token: &str,
    ) -> impl Future<Output = Option<Result<http::Response<Vec<u8>>, TransportError>>>;
}

/// The session registry, when the platform has one (on Cloudflare, Durable Objects running the
/// core's registry): the deny-list of ended sessions and the server-side session store, split
/// over several objects (shards) by user. Questions and answers are JSON text: what they say
/// is the registry's business, not the platform's.
pub trait SessionRegistry {
    /// Whether there is a registry; without one, back-channel logout is off and no session is
    /// checked against it.
    fn has_registry(&self) -> bool;
    /// Sends `request` (JSON) to the registry object named `shard` and returns its answer
    /// (JSON). A failure is a [`TransportError`]: the object could not be reached or failed.
    fn registry(
        &self,
        shard: &str,
        request: &str,
    ) -> impl Future<Output = Result<String, TransportError>>;
}

/// Signature checks the platform can do faster than Rust compiled to wasm (on Cloudflare:
/// WebCrypto, native code). The default answers `None` for everything: the core then checks
/// the signature itself, in Rust. jwt-compact still parses the token and checks its claims
/// and times either way; only the signature arithmetic moves.
pub trait SignatureVerifier {
    /// Whether `signature` is `alg`'s signature (`"RS256"` or `"ES256"`, JWS encoding) of
    /// `message` under the public key `jwk` (a JWK with only its public parameters); `None`
    /// when the platform does not check this kind of signature (or could not, this time).
    fn verify_signature(
        &self,
        alg: &str,
        jwk: &str,
        message: &[u8],
        signature: &[u8],
    ) -> impl Future<Output = Option<bool>> {
        let _ = (alg, jwk, message, signature);
        std::future::ready(None)
    }
}

/// Signatures the platform can make faster than Rust compiled to wasm (on Cloudflare:
/// WebCrypto), for the tokens the worker mints. The default answers `None`: the core then
/// signs in Rust, with the same result format.
pub trait Signer {
    /// `alg`'s signature (`"ES256"`: JWS r‖s, 64 bytes; `"RS256"`: RSASSA-PKCS1-v1_5 with
    /// SHA-256) of `message` under the private key `jwk` (a JWK with its private parameters: a
    /// secret, never logged). The platform imports a key once and keeps it (per isolate),
    /// keyed by what it is given. `None` when the platform does not make this kind of
    /// signature (or could not, this time).
    fn sign_message(
        &self,
        alg: &str,
        jwk: &str,
        message: &[u8],
    ) -> impl Future<Output = Option<Vec<u8>>> {
        let _ = (alg, jwk, message);
        std::future::ready(None)
    }
}

/// The platform with no signature help: every signature is checked and made in Rust.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustSignatures;

impl SignatureVerifier for RustSignatures {}

impl Signer for RustSignatures {}

/// AES-256-GCM the platform can do faster than Rust compiled to wasm (on Cloudflare:
/// WebCrypto). The sealed cookies' cipher (`cookie::seal`): the key and nonce are derived in
/// Rust for every value and handed over with it; the format is the same whichever side
/// encrypts. The default answers `None` for everything: the core then encrypts and decrypts in
/// Rust.
///
/// A decryption has three answers, and they must not be confused: `None` ("could not do it
/// this time": no WebCrypto, an unexpected error), after which the core decrypts in Rust;
/// `Some(Ok(plaintext))`; and `Some(Err(AuthenticationFailed))`, the tag did not verify, which
/// the core treats as a forged value without asking Rust again (a second try would double the
/// work of whoever sends forged cookies, and could hide a disagreement between the two).
pub trait AeadCipher {
    /// `plaintext` encrypted under `key` with `nonce` and `aad`: the ciphertext followed by the
    /// 16-byte tag; `None` when the platform cannot encrypt (this time).
    fn aes_gcm_encrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> impl Future<Output = Option<Vec<u8>>> {
        let _ = (key, nonce, aad, plaintext);
        std::future::ready(None)
    }

    /// `ciphertext` (with its 16-byte tag at the end) decrypted and authenticated under `key`,
    /// `nonce` and `aad`; `Some(Err(..))` when the tag does not verify, `None` when the platform
    /// cannot decrypt (this time).
    fn aes_gcm_decrypt(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> impl Future<Output = Option<Result<Vec<u8>, AuthenticationFailed>>> {
        let _ = (key, nonce, aad, ciphertext);
        std::future::ready(None)
    }
}

/// An AES-GCM tag did not verify: the ciphertext, nonce, associated data or key is not the one
/// it was sealed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthenticationFailed;

impl fmt::Display for AuthenticationFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("authentication failed")
    }
}

impl std::error::Error for AuthenticationFailed {}

/// The platform with no cipher: every value is sealed and opened in Rust.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCipher;

impl AeadCipher for RustCipher {}

/// How much a log line matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Worth knowing (a refused token, a login that failed validation).
    Info,
    /// Something outside us misbehaved (a provider or an API unreachable).
    Warn,
    /// Something on our side failed, or a check could not be made.
    Error,
}

/// The operator's log (on Cloudflare: the console, which `wrangler tail` and Workers Logs
/// read). Lines carry causes the browser is not told; never a token, a cookie or a secret.
/// The default drops every line.
pub trait Log {
    /// Writes one line.
    fn log(&self, level: LogLevel, message: &str) {
        let _ = (level, message);
    }

    /// Records one audit event (the core's audit module): `line` is its JSON, one line, for the log;
    /// `point` is its metric (on Cloudflare: one Workers Analytics Engine data point, when the
    /// binding is there). Neither holds a token, a code, a cookie value or a secret. The
    /// default writes the line to the log at [`LogLevel::Info`] and counts nothing.
    fn audit(&self, line: &str, point: &MetricPoint<'_>) {
        let _ = point;
        self.log(LogLevel::Info, line);
    }
}

/// One audit event as a metric: what an operator charts and alerts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricPoint<'a> {
    /// The event's stable name (`login.failed`).
    pub event: &'a str,
    /// Why (an error code, or the way a session ended); empty when there is nothing to say.
    pub reason: &'a str,
    /// The route, as a fixed label (`/auth/refresh`, `/api/*`), never the request's own path.
    pub route: &'a str,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The client's address as parsed, or empty (to count failures per address).
    pub ip: &'a str,
    /// The configured id of the provider the request concerns, or empty.
    pub provider: &'a str,
}

/// What a rate limiter says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateVerdict {
    /// Counted, within the limit.
    Allowed,
    /// Over the limit.
    Limited,
    /// Not counted: the platform has no such limiter (no binding) or it could not answer.
    Unlimited,
}

/// The platform's rate limiters (on Cloudflare: the Workers Rate Limiting bindings), which
/// count what the core asks them to. The default has none: nothing is limited.
pub trait RateLimiter {
    /// Whether the platform has the limiter `limiter`; without it the core does not work out
    /// a key (a hash) for the request at all.
    fn has_rate_limiter(&self, limiter: &str) -> bool {
        let _ = limiter;
        false
    }

    /// Counts one request under `key` in the limiter `limiter` (`ip`, `session`, `client`) and
    /// says whether it is over that limiter's limit. `key` is an address or a hash, never a
    /// token.
    fn rate_limit(&self, limiter: &str, key: &str) -> impl Future<Output = RateVerdict> {
        let _ = (limiter, key);
        std::future::ready(RateVerdict::Unlimited)
    }
}

/// Everything the core needs from its platform, in one bound.
pub trait Platform:
    Clock
    + Random
    + HttpClient
    + SharedCache
    + RefreshCoordinator
    + SessionRegistry
    + SignatureVerifier
    + Signer
    + AeadCipher
    + RateLimiter
    + Log
{
}

impl<
        T: Clock
            + Random
            + HttpClient
            + SharedCache
            + RefreshCoordinator
            + SessionRegistry
            + SignatureVerifier
            + Signer
            + AeadCipher
            + RateLimiter
            + Log,
    > Platform for T
{
}
