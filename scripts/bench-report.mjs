// Merges the parts scripts/bench.sh measured (target/bench/*.json) into one report,
// target/bench/report.json, and prints it as two tables with the performance targets: sizes,
// startup and the per-step costs; then every endpoint in both runtimes side by side.
import { existsSync, readFileSync, writeFileSync, statSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { cpus } from "node:os";
import { ROOT } from "../tests/support/stack.mjs";

const bench = join(ROOT, "target/bench");
const read = (name) => JSON.parse(readFileSync(join(bench, name), "utf8"));
const find = (dir, test) => readdirSync(dir, { recursive: true }).map(String).find(test);
const size = (path) => {
  const bytes = readFileSync(path);
  return { raw: statSync(path).size, gzip: gzipSync(bytes, { level: 9 }).length };
};

const workerWasm = join(bench, "dry-run", find(join(bench, "dry-run"), (f) => f.endsWith(".wasm")));
const spaWasm = join(ROOT, "dist", find(join(ROOT, "dist"), (f) => f.endsWith("_bg.wasm")));
// Startup: each run's CPU profile spans the script's evaluation; its sampled non-idle time is
// the CPU it kept busy. The median of the runs (the machine is noisy).
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const profiles = readdirSync(bench).filter((f) => /^startup-\d+\.cpuprofile$/.test(f)).map(read);
const busyMs = (p) => {
  const idle = new Set(p.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
  return p.samples.reduce((sum, id, i) => sum + (idle.has(id) ? 0 : p.timeDeltas[i]), 0) / 1000;
};
const wasm = read("wasm.json");
const us = (name) => wasm.steps.find((s) => s.name.startsWith(name))?.microseconds ?? NaN;
// Both runtimes, where measured (BENCH_RUNTIMES may have left one out).
const RUNTIMES = [["wrangler", "wrangler dev"], ["workerd", "one workerd"]].filter(([rt]) => existsSync(join(bench, `proxy-${rt}.json`)) && existsSync(join(bench, `agent-${rt}.json`)));
const runs = Object.fromEntries(RUNTIMES.map(([rt]) => [rt, { proxy: read(`proxy-${rt}.json`), agent: read(`agent-${rt}.json`) }]));
/** The runtime's own CPU per request (its process tree: wrangler's Node and workerds, or the one workerd). */
const cpuOf = (row) => row?.cpuMsPerRequest?.runtime ?? NaN;
/** CPU above the runtime's own 404, measured in the same way (sequential or under load). */
const above = (row, trivial) => cpuOf(row) - cpuOf(trivial);

const report = {
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
  node: process.version,
  sizes: { workerWasm: size(workerWasm), spaWasm: size(spaWasm) },
  startupMs: median(profiles.map((p) => (p.endTime - p.startTime) / 1000)),
  startupBusyMs: median(profiles.map(busyMs)),
  startupRuns: profiles.length,
  wasm: wasm.steps,
  // CPU estimates from the per-step costs (what the worker computes per request; the runtime's
  // own work is not in them). Stateless mode with the session registry bound: four cookies
  // opened, the cache key hashed. A login callback: ID token (the worker checks signatures with
  // WebCrypto), five cookies sealed.
  estimates: {
    proxiedWarmMs: (4 * us("cookie open") + us("SHA-256")) / 1000,
    proxiedMissMintMs: (4 * us("cookie open") + us("SHA-256") + us("phantom token mint")) / 1000,
    loginCallbackRs256Ms: (us("cookie open") + us("ID-token check, RS256, signature by WebCrypto") + 5 * us("cookie seal")) / 1000,
    loginCallbackEs256Ms: (us("cookie open") + us("ID-token check, ES256, signature by WebCrypto") + 5 * us("cookie seal")) / 1000,
  },
  // Measured, per runtime: the runtime's CPU per call (its own process tree) minus its CPU for a
  // 404 it answers at once, measured the same way (one call after another, or under load). An
  // upper bound on the worker's own CPU: it still holds the runtime's work for the call's
  // outgoing requests (the token endpoint; the API).
  runtimes: Object.fromEntries(RUNTIMES.map(([rt]) => {
    const { proxy, agent } = runs[rt];
    const p = proxy.rows;
    const a = agent.rows;
    return [rt, {
      aboveTrivialMs: {
        sessionSequential: above(p.sessionSeq, p.runtimeSeq),
        sessionLoaded: above(p.session, p.runtime),
        proxiedWarmSequential: above(p.warmSeq, p.runtimeSeq),
        proxiedWarmLoaded: above(p.warm, p.runtime),
        loginEnd: above(a.loginEnd, a.runtime),
        refreshFirst: above(a.refreshFirst, a.runtime),
        refreshLast: above(a.refreshLast, a.runtime),
      },
      sessionVsTrivialRps: p.session.rps / p.runtime.rps,
      proxy,
      agent,
    }];
  })),
};
writeFileSync(join(bench, "report.json"), JSON.stringify(report, null, 2));

const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
const ms = (n) => `${n.toFixed(2)} ms`;
const lines = [
  ["worker bundle wasm", `${kb(report.sizes.workerWasm.raw)} raw, ${kb(report.sizes.workerWasm.gzip)} gzip`, "≤ 600 KB gzip"],
  ["SPA wasm", `${kb(report.sizes.spaWasm.raw)} raw, ${kb(report.sizes.spaWasm.gzip)} gzip`, "≤ 250 KB gzip"],
  [`worker startup (wrangler check startup, median of ${report.startupRuns}): profile span / sampled busy`, `${ms(report.startupMs)} / ${ms(report.startupBusyMs)}`, "≤ 50 ms"],
  ...wasm.steps.map((s) => [`wasm: ${s.name}`, s.microseconds >= 1000 ? ms(s.microseconds / 1000) : `${s.microseconds.toFixed(1)} µs`, ""]),
  ["est. CPU, proxied request, warm cache", ms(report.estimates.proxiedWarmMs), "≤ 0.5 ms"],
  ["est. CPU, proxied request, cache miss (mint)", ms(report.estimates.proxiedMissMintMs), ""],
  ["est. CPU, login callback (RS256 / ES256)", `${ms(report.estimates.loginCallbackRs256Ms)} / ${ms(report.estimates.loginCallbackEs256Ms)}`, "≤ 3 ms"],
];
console.log(`\nedgeward performance report — ${report.machine}, node ${report.node}\n`);
console.log("| measure | value | target |");
console.log("| --- | --- | --- |");
for (const [a, b, c] of lines) console.log(`| ${a} | ${b} | ${c} |`);

// Both runtimes side by side. "CPU" is the runtime's own process tree per request; "above 404"
// the same minus the runtime's 404 measured the same way; ✓/✗ where a target applies.
const check = (value, limit) => (Number.isFinite(value) ? (value <= limit ? " ✓" : " ✗") : "");
const num = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
const rps = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en") : "–");
const cells = (fn) => RUNTIMES.map(([rt]) => fn(report.runtimes[rt], runs[rt].proxy.rows, runs[rt].agent.rows, rt));
const seqCell = (row, trivial, limit) =>
  row ? `p50 ${num(row.p50)} ms; CPU ${num(cpuOf(row), 3)} ms${trivial ? `, above 404 ${num(above(row, trivial), 3)} ms${limit ? check(above(row, trivial), limit) : ""}` : ""}` : "–";
const loadCell = (row, trivial, limit) =>
  row ? `${rps(row.rps)} req/s, p50 ${num(row.p50)} ms; CPU ${num(cpuOf(row), 3)} ms${trivial ? `, above 404 ${num(above(row, trivial), 3)} ms${limit ? check(above(row, trivial), limit) : ""}` : ""}` : "–";
const any = RUNTIMES.length ? runs[RUNTIMES[0][0]] : null;
const conns = any?.proxy.concurrency ?? 10;
const refreshes = any?.agent.refreshes ?? 400;
const table = [
  ["404 answered at once (the runtime's own cost), one after another", cells((r, p) => seqCell(p.runtimeSeq)), ""],
  [`404, ${conns} connections`, cells((r, p) => loadCell(p.runtime)), ""],
  ["session read `GET /auth/session`, one after another", cells((r, p) => seqCell(p.sessionSeq, p.runtimeSeq, 0.05)), "above 404 ≤ 0.05 ms"],
  [`session read, ${conns} connections`, cells((r, p) => loadCell(p.session, p.runtime, 0.05)), "above 404 ≤ 0.05 ms"],
  [`session read req/s ÷ the same runtime's 404 req/s (${conns} connections)`, cells((r) => `${num(100 * r.sessionVsTrivialRps, 0)} %${r.sessionVsTrivialRps >= 0.8 ? " ✓" : " ✗"}`), "≥ 80 % (one workerd)"],
  [`session read req/s against the reference agent's 4,400–5,100`, cells((r, p) => `${rps(p.session.rps)}${p.session.rps > 5100 ? " ✓" : p.session.rps > 4400 ? " (within its range)" : " ✗"}`), "> 4,400–5,100 (one workerd)"],
  ["proxied `GET /api/whoami`, warm cache, one after another", cells((r, p) => seqCell(p.warmSeq, p.runtimeSeq, 0.2)), "above 404 ≤ 0.2 ms"],
  [`proxied, warm cache, ${conns} connections`, cells((r, p) => loadCell(p.warm, p.runtime, 0.2)), "above 404 ≤ 0.2 ms"],
  [`proxied, introspection on every call, ${conns} connections`, cells((r, p) => loadCell(p.introspect, p.runtime)), ""],
  [`example API direct, ${conns} connections (no worker)`, cells((r, p) => `${rps(p.direct.rps)} req/s, p50 ${num(p.direct.p50)} ms`), ""],
  ["proxy: (b)/(a), (b)/(c)", cells((r) => `${num(100 * r.proxy.warmVsDirect, 0)} %, ${num(r.proxy.warmVsIntrospect, 1)}×`), "≥ 90 %, ≥ 10×"],
  ["404, one after another, in the agent run (the base of the next rows)", cells((r, p, a) => seqCell(a.runtime)), ""],
  ["floor: one POST to the IdP's token endpoint made by `entry.mjs` before any Rust (one workerd)", cells((r, p, a) => seqCell(a.jsExchange, a.runtime)), ""],
  ["`POST /auth/login/end` (incl. the local IdP's time in p50)", cells((r, p, a) => seqCell(a.loginEnd, a.runtime, 1.5)), "above 404 ≤ 1.5 ms"],
  ["`POST /auth/refresh`, the session's first 40", cells((r, p, a) => seqCell(a.refreshFirst, a.runtime, 1.5)), "above 404 ≤ 1.5 ms"],
  [`\`POST /auth/refresh\`, the session's last 40 of ${refreshes}`, cells((r, p, a) => seqCell(a.refreshLast, a.runtime, 1.5)), "above 404 ≤ 1.5 ms, flat"],
];
console.log(`\nBoth runtimes (CPU: the runtime's own process tree, ms per request; above 404: minus its 404 measured alike)\n`);
console.log(`| measure | ${RUNTIMES.map(([, label]) => label).join(" | ")} | target |`);
console.log(`| --- | ${RUNTIMES.map(() => "---").join(" | ")} | --- |`);
for (const [a, values, target] of table) console.log(`| ${a} | ${values.join(" | ")} | ${target} |`);
console.log(`\n(written to target/bench/report.json)`);
