// Two or more builds of the worker compared on one case, in short interleaved slices (numbers, not
// a test). On these shared VMs a run of several seconds moves by ±20 % from one minute to the
// next, more than most changes are worth; here every build runs in its own workerd at the same
// time and the load goes to them in turns, one slice each (BENCH_SLICE_SECONDS, 1.5), the case
// then the core's 404, so a disturbance falls on all builds alike and each build's cost is read
// as the difference of two neighbouring slices. Prints, per build, the median over
// BENCH_SLICES (16) of the case's workerd CPU per request above the 404's, and each build's
// paired difference to the first one with its quartiles.
//
//   BENCH_BUNDLES=a=dir,b=dir BENCH_CASE=proxied|session node scripts/bench-ab.mjs
//
// The bundles are what `wrangler deploy --dry-run --outdir` wrote. Uses the test ports: the IdP and
// the example API on theirs, the first worker on TEST_WORKER_PORT, the others on + 4, + 5, ….
import { startIdp, startExampleApi, startWorker, ORIGIN, WORKER_PORT } from "../tests/support/stack.mjs";
import { signIn } from "../tests/support/session.mjs";
import { client } from "./bench-runtime.mjs";
import { cpuByPart } from "./bench-cpu.mjs";

const SLICES = Number(process.env.BENCH_SLICES || 16);
const SLICE = Number(process.env.BENCH_SLICE_SECONDS || 1.5) * 1000;
const CONNECTIONS = Number(process.env.BENCH_CONCURRENCY || 10);
const CASE = process.env.BENCH_CASE || "proxied";
const paths = { proxied: "/api/whoami", session: "/auth/session" };
if (!paths[CASE]) throw new Error(`BENCH_CASE: proxied or session, not ${CASE}`);
const bundles = (process.env.BENCH_BUNDLES || "").split(",").filter(Boolean).map((spec) => spec.split("="));
if (bundles.length < 2) throw new Error("BENCH_BUNDLES: at least two label=dir");

/** `connections` loops of GET `url` for `ms`; workerd CPU ms per request. */
async function slice(http, pid, url, headers, ms) {
  const before = cpuByPart({ w: pid }).w;
  const end = performance.now() + ms;
  let done = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const status = await http.get(url, headers).catch(() => 0);
        if (status === 200 || status === 404) done += 1;
        else errors += 1;
      }
    }),
  );
  if (errors > 0) throw new Error(`${url}: ${errors} calls failed`);
  return ((cpuByPart({ w: pid }).w - before) * 1000) / done;
}

const quartiles = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.round(q * (s.length - 1)))];
  return [at(0.25), at(0.5), at(0.75)];
};

const idp = await startIdp();
const api = await startExampleApi({ profile: "release" });
const workers = [];
const http = client(CONNECTIONS);
try {
  // Every worker is configured as the one at ORIGIN (the example API trusts the tokens it mints,
  // and the JWKS it serves holds the key all of them mint with); one sign-in there gives the
  // cookies all of them open.
  let headers;
  for (const [i, [label, dir]] of bundles.entries()) {
    const port = i === 0 ? WORKER_PORT : WORKER_PORT + 3 + i;
    const worker = await startWorker({ port, runtime: "workerd", bundle: dir, vars: { EDGEWARD_ORIGIN: ORIGIN, EDGEWARD_PHANTOM_MAX_TTL: "3600" } });
    headers ??= { cookie: (await signIn()).jar.header(ORIGIN) };
    workers.push({ label, worker, origin: `http://localhost:${port}`, headers, above: [] });
  }
  for (const w of workers) {
    // Warm-up: JIT, wasm tier-up, the isolate's caches.
    await slice(http, w.worker.child.pid, `${w.origin}${paths[CASE]}`, w.headers, 2000);
    await slice(http, w.worker.child.pid, `${w.origin}/auth/nothing-here`, {}, 1000);
  }
  for (let s = 0; s < SLICES; s++) {
    // Rotated, so no build always goes first.
    for (let k = 0; k < workers.length; k++) {
      const w = workers[(s + k) % workers.length];
      const pid = w.worker.child.pid;
      const cost = await slice(http, pid, `${w.origin}${paths[CASE]}`, w.headers, SLICE);
      const floor = await slice(http, pid, `${w.origin}/auth/nothing-here`, {}, SLICE);
      w.above.push(cost - floor);
    }
  }
} finally {
  http.close();
  for (const w of workers) await w.worker.stop();
  await api.stop();
  await idp.stop();
}

const f = (x) => x.toFixed(3);
console.log(`${CASE}: workerd CPU ms per request above the core's 404, ${SLICES} slices of ${SLICE / 1000} s, ${CONNECTIONS} connections`);
console.log("| build | median [quartiles] | paired difference to the first [quartiles] |");
console.log("| --- | --- | --- |");
for (const w of workers) {
  const [q1, m, q3] = quartiles(w.above);
  const diff = w.above.map((x, i) => x - workers[0].above[i]);
  const [d1, dm, d3] = quartiles(diff);
  console.log(`| ${w.label} | ${f(m)} [${f(q1)}, ${f(q3)}] | ${w === workers[0] ? "" : `${f(dm)} [${f(d1)}, ${f(d3)}]`} |`);
}
