// Times edgeward-core's CPU-heavy steps in wasm, in V8 (the engine workerd runs), and prints a
// table. Build first: scripts/bench-wasm.sh does both.
import { createPrivateKey, createSign, generateKeyPairSync, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bench = await import(join(root, "target/bench-wasm/edgeward_bench.js"));
bench.initSync({ module: readFileSync(join(root, "target/bench-wasm/edgeward_bench_bg.wasm")) });

const b64url = (b) => Buffer.from(b).toString("base64url");
const now = Math.floor(Date.now() / 1000);
const issuer = "https://idp.example";

function signedToken(alg) {
  const { privateKey, publicKey } =
    alg === "RS256"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid: alg, use: "sig" };
  const header = b64url(JSON.stringify({ alg, kid: alg, typ: "JWT" }));
  const claims = b64url(
    JSON.stringify({ iss: issuer, sub: "demo", aud: "edgeward", nonce: "n", iat: now, exp: now + 300, name: "Demo User" }),
  );
  const signer = createSign("SHA256");
  signer.update(`${header}.${claims}`);
  const signature = signer.sign(alg === "RS256" ? privateKey : { key: privateKey, dsaEncoding: "ieee-p1363" });
  return { jwks: JSON.stringify({ keys: [jwk] }), token: `${header}.${claims}.${b64url(signature)}` };
}

const rows = [];
const run = async (name, fn, n) => {
  await fn(Math.max(1, n / 10)); // warm-up
  rows.push([name, await fn(n)]);
};
for (const webcrypto of [false, true]) {
  const how = webcrypto ? "WebCrypto (the worker's path)" : "Rust";
  await run(`cookie seal, 1 KiB, ${how}`, (n) => bench.seal(1024, n, webcrypto), 2000);
  await run(`cookie open, 1 KiB, ${how}`, (n) => bench.open(1024, n, webcrypto), 2000);
  await run(`cookie open, 256 B, ${how}`, (n) => bench.open(256, n, webcrypto), 2000);
}
// The cookie cipher's parts, Rust against WebCrypto. Node's WebCrypto runs each call as a job on
// libuv's thread pool and resolves the promise back on the main thread; workerd's runs in line
// (BoringSSL) and resolves at once: node's WebCrypto rows are not workerd's (README "Performance").
for (const webcrypto of [false, true]) {
  const how = webcrypto ? "WebCrypto, key imported per call" : "Rust";
  await run(`AES-256-GCM decrypt alone, 1 KiB, ${how}`, (n) => bench.aes_gcm_decrypt(1024, n, webcrypto), 2000);
}
for (const webcrypto of [false, true]) {
  const how = webcrypto ? "WebCrypto HMAC ×2, key imported once" : "Rust HKDF";
  await run(`cookie key + nonce derivation, ${how}`, (n) => bench.derive(n, webcrypto), 2000);
}
for (const alg of ["RS256", "ES256"]) {
  const { jwks, token } = signedToken(alg);
  for (const webcrypto of [false, true]) {
    const how = webcrypto ? "signature by WebCrypto (the worker's path)" : "signature in Rust";
    await run(`ID-token check, ${alg}, ${how}`, (n) => bench.id_token(jwks, token, issuer, "edgeward", "n", now, n, webcrypto), 100);
  }
}
// The worker's path first (scripts/bench-report.mjs estimates with the first "phantom token
// mint" row). Node's WebCrypto signs on libuv's thread pool: its rows are wall time with a
// thread hop, not workerd's cost (scripts/bench-wasm-workerd.mjs has that).
await run("phantom token mint ES256 by WebCrypto (the worker's path)", (n) => bench.mint(now, n, "ES256", true), 200);
await run("phantom token mint RS256 by WebCrypto", (n) => bench.mint(now, n, "RS256", true), 100);
await run("phantom token mint ES256 in Rust (the fallback)", (n) => bench.mint(now, n, "ES256", false), 200);
await run("phantom token mint RS256 in Rust (the fallback)", (n) => bench.mint(now, n, "RS256", false), 20);
await run("SHA-256 cache key of a token", (n) => bench.cache_key(n), 5000);
// Whole requests through Edge::handle (edge/bench/src/edge.rs): the core's own cost per
// endpoint, without the adapter's and the runtime's. The machine is shared and wall time is
// what V8 can time here, so each is the best of five runs.
const best = async (name, fn, n) => {
  await fn(Math.max(1, n / 10));
  let us = Infinity;
  for (let i = 0; i < 5; i++) us = Math.min(us, await fn(n));
  rows.push([name, us]);
};
const jar = await bench.edge_jar();
await best("Edge::handle, 404 (no cookie)", (n) => bench.edge_not_found(n), 5000);
await best(`Edge::handle, GET /auth/session (stateless, ${jar.length}-byte Cookie header)`, (n) => bench.edge_session(n), 1000);
await best("Edge::handle, proxied GET, phantom token in the isolate's cache", (n) => bench.edge_proxied(n), 1000);
await best("Edge::handle, POST /auth/login/end (ES256 ID token by WebCrypto)", (n) => bench.edge_login_end(n), 20);
await best("Edge::handle, POST /auth/refresh (rotated refresh token)", (n) => bench.edge_refresh(n), 200);
// Machine clients (edge/bench/src/machine.rs): a chain of three made by openssl (root →
// intermediate → leaf, EC P-256), proofs signed here; the first request of a chain, and a
// returning client's (chain cached: one proof signature and one mint).
{
  const dir = mkdtempSync(join(tmpdir(), "edgeward-pop-"));
  const ssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ext = [
    "[int]", "basicConstraints=critical,CA:TRUE,pathlen:0", "keyUsage=critical,keyCertSign,cRLSign",
    "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid",
    "[leaf]", "basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=clientAuth", "subjectAltName=URI:spiffe://bench/runner",
    "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid",
  ].join("\n");
  writeFileSync(join(dir, "ext.cnf"), ext);
  for (const name of ["root", "int", "leaf"]) ssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
  ssl("req", "-x509", "-new", "-key", "root.key", "-subj", "/CN=bench root", "-days", "30",
    "-addext", "basicConstraints=critical,CA:TRUE,pathlen:1", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "root.pem");
  const issue = (name, ca, section, serial) => {
    ssl("req", "-new", "-key", `${name}.key`, "-subj", `/CN=bench ${name}`, "-out", `${name}.csr`);
    ssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-set_serial", serial,
      "-days", "30", "-extfile", "ext.cnf", "-extensions", section, "-out", `${name}.pem`);
  };
  issue("int", "root", "int", "2");
  issue("leaf", "int", "leaf", "3");
  const der = (name) => ssl("x509", "-in", `${name}.pem`, "-outform", "DER").toString("base64");
  const x5c = [der("leaf"), der("int")];
  const leafKey = createPrivateKey(readFileSync(join(dir, "leaf.key")));
  const proofs = (count) => {
    const list = [];
    for (let i = 0; i < count; i++) {
      const header = b64url(JSON.stringify({ alg: "ES256", typ: "edgeward-pop+jwt", x5c }));
      const claims = b64url(JSON.stringify({
        iat: now, exp: now + 120, jti: b64url(randomBytes(16)), htm: "GET", htu: "http://localhost:8787/api/m/x",
      }));
      const signer = createSign("SHA256");
      signer.update(`${header}.${claims}`);
      list.push(`${header}.${claims}.${b64url(signer.sign({ key: leafKey, dsaEncoding: "ieee-p1363" }))}`);
    }
    return list.join("\n");
  };
  const ca = readFileSync(join(dir, "root.pem"), "utf8");
  for (const webcrypto of [false, true]) {
    const how = webcrypto ? "signatures by WebCrypto (the worker's path)" : "signatures in Rust";
    await best(`Edge::handle, PoP request, first chain of 3, ${how}`, (n) => bench.machine_pop(ca, proofs(n + 1), BigInt(now), webcrypto, false), 40);
    await best(`Edge::handle, PoP request, chain cached, ${how}`, (n) => bench.machine_pop(ca, proofs(n + 1), BigInt(now), webcrypto, true), 200);
  }
}
mkdirSync(join(root, "target/bench"), { recursive: true });
writeFileSync(
  join(root, "target/bench/wasm.json"),
  JSON.stringify({ node: process.version, steps: rows.map(([name, us]) => ({ name, microseconds: us })) }, null, 2),
);
console.log(`| step (wasm in V8, node ${process.version}) | mean |`);
console.log("| --- | ---: |");
for (const [name, us] of rows) console.log(`| ${name} | ${us >= 1000 ? (us / 1000).toFixed(2) + " ms" : us.toFixed(1) + " µs"} |`);
