// Merges the parts scripts/bench.sh measured (target/bench/*.json) into one report,
// target/bench/report.json, and prints it as a table with the performance targets.
import { readFileSync, writeFileSync, statSync, readdirSync } from "node:fs";
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
const profile = read("startup.cpuprofile");
const wasm = read("wasm.json");
const proxy = read("proxy.json");
const agent = read("agent.json");
const us = (name) => wasm.steps.find((s) => s.name.startsWith(name))?.microseconds ?? NaN;

const report = {
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
  node: process.version,
  sizes: { workerWasm: size(workerWasm), spaWasm: size(spaWasm) },
  startupMs: (profile.endTime - profile.startTime) / 1000,
  wasm: wasm.steps,
  // CPU estimates from the per-step costs (what the worker computes per request; the runtime's
  // own work is not in them). Stateless mode with the session registry bound: four cookies
  // opened, the cache key hashed. A login callback: ID token (RS256), five cookies sealed.
  estimates: {
    proxiedWarmMs: (4 * us("cookie open") + us("SHA-256")) / 1000,
    proxiedMissMintMs: (4 * us("cookie open") + us("SHA-256") + us("phantom token mint")) / 1000,
    loginCallbackRs256Ms: (us("cookie open") + us("ID-token check, RS256") + 5 * us("cookie seal")) / 1000,
    loginCallbackEs256Ms: (us("cookie open") + us("ID-token check, ES256") + 5 * us("cookie seal")) / 1000,
  },
  proxy,
  agent: agent.rows,
};
writeFileSync(join(bench, "report.json"), JSON.stringify(report, null, 2));

const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
const ms = (n) => `${n.toFixed(2)} ms`;
const lines = [
  ["worker bundle wasm", `${kb(report.sizes.workerWasm.raw)} raw, ${kb(report.sizes.workerWasm.gzip)} gzip`, "≤ 600 KB gzip"],
  ["SPA wasm", `${kb(report.sizes.spaWasm.raw)} raw, ${kb(report.sizes.spaWasm.gzip)} gzip`, "≤ 250 KB gzip"],
  ["worker startup (wrangler check startup)", ms(report.startupMs), "≤ 50 ms"],
  ...wasm.steps.map((s) => [`wasm: ${s.name}`, s.microseconds >= 1000 ? ms(s.microseconds / 1000) : `${s.microseconds.toFixed(1)} µs`, ""]),
  ["est. CPU, proxied request, warm cache", ms(report.estimates.proxiedWarmMs), "≤ 0.5 ms"],
  ["est. CPU, proxied request, cache miss (mint)", ms(report.estimates.proxiedMissMintMs), ""],
  ["est. CPU, login callback (RS256 / ES256)", `${ms(report.estimates.loginCallbackRs256Ms)} / ${ms(report.estimates.loginCallbackEs256Ms)}`, "≤ 3 ms"],
  ...proxy.rows.map((r) => [`proxy bench: ${r.name}`, `${r.rps.toFixed(0)} req/s, p50 ${ms(r.p50)}, p99 ${ms(r.p99)}`, ""]),
  [`proxy bench: ${proxy.baseline.name}`, `${proxy.baseline.rps.toFixed(0)} req/s, p50 ${ms(proxy.baseline.p50)}`, ""],
  ["proxy: (b)/(a), (b)/(c)", `${(100 * proxy.warmVsDirect).toFixed(0)} %, ${proxy.warmVsIntrospect.toFixed(1)}×`, "≥ 90 %, ≥ 10×"],
  ...agent.rows.map((r) => [r.name, `p50 ${ms(r.p50)}, p99 ${ms(r.p99)} (n=${r.n})`, ""]),
];
console.log(`\nedgeward performance report — ${report.machine}, node ${report.node}\n`);
console.log("| measure | value | target |");
console.log("| --- | --- | --- |");
for (const [a, b, c] of lines) console.log(`| ${a} | ${b} | ${c} |`);
console.log(`\n(written to target/bench/report.json)`);
