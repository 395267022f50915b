// What the benchmarks share: the runtime they measure in, and the two ways of loading it.
//
// BENCH_RUNTIME picks the runtime (README "Performance"):
// - `wrangler`: `wrangler dev` through wrangler's API without its inspector and request log
//   (tests/support/wrangler-lean.mjs): wrangler's Node process, its dev proxy (a workerd) and the
//   user instance (another workerd: Miniflare's entry worker, the assets router, the worker);
// - `workerd`: the bundle `wrangler deploy --dry-run` wrote (BENCH_WORKERD_BUNDLE, default
//   target/bench/dry-run) in ONE workerd process, configured from wrangler.toml by
//   scripts/workerd-config.mjs, its socket straight to the worker.
// Every measurement counts CPU per request for each part's own process tree (scripts/bench-cpu.mjs).
import http from "node:http";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startWorker, ROOT } from "../tests/support/stack.mjs";
import { cpuByPart, describe, perRequest, treePrograms } from "./bench-cpu.mjs";
import { withEntryLines } from "./bench-bundle.mjs";

export const RUNTIME = process.env.BENCH_RUNTIME || "wrangler";
export const RUNTIME_LABEL = { wrangler: "wrangler dev", workerd: "one workerd" }[RUNTIME];
if (!RUNTIME_LABEL) throw new Error(`BENCH_RUNTIME is ${RUNTIME}: wrangler or workerd`);

/**
 * Starts the worker in the runtime under measurement, with the test vars and `vars` on top. In
 * one workerd, `entryLines` (scripts/bench-bundle.mjs) are added to a copy of the bundle's entry.
 */
export async function startBenchWorker(vars = {}, { entryLines } = {}) {
  let worker;
  if (RUNTIME === "wrangler") worker = await startWorker({ lean: true, vars });
  else {
    let bundle = process.env.BENCH_WORKERD_BUNDLE || join(ROOT, "target/bench/dry-run");
    if (!existsSync(bundle)) throw new Error(`no bundle at ${bundle}: run scripts/bench.sh (it writes it) or set BENCH_WORKERD_BUNDLE`);
    if (entryLines) bundle = withEntryLines("bench-floors", bundle, entryLines);
    worker = await startWorker({ runtime: "workerd", bundle, vars });
  }
  worker.programs = treePrograms(worker.child.pid);
  console.error(`  [${RUNTIME_LABEL}] the runtime's process tree (its CPU is counted): ${worker.programs}`);
  return worker;
}

/** The parts whose CPU is counted: name → the pid at the root of its process tree. */
export const parts = (running) =>
  Object.fromEntries(Object.entries(running).filter(([, p]) => p).map(([name, p]) => [name, p.child.pid]));

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** One row: latency percentiles, req/s and CPU ms per request by part. */
function row(name, mode, latencies, seconds, errors, cpuBefore, cpuAfter, errorReasons = {}) {
  latencies.sort((a, b) => a - b);
  const cpuMsPerRequest = perRequest(cpuBefore, cpuAfter, latencies.length);
  const r = {
    name, mode, runtime: RUNTIME, requests: latencies.length, errors, errorReasons,
    rps: latencies.length / seconds, p50: pct(latencies, 50), p99: pct(latencies, 99),
    cpuMsPerRequest,
  };
  const reasons = Object.entries(errorReasons).map(([why, n]) => `${n}× ${why}`).join(", ");
  console.error(`  [${RUNTIME_LABEL}] ${name} (${mode}): ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${errors} errors${reasons ? ` (${reasons})` : ""}; CPU ms/request: ${describe(cpuMsPerRequest)}`);
  return r;
}

/**
 * Runs `call` (an async function answering true when the answer was the expected one) `warmup`
 * times, then `n` times one after another, measuring each; CPU from `cpuParts`.
 */
export async function sequential(name, cpuParts, n, call, warmup = 2) {
  for (let i = 0; i < warmup; i++) await call(i);
  const latencies = [];
  let errors = 0;
  const before = cpuByPart(cpuParts);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    if (!(await call(warmup + i))) errors++;
    latencies.push(performance.now() - t);
  }
  const seconds = (performance.now() - start) / 1000;
  return row(name, "sequential", latencies, seconds, errors, before, cpuByPart(cpuParts));
}

/** A keep-alive HTTP client for the load loops (the browser-like fetch costs the client more). */
export function client(connections) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const get = (url, headers) =>
    new Promise((resolve, reject) => {
      const req = http.get(url, { agent, headers, timeout: 5000 }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      });
      // Every request is bounded: a stuck one counts as an error, the run always ends.
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
    });
  return { get, close: () => agent.destroy() };
}

/** `connections` loops of GET `url` for `seconds` (bounded by time, stops by itself). */
export async function concurrent(name, cpuParts, { get }, url, headers, { expected = 200, seconds, connections }) {
  for (let i = 0; i < 200; i++) await get(url, headers); // warm-up (JIT, wasm tier-up, caches)
  const latencies = [];
  let errors = 0;
  // Why calls failed: "HTTP <status>", or the client's error code (ECONNRESET, timeout…).
  const reasons = {};
  const before = cpuByPart(cpuParts);
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const status = await get(url, headers).catch((e) => e?.code ?? e?.message ?? "error");
        latencies.push(performance.now() - t);
        if (status !== expected) {
          errors++;
          const why = typeof status === "number" ? `HTTP ${status}` : String(status);
          reasons[why] = (reasons[why] ?? 0) + 1;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return row(name, `${connections} connections`, latencies, elapsed, errors, before, cpuByPart(cpuParts), reasons);
}
