// A CPU profile of the worker in the production-like runtime: the bundle served by ONE workerd
// process (as scripts/bench-runtime.mjs serves it), sampled by V8's profiler through workerd's
// DevTools protocol while one kind of request runs back to back. Prints where the isolate's
// time went — the top functions by self time and their share by group (cookie crypto, JSON,
// base64, the JS glue, the runtime's own built-ins, …) — and writes the .cpuprofile (open it in
// Chrome DevTools) to target/bench/profile-<kind>.cpuprofile. Numbers, not a test.
//
//   node scripts/profile-workerd.mjs [session|proxy|404|refresh|login]...   (default: session proxy 404)
//
// PROFILE_BUNDLE: the bundle (default target/bench/dry-run, which scripts/bench.sh writes; a
// build/worker/ from scripts/build-worker.sh also works); PROFILE_N: requests per kind (2000;
// 200 for refresh and login); PROFILE_INTERVAL_US: the sampling interval (50). The wasm's
// function names come from its name section (wasm-bindgen keeps it, and `wasm-opt -Oz` keeps it
// unless told to strip it). Ports: the test ports (TEST_*_PORT), the inspector one above the
// worker's.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { startIdp, startExampleApi, startWorker, ORIGIN, ROOT, WORKER_PORT } from "../tests/support/stack.mjs";
import { signIn } from "../tests/support/session.mjs";
import { CookieJar } from "../tests/support/jar.mjs";
import { loginAtIdp } from "../tests/support/idp-login.mjs";

const kinds = process.argv.slice(2).length ? process.argv.slice(2) : ["session", "proxy", "404"];
const bundle = process.env.PROFILE_BUNDLE || join(ROOT, "target/bench/dry-run");
const INTERVAL = Number(process.env.PROFILE_INTERVAL_US || 50);
const inspectorPort = WORKER_PORT + 1000;
if (!existsSync(bundle)) throw new Error(`no bundle at ${bundle}: set PROFILE_BUNDLE or run scripts/bench.sh`);

/** One DevTools-protocol session with the worker's isolate. */
async function devtools(port) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl) ?? targets[0];
  if (!target) throw new Error(`workerd's inspector lists no isolate: ${JSON.stringify(targets)}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl ?? `ws://127.0.0.1:${port}/${target.id}`);
  await new Promise((ok, fail) => ws.once("open", ok).once("error", fail));
  let next = 1;
  const waiting = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(data);
    if (msg.id && waiting.has(msg.id)) {
      const { ok, fail } = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) fail(new Error(`${msg.error.message} (${msg.error.code})`));
      else ok(msg.result);
    }
  });
  const send = (method, params = {}) =>
    new Promise((ok, fail) => {
      const id = next++;
      waiting.set(id, { ok, fail });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => ws.close(), name: target.title ?? target.id };
}

/** Self time per function (µs) of a V8 CPU profile, and the sampled total. */
function selfTimes(profile) {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const { functionName, url } = byNode.get(id).callFrame;
    const name = functionName || `(anonymous ${url.split("/").pop()})`;
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
  });
  return { self, total };
}

/** The group a function belongs to, by its name. */
const GROUPS = [
  ["idle / waiting (no JS running)", /^\((idle|program)\)$/],
  ["garbage collection", /^\(garbage collector\)$/],
  ["AES-GCM (aes, ghash, polyval)", /aes|ghash|polyval|gcm|ctr::/i],
  ["HKDF / HMAC / SHA-256", /hkdf|hmac|sha2|sha256|digest|compress256/i],
  ["base64", /base64/i],
  ["JSON (serde_json)", /serde_json|serde::/i],
  ["signatures (jwt-compact, rsa, p256, WebCrypto glue)", /jwt_compact|rsa|p256|ecdsa|webcrypto|verify/i],
  ["HTTP types and headers (http crate, cookies)", /^.*(http::|header|cookie)/i],
  ["allocation and memory (dlmalloc, memcpy, String/Vec growth)", /dlmalloc|malloc|alloc|memcpy|memmove|memset|raw_vec|reserve/i],
  ["formatting (core::fmt)", /core::fmt|fmt::/i],
  ["async machinery (futures, wasm-bindgen-futures, promises)", /future|poll|wake|task|promise|queueMicrotask/i],
  ["wasm-bindgen glue (JS ↔ wasm)", /^(__wbg|__wbindgen|passStringToWasm|getStringFromWasm|getObject|addHeapObject|takeObject|handleError|debugString)/],
  ["other wasm (edgeward, std)", /::|^\$|wasm-function/],
  ["other JS (entry.mjs, workers-rs shim)", /.*/],
];
const groupOf = (name) => GROUPS.find(([, re]) => re.test(name))[0];

const idp = await startIdp();
const api = kinds.includes("proxy") ? await startExampleApi({ profile: existsSync(join(ROOT, "target/release/edgeward-example-api")) ? "release" : "debug" }) : null;
const worker = await startWorker({ runtime: "workerd", bundle, inspector: inspectorPort });
const out = join(ROOT, "target/bench");
mkdirSync(out, { recursive: true });
try {
  const { jar, csrf } = await signIn();
  const cookie = jar.header(ORIGIN);
  const headers = { origin: ORIGIN, "content-type": "application/json" };
  const loginCallbacks = async (n) => {
    const list = [];
    for (let i = 0; i < n; i++) {
      const j = new CookieJar();
      const start = await j.fetch(`${ORIGIN}/auth/login/start`, { method: "POST", headers, body: "{}" });
      list.push({ jar: j, callback: await loginAtIdp(j, (await start.json()).authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` }) });
    }
    return list;
  };
  const workloads = {
    session: { n: 2000, call: () => fetch(`${ORIGIN}/auth/session`, { headers: { cookie } }), expect: 200 },
    proxy: { n: 2000, call: () => fetch(`${ORIGIN}/api/whoami`, { headers: { cookie } }), expect: 200 },
    "404": { n: 2000, call: () => fetch(`${ORIGIN}/auth/nothing-here`), expect: 404 },
    refresh: { n: 200, call: () => jar.fetch(`${ORIGIN}/auth/refresh`, { method: "POST", headers: { origin: ORIGIN, "x-edgeward-csrf": csrf } }), expect: 204 },
    login: { n: 200, prepare: loginCallbacks, call: (i, prepared) => prepared[i].jar.fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers, body: JSON.stringify({ pageUrl: prepared[i].callback }) }), expect: 200 },
  };
  for (const kind of kinds) {
    const w = workloads[kind];
    if (!w) throw new Error(`unknown kind ${kind}: ${Object.keys(workloads).join(", ")}`);
    const n = Number(process.env.PROFILE_N || w.n);
    const prepared = w.prepare ? await w.prepare(n + 50) : null;
    // Warm the isolate (and V8's optimising tier) before sampling.
    for (let i = 0; i < 50; i++) {
      const res = await w.call(n + i, prepared);
      await res.arrayBuffer();
      if (res.status !== w.expect) throw new Error(`${kind}: answered ${res.status}, not ${w.expect}`);
    }
    const dt = await devtools(inspectorPort);
    await dt.send("Profiler.enable");
    await dt.send("Profiler.setSamplingInterval", { interval: INTERVAL });
    await dt.send("Profiler.start");
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const res = await w.call(i, prepared);
      await res.arrayBuffer();
      if (res.status !== w.expect) throw new Error(`${kind}: answered ${res.status}, not ${w.expect}`);
    }
    const wall = Number(process.hrtime.bigint() - t0) / 1e3;
    const { profile } = await dt.send("Profiler.stop");
    dt.close();
    writeFileSync(join(out, `profile-${kind}.cpuprofile`), JSON.stringify(profile));
    const { self, total } = selfTimes(profile);
    const busy = [...self].filter(([name]) => groupOf(name) !== GROUPS[0][0]).reduce((s, [, t]) => s + t, 0);
    console.log(`\n### ${kind}: ${n} requests, ${(wall / n).toFixed(0)} µs each (wall); the isolate busy ${(busy / n).toFixed(1)} µs per request (sampled every ${INTERVAL} µs)\n`);
    const groups = new Map();
    for (const [name, t] of self) groups.set(groupOf(name), (groups.get(groupOf(name)) ?? 0) + t);
    console.log("| group | µs per request | share of busy |");
    console.log("| --- | ---: | ---: |");
    for (const [g, t] of [...groups].sort((a, b) => b[1] - a[1])) {
      if (g === GROUPS[0][0]) continue;
      console.log(`| ${g} | ${(t / n).toFixed(1)} | ${((100 * t) / busy).toFixed(1)} % |`);
    }
    console.log("\n| top functions by self time | µs per request | share of busy |");
    console.log("| --- | ---: | ---: |");
    for (const [name, t] of [...self].filter(([name]) => groupOf(name) !== GROUPS[0][0]).sort((a, b) => b[1] - a[1]).slice(0, 20)) {
      console.log(`| \`${name.slice(0, 90).replace(/\|/g, "\\|")}\` | ${(t / n).toFixed(1)} | ${((100 * t) / busy).toFixed(1)} % |`);
    }
    void total;
  }
} finally {
  await worker.stop();
  if (api) await api.stop();
  await idp.stop();
}
