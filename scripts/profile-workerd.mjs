// Profiles the worker in one workerd (the production runtime): V8's sampling profiler through
// workerd's inspector while one case runs for BENCH_SECONDS (5) — the reads under load
// (BENCH_CONCURRENCY connections, 10), refresh and login/end one call after another — then the
// report of scripts/profile-report.mjs over every sample of the isolate (JavaScript of
// entry.mjs and the wasm-bindgen glue, the wasm, and the runtime's native calls as V8 sees them).
//
//   node scripts/profile-workerd.mjs [session|proxied|core-404|js-404|refresh|login]
//
// The inspector session: scripts/inspector.mjs.
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
import { CookieJar } from "../tests/support/jar.mjs";
import { loginAtIdp } from "../tests/support/idp-login.mjs";
import { client } from "./bench-runtime.mjs";
import { report } from "./profile-report.mjs";
import { connectInspector } from "./inspector.mjs";

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
  const { jar, csrf } = await signIn();
  const cookie = jar.header(ORIGIN);
  const reads = {
    session: [`${ORIGIN}/auth/session`, { cookie }],
    proxied: [`${ORIGIN}/api/whoami`, { cookie }],
    "core-404": [`${ORIGIN}/auth/nothing-here`, {}],
    "js-404": [`${ORIGIN}/auth/js-404`, {}],
  };
  const json = { origin: ORIGIN, "content-type": "application/json" };
  // The agent's IdP-bound endpoints, one call after another: a session's refreshes, and
  // login/end on callbacks signed in at the IdP beforehand (not profiled).
  const agent = {
    refresh: async () => () =>
      jar
        .fetch(`${ORIGIN}/auth/refresh`, { method: "POST", headers: { origin: ORIGIN, "x-edgeward-csrf": csrf } })
        .then((r) => r.arrayBuffer().then(() => r.status === 204)),
    login: async () => {
      const callbacks = [];
      for (let i = 0; i < Number(process.env.PROFILE_LOGINS || 200); i++) {
        const j = new CookieJar();
        const start = await j.fetch(`${ORIGIN}/auth/login/start`, { method: "POST", headers: json, body: "{}" });
        callbacks.push({ jar: j, callback: await loginAtIdp(j, (await start.json()).authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` }) });
      }
      return () => {
        const next = callbacks.pop();
        if (!next) return Promise.resolve(undefined); // all used: the run ends
        return next.jar
          .fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers: json, body: JSON.stringify({ pageUrl: next.callback }) })
          .then((r) => r.arrayBuffer().then(() => r.status === 200));
      };
    },
  };
  let errors = 0;
  let get;
  let connections = CONNECTIONS;
  if (reads[which]) {
    const [url, headers] = reads[which];
    get = () => http.get(url, headers).catch(() => (errors += 1));
    for (let i = 0; i < 500; i++) await get(); // JIT and wasm tier-up
  } else if (agent[which]) {
    const call = await agent[which]();
    connections = 1;
    get = () =>
      call().then((ok) => {
        if (ok === false) errors += 1;
        return ok;
      });
    if (which === "refresh") for (let i = 0; i < 50; i++) await get();
  } else {
    throw new Error(`no case ${which}: one of ${[...Object.keys(reads), ...Object.keys(agent)].join(", ")}`);
  }

  const inspector = await connectInspector(INSPECTOR);
  const { post } = inspector;
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 50 });
  await post("Profiler.start");
  let calls = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        if ((await get()) === undefined && which === "login") break;
        calls += 1;
      }
    }),
  );
  ({ profile } = await post("Profiler.stop"));
  inspector.close();
  // The calls go with the profile, for scripts/profile-compare.mjs (DevTools ignores the field).
  writeFileSync(join(ROOT, "target/bench", `profile-workerd-${which}.cpuprofile`), JSON.stringify({ ...profile, edgeward: { calls, seconds: SECONDS } }));
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
