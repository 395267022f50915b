// Times edgeward-core's CPU-heavy steps in wasm, in V8 (the engine workerd runs), and prints a
// table. Build first: scripts/bench-wasm.sh does both.
import { createSign, generateKeyPairSync, randomBytes } from "node:crypto";
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
mkdirSync(join(root, "target/bench"), { recursive: true });
writeFileSync(
  join(root, "target/bench/wasm.json"),
  JSON.stringify({ node: process.version, steps: rows.map(([name, us]) => ({ name, microseconds: us })) }, null, 2),
);
console.log(`| step (wasm in V8, node ${process.version}) | mean |`);
console.log("| --- | ---: |");
for (const [name, us] of rows) console.log(`| ${name} | ${us >= 1000 ? (us / 1000).toFixed(2) + " ms" : us.toFixed(1) + " µs"} |`);
