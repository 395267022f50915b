// Profiles the worker in one workerd (the production runtime) under load: V8's sampling profiler
// through workerd's inspector while BENCH_CONCURRENCY connections (10) call one case for
// BENCH_SECONDS (5), then the report of scripts/profile-report.mjs over every sample of the
// isolate (JavaScript of entry.mjs and the wasm-bindgen glue, the wasm, and the runtime's
// native calls as V8 sees them).
//
//   node --experimental-websocket scripts/profile-workerd.mjs [session|proxied|core-404|js-404]
//
// (The flag gives Node 20 its standard WebSocket; Node 22 has it without.)
//
// The bundle is BENCH_WORKERD_BUNDLE (default target/bench/dry-run, what `wrangler deploy
// --dry-run --outdir` wrote) with its wasm replaced by the same build before wasm-opt (which
// drops the name section), so the profile names Rust functions; the shipped bundle is not
// touched. The cargo output (BENCH_WORKER_WASM, default target/wasm32-unknown-unknown/release/
// edgeward_worker.wasm) must be the build the bundle came from. Writes
// target/bench/profile-workerd-<case>.cpuprofile. Uses the test ports; the inspector listens on
// TEST_WORKER_PORT + 1000.
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { startIdp, startExampleApi, startWorker, ORIGIN, ROOT, WORKER_PORT } from "../tests/support/stack.mjs";
import { signIn } from "../tests/support/session.mjs";
import { client } from "./bench-runtime.mjs";
import { report } from "./profile-report.mjs";

const which = process.argv[2] ?? "session";
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const CONNECTIONS = Number(process.env.BENCH_CONCURRENCY || 10);
const INSPECTOR = WORKER_PORT + 1000;
const source = process.env.BENCH_WORKERD_BUNDLE || join(ROOT, "target/bench/dry-run");

// The bundle with a named wasm, and the JS-404 line of scripts/bench-adapter.mjs.
const bundle = join(ROOT, "target/bench/profile-bundle");
rmSync(bundle, { recursive: true, force: true });
mkdirSync(bundle, { recursive: true });
for (const f of readdirSync(source)) cpSync(join(source, f), join(bundle, f));
const named = join(ROOT, "target/bench/profile-wasm-bindgen");
const bindgen = spawnSync("wasm-bindgen", ["--target", "module", "--no-typescript", "--out-name", "edgeward", "--out-dir", named, process.env.BENCH_WORKER_WASM || join(ROOT, "target/wasm32-unknown-unknown/release/edgeward_worker.wasm")], { stdio: "inherit" });
if (bindgen.status !== 0) throw new Error("wasm-bindgen failed");
const wasm = readdirSync(bundle).find((f) => f.endsWith(".wasm"));
cpSync(join(named, "edgeward_bg.wasm"), join(bundle, wasm));
const entry = readFileSync(join(bundle, "entry.js"), "utf8");
writeFileSync(
  join(bundle, "entry.js"),
  entry.replace(/async fetch\(request\) \{\n/, (m) => `${m}    if (request.url.endsWith("/auth/js-404")) return new Response("{}", { status: 404 });\n`),
);

const idp = await startIdp();
const api = await startExampleApi({ profile: "release" });
const worker = await startWorker({ runtime: "workerd", bundle, vars: { EDGEWARD_PHANTOM_MAX_TTL: "3600" }, inspector: INSPECTOR });
const http = client(CONNECTIONS);
let profile;
try {
  const { jar } = await signIn();
  const cookie = jar.header(ORIGIN);
  const cases = {
    session: [`${ORIGIN}/auth/session`, { cookie }],
    proxied: [`${ORIGIN}/api/whoami`, { cookie }],
    "core-404": [`${ORIGIN}/auth/nothing-here`, {}],
    "js-404": [`${ORIGIN}/auth/js-404`, {}],
  };
  const [url, headers] = cases[which] ?? [];
  if (!url) throw new Error(`no case ${which}: one of ${Object.keys(cases).join(", ")}`);
  let errors = 0;
  const get = () => http.get(url, headers).catch(() => (errors += 1));
  for (let i = 0; i < 500; i++) await get(); // JIT and wasm tier-up

  const targets = await (await fetch(`http://127.0.0.1:${INSPECTOR}/json/list`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl) ?? targets[0];
  if (typeof WebSocket !== "function") throw new Error("no WebSocket: run node with --experimental-websocket (Node 20)");
  const ws = new WebSocket(target.webSocketDebuggerUrl ?? `ws://127.0.0.1:${INSPECTOR}/${target.id}`);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("the inspector's WebSocket failed"));
  });
  let next = 0;
  const pending = new Map();
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.id !== undefined && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  };
  const post = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      pending.set(id, (msg) => (msg.error ? reject(new Error(`${method}: ${JSON.stringify(msg.error)}`)) : resolve(msg.result)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 50 });
  await post("Profiler.start");
  let calls = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        await get();
        calls += 1;
      }
    }),
  );
  ({ profile } = await post("Profiler.stop"));
  ws.close();
  writeFileSync(join(ROOT, "target/bench", `profile-workerd-${which}.cpuprofile`), JSON.stringify(profile));
  report(profile, {
    title: `${which} in one workerd: ${calls} calls in ${SECONDS} s (profiler on, ${errors} failed)`,
    within: (name) => !["(idle)", "(program)", "(garbage collector)", "(root)"].includes(name),
  });
} finally {
  http.close();
  await worker.stop();
  await api.stop();
  await idp.stop();
}
