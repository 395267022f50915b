// A machine client through the real runtime: a chain of three made by openssl (root →
// intermediate → leaf with clientAuth and a SAN URI), a PoP proof signed with node:crypto, the
// worker in wrangler dev with the root as EDGEWARD_CLIENT_CA, and the example API behind it,
// which accepts the minted token unchanged. wrangler dev cannot terminate mTLS, so what
// Cloudflare would say of a client certificate is injected as `request.cf` through the
// MF-CF-Blob header (it replaces `cf` whole): the adapter reads `cf.tlsClientAuth` and the proof
// must then be the verified certificate's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPrivateKey, createSign, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useStack, ORIGIN, API } from "../support/stack.mjs";

const dir = mkdtempSync(join(tmpdir(), "edgeward-pop-"));
const ssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
writeFileSync(
  join(dir, "ext.cnf"),
  [
    "[int]", "basicConstraints=critical,CA:TRUE,pathlen:0", "keyUsage=critical,keyCertSign,cRLSign",
    "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid",
    "[leaf]", "basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=clientAuth", "subjectAltName=URI:spiffe://ci.example/runner-7",
    "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid",
  ].join("\n"),
);
for (const name of ["root", "int", "leaf"]) ssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
ssl("req", "-x509", "-new", "-key", "root.key", "-subj", "/CN=pop test root", "-days", "30",
  "-addext", "basicConstraints=critical,CA:TRUE,pathlen:1", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "root.pem");
for (const [name, ca, serial] of [["int", "root", "2"], ["leaf", "int", "3"]]) {
  ssl("req", "-new", "-key", `${name}.key`, "-subj", `/CN=pop test ${name}`, "-out", `${name}.csr`);
  ssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-set_serial", serial,
    "-days", "30", "-extfile", "ext.cnf", "-extensions", name, "-out", `${name}.pem`);
}
const der = (name) => ssl("x509", "-in", `${name}.pem`, "-outform", "DER");
const leafDer = der("leaf");
const x5c = [leafDer.toString("base64"), der("int").toString("base64")];
const leafKey = createPrivateKey(readFileSync(join(dir, "leaf.key")));
const leafHex = createHash("sha256").update(leafDer).digest("hex");

const stack = useStack({
  idp: true,
  worker: {
    vars: {
      EDGEWARD_API_ROUTES: JSON.stringify([
        { prefix: "/api/machine/", upstream: `${API}/whoami/`, methods: ["GET"], clients: ["pop"], scope: "openid" },
        { prefix: "/api/whoami/", upstream: `${API}/whoami/`, methods: ["GET"] },
      ]),
      EDGEWARD_CLIENT_CA: readFileSync(join(dir, "root.pem"), "utf8"),
    },
  },
  api: true,
});

const b64url = (value) => Buffer.from(value).toString("base64url");
function proof(method, url) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: "ES256", typ: "edgeward-pop+jwt", x5c }));
  const claims = b64url(JSON.stringify({ iat: now, exp: now + 60, jti: b64url(randomBytes(16)), htm: method, htu: url }));
  const signer = createSign("SHA256");
  signer.update(`${header}.${claims}`);
  return `${header}.${claims}.${b64url(signer.sign({ key: leafKey, dsaEncoding: "ieee-p1363" }))}`;
}
const url = `${ORIGIN}/api/machine/`;
const call = (p, headers = {}) => fetch(url, { headers: { authorization: `PoP ${p}`, ...headers } });
const cf = (fingerprint, verified = "SUCCESS") =>
  JSON.stringify({ tlsClientAuth: { certPresented: "1", certVerified: verified, certFingerprintSHA256: fingerprint } });

test("an openssl chain's proof reaches the example API, which accepts the minted token as it is", async () => {
  assert.ok(stack.worker);
  const res = await call(proof("GET", url));
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.sub, "spiffe://ci.example/runner-7");
  assert.equal(body.clientId, "spiffe://ci.example/runner-7");
});

test("a replayed proof is refused, and a PoP header on a route without pop is 401", async () => {
  const p = proof("GET", url);
  assert.equal((await call(p)).status, 200);
  const again = await call(p);
  assert.equal(again.status, 401);
  assert.equal((await again.json()).code, "proof_replayed");
  const other = `${ORIGIN}/api/whoami/`;
  const res = await fetch(other, { headers: { authorization: `PoP ${proof("GET", other)}` } });
  assert.equal(res.status, 401);
  assert.equal((await res.json()).code, "invalid_client_proof");
  const browser = await fetch(url, { headers: { cookie: "__Host-edgeward-at=x" } });
  assert.equal(browser.status, 403);
  assert.equal((await browser.json()).code, "client_not_allowed");
});

test("cf.tlsClientAuth (MF-CF-Blob): a verified certificate must be the proof's leaf", async () => {
  const same = await call(proof("GET", url), { "MF-CF-Blob": cf(leafHex) });
  assert.equal(same.status, 200, JSON.stringify(await same.clone().json()));
  const otherFp = createHash("sha256").update("another certificate").digest("hex");
  const other = await call(proof("GET", url), { "MF-CF-Blob": cf(otherFp) });
  assert.equal(other.status, 401);
  assert.equal((await other.json()).code, "client_certificate_refused");
  // A certificate Cloudflare could not verify binds nothing.
  const failed = await call(proof("GET", url), { "MF-CF-Blob": cf(otherFp, "FAILED:self signed certificate") });
  assert.equal(failed.status, 200);
});
