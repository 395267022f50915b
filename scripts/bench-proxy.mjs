// Proxy benchmark (numbers, not a test): requests/s and p50/p99 latency of
//   (a) the example API called directly with a JWT,
//   (b) the same call through the worker with a warm phantom-token cache,
//   (c) through the worker introspecting on every call (cache off),
// and, as a baseline for the runtime's own cost, the worker answering /auth/session alone.
// Everything runs locally (wrangler dev / workerd, the local IdP, the example API) on the test
// ports; the load generator is this Node process, on the same machine. wrangler dev runs without
// its inspector and request log (tests/support/wrangler-lean.mjs): both are development aids
// that call into wrangler's Node process on every request and halve the throughput.
// Every row also says where the CPU went, per request and process (from /proc): on a machine
// of two cores, throughput is bounded by the sum. Writes target/bench/proxy.json. Run with
// scripts/bench-proxy.sh (which builds first).
import http from "node:http";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpuByPart, describe, perRequest } from "./bench-cpu.mjs";
import { join } from "node:path";
import { cpus } from "node:os";
import { startIdp, startWorker, startExampleApi, ORIGIN, API, ROOT } from "../tests/support/stack.mjs";
import { signIn } from "../tests/support/session.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY || 10);
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function get(url, headers) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers, timeout: 5000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    // Every request is bounded: a stuck one counts as an error, the run always ends.
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

/** CONCURRENCY loops for SECONDS; bounded by time, stops by itself. */
async function load(name, url, headers, expected = 200) {
  for (let i = 0; i < 20; i++) await get(url, headers); // warm-up
  const latencies = [];
  let errors = 0;
  const cpuBefore = cpuByPart();
  const end = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        const t = process.hrtime.bigint();
        const status = await get(url, headers).catch(() => 0);
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (status !== expected) errors++;
      }
    }),
  );
  const cpuAfter = cpuByPart();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  // CPU milliseconds per request, by process kind (processes that did not work are left out).
  const cpuMsPerRequest = perRequest(cpuBefore, cpuAfter, latencies.length);
  const cpuTotal = Object.values(cpuMsPerRequest).reduce((a, b) => a + b, 0);
  const row = { name, requests: latencies.length, errors, rps: latencies.length / SECONDS, p50: pct(50), p99: pct(99), cpuMsPerRequest, cpuMsTotal: Number(cpuTotal.toFixed(2)) };
  const where = describe(cpuMsPerRequest);
  console.error(`  ${name}: ${row.rps.toFixed(0)} req/s, p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms, ${errors} errors; CPU ms/request: ${where}`);
  return row;
}

const idp = await startIdp();
let worker = await startWorker({ lean: true, vars: { EDGEWARD_PHANTOM_MAX_TTL: "3600" } });
// A release build: a real API verifies ES256 in tens of microseconds, not milliseconds.
const api = await startExampleApi({ profile: "release" });
const rows = [];
let baseline;
let runtime;
try {
  const { jar } = await signIn();
  const cookie = jar.header(ORIGIN);
  // The JWT the worker forwards, as the API saw it: used for the direct calls.
  const echo = await (await jar.fetch(`${ORIGIN}/api/echo/`)).json();
  const bearer = echo.request.headers.authorization;

  console.error(`proxy benchmark: ${CONCURRENCY} connections, ${SECONDS} s each`);
  rows.push(await load("(a) API direct, with a JWT", `${API}/whoami`, { authorization: bearer }));
  rows.push(await load("(b) through the worker, warm cache", `${ORIGIN}/api/whoami`, { cookie }));
  baseline = await load("(baseline) worker alone: GET /auth/session, no upstream", `${ORIGIN}/auth/session`, { cookie });
  // The runtime's own cost per request at this concurrency: a 404 the worker answers at once.
  runtime = await load("(runtime) a 404 answered at once, no cookie", `${ORIGIN}/auth/nothing-here`, {}, 404);
  await worker.stop();
  worker = await startWorker({ lean: true, vars: { EDGEWARD_PHANTOM_MAX_TTL: "3600", EDGEWARD_PHANTOM_CACHE_ENTRIES: "0", EDGEWARD_PHANTOM_SHARED_CACHE: "false" } });
  rows.push(await load("(c) through the worker, introspection every call", `${ORIGIN}/api/whoami`, { cookie }));
} finally {
  await worker.stop();
  await api.stop();
  await idp.stop();
}

const [a, b, c] = rows;
const result = {
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
  node: process.version,
  seconds: SECONDS,
  concurrency: CONCURRENCY,
  rows,
  baseline,
  runtime,
  warmVsDirect: b.rps / a.rps,
  warmVsIntrospect: b.rps / c.rps,
};
mkdirSync(join(ROOT, "target", "bench"), { recursive: true });
writeFileSync(join(ROOT, "target", "bench", "proxy.json"), JSON.stringify(result, null, 2));
console.log(`| case | req/s | p50 ms | p99 ms | errors | CPU ms per request (all processes) |`);
console.log(`| --- | ---: | ---: | ---: | ---: | --- |`);
for (const r of [...rows, baseline, runtime]) {
  const where = describe(r.cpuMsPerRequest);
  console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} | ${r.cpuMsTotal} (${where}) |`);
}
console.log(`\n(b)/(a) = ${(100 * result.warmVsDirect).toFixed(0)} %   (b)/(c) = ${result.warmVsIntrospect.toFixed(1)}×   on ${result.machine}`);
