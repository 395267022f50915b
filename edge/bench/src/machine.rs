//! Machine clients through [`Edge::handle`], timed in V8: a proof of possession with a chain
//! of three certificates (made by openssl in `scripts/bench-wasm.mjs`, which also signs the
//! proofs with node:crypto), the first time an isolate sees the chain and when it is cached.
//! Signatures by WebCrypto (the worker's path) or in Rust; a registry that has seen no proof.

use edgeward_core::sessions::RegistryAnswer;
use edgeward_core::{
    AeadCipher, Clock, Config, Edge, HttpClient, Log, Outcome, Random, RandomUnavailable,
    RefreshCoordinator, SessionRegistry, SharedCache, SignatureVerifier, Signer, TransportError,
};
use edgeward_webcrypto::WebCrypto;
use wasm_bindgen::prelude::*;

const ORIGIN: &str = "http://localhost:8787";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn perf_now() -> f64;
}

struct MachinePorts {
    now: u64,
    webcrypto: bool,
}

impl Clock for MachinePorts {
    fn now(&self) -> u64 {
        self.now
    }
}

impl Random for MachinePorts {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
        getrandom::getrandom(dest).map_err(|_| RandomUnavailable)
    }
}

impl HttpClient for MachinePorts {
    async fn send(
        &self,
        _request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        Err(TransportError {
            reason: "no network here".into(),
        })
    }
}

impl SharedCache for MachinePorts {
    async fn get(&self, _key: &str) -> Option<Vec<u8>> {
        None
    }
    async fn put(&self, _key: &str, _value: Vec<u8>, _ttl: u64) {}
    async fn delete(&self, _key: &str) {}
}

impl RefreshCoordinator for MachinePorts {
    async fn coordinate_refresh(
        &self,
        _session: &str,
        _refresh_token: &str,
    ) -> Option<Result<http::Response<Vec<u8>>, TransportError>> {
        None
    }
}

/// A registry that has seen no proof.
impl edgeward_core::RateLimiter for MachinePorts {}

impl SessionRegistry for MachinePorts {
    fn has_registry(&self) -> bool {
        true
    }
    async fn registry(&self, _shard: &str, _request: &str) -> Result<String, TransportError> {
        serde_json::to_string(&RegistryAnswer::Stored).map_err(|e| TransportError {
            reason: e.to_string(),
        })
    }
}

impl SignatureVerifier for MachinePorts {
    async fn verify_signature(
        &self,
        alg: &str,
        jwk: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Option<bool> {
        if self.webcrypto {
            WebCrypto
                .verify_signature(alg, jwk, message, signature)
                .await
        } else {
            None
        }
    }
}

/// The minted token signed as the verifier checks: by WebCrypto or in Rust.
impl Signer for MachinePorts {
    async fn sign_message(&self, alg: &str, jwk: &str, message: &[u8]) -> Option<Vec<u8>> {
        if self.webcrypto {
            WebCrypto.sign_message(alg, jwk, message).await
        } else {
            None
        }
    }
}

impl AeadCipher for MachinePorts {}
impl Log for MachinePorts {}

fn js(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn edge(ca_pem: &str, now: u64, webcrypto: bool) -> Result<Edge<MachinePorts>, JsError> {
    let routes = r#"[{"prefix": "/api/m/", "upstream": "http://api.test/", "methods": ["GET"], "clients": ["pop"], "scope": "bench"}]"#;
    let config = Config::from_vars(|name| {
        Some(
            match name {
                "EDGEWARD_PROFILE" => "local",
                "EDGEWARD_ORIGIN" => ORIGIN,
                "EDGEWARD_COOKIE_KEYS" => {
                    "t1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                }
                "OIDC_ISSUER" => "http://idp.test",
                "OIDC_CLIENT_ID" => "edgeward",
                "OIDC_CLIENT_SECRET" => "bench-secret",
                "EDGEWARD_API_ROUTES" => routes,
                "EDGEWARD_MINT_KEY" => "m1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
                "EDGEWARD_CLIENT_CA" => ca_pem,
                _ => return None,
            }
            .to_owned(),
        )
    })
    .map_err(js)?;
    Ok(Edge::new(config, MachinePorts { now, webcrypto }))
}

async fn one(edge: &Edge<MachinePorts>, proof: &str) -> Result<(), JsError> {
    let req = http::Request::builder()
        .method("GET")
        .uri(format!("{ORIGIN}/api/m/x"))
        .header("authorization", format!("PoP {proof}"))
        .body(Vec::new())
        .map_err(js)?;
    match edge.handle(req).await {
        Outcome::Forward(_) => Ok(()),
        Outcome::Respond(r) => Err(JsError::new(&format!(
            "refused: {} {}",
            r.status(),
            String::from_utf8_lossy(r.body())
        ))),
    }
}

/// `GET /api/m/x` with each of `proofs` (newline-separated, each for that request, distinct
/// `jti`s): the mean µs of a request whose chain the isolate has not seen (`cached` false: a
/// new `Edge` for each, made before the clock starts) or has (`cached` true: one `Edge`, the
/// chain verified before the clock starts).
#[wasm_bindgen]
pub async fn machine_pop(
    ca_pem: String,
    proofs: String,
    now: u64,
    webcrypto: bool,
    cached: bool,
) -> Result<f64, JsError> {
    let proofs: Vec<&str> = proofs.lines().filter(|l| !l.is_empty()).collect();
    let n = proofs.len().saturating_sub(1).max(1);
    if cached {
        let edge = edge(&ca_pem, now, webcrypto)?;
        one(&edge, proofs.first().copied().unwrap_or_default()).await?;
        let start = perf_now();
        for proof in proofs.iter().skip(1) {
            one(&edge, proof).await?;
        }
        Ok((perf_now() - start) * 1000.0 / n as f64)
    } else {
        let edges = proofs
            .iter()
            .skip(1)
            .map(|_| edge(&ca_pem, now, webcrypto))
            .collect::<Result<Vec<_>, _>>()?;
        let start = perf_now();
        for (edge, proof) in edges.iter().zip(proofs.iter().skip(1)) {
            one(edge, proof).await?;
        }
        Ok((perf_now() - start) * 1000.0 / n as f64)
    }
}
