// The cookie cipher in workerd: the worker seals with WebCrypto (its AeadCipher port) and falls
// back to Rust only when WebCrypto cannot. The sealed format must be the same whichever side did
// the work, and a tampered value must be refused by WebCrypto itself (never handed to Rust for a
// second try).
//
// Against a test build of the worker (cargo feature `test-cipher`, built by
// scripts/build-worker.sh into build/worker-test-cipher/, never into build/worker/), served by
// one workerd process. Its routes (edge/worker/src/test_cipher.rs) seal with one side and open
// with the other, and say what the WebCrypto port answered.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT, ORIGIN, startIdp, startWorker } from "../support/stack.mjs";
import { signIn, openCookie } from "../support/session.mjs";

const FEATURES = "test-cipher";
// Unoptimised unless asked otherwise: the same code, compiled in a fraction of the time (the
// numbers come from a release build: scripts/bench-cipher.mjs).
const BUILD = process.env.EDGEWARD_BUILD || "dev";
const NAME = "__Host-edgeward-test";

const parts = {};

before(async () => {
  const env = { ...process.env, EDGEWARD_WORKER_FEATURES: FEATURES, EDGEWARD_BUILD: BUILD };
  const built = spawnSync("bash", ["scripts/build-worker.sh"], { cwd: ROOT, env, stdio: "inherit" });
  assert.equal(built.status, 0, "the test build of the worker");
  parts.idp = await startIdp();
  parts.worker = await startWorker({ runtime: "workerd", bundle: join(ROOT, `build/worker-${FEATURES}`) });
});

after(async () => {
  for (const name of ["worker", "idp"]) await parts[name]?.stop();
});

const within = () => AbortSignal.timeout(30_000);

async function seal(side, text, { fixed = false } = {}) {
  const salt = fixed ? "&salt=fixed" : "";
  const res = await fetch(`${ORIGIN}/auth/_test/cipher/seal?with=${side}${salt}`, { method: "POST", body: text, signal: within() });
  assert.equal(res.status, 200, `seal with ${side}`);
  return res.text();
}

async function open(side, sealed) {
  const res = await fetch(`${ORIGIN}/auth/_test/cipher/open?with=${side}`, { method: "POST", body: sealed, signal: within() });
  assert.equal(res.status, 200, `open with ${side}`);
  return res.json();
}

/** `sealed` with one character of its payload (the last dot-separated part) changed, mid-way. */
function tamper(sealed, at = 0.5) {
  const dot = sealed.lastIndexOf(".");
  const i = dot + 1 + Math.floor((sealed.length - dot - 2) * at);
  const swapped = sealed[i] === "A" ? "B" : "A";
  return sealed.slice(0, i) + swapped + sealed.slice(i + 1);
}

/** The worker's warnings that WebCrypto could not do the work (and Rust did). */
const fallbacks = () => parts.worker.output().split("\n").filter((l) => /WebCrypto could not AES-GCM/.test(l));

// WebCrypto takes values of 512 bytes and more (edgeward-webcrypto's AES_GCM_MIN_LEN; shorter
// ones are faster in Rust): the longer texts go through it, the shorter ones are left to Rust.
const MIN_LEN = 512;
const TEXTS = ["", "x", "é ✓ 🍪", "a".repeat(MIN_LEN), "é".repeat(700), JSON.stringify({ exp: 1, v: { state: "s".repeat(1500) } })];
const longEnough = (text) => Buffer.byteLength(text) >= MIN_LEN;
const FORGEABLE = "a value worth forging ".repeat(40);

test("a tampered value is refused by WebCrypto as forged, not handed to Rust", async () => {
  for (const side of ["rust", "webcrypto"]) {
    const good = await seal(side, FORGEABLE);
    for (const at of [0.1, 0.5, 0.99]) {
      const forged = tamper(good, at);
      assert.notEqual(forged, good);
      assert.deepEqual(await open("webcrypto", forged), { error: "Forged", port: "forged" }, `sealed by ${side}, tampered at ${at}`);
      assert.deepEqual(await open("rust", forged), { error: "Forged" }, `Rust agrees (sealed by ${side}, at ${at})`);
    }
    // Cut short (still long enough for WebCrypto): refused by WebCrypto too.
    assert.deepEqual(await open("webcrypto", good.slice(0, -4)), { error: "Forged", port: "forged" });
    // A short value tampered with: left to Rust, which refuses it.
    const short = tamper(await seal(side, "short"));
    assert.deepEqual(await open("webcrypto", short), { error: "Forged", port: "none" });
  }
  assert.deepEqual(fallbacks(), [], "WebCrypto did every decryption itself");
});

test("the same bytes whichever side seals (same salt)", async () => {
  for (const text of TEXTS) {
    const byRust = await seal("rust", text, { fixed: true });
    const byWebCrypto = await seal("webcrypto", text, { fixed: true });
    assert.equal(byWebCrypto, byRust, `${text.length} characters`);
  }
});

test("sealed by Rust opens with WebCrypto, and the reverse", async () => {
  for (const text of TEXTS) {
    const byRust = await seal("rust", text);
    const byWebCrypto = await seal("webcrypto", text);
    const port = longEnough(text) ? "ok" : "none";
    assert.deepEqual(await open("webcrypto", byRust), { opened: text, port }, `${text.length} characters, Rust → WebCrypto`);
    assert.deepEqual(await open("rust", byWebCrypto), { opened: text }, `${text.length} characters, WebCrypto → Rust`);
    assert.deepEqual(await open("webcrypto", byWebCrypto), { opened: text, port });
  }
  assert.deepEqual(fallbacks(), []);
});

test("a session sealed by WebCrypto at login reads with either side, and with Node's crypto", async () => {
  const { jar } = await signIn();
  const cookie = jar.header(ORIGIN);
  for (const headers of [{}, { "x-edgeward-test-cipher": "rust" }]) {
    const res = await fetch(`${ORIGIN}/auth/session`, { headers: { cookie, ...headers }, signal: within() });
    assert.equal(res.status, 200, JSON.stringify(headers));
    const body = await res.json();
    assert.equal(body.isLoggedIn, true, JSON.stringify(body));
  }
  // Every edgeward cookie the worker set opens with an independent implementation.
  const ours = cookie.split("; ").map((c) => c.split("=")).filter(([name]) => name.startsWith("__Host-edgeward-") && !name.endsWith("csrf"));
  assert.ok(ours.length > 0, cookie);
  for (const [name, value] of ours) assert.doesNotThrow(() => openCookie(name, value), name);
  assert.deepEqual(fallbacks(), []);
});
