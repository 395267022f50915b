// Machine clients with proofs of possession (README "Machine clients") against workerd, the
// real IdP and the Rust example API. The PKI is made at every run: a root, an intermediate and
// clients by the edgeward CLI (edge/cli), and two chains by openssl alone
// (tests/pki/openssl-chain.sh, EC and RSA). The good clients reach the example API, which sees
// the certificate's subject and the minted token's `cnf`; every bad input of issue 16 is a
// 401/403 JSON answer with a stable code, never a 500, and never reaches the API.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useStack, ROOT, ORIGIN, API } from "../support/stack.mjs";
import { signIn } from "../support/session.mjs";
import { rawCall } from "../support/raw.mjs";

// --- the PKI, made before the worker starts (its trust anchors are a variable) ---------------
const built = spawnSync("cargo", ["build", "-q", "-p", "edgeward-cli"], { cwd: ROOT, stdio: "inherit" });
if (built.status !== 0) throw new Error("cargo build -p edgeward-cli failed");
const BIN = join(ROOT, "target", "debug", "edgeward");
const dir = mkdtempSync(join(tmpdir(), "edgeward-pki-"));
const cli = (...args) => execFileSync(BIN, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const at = (...p) => join(dir, ...p);

cli("ca", "init", "--name", "edgeward test root", "--out", at("root"));
cli("ca", "intermediate", "--ca", at("root"), "--name", "edgeward test issuing", "--out", at("int"));
/** A client made by the CLI: key + CSR at the client, signed at the CA. */
function client(name, { ca = "int", rsa = false, san } = {}) {
  cli("client", "key", "--subject", name, ...(rsa ? ["--rsa"] : []), "--out", at(name));
  cli("ca", "sign", "--ca", at(ca), "--csr", at(name, "client.csr"), ...(san ? ["--san-uri", san] : []), "--out", at(name));
  return { key: at(name, "client.key"), chain: at(name, "chain.pem") };
}
const EC = client("runner-1", { san: "spiffe://example.org/ci/runner-1" });
const RSA = client("batch-rsa", { ca: "root", rsa: true });
const REVOKED_FP = client("revoked-by-fingerprint");
const REVOKED_SERIAL = client("revoked-by-serial");
const SPARE = client("spare");
// Another CA with the same name as ours (so only its key differs), and a client of it.
cli("ca", "init", "--name", "edgeward test root", "--out", at("other-root"));
const FOREIGN = client("foreign", { ca: "other-root" });

for (const kind of ["ec", "rsa"]) {
  const made = spawnSync("bash", [join(ROOT, "tests/pki/openssl-chain.sh"), at("openssl"), kind], { stdio: "inherit" });
  if (made.status !== 0) throw new Error(`tests/pki/openssl-chain.sh ${kind} failed`);
}
const ossl = (kind, chain = "chain.pem", key = "leaf.key") => ({ key: at("openssl", kind, key), chain: at("openssl", kind, chain) });

/** The certificates of a PEM file, DER, in order. */
const ders = (file) =>
  readFileSync(file, "utf8")
    .split("-----END CERTIFICATE-----")
    .filter((b) => b.includes("-----BEGIN CERTIFICATE-----"))
    .map((b) => Buffer.from(b.split("-----BEGIN CERTIFICATE-----")[1].replace(/\s+/g, ""), "base64"));
const leafOf = (who) => new X509Certificate(ders(who.chain)[0]);

const CLIENT_CA = [at("root", "ca.crt"), at("openssl", "ec", "root.crt"), at("openssl", "rsa", "root.crt")]
  .map((f) => readFileSync(f, "utf8"))
  .join("");
const CLIENT_REVOKED = [
  `sha256:${leafOf(REVOKED_FP).fingerprint256.replaceAll(":", "").toLowerCase()}`,
  leafOf(REVOKED_SERIAL).serialNumber,
].join(",");

const ADMIN = "machine-clients-admin-token-0123456789";
const ROUTES = JSON.stringify([
  { prefix: "/api/whoami/", upstream: `${API}/whoami/`, methods: ["GET"], clients: ["pop"], scope: "openid" },
  { prefix: "/api/echo/", upstream: `${API}/echo/`, methods: ["GET", "POST"], clients: ["pop"], scope: "openid" },
  // Browser sessions only: a proof here is refused.
  { prefix: "/api/browser/", upstream: `${API}/whoami/`, methods: ["GET"] },
]);

useStack({
  idp: true,
  worker: {
    vars: { EDGEWARD_API_ROUTES: ROUTES, EDGEWARD_CLIENT_CA: CLIENT_CA, EDGEWARD_CLIENT_REVOKED: CLIENT_REVOKED, EDGEWARD_ADMIN_TOKEN: ADMIN },
  },
  api: true,
});

// --- proofs -------------------------------------------------------------------------------------
const WHOAMI = `${ORIGIN}/api/whoami`;
const now = () => Math.floor(Date.now() / 1000);
const b64url = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/**
 * A proof made here (for the bad inputs): `who`'s chain and key, or the `x5c`, `key`, header
 * and claims given; `alg` from the key unless given; `signature` replaces the real one.
 */
function craft({ who = EC, method = "GET", url = WHOAMI, header = {}, claims = {}, key, x5c, signature } = {}) {
  const privateKey = createPrivateKey(key ?? readFileSync(who.key));
  const alg = privateKey.asymmetricKeyType === "ec" ? "ES256" : "RS256";
  const h = { alg, typ: "edgeward-pop+jwt", x5c: x5c ?? ders(who.chain).map((d) => d.toString("base64")), ...header };
  const c = { iat: now(), exp: now() + 60, jti: randomBytes(18).toString("base64url"), htm: method, htu: url, ...claims };
  const input = `${b64url(h)}.${b64url(c)}`;
  const sig =
    signature ??
    sign("sha256", Buffer.from(input), privateKey.asymmetricKeyType === "ec" ? { key: privateKey, dsaEncoding: "ieee-p1363" } : privateKey);
  return `${input}.${Buffer.from(sig).toString("base64url")}`;
}
/** A proof made by the CLI (`edgeward pop`). */
const cliProof = (who, method, url) => cli("pop", "--key", who.key, "--chain", who.chain, "--method", method, "--url", url).trim();
const withProof = (proof, url = WHOAMI, init = {}) =>
  fetch(url, { ...init, headers: { authorization: `PoP ${proof}`, ...(init.headers ?? {}) } });

/** The API's view of the call: its body, and the token the worker minted for it. */
async function reached(res) {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const body = JSON.parse(text);
  const bearer = body.request.headers.authorization;
  assert.match(bearer, /^Bearer eyJ/);
  // No header carries the PoP scheme on (a minted token's base64url may spell "pop" by chance).
  assert.ok(!Object.values(body.request.headers).some((v) => /^PoP\s/i.test(String(v))), "the proof never reaches the API");
  const [header, claims] = bearer.slice(7).split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url")));
  assert.notEqual(header.typ, "edgeward-pop+jwt", "what reaches the API is a minted token, not the proof");
  return { body, header, claims };
}
const thumbprint = (who) => createHash("sha256").update(ders(who.chain)[0]).digest("base64url");

/** A refusal: 401/403, JSON `{code, message}`, the code expected. */
async function refused(res, code, status = 401) {
  const text = await res.text();
  assert.notEqual(res.status, 500, text);
  assert.equal(res.status, status, text);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const body = JSON.parse(text);
  assert.equal(body.code, code, text);
  assert.equal(typeof body.message, "string");
  assert.ok(!/BEGIN|MII|eyJ/.test(body.message), "the message leaks no certificate or token");
}

// --- the good clients -----------------------------------------------------------------------------
test("a CLI client (EC key, intermediate, SAN URI) reaches the API as its certificate's subject, with cnf", async () => {
  const out = spawnSync(BIN, ["call", "--key", EC.key, "--chain", EC.chain, "--method", "GET", "--url", WHOAMI], { encoding: "utf8" });
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stderr, /200/);
  const body = JSON.parse(out.stdout);
  assert.equal(body.sub, "spiffe://example.org/ci/runner-1");
  assert.equal(body.clientId, "spiffe://example.org/ci/runner-1");
  assert.deepEqual(body.scopes, ["openid"]);

  // `call` with a body and a header, as README shows it.
  const posted = spawnSync(
    BIN,
    ["call", "--key", EC.key, "--chain", EC.chain, "--method", "POST", "--url", `${ORIGIN}/api/echo/runs`, "--data", '{"run":7}', "-H", "content-type: application/json"],
    { encoding: "utf8" },
  );
  assert.equal(posted.status, 0, posted.stderr);
  const echoed = JSON.parse(posted.stdout).request;
  assert.equal(echoed.body, '{"run":7}');
  assert.equal(echoed.headers["content-type"], "application/json");
  // And it exits non-zero on a refusal (a route that takes no proofs), printing the answer.
  const denied = spawnSync(BIN, ["call", "--key", EC.key, "--chain", EC.chain, "--url", `${ORIGIN}/api/browser/`], { encoding: "utf8" });
  assert.equal(denied.status, 1);
  assert.match(denied.stderr, /401/);
  assert.equal(JSON.parse(denied.stdout).code, "invalid_client_proof");

  const { claims, header } = await reached(await withProof(cliProof(EC, "GET", WHOAMI)));
  assert.equal(header.typ, "at+jwt");
  assert.equal(claims.sub, "spiffe://example.org/ci/runner-1");
  assert.deepEqual(claims.cnf, { "x5t#S256": thumbprint(EC) });
});

test("a CLI client with an RSA key (RS256, signed by the root, no SAN) is its CN; POST with a query", async () => {
  const url = `${ORIGIN}/api/echo/jobs?id=7`;
  const proof = cliProof(RSA, "POST", url);
  assert.equal(JSON.parse(Buffer.from(proof.split(".")[0], "base64url")).alg, "RS256");
  const { body, claims } = await reached(await withProof(proof, url, { method: "POST", body: "payload" }));
  assert.equal(body.sub, "batch-rsa");
  assert.equal(body.request.body, "payload");
  assert.equal(body.request.query, "id=7");
  assert.deepEqual(claims.cnf, { "x5t#S256": thumbprint(RSA) });
});

for (const kind of ["ec", "rsa"]) {
  test(`an openssl-made ${kind.toUpperCase()} chain (root → intermediate → client) reaches the API`, async () => {
    const who = ossl(kind);
    const { body, claims } = await reached(await withProof(cliProof(who, "GET", WHOAMI)));
    assert.equal(body.sub, `spiffe://example.org/openssl/${kind}`);
    assert.deepEqual(claims.cnf, { "x5t#S256": thumbprint(who) });
    // And a proof made without the CLI (node's crypto) from the same files.
    assert.equal((await withProof(craft({ who }))).status, 200);
  });
}

test("a proof made here (not by the CLI) is accepted too: the format is the documented one", async () => {
  await reached(await withProof(craft()));
});

// --- bad input --------------------------------------------------------------------------------
const otherEc = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" });
const otherRsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" });
const leafB64 = ders(EC.chain)[0].toString("base64");

const BAD = [
  // The chain.
  ["a chain to another CA (same name, other key)", () => craft({ who: FOREIGN }), "client_certificate_refused"],
  ["an expired certificate (openssl, January 2020)", () => craft({ who: ossl("ec", "chain-expired.pem") }), "client_certificate_refused"],
  ["a client certificate used as an issuer", () => craft({ who: ossl("ec", "chain-leaf-issuer.pem", "sub.key") }), "client_certificate_refused"],
  ["a certificate not valid yet (openssl, 2100)", () => craft({ who: ossl("ec", "chain-future.pem") }), "client_certificate_refused"],
  ["pathLen exceeded (a CA below the pathLen-0 intermediate)", () => craft({ who: ossl("ec", "chain-pathlen.pem") }), "client_certificate_refused"],
  ["an intermediate without basicConstraints", () => craft({ who: ossl("ec", "chain-int-nobc.pem") }), "client_certificate_refused"],
  ["a certificate for serverAuth only (wrong EKU)", () => craft({ who: ossl("ec", "chain-serverauth.pem") }), "client_certificate_refused"],
  ["a certificate revoked by fingerprint", () => craft({ who: REVOKED_FP }), "client_certificate_refused"],
  ["a certificate revoked by serial", () => craft({ who: REVOKED_SERIAL }), "client_certificate_refused"],
  ["50 certificates in x5c", () => craft({ x5c: Array(50).fill(leafB64) }), "invalid_client_proof"],
  // Over the worker's bounds (x5c 16 KiB, the proof 24 KiB) but under the runtime's header limit.
  ["18 KB of x5c", () => craft({ x5c: [leafB64, "A".repeat(18 << 10)] }), "invalid_client_proof"],
  ["40 KB of x5c", () => craft({ x5c: [leafB64, "A".repeat(40 << 10)] }), "invalid_client_proof"],
  ["base64 garbage in x5c", () => craft({ x5c: ["!!not base64!!"] }), "client_certificate_refused"],
  ["DER garbage in x5c", () => craft({ x5c: [randomBytes(300).toString("base64")] }), "client_certificate_refused"],
  // The JWT.
  ["a proof signed by a key other than the leaf's", () => craft({ key: otherEc }), "invalid_client_proof"],
  ["RS256 with an EC leaf", () => craft({ key: otherRsa }), "invalid_client_proof"],
  ["alg none, no signature", () => craft({ header: { alg: "none" }, signature: Buffer.alloc(0) }), "invalid_client_proof"],
  ["HS256 keyed with the certificate", () => craft({ header: { alg: "HS256" }, signature: createHash("sha256").update(leafB64).digest() }), "invalid_client_proof"],
  ["another typ (an access token's)", () => craft({ header: { typ: "at+jwt" } }), "invalid_client_proof"],
  ["wrong htm (a proof for POST)", () => craft({ method: "POST" }), "invalid_client_proof"],
  ["wrong htu (a proof for another URL)", () => craft({ url: `${ORIGIN}/api/echo/other` }), "invalid_client_proof"],
  ["iat an hour old", () => craft({ claims: { iat: now() - 3600, exp: now() - 3540 } }), "invalid_client_proof"],
  ["exp 10 minutes after iat", () => craft({ claims: { exp: now() + 600 } }), "invalid_client_proof"],
  ["a short jti", () => craft({ claims: { jti: "abc" } }), "invalid_client_proof"],
  ["garbage instead of a JWT", () => "not.a.jwt", "invalid_client_proof"],
  ["no JWT at all", () => "", "invalid_client_proof"],
];

const apiRequests = async () => (await (await fetch(`${API}/_test/requests`)).json()).count;
let before;
test("(the API's request count before the bad inputs)", async () => {
  before = await apiRequests();
});

for (const [name, make, code] of BAD) {
  test(`refused: ${name} → 401 ${code}`, async () => {
    await refused(await withProof(make()), code);
  });
}

/**
 * Sends `GET /api/whoami` with `authorization: PoP proof` over a raw socket. Resolves with the
 * answer's status, or with `reset` when the runtime closed the connection before an answer could
 * be read: it answers 431 once it has read 128 KiB of the head and closes with the rest unread, so
 * the kernel may reset the connection while the client is still writing (fetch then fails with
 * ECONNRESET and the 431 is lost).
 */
function rawProofCall(proof) {
  const { hostname, port } = new URL(ORIGIN);
  return rawCall({ host: hostname, port }, (socket) =>
    socket.write(`GET /api/whoami HTTP/1.1\r\nHost: localhost:${port}\r\nAuthorization: PoP ${proof}\r\nConnection: close\r\n\r\n`),
  );
}

test("1 MB of x5c is stopped by the runtime before the worker (431), never a 500", async () => {
  const proof = craft({ x5c: [leafB64, "A".repeat(1 << 20)] });
  // A reset instead of an answer is the runtime refusing too; it is a race of the kernel, so the
  // call is tried again until an answer is read (a 500 or a 200 at any try fails the test, and
  // so does a try that hangs or is closed without an answer).
  const tries = [];
  while (tries.length < 5 && tries.every((t) => t.reset)) tries.push(await rawProofCall(proof));
  assert.ok(!tries.some((t) => t.timeout || t.closed), `every try is answered or reset: ${JSON.stringify(tries)}`);
  const answered = tries.filter((t) => t.status);
  assert.equal(answered.length, 1, `an answer within 5 tries: ${JSON.stringify(tries)}`);
  assert.equal(answered[0].status, 431);
});

test("none of the bad inputs reached the API", async () => {
  assert.equal(await apiRequests(), before);
});

test("a certificate revoked through the admin endpoint is refused at its next proof; taken back, it is accepted", async () => {
  const revocations = `${ORIGIN}/auth/admin/clients/revoked`;
  const admin = (method, query = "") => fetch(`${revocations}${query}`, { method, headers: { authorization: `Bearer ${ADMIN}` } });
  const serial = leafOf(SPARE).serialNumber;
  await reached(await withProof(cliProof(SPARE, "GET", WHOAMI)));
  let res = await admin("PUT", `?certificate=${serial}`);
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual((await res.json()).revoked, [`serial:${serial.toLowerCase().replace(/^0+/, "")}`]);
  await refused(await withProof(cliProof(SPARE, "GET", WHOAMI)), "client_certificate_refused");
  res = await admin("GET");
  assert.equal((await res.json()).revoked.length, 1);
  assert.equal((await admin("PUT", "?certificate=not-hex")).status, 400);
  assert.equal((await fetch(`${revocations}?certificate=${serial}`, { method: "PUT" })).status, 401);
  res = await admin("DELETE", `?certificate=${serial}`);
  assert.equal(res.status, 200);
  await reached(await withProof(cliProof(SPARE, "GET", WHOAMI)));
});

test("a replayed proof (same jti) is refused the second time", async () => {
  const proof = cliProof(SPARE, "GET", WHOAMI);
  await reached(await withProof(proof));
  await refused(await withProof(proof), "proof_replayed");
});

// Mutual TLS: wrangler dev takes `request.cf` from an MF-CF-Blob header (it replaces cf whole),
// so the worker sees what Cloudflare says of a verified client certificate.
const cfBlob = (tlsClientAuth) => ({ "mf-cf-blob": JSON.stringify({ tlsClientAuth }) });
const fingerprintHex = (who) => createHash("sha256").update(ders(who.chain)[0]).digest("hex");

test("mTLS: a proof whose leaf is the verified TLS client certificate passes; another certificate's is refused", async () => {
  const verified = (who) => cfBlob({ certPresented: "1", certVerified: "SUCCESS", certFingerprintSHA256: fingerprintHex(who) });
  const ok = await reached(await withProof(craft(), WHOAMI, { headers: verified(EC) }));
  assert.deepEqual(ok.claims.cnf, { "x5t#S256": thumbprint(EC) });
  await refused(await withProof(craft(), WHOAMI, { headers: verified(SPARE) }), "client_certificate_refused");
  // No certificate presented, or one Cloudflare did not verify: the proof alone decides.
  const none = cfBlob({ certPresented: "0", certVerified: "NONE", certFingerprintSHA256: "" });
  await reached(await withProof(craft(), WHOAMI, { headers: none }));
  const failed = cfBlob({ certPresented: "1", certVerified: "FAILED:self signed certificate", certFingerprintSHA256: fingerprintHex(SPARE) });
  await reached(await withProof(craft(), WHOAMI, { headers: failed }));
});

test("a proof on a route for browsers only is refused, and a browser session on a PoP route too", async () => {
  await refused(await withProof(craft({ url: `${ORIGIN}/api/browser/` }), `${ORIGIN}/api/browser/`), "invalid_client_proof");
  const { jar } = await signIn();
  await refused(await jar.fetch(WHOAMI), "client_not_allowed", 403);
});
