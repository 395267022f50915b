// Proxy and read benchmark (numbers, not a test), in the runtime BENCH_RUNTIME names
// (scripts/bench-runtime.mjs): requests/s, p50/p99 latency and CPU per request of
//   (a) the example API called directly with a JWT,
//   (b) the same call through the worker with a warm phantom-token cache,
//   (c) through the worker introspecting on every call (cache off),
//   the session read alone (GET /auth/session, from the cookies, no upstream), and
//   the runtime's own cost: a 404 the worker answers at once, no cookie,
// each with BENCH_CONCURRENCY connections for BENCH_SECONDS, and the 404, the session read and
// (b) also one request after another (BENCH_SEQ_N), the way a single user's calls come.
// Everything runs locally on the test ports (TEST_WORKER_PORT, TEST_IDP_PORT, TEST_API_PORT):
// the worker, the local IdP, the example API (release: a real API verifies ES256 in tens of
// microseconds); the load generator is this Node process, on the same machine. Every row says
// where the CPU went, per request and part (each part's own process tree, from /proc): on a
// machine of two cores, throughput is bounded by the sum. Writes target/bench/proxy-<runtime>.json.
// Run with scripts/bench-proxy.sh or scripts/bench.sh (which build first).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpus } from "node:os";
import { startIdp, startExampleApi, ORIGIN, API, ROOT } from "../tests/support/stack.mjs";
import { signIn } from "../tests/support/session.mjs";
import { describe } from "./bench-cpu.mjs";
import { RUNTIME, RUNTIME_LABEL, startBenchWorker, parts, client, concurrent, sequential } from "./bench-runtime.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const CONNECTIONS = Number(process.env.BENCH_CONCURRENCY || 10);
const SEQ_N = Number(process.env.BENCH_SEQ_N || 2000);
const http = client(CONNECTIONS);
const load = { seconds: SECONDS, connections: CONNECTIONS };
const WARM = { EDGEWARD_PHANTOM_MAX_TTL: "3600" };

const idp = await startIdp();
let worker = await startBenchWorker(WARM);
const api = await startExampleApi({ profile: "release" });
const cpu = () => parts({ runtime: worker, IdP: idp, "example API": api });
const rows = {};
try {
  const { jar } = await signIn();
  const cookie = jar.header(ORIGIN);
  // The JWT the worker forwards, as the API saw it: used for the direct calls.
  const echo = await (await jar.fetch(`${ORIGIN}/api/echo/`)).json();
  const bearer = echo.request.headers.authorization;
  const seq = (url, headers, expected = 200) => async () => (await http.get(url, headers)) === expected;

  console.error(`proxy and read benchmark in ${RUNTIME_LABEL}: ${CONNECTIONS} connections for ${SECONDS} s; ${SEQ_N} sequential`);
  rows.runtimeSeq = await sequential("404 at once, no cookie (the runtime's own cost)", cpu(), SEQ_N, seq(`${ORIGIN}/auth/nothing-here`, {}, 404), 200);
  rows.sessionSeq = await sequential("GET /auth/session (session read)", cpu(), SEQ_N, seq(`${ORIGIN}/auth/session`, { cookie }), 200);
  rows.warmSeq = await sequential("(b) through the worker, warm cache", cpu(), SEQ_N, seq(`${ORIGIN}/api/whoami`, { cookie }), 200);
  rows.direct = await concurrent("(a) API direct, with a JWT", cpu(), http, `${API}/whoami`, { authorization: bearer }, load);
  rows.warm = await concurrent("(b) through the worker, warm cache", cpu(), http, `${ORIGIN}/api/whoami`, { cookie }, load);
  rows.session = await concurrent("GET /auth/session (session read)", cpu(), http, `${ORIGIN}/auth/session`, { cookie }, load);
  rows.runtime = await concurrent("404 at once, no cookie (the runtime's own cost)", cpu(), http, `${ORIGIN}/auth/nothing-here`, {}, { ...load, expected: 404 });
  await worker.stop();
  worker = await startBenchWorker({ ...WARM, EDGEWARD_PHANTOM_CACHE_ENTRIES: "0", EDGEWARD_PHANTOM_SHARED_CACHE: "false" });
  rows.introspect = await concurrent("(c) through the worker, introspection every call", cpu(), http, `${ORIGIN}/api/whoami`, { cookie }, load);
} finally {
  http.close();
  await worker.stop();
  await api.stop();
  await idp.stop();
}

const result = {
  runtime: RUNTIME,
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
  node: process.version,
  seconds: SECONDS,
  concurrency: CONNECTIONS,
  sequentialN: SEQ_N,
  runtimeProcesses: worker.programs,
  rows,
  warmVsDirect: rows.warm.rps / rows.direct.rps,
  warmVsIntrospect: rows.warm.rps / rows.introspect.rps,
};
mkdirSync(join(ROOT, "target", "bench"), { recursive: true });
writeFileSync(join(ROOT, "target", "bench", `proxy-${RUNTIME}.json`), JSON.stringify(result, null, 2));
console.log(`\n${RUNTIME_LABEL}:\n`);
console.log(`| case | mode | req/s | p50 ms | p99 ms | errors | CPU ms per request (each part's process tree) |`);
console.log(`| --- | --- | ---: | ---: | ---: | ---: | --- |`);
for (const r of Object.values(rows)) {
  console.log(`| ${r.name} | ${r.mode} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} | ${describe(r.cpuMsPerRequest)} |`);
}
console.log(`\n(b)/(a) = ${(100 * result.warmVsDirect).toFixed(0)} %   (b)/(c) = ${result.warmVsIntrospect.toFixed(1)}×   on ${result.machine}`);
