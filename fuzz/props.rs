//! The fuzz targets' properties, one function per target, each taking the engine's raw input.
//!
//! Shared by the coverage-guided targets (`fuzz/fuzz_targets/*.rs`, libFuzzer on stable) and by
//! the native replay of the seeds and of every crash ever found
//! (`edge/core/tests/fuzz_regressions.rs`), both through `#[path]`: one body each. A property
//! that does not hold panics with what broke; anything a parser refuses is fine.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edgeward_core::cookie::seal::{CookieKey, CookieKeys, Label};
use edgeward_core::oidc::idtoken::{self, Expected, Jwks, PublicKey};
use edgeward_core::platform::cookies::{self, Jar};
use edgeward_core::proxy::phantom::{
    read_introspection_jwt, Introspection, TokenPolicy, TokenRules,
};
use edgeward_core::proxy::{path_is_safe, Routes};
use edgeward_core::{AeadCipher, Profile, Random, RandomUnavailable, RustSignatures};
use futures_util::FutureExt;
use http::header::{HeaderMap, HeaderValue, COOKIE};

/// Every target by name: the folder names under `fuzz/seeds/` and `fuzz/regressions/`.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("cookie_value", cookie_value),
    ("cookie_jar", cookie_jar),
    ("jwt", jwt),
    ("introspection", introspection),
    ("token_answer", token_answer),
    ("page_url", page_url),
    ("return_to", return_to),
    ("path", path),
    ("config", config),
    ("x509", x509),
    ("pop", pop),
];

/// The SPA's origin in every target.
pub const ORIGIN: &str = "https://app.example";
const CLIENT_ID: &str = "edgeward-client";
/// Now, for everything that checks a time.
pub const NOW: u64 = 1_700_000_000;

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// The one future each target runs: all ports answer at once, so it is ready on first poll.
fn ready<T>(f: impl std::future::Future<Output = T>) -> T {
    f.now_or_never().expect("ports answer at once")
}

/// Fixed randomness (the seeds are reproducible) and the Rust cipher.
pub struct Fixed;
impl Random for Fixed {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
        dest.iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = i as u8 ^ 0x5a);
        Ok(())
    }
}
impl AeadCipher for Fixed {}

// ---------------------------------------------------------------------------------------------
// Cookies

/// The cookie names the harness seals for, each with its own plaintext.
pub const SEALED_FOR: [(&str, &[u8]); 2] = [
    (
        edgeward_shared::names::COOKIE_SESSION,
        b"{\"sid\":\"session-a\"}",
    ),
    (
        edgeward_shared::names::COOKIE_LOGIN,
        b"{\"state\":\"flow-b\"}",
    ),
];
const COOKIE_EXPIRES: u64 = NOW + 3600;

fn cookie_keys() -> CookieKeys {
    CookieKeys::new(vec![
        CookieKey::new("k2", &[0x22; 32]).unwrap(),
        CookieKey::new("k1", &[0x11; 32]).unwrap(),
    ])
    .unwrap()
    .for_deployment(ORIGIN, CLIENT_ID)
}

/// The value the harness seals for `SEALED_FOR[which]` (a seed).
pub fn sealed(which: usize) -> String {
    let (name, plain) = SEALED_FOR[which];
    let label = Label {
        tag: "t",
        expires_at: COOKIE_EXPIRES,
    };
    ready(cookie_keys().seal(&Fixed, name, label, plain)).unwrap()
}

/// First byte: which cookie name; the rest: the cookie's value. Anything that opens under a
/// name is exactly what the harness sealed under that name, with its expiry.
pub fn cookie_value(data: &[u8]) {
    let Some((&which, value)) = data.split_first() else {
        return;
    };
    let Some(value) = text(value) else { return };
    let (name, plain) = SEALED_FOR[usize::from(which) % SEALED_FOR.len()];
    let keys = cookie_keys();
    let _ = keys.peek(value);
    if let Ok(opened) = ready(keys.open(&Fixed, name, value, NOW)) {
        assert_eq!(
            opened.value, plain,
            "{value:?} opened under {name} to another plaintext"
        );
        assert_eq!(
            opened.expires_at, COOKIE_EXPIRES,
            "{value:?} opened with another expiry"
        );
    }
    let _ = ready(keys.open_json::<serde_json::Value>(&Fixed, name, value, NOW));
}

/// The whole `Cookie` header, one field per line. For each of our cookies the one-pass jar
/// answers as the plain scan does; a value it gives never holds a separator; a cookie it gives
/// is present.
pub fn cookie_jar(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        if let Ok(v) = HeaderValue::from_bytes(line) {
            headers.append(COOKIE, v);
        }
    }
    let jar = Jar::of(&headers);
    for name in edgeward_shared::names::ALL_COOKIES {
        let got = jar.get(name);
        let scanned = cookies::read_by_scan(&headers, name);
        assert_eq!(
            got.map(str::to_owned),
            scanned,
            "jar and scan differ on {name}"
        );
        assert_eq!(
            jar.present(name),
            cookies::present_by_scan(&headers, name),
            "jar and scan differ on whether {name} is present"
        );
        if let Some(v) = got {
            assert!(!v.contains([';', ',']), "{name} = {v:?} holds a separator");
            assert!(jar.present(name), "{name} got but not present");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

const ISSUER: &str = "https://idp.example";

/// The harness's ES256 signing key (fixed: the seeds are reproducible).
fn signing_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_bytes(&[0x31; 32].into()).unwrap()
}

/// The harness's RS256 signing key: a fixed 2048-bit test key (`fuzz/keys/rs256.der`, PKCS#8,
/// made by `openssl genpkey`; it signs nothing but the seeds).
fn rsa_key() -> rsa::RsaPrivateKey {
    use rsa::pkcs8::DecodePrivateKey;
    rsa::RsaPrivateKey::from_pkcs8_der(include_bytes!("keys/rs256.der")).unwrap()
}

/// The provider's JWKS: `k1` (ES256) and `r1` (RS256, 2048 bits).
fn jwks() -> Jwks {
    let ec = PublicKey::es256(*signing_key().verifying_key());
    let rs = PublicKey::rs256(rsa_key().to_public_key());
    let mut keys = Vec::new();
    for (kid, key) in [("k1", ec), ("r1", rs)] {
        let mut jwk: serde_json::Value = serde_json::from_str(key.jwk()).unwrap();
        jwk["kid"] = kid.into();
        keys.push(jwk);
    }
    Jwks::parse(serde_json::json!({ "keys": keys }).to_string().as_bytes()).unwrap()
}

/// A token signed by the harness's key for the header's `alg`, ES256 or RS256 (a seed).
pub fn signed_token(header: &serde_json::Value, claims: &serde_json::Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use p256::ecdsa::signature::Signer;
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = if header["alg"] == "RS256" {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(signed.as_bytes());
        rsa_key()
            .sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
            .unwrap()
    } else {
        let sig: p256::ecdsa::Signature = signing_key().sign(signed.as_bytes());
        sig.to_bytes().to_vec()
    };
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// Part `n` of a compact JWS as JSON.
fn json_part(token: &str, n: usize) -> Option<serde_json::Value> {
    use base64::Engine;
    let part = token.split('.').nth(n)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A JWS/JWT: verified against the harness's JWKS (one ES256 key), validated as an ID token,
/// as a logout token and as an introspection JWT, and read for its claimed issuer. A token that
/// verifies carries the key's algorithm; one that validates is from our issuer (an ID token:
/// with our nonce; an introspection JWT: cached no longer than allowed).
pub fn jwt(data: &[u8]) {
    let Some(token) = text(data) else { return };
    thread_local!(static JWKS: Jwks = jwks());
    JWKS.with(|jwks| jwt_against(token, jwks));
}

/// What the harness's login expects of its ID token.
fn expected_id_token() -> Expected<'static> {
    Expected {
        issuer: ISSUER,
        tenants: None,
        client_id: CLIENT_ID,
        nonce: "n-0S6_WzA2Mj",
        acr_values: None,
        now: NOW,
    }
}

/// Whether `data` validates as an ID token of the harness's provider (the seeds must reach the
/// deepest path, with each key).
pub fn id_token_validates(data: &[u8]) -> bool {
    let Some(token) = text(data) else {
        return false;
    };
    let expected = expected_id_token();
    ready(idtoken::validate(
        token,
        &jwks(),
        &expected,
        &RustSignatures,
    ))
    .is_ok()
}

fn jwt_against(token: &str, jwks: &Jwks) {
    let _ = edgeward_core::oidc::logout::claimed_issuer(token);
    if let Ok(v) = ready(idtoken::verify::<serde_json::Value, _>(
        token,
        jwks,
        &RustSignatures,
    )) {
        let _ = v.header();
        let header = json_part(token, 0).expect("a verified token has a JSON header");
        // No algorithm confusion: it verified under the key its header names (or, without a
        // `kid`, one of the keys), with that key's own algorithm; never `none`, never HS256
        // with a public key as the secret.
        let fits = match (header["alg"].as_str(), header.get("kid")) {
            (Some("ES256"), None) | (Some("RS256"), None) => true,
            (Some("ES256"), Some(kid)) => kid == "k1",
            (Some("RS256"), Some(kid)) => kid == "r1",
            _ => false,
        };
        assert!(
            fits,
            "{token:?} verified with {header} against keys k1 (ES256), r1 (RS256)"
        );
        assert_eq!(
            token.split('.').count(),
            3,
            "{token:?} verified but is no JWS"
        );
    }
    let expected = expected_id_token();
    if let Ok(v) = ready(idtoken::validate(token, jwks, &expected, &RustSignatures)) {
        let claims = json_part(token, 1).expect("a validated token has JSON claims");
        assert_eq!(claims["iss"], ISSUER, "{v:?} validated for another issuer");
        assert_eq!(
            claims["nonce"], "n-0S6_WzA2Mj",
            "{v:?} validated with another nonce"
        );
    }
    if let Ok(order) = ready(edgeward_core::oidc::logout::validate(
        token,
        jwks,
        ISSUER,
        CLIENT_ID,
        NOW,
        &RustSignatures,
    )) {
        let claims = json_part(token, 1).expect("a validated token has JSON claims");
        assert_eq!(
            claims["iss"], ISSUER,
            "{order:?} validated for another issuer"
        );
        assert!(
            claims.get("nonce").is_none(),
            "{order:?}: a logout token with a nonce"
        );
    }
    let policy = TokenPolicy::default();
    let audiences = ["orders".to_owned()];
    let rules = TokenRules {
        policy: &policy,
        issuer: ISSUER,
        own_client_id: CLIENT_ID,
        audiences: &audiences,
        client_id_required: false,
        session_sub: None,
        now: NOW,
    };
    let read = read_introspection_jwt(token, jwks, &rules, INTROSPECTION_TTL, &RustSignatures);
    if let Ok(minted) = ready(read) {
        let claims = json_part(token, 1).expect("a validated token has JSON claims");
        assert_eq!(claims["iss"], ISSUER, "{token:?} read for another issuer");
        assert!(
            minted.expires_at > NOW && minted.expires_at <= NOW + INTROSPECTION_TTL,
            "{token:?} cached until {}",
            minted.expires_at
        );
    }
}

/// How long a read introspection JWT may be cached at most.
const INTROSPECTION_TTL: u64 = 300;

/// An introspection answer (RFC 7662 JSON): parsing is total on anything serde accepts.
pub fn introspection(data: &[u8]) {
    if let Ok(i) = serde_json::from_slice::<Introspection>(data) {
        let again: serde_json::Value = serde_json::from_slice(data).unwrap();
        assert_eq!(
            Some(i.active),
            again["active"].as_bool(),
            "active read wrongly"
        );
    }
}

/// The token endpoint's answer: two bytes of status, then the body. Tokens come only from a
/// 2xx; a refusal only from a 4xx; a failure's message never repeats the body.
pub fn token_answer(data: &[u8]) {
    let Some((status, body)) = data.split_at_checked(2) else {
        return;
    };
    let status = 100 + u16::from_be_bytes([status[0], status[1]]) % 500;
    let Ok(status) = http::StatusCode::from_u16(status) else {
        return;
    };
    let response = http::Response::builder()
        .status(status)
        .body(body.to_vec())
        .unwrap();
    use edgeward_core::oidc::provider::{parse_token_answer, TokenError};
    use edgeward_core::oidc::Quirks;
    match parse_token_answer("https://idp.example/token", &response, Quirks::default()) {
        Ok(_) => assert!(status.is_success(), "tokens from HTTP {status}"),
        Err(TokenError::Refused(_)) => {
            assert!(status.is_client_error(), "a refusal from HTTP {status}")
        }
        Err(TokenError::Unavailable(message)) => {
            // Exactly one of the two messages that name nothing of the body.
            let url = "https://idp.example/token";
            let nonsense = format!("{url} did not answer a token response");
            let failed = format!("{url} answered HTTP {}", status.as_u16());
            assert!(
                message == nonsense || message == failed,
                "{message:?} for HTTP {status}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

/// The login's end (`{pageUrl}`): a page it accepts is on our origin.
pub fn page_url(data: &[u8]) {
    if let Ok(page) = edgeward_core::request::guard::callback_page(data, ORIGIN, "login end") {
        assert_eq!(
            page.0.origin().ascii_serialization(),
            ORIGIN,
            "{:?} accepted",
            page.0
        );
    }
}

/// `returnTo`: what it accepts is a path on our origin, that resolves to itself and is
/// accepted again unchanged.
pub fn return_to(data: &[u8]) {
    let Some(input) = text(data) else { return };
    use edgeward_core::request::guard::validate_return_to;
    if let Ok(path) = validate_return_to(input, ORIGIN) {
        assert!(path.starts_with('/'), "{input:?} gave {path:?}");
        assert!(
            !path.starts_with("//") && !path.starts_with("/\\"),
            "{input:?} gave {path:?}"
        );
        assert!(
            !path.chars().any(char::is_control),
            "{input:?} gave {path:?}"
        );
        let base = url::Url::parse(ORIGIN).unwrap();
        let joined = base.join(&path).unwrap();
        assert_eq!(
            joined.origin(),
            base.origin(),
            "{input:?} gave {path:?}, off origin"
        );
        assert_eq!(
            validate_return_to(&path, ORIGIN).ok().as_deref(),
            Some(path.as_str()),
            "{input:?} gave {path:?}, which is not accepted unchanged"
        );
    }
}

const ROUTES: &str = r#"[
    {"prefix": "/api/orders/", "upstream": "http://orders.test/v1/", "methods": ["GET", "POST"]},
    {"prefix": "/api/orders/admin/", "upstream": "http://orders.test/v1/admin/", "methods": ["GET"]}
]"#;

/// Whether a decoded segment is a dot segment or one that some server folds into one: dots,
/// or dots and whitespace (whitespace alone is a name).
fn dotty(segment: &str) -> bool {
    segment.contains('.') && segment.chars().all(|c| c == '.' || c.is_whitespace())
}

/// Path normalisation and route matching. A path `path_is_safe` accepts has no dot segment
/// (raw or decoded), no encoded slash, backslash or dot; a route's upstream URL stays on the
/// route's upstream, under its path, and holds no dot segment.
pub fn path(data: &[u8]) {
    let Some(path) = text(data) else { return };
    if path_is_safe(path) {
        for raw in path[1..].split('/') {
            let lower = raw.to_ascii_lowercase();
            for bad in ["%2f", "%5c", "%2e", "%25"] {
                assert!(!lower.contains(bad), "{path:?} accepted with {bad}");
            }
            let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
            assert!(
                !dotty(&decoded),
                "{path:?} accepted with the dot segment {raw:?}"
            );
            assert!(
                !decoded.contains(['/', '\\']),
                "{path:?} accepted with {raw:?}"
            );
        }
    }
    let Ok(uri) = path.parse::<http::Uri>() else {
        return;
    };
    let routes = Routes::parse(ROUTES, Profile::Local).unwrap();
    if let Ok(target) = routes.resolve(&http::Method::GET, &uri) {
        let url = &target.url;
        assert_eq!(
            url.host_str(),
            Some("orders.test"),
            "{path:?} went to {url}"
        );
        assert!(url.path().starts_with("/v1/"), "{path:?} went to {url}");
        for segment in url.path().split('/') {
            let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
            assert!(!dotty(&decoded), "{path:?} went to {url}");
        }
        if target.route.prefix == "/api/orders/" {
            assert!(
                !url.path().starts_with("/v1/admin/"),
                "{path:?} reached the admin part through the writable route: {url}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration and machine clients

/// The configuration from variables, one `NAME=value` a line (the seeds are whole
/// configurations). A configuration that validates keeps its invariants (its origin is among
/// the allowed ones; production means https); neither a refusal's message nor a validated
/// configuration's `Debug` (what a log line could show) holds the value of a secret variable.
///
/// A secret's value found in what is shown is a leak only if it came from that variable: the
/// same input with that one value changed (each letter and digit to the next of its kind, so a
/// hex or base64 key stays one of the same length) must then no longer show the old value. (A
/// value that is also part of a fixed message or of another variable's echoed value shows
/// either way: the engine's comparison tracing finds such values in a second. A value without
/// a letter or a digit cannot be changed so, and is not judged.)
pub fn config(data: &[u8]) {
    let Some(input) = text(data) else { return };
    let vars: std::collections::HashMap<String, String> = input
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let shown = shown_config(&vars);
    for (name, value) in &vars {
        let value = value.trim();
        // Values long enough not to turn up by chance in a message.
        if !is_secret_variable(name) || value.len() < 16 || !shown.contains(value) {
            continue;
        }
        let mut changed = vars.clone();
        changed.insert(name.clone(), rotated(value));
        assert!(
            shown_config(&changed).contains(value),
            "the value of {name} is shown: {shown}"
        );
    }
}

/// What `Config::from_vars` makes of `vars` as a log line could show it: the configuration's
/// `Debug` (checked for its invariants), or the refusal's message; and the cookie keys'
/// refusal, if they are refused.
fn shown_config(vars: &std::collections::HashMap<String, String>) -> String {
    let mut shown = match edgeward_core::Config::from_vars(|name| vars.get(name).cloned()) {
        Ok(config) => {
            assert!(
                config.allowed_origins.contains(&config.origin),
                "{config:?}: its origin is not allowed"
            );
            if config.profile == Profile::Production {
                assert!(
                    config.origin.starts_with("https://"),
                    "production on {}",
                    config.origin
                );
            }
            format!("{config:?}")
        }
        Err(e) => {
            assert!(
                e.variable.starts_with("EDGEWARD_") || e.variable.starts_with("OIDC_"),
                "the error names {:?}, not a variable",
                e.variable
            );
            e.to_string()
        }
    };
    if let Some(Err(e)) = vars
        .get("EDGEWARD_COOKIE_KEYS")
        .map(|s| CookieKeys::parse(s))
    {
        shown.push('\n');
        shown.push_str(&e.to_string());
    }
    shown
}

/// `value` with each digit, hex letter and other letter turned to the next of its kind
/// (`9`→`0`, `f`→`a`, `z`→`g`), but the last one (the last of a base64 value holds unused bits
/// that strict decoding wants zero): as long, as valid a hex or base64 key, and another value.
fn rotated(value: &str) -> String {
    let next = |c: char, from: char, to: char| {
        if c == to {
            from
        } else {
            char::from_u32(c as u32 + 1).unwrap_or(c)
        }
    };
    let last = value.rfind(|c: char| c.is_ascii_alphanumeric());
    value
        .char_indices()
        .map(|(i, c)| match c {
            _ if Some(i) == last => c,
            '0'..='9' => next(c, '0', '9'),
            'a'..='f' => next(c, 'a', 'f'),
            'g'..='z' => next(c, 'g', 'z'),
            'A'..='F' => next(c, 'A', 'F'),
            'G'..='Z' => next(c, 'G', 'Z'),
            _ => c,
        })
        .collect()
}

/// A variable that holds a secret (README "Configuration": the ones marked secret, and each
/// provider's or connection's own).
fn is_secret_variable(name: &str) -> bool {
    const SECRETS: [&str; 6] = [
        "EDGEWARD_COOKIE_KEYS",
        "OIDC_CLIENT_SECRET",
        "OIDC_CLIENT_KEY",
        "EDGEWARD_MINT_KEY",
        "EDGEWARD_ADMIN_TOKEN",
        "EDGEWARD_BROKER_KEYS",
    ];
    SECRETS.contains(&name) || name.contains("SECRET") || name.ends_with("_CLIENT_KEY")
}

/// One DER certificate, then the same bytes as an `x5c` chain of one.
pub fn x509(data: &[u8]) {
    use edgeward_core::machine::chain::{decode_x5c, Certificate};
    let _ = Certificate::from_der(data);
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    if let Ok(ders) = decode_x5c(&[b64]) {
        assert_eq!(ders, vec![data.to_vec()], "x5c decoded to other bytes");
    }
}

/// A PoP JWT (`machine/`): what decodes is ES256 or RS256 with a chain, and its signed part is
/// the token's first two parts.
pub fn pop(data: &[u8]) {
    let Some(token) = text(data) else { return };
    if let Ok(proof) = edgeward_core::machine::pop::decode(token) {
        assert!(
            ["ES256", "RS256"].contains(&proof.header.alg.as_str()),
            "{token:?}"
        );
        assert!(
            proof.header.x5c.is_some(),
            "{token:?} decoded without a chain"
        );
        let signed = token.rsplit_once('.').map(|(s, _)| s.as_bytes());
        assert_eq!(Some(proof.signed), signed, "{token:?}");
    }
}
