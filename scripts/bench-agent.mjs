// Latency of the OAuth agent's two IdP-bound endpoints through wrangler dev (workerd) against
// the local IdP, measured from the client: POST /auth/login/end (code exchange, ID-token check,
// cookies) and POST /auth/refresh (refresh-token grant through the refresh coordinator).
// Numbers, not a test: includes the local IdP's own time; wrangler dev runs without its inspector
// and request log (tests/support/wrangler-lean.mjs). Writes target/bench/agent.json.
// Uses the test ports: run through scripts/bench.sh, not beside scripts/test.sh.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startIdp, startWorker, ORIGIN, ROOT } from "../tests/support/stack.mjs";
import { CookieJar } from "../tests/support/jar.mjs";
import { loginAtIdp } from "../tests/support/idp-login.mjs";
import { cpuByPart, describe, perRequest } from "./bench-cpu.mjs";

const N = Number(process.env.BENCH_AGENT_N || 40);
const headers = { origin: ORIGIN, "content-type": "application/json" };

const stats = (name, ms, cpuBefore, cpuAfter) => {
  ms.sort((a, b) => a - b);
  const pct = (p) => ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))];
  const cpuMsPerRequest = perRequest(cpuBefore, cpuAfter, ms.length);
  const row = { name, n: ms.length, p50: pct(50), p99: pct(99), mean: ms.reduce((a, b) => a + b, 0) / ms.length, cpuMsPerRequest };
  const where = describe(cpuMsPerRequest);
  console.error(`  ${name}: p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms (n=${row.n}); CPU ms/call: ${where}`);
  return row;
};

const idp = await startIdp();
const worker = await startWorker({ lean: true });
const rows = [];
try {
  // Sign in at the IdP first, then post the callbacks back to back: the measured block holds
  // login/end calls only, so the CPU each process spent in it is theirs.
  const callbacks = [];
  for (let i = 0; i < N + 2; i++) {
    const jar = new CookieJar();
    const start = await jar.fetch(`${ORIGIN}/auth/login/start`, { method: "POST", headers, body: "{}" });
    const { authorizationUrl } = await start.json();
    callbacks.push({ jar, callback: await loginAtIdp(jar, authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` }) });
  }
  const logins = [];
  let last;
  let cpuBefore;
  for (const [i, { jar, callback }] of callbacks.entries()) {
    if (i === 2) cpuBefore = cpuByPart(); // the first two warm the isolate and the IdP caches
    const t = performance.now();
    const end = await jar.fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers, body: JSON.stringify({ pageUrl: callback }) });
    const elapsed = performance.now() - t;
    if (end.status !== 200) throw new Error(`login/end answered ${end.status}`);
    last = { jar, csrf: (await end.json()).csrf };
    if (i >= 2) logins.push(elapsed);
  }
  rows.push(stats("POST /auth/login/end (code exchange + ID token + cookies)", logins, cpuBefore, cpuByPart()));

  const refreshes = [];
  for (let i = 0; i < N + 2; i++) {
    if (i === 2) cpuBefore = cpuByPart();
    const t = performance.now();
    const res = await last.jar.fetch(`${ORIGIN}/auth/refresh`, {
      method: "POST",
      headers: { origin: ORIGIN, "x-edgeward-csrf": last.csrf },
    });
    const elapsed = performance.now() - t;
    if (res.status !== 204) throw new Error(`refresh answered ${res.status}`);
    if (i >= 2) refreshes.push(elapsed);
  }
  rows.push(stats("POST /auth/refresh (grant via the coordinator + cookies)", refreshes, cpuBefore, cpuByPart()));

  // The runtime's own cost of one request (both workerd instances of wrangler dev), for
  // comparison: a request the worker answers at once (404 JSON, no cookie, no I/O).
  const trivial = [];
  for (let i = 0; i < 10 * N + 2; i++) {
    if (i === 2) cpuBefore = cpuByPart();
    const t = performance.now();
    const res = await fetch(`${ORIGIN}/auth/nothing-here`);
    await res.arrayBuffer();
    if (res.status !== 404) throw new Error(`the trivial request answered ${res.status}`);
    if (i >= 2) trivial.push(performance.now() - t);
  }
  rows.push(stats("GET /auth/nothing-here (404 at once: the runtime's own cost)", trivial, cpuBefore, cpuByPart()));
} finally {
  await worker.stop();
  await idp.stop();
}
mkdirSync(join(ROOT, "target/bench"), { recursive: true });
writeFileSync(join(ROOT, "target/bench/agent.json"), JSON.stringify({ rows }, null, 2));
