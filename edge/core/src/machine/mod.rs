//! Machine clients that prove possession of a key certified by the operator's CA: the
//! certificate chain, its policy, trust anchors, deny-list and per-isolate cache ([`chain`]),
//! the proof JWT a client signs for each request and the isolate's memory of proofs seen
//! ([`pop`]), and [`authenticate`], which checks a request's proof (and, where Cloudflare
//! verified one, its mTLS client certificate) and says who the client is. What the proxy does
//! with that client (the minted token) is the proxy's.
//!
//! Replays are refused by the session registry (a `seen_proof` request, sharded by the leaf's
//! fingerprint), after this isolate's own memory; the same request refuses a chain holding a
//! certificate revoked through the admin endpoint (`/auth/admin/clients/revoked`, kept in
//! every registry object), so that check costs no round trip of its own.
//!
//! May use: `platform`, `oidc`, `sessions`.

pub mod chain;
pub mod pop;

use std::rc::Rc;

use http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::oidc::idtoken::verify_raw;
use crate::platform::crypto::hex;
use crate::platform::ports::{SessionRegistry, SignatureVerifier};
use crate::platform::settings::{invalid, ConfigError, Vars};
use crate::platform::{Error, Request};
use crate::sessions::registry::{ask, shard_of, RegistryAnswer, RegistryRequest};
use chain::{Anchor, ChainCache, ChainError, Revoked, VerifiedChain};
use pop::SeenProofs;

/// The trust anchors for client certificates: a PEM bundle of CA certificates.
pub const CLIENT_CA: &str = "EDGEWARD_CLIENT_CA";
/// Revoked client certificates: comma-separated hex serials or `sha256:<hex>` fingerprints.
pub const CLIENT_REVOKED: &str = "EDGEWARD_CLIENT_REVOKED";

/// The machine clients' settings.
#[derive(Debug, Default)]
pub struct MachineConfig {
    /// The anchors ([`CLIENT_CA`]); empty when unset (no route may then take PoP clients).
    pub anchors: Vec<Anchor>,
    /// The deny-list ([`CLIENT_REVOKED`]).
    pub revoked: Revoked,
}

impl MachineConfig {
    /// Reads [`CLIENT_CA`] and [`CLIENT_REVOKED`]; a bundle or list that does not parse is a
    /// configuration error naming the variable.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let anchors = match vars.get(CLIENT_CA) {
            Some(pem) if !pem.trim().is_empty() => {
                chain::parse_anchors(&pem).map_err(|e| invalid(CLIENT_CA, e))?
            }
            _ => Vec::new(),
        };
        let revoked = match vars.get(CLIENT_REVOKED) {
            Some(list) => Revoked::parse(&list).map_err(|e| invalid(CLIENT_REVOKED, e))?,
            None => Revoked::default(),
        };
        Ok(Self { anchors, revoked })
    }
}

/// This isolate's memory for machine clients: verified chains and proofs seen.
#[derive(Debug, Default)]
pub struct MachineState {
    /// Verified chains by the SHA-256 of `x5c`.
    pub chains: ChainCache,
    /// Proofs seen here.
    pub seen: SeenProofs,
}

/// What checking machine clients needs of the isolate's state (the dispatcher's `Edge`
/// implements it).
pub trait Context: crate::sessions::Context {
    /// The machine clients' settings.
    fn machine(&self) -> &MachineConfig;
    /// This isolate's chains and proofs.
    fn machine_state(&self) -> &MachineState;
}

/// What Cloudflare says of the TLS client certificate (`request.cf.tlsClientAuth`), as the
/// adapter puts it on the core's request (an extension). Only `certPresented` "1" with
/// `certVerified` "SUCCESS" and a fingerprint counts as a verified certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsClientAuth {
    /// `certPresented`: "1" when the client sent a certificate.
    pub cert_presented: String,
    /// `certVerified`: "SUCCESS", "NONE", or why the verification failed.
    pub cert_verified: String,
    /// `certFingerprintSHA256`: hex.
    pub cert_fingerprint_sha256: String,
}

impl TlsClientAuth {
    /// The SHA-256 fingerprint of the verified client certificate, if Cloudflare verified one.
    pub fn verified_fingerprint(&self) -> Option<[u8; 32]> {
        if self.cert_presented != "1" || self.cert_verified != "SUCCESS" {
            return None;
        }
        let text = self.cert_fingerprint_sha256.trim();
        if text.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(out)
    }
}

/// A machine client whose proof checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineClient {
    /// Who it is: the leaf's SAN URI, else its subject CN.
    pub subject: String,
    /// The leaf's SHA-256 fingerprint, base64url (`cnf.x5t#S256`).
    pub thumbprint: String,
}

/// Whether the request names the `PoP` authorization scheme.
pub fn has_proof(headers: &HeaderMap) -> bool {
    pop::names_pop(headers)
}

/// Checks the request's proof of possession: the proof's header and claims (bound to this
/// request, short-lived), the chain in `x5c` (from this isolate's cache, or verified in full),
/// the proof's signature by the leaf's key with an algorithm that fits it, the mTLS
/// certificate when Cloudflare verified one, and last that the proof was not seen before.
pub async fn authenticate(edge: &impl Context, req: &Request) -> Result<MachineClient, Error> {
    let ports = edge.ports();
    let now = crate::platform::ports::Clock::now(ports);
    let config = edge.machine();
    let state = edge.machine_state();
    if config.anchors.is_empty() {
        return Err(Error::Internal("machine clients need EDGEWARD_CLIENT_CA"));
    }
    let token = match pop::proof_token(req.headers()) {
        Some(Ok(token)) => token,
        Some(Err(why)) => return Err(Error::InvalidClientProof(why)),
        None => {
            return Err(Error::InvalidClientProof(
                "the Authorization header is not a PoP proof".into(),
            ))
        }
    };
    let proof = pop::decode(token).map_err(Error::InvalidClientProof)?;
    pop::check_claims(&proof.claims, req.method(), req.uri(), now)
        .map_err(Error::InvalidClientProof)?;
    let x5c = proof.header.x5c.as_deref().unwrap_or_default();
    let chain = verified_chain(config, state, x5c, now, ports)
        .await
        .map_err(|e| Error::ClientCertificateRefused(e.to_string()))?;
    if proof.header.alg != chain.key.alg() {
        return Err(Error::InvalidClientProof(format!(
            "the proof is {} and the leaf's key takes {}",
            proof.header.alg,
            chain.key.alg()
        )));
    }
    if !verify_raw(
        &chain.key,
        &proof.header.alg,
        proof.signed,
        &proof.signature,
        ports,
    )
    .await
    {
        return Err(Error::InvalidClientProof(
            "the proof's signature does not verify with the leaf's key".into(),
        ));
    }
    if let Some(mtls) = req.extensions().get::<TlsClientAuth>() {
        if let Some(fp) = mtls.verified_fingerprint() {
            if fp != chain.fingerprint {
                return Err(Error::ClientCertificateRefused(format!(
                    "the proof's leaf ({}) is not the TLS client certificate ({})",
                    hex(&chain.fingerprint),
                    hex(&fp)
                )));
            }
        }
    }
    check_replay(edge, &chain, &proof.claims, now).await?;
    Ok(MachineClient {
        subject: chain.subject.clone(),
        thumbprint: chain.thumbprint(),
    })
}

async fn verified_chain<V: SignatureVerifier + ?Sized>(
    config: &MachineConfig,
    state: &MachineState,
    x5c: &[String],
    now: u64,
    verifier: &V,
) -> Result<Rc<VerifiedChain>, ChainError> {
    // Bounds first: nothing is hashed or decoded beyond them.
    let ders = chain::decode_x5c(x5c)?;
    let key = chain::chain_key(x5c);
    if let Some(hit) = state.chains.get(&key, &config.revoked, now) {
        return Ok(hit);
    }
    let verified =
        Rc::new(chain::verify_chain(&ders, &config.anchors, &config.revoked, now, verifier).await?);
    state.chains.put(key, verified.clone(), now);
    Ok(verified)
}

/// The registry's key for a proof: the SHA-256, hex, of the leaf's fingerprint and the `jti`.
fn proof_key(chain: &VerifiedChain, jti: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"edgeward/pop\n");
    hash.update(chain.fingerprint);
    hash.update(b"\n");
    hash.update(jti.as_bytes());
    hex(&hash.finalize())
}

/// Refuses a proof seen before: in this isolate's memory, else in the registry shard of the
/// leaf's fingerprint, which remembers it until `exp` + [`pop::REMEMBER_AFTER_EXP`]. Without a
/// registry, or when it cannot be asked, the request fails closed (503).
async fn check_replay(
    edge: &impl Context,
    chain: &VerifiedChain,
    claims: &pop::PopClaims,
    now: u64,
) -> Result<(), Error> {
    let state = edge.machine_state();
    let key = proof_key(chain, &claims.jti);
    if state.seen.seen(&key, now) {
        return Err(Error::ProofReplayed(format!(
            "jti seen before in this isolate (client {})",
            chain.subject
        )));
    }
    let ports = edge.ports();
    if !ports.has_registry() {
        return Err(Error::SessionStoreUnavailable(
            "no session registry is bound: PoP proofs cannot be checked for replay".into(),
        ));
    }
    let until = claims.exp + pop::REMEMBER_AFTER_EXP;
    let shard = shard_of(
        &format!("x5t#S256:{}", chain.thumbprint()),
        edge.session_settings().shards,
    );
    let request = RegistryRequest::SeenProof {
        key: key.clone(),
        until,
        now,
        certificates: chain.revocation_names(),
    };
    let answer = ask(ports, &shard, &request)
        .await
        .map_err(|e| Error::SessionStoreUnavailable(format!("PoP replay check: {e}")))?;
    state.seen.remember(key, until, now);
    match answer {
        RegistryAnswer::Stored => Ok(()),
        RegistryAnswer::Replayed => Err(Error::ProofReplayed(format!(
            "jti seen before (client {})",
            chain.subject
        ))),
        RegistryAnswer::Revoked => Err(Error::ClientCertificateRefused(format!(
            "a certificate of the chain was revoked through the admin endpoint (client {})",
            chain.subject
        ))),
        other => Err(Error::SessionStoreUnavailable(format!(
            "PoP replay check: unexpected answer {other:?}"
        ))),
    }
}
