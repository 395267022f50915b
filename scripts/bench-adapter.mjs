// The worker's own cost per endpoint in one workerd, beside the floors it stands on (numbers,
// not a test). For each bundle (directories `wrangler deploy --dry-run --outdir` wrote, given as
// BENCH_BUNDLES=label=dir,label=dir; default target/bench/dry-run), one workerd serves it and
// BENCH_CONCURRENCY connections (10) call each case for BENCH_SECONDS (5), CPU from /proc for
// workerd's process tree (scripts/bench-cpu.mjs):
//   js-404    a 404 that entry.mjs answers before any Rust runs (a copy of the bundle with one
//             line added to its fetch: the floor of the runtime and the JS entry),
//   core-404  a 404 the core answers (no cookie): adds the adapter's conversions and the trap
//             guard, entering wasm, and Edge::handle's routing,
//   session   GET /auth/session with a signed-in jar (stateless mode),
//   js-proxy  GET /api/js-proxy: entry.mjs fetches the example API itself before any Rust runs
//             (the floor of a proxied call: the runtime's outgoing request and streamed answer),
//   js-wrap   GET /api/js-wrap: entry.mjs proxies as the worker does, in JavaScript alone: a
//             phantom token the bench minted with the worker's key (so the example API does the
//             same work and answers the same 200 as for `proxied`) and two more headers out, a
//             new Response around the upstream body with six chosen headers back (the floor of
//             our proxying's shape),
//   proxied   GET /api/whoami with the jar, phantom token in the isolate's cache (the example
//             API's CPU is counted apart and not in the row).
// Bundles run in turns, BENCH_ROUNDS (2) times each, so the machine's load falls on all alike;
// the table gives each bundle's median req/s and lowest CPU per request over its rounds (the
// round least disturbed by other work on the machine). Uses the test ports (TEST_*_PORT).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadavg } from "node:os";
import { startIdp, startExampleApi, startWorker, API, MINT_KEY, ORIGIN, ROOT } from "../tests/support/stack.mjs";
import { signIn } from "../tests/support/session.mjs";
import { mintedWith } from "../tests/support/tokens.mjs";
import { client, concurrent, parts } from "./bench-runtime.mjs";
import { withEntryLines } from "./bench-bundle.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const CONNECTIONS = Number(process.env.BENCH_CONCURRENCY || 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 2);
const bundles = (process.env.BENCH_BUNDLES || `current=${join(ROOT, "target/bench/dry-run")}`)
  .split(",")
  .map((spec) => spec.split("="))
  .map(([label, dir]) => ({ label, dir: withJs404(label, dir) }));

/**
 * An access token as the worker mints it for the example API (ES256 with `MINT_KEY`, typ
 * `at+jwt`, the API's audience, scope `openid`), valid for an hour: what `js-wrap` sends.
 */
function benchToken() {
  const now = Math.floor(Date.now() / 1000);
  return mintedWith(MINT_KEY, { iss: ORIGIN, aud: API, sub: "bench", scope: "openid", client_id: "bench", iat: now, exp: now + 3600 });
}

/**
 * A copy of `dir` whose entry answers `GET /auth/js-404` with a 404 before calling Rust, and
 * `GET /api/js-proxy` with the example API's answer to a plain `fetch` of it (no token: its 401),
 * the floor of a proxied call in this runtime: one outgoing request and its answer streamed back.
 */
function withJs404(label, dir) {
  return withEntryLines(`adapter-${label}`, dir, [
    `if (request.url.endsWith("/auth/js-404")) return new Response("{}", { status: 404 });`,
    `if (request.url.endsWith("/api/js-proxy")) return fetch(${JSON.stringify(`${API}/whoami`)});`,
    `if (request.url.endsWith("/api/js-wrap")) { const h = new Headers(); h.append("authorization", "Bearer " + ${JSON.stringify(benchToken())}); h.append("accept", "*/*"); h.append("user-agent", "bench"); const r = await fetch(${JSON.stringify(`${API}/whoami`)}, { method: "GET", headers: h, redirect: "manual" }); const out = new Headers(); for (const [n, v] of r.headers) if (n === "content-type" || n === "content-length" || n === "date") out.append(n, v); out.append("x-content-type-options", "nosniff"); out.append("content-security-policy", "default-src 'none'; sandbox; frame-ancestors 'none'"); out.append("cross-origin-resource-policy", "same-origin"); return new Response(r.body, { status: r.status, headers: out }); }`,
  ]);
}

const http = client(CONNECTIONS);
const load = { seconds: SECONDS, connections: CONNECTIONS };
const idp = await startIdp();
const api = await startExampleApi({ profile: "release" });
const results = Object.fromEntries(bundles.map((b) => [b.label, {}]));
const loads = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const bundle of bundles) {
      const worker = await startWorker({ runtime: "workerd", bundle: bundle.dir, vars: { EDGEWARD_PHANTOM_MAX_TTL: "3600" } });
      try {
        const { jar } = await signIn();
        const cookie = jar.header(ORIGIN);
        const cpu = () => parts({ runtime: worker });
        loads.push(loadavg()[0]);
        const cases = [
          ["js-404", `${ORIGIN}/auth/js-404`, {}, 404],
          ["core-404", `${ORIGIN}/auth/nothing-here`, {}, 404],
          ["session", `${ORIGIN}/auth/session`, { cookie }, 200],
          ["js-proxy", `${ORIGIN}/api/js-proxy`, {}, 401],
          ["js-wrap", `${ORIGIN}/api/js-wrap`, {}, 200],
          ["proxied", `${ORIGIN}/api/whoami`, { cookie }, 200],
        ];
        for (const [name, url, headers, expected] of cases) {
          const r = await concurrent(`${bundle.label} ${name}`, cpu(), http, url, headers, { ...load, expected });
          (results[bundle.label][name] ??= []).push({ rps: r.rps, cpu: r.cpuMsPerRequest.runtime, errors: r.errors });
        }
      } finally {
        await worker.stop();
      }
    }
  }
} finally {
  http.close();
  await api.stop();
  await idp.stop();
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
// CPU per request: the lowest of the rounds (the least disturbed by the machine's other work;
// the medians are in target/bench/adapter.json).
const least = (xs) => Math.min(...xs);
console.log(`\none workerd, ${CONNECTIONS} connections × ${SECONDS} s, ${ROUNDS} rounds (req/s: median; CPU: lowest); load average at the rounds' starts: ${loads.map((l) => l.toFixed(1)).join(", ")}\n`);
console.log("| bundle | case | req/s | workerd CPU ms per request | above js-404 | above core-404 | above js-proxy | errors |");
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const { label } of bundles) {
  const rows = results[label];
  const cpuOf = (name) => least(rows[name].map((r) => r.cpu));
  for (const name of Object.keys(rows)) {
    const c = cpuOf(name);
    console.log(
      `| ${label} | ${name} | ${median(rows[name].map((r) => r.rps)).toFixed(0)} | ${c.toFixed(3)} | ${(c - cpuOf("js-404")).toFixed(3)} | ${(c - cpuOf("core-404")).toFixed(3)} | ${name === "proxied" || name === "js-wrap" ? (c - cpuOf("js-proxy")).toFixed(3) : ""} | ${rows[name].reduce((a, r) => a + r.errors, 0)} |`,
    );
  }
}
mkdirSync(join(ROOT, "target/bench"), { recursive: true });
writeFileSync(join(ROOT, "target/bench/adapter.json"), JSON.stringify({ seconds: SECONDS, connections: CONNECTIONS, rounds: ROUNDS, loads, results }, null, 2));
