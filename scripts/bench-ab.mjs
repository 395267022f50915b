// Two or more builds of the worker compared on one case, in short interleaved slices (numbers, not
// a test). On these shared VMs a run of several seconds moves by ±15–20 % from one minute to the
// next, more than most changes are worth; here every build runs in its own workerd at the same
// time and the load goes to them in turns, one slice each (BENCH_SLICE_SECONDS, 1.5), the case
// and the core's 404 (after 0.25 s unmeasured, and in alternating order), so a disturbance falls
// on all builds alike and each build's cost is read as the difference of two neighbouring
// slices. Prints, per build, the median over BENCH_SLICES (16) of the case's workerd CPU per
// request above the 404's, and each build's paired difference to the first one with its
// quartiles.
//
//   BENCH_BUNDLES=a=dir,b=dir BENCH_CASE=proxied|session|core-404|js-404 node scripts/bench-ab.mjs
//
// The case is called with a signed-in jar's cookies, the floor (BENCH_FLOOR_CASE, core-404)
// without: CASE=core-404 is what carrying the cookies costs, in the runtime and the adapter;
// CASE=js-404 BENCH_FLOOR_CASE=js-404 (bundles from scripts/bench-adapter.mjs, whose entry answers
// /auth/js-404 before any Rust runs) what it costs the runtime alone.
//
// BENCH_FLOOR=0 leaves the 404 slices out and compares the case's whole CPU per request (for two
// builds whose 404 is the same code: half the slices, and less noise in each difference).
//
// BENCH_WITHOUT_UPSTREAM=1 adds, after each build, the same build with the proxy's upstream request
// taken out (scripts/bench-bundle.mjs `withoutUpstream`): its difference is what the runtime's
// outgoing request and streamed answer cost, of the proxied call's CPU.
//
// The bundles are what `wrangler deploy --dry-run --outdir` wrote. Uses the test ports: the IdP and
// the example API on theirs, the first worker on TEST_WORKER_PORT, the others on + 4, + 5, ….
import { startIdp, startExampleApi, startWorker, ORIGIN, WORKER_PORT } from "../tests/support/stack.mjs";
import { signIn } from "../tests/support/session.mjs";
import { client } from "./bench-runtime.mjs";
import { cpuByPart } from "./bench-cpu.mjs";
import { withoutUpstream } from "./bench-bundle.mjs";

const SLICES = Number(process.env.BENCH_SLICES || 16);
const SLICE = Number(process.env.BENCH_SLICE_SECONDS || 1.5) * 1000;
/** The unmeasured slice before each build's turn. */
const WARM = 250;
const CONNECTIONS = Number(process.env.BENCH_CONCURRENCY || 10);
const CASE = process.env.BENCH_CASE || "proxied";
const FLOOR = process.env.BENCH_FLOOR !== "0";
// The case is called with the signed-in jar's cookies (about 2 KB), the floor without.
const paths = { proxied: "/api/whoami", session: "/auth/session", "core-404": "/auth/nothing-here", "js-404": "/auth/js-404" };
if (!paths[CASE]) throw new Error(`BENCH_CASE: ${Object.keys(paths).join(", ")}, not ${CASE}`);
const FLOOR_PATH = paths[process.env.BENCH_FLOOR_CASE || "core-404"];
const given = (process.env.BENCH_BUNDLES || "").split(",").filter(Boolean).map((spec) => spec.split("="));
const bundles = process.env.BENCH_WITHOUT_UPSTREAM === "1" ? given.flatMap(([label, dir]) => [[label, dir], [`${label} without upstream`, withoutUpstream(`ab-${label}-no-upstream`, dir)]]) : given;
if (bundles.length < 2) throw new Error("BENCH_BUNDLES: at least two label=dir (or one, with BENCH_WITHOUT_UPSTREAM=1)");

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
    headers ??= { [process.env.BENCH_COOKIE_AS || "cookie"]: (await signIn()).jar.header(ORIGIN) };
    workers.push({ label, worker, origin: `http://localhost:${port}`, headers, above: [] });
  }
  for (const w of workers) {
    // Warm-up: JIT, wasm tier-up, the isolate's caches.
    await slice(http, w.worker.child.pid, `${w.origin}${paths[CASE]}`, w.headers, 2000);
    await slice(http, w.worker.child.pid, `${w.origin}${FLOOR_PATH}`, {}, 1000);
  }
  for (let s = 0; s < SLICES; s++) {
    // Rotated, so no build always goes first.
    for (let k = 0; k < workers.length; k++) {
      const w = workers[(s + k) % workers.length];
      const pid = w.worker.child.pid;
      const onCase = (ms) => slice(http, pid, `${w.origin}${paths[CASE]}`, w.headers, ms);
      const measure = () => onCase(SLICE);
      const measureFloor = () => (FLOOR ? slice(http, pid, `${w.origin}${FLOOR_PATH}`, {}, SLICE) : 0);
      // The worker has been idle while the others ran: a short unmeasured slice first (its
      // caches, and the machine's, were the others'), then the case and the 404 in an order
      // that alternates, so neither always comes first.
      await onCase(WARM);
      let cost, floor;
      if (s % 2 === 0) {
        cost = await measure();
        floor = await measureFloor();
      } else {
        floor = await measureFloor();
        cost = await measure();
      }
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
console.log(`${CASE} with cookies: workerd CPU ms per request${FLOOR ? ` above ${process.env.BENCH_FLOOR_CASE || "core-404"} without` : ""}, ${SLICES} slices of ${SLICE / 1000} s, ${CONNECTIONS} connections`);
console.log("| build | median [quartiles] | paired difference to the first [quartiles] |");
console.log("| --- | --- | --- |");
for (const w of workers) {
  const [q1, m, q3] = quartiles(w.above);
  const diff = w.above.map((x, i) => x - workers[0].above[i]);
  const [d1, dm, d3] = quartiles(diff);
  console.log(`| ${w.label} | ${f(m)} [${f(q1)}, ${f(q3)}] | ${w === workers[0] ? "" : `${f(dm)} [${f(d1)}, ${f(d3)}]`} |`);
}
