// Latency and CPU of the OAuth agent's two IdP-bound endpoints, in the runtime BENCH_RUNTIME
// names (scripts/bench-runtime.mjs), against the local IdP, one call after another:
// POST /auth/login/end (code exchange, ID-token check, cookies; BENCH_AGENT_N calls) and
// POST /auth/refresh (refresh-token grant through the refresh coordinator) on one session, the
// 1st–40th refresh and the 361st–400th (BENCH_REFRESHES), to show whether the cost grows as
// refreshes accumulate; and the runtime's own cost, a 404 answered at once, measured alike.
// CPU per call for each part's own process tree (the runtime's includes its outgoing requests
// to the IdP). Numbers, not a test. Writes target/bench/agent-<runtime>.json.
// Uses the test ports: run through scripts/bench.sh, not beside scripts/test.sh.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startIdp, ISSUER, ORIGIN, ROOT } from "../tests/support/stack.mjs";
import { CookieJar } from "../tests/support/jar.mjs";
import { loginAtIdp } from "../tests/support/idp-login.mjs";
import { RUNTIME, RUNTIME_LABEL, startBenchWorker, parts, sequential } from "./bench-runtime.mjs";

const N = Number(process.env.BENCH_AGENT_N || 40);
// Calls of each endpoint before its measured ones (on other logins and another session), so the
// measured code is the isolate's warm code, as a busy isolate's is: V8 optimises wasm functions
// only after they have run a while, and 40 calls are not that.
const WARMUP = Number(process.env.BENCH_AGENT_WARMUP || 100);
const REFRESHES = Number(process.env.BENCH_REFRESHES || 400);
const WINDOW = Math.min(40, REFRESHES);
const headers = { origin: ORIGIN, "content-type": "application/json" };

const idp = await startIdp();
// In one workerd, the floor of an endpoint with one outgoing request: entry.mjs POSTs a form to
// the IdP's token endpoint (a code it refuses: its answer is JSON, as a token answer is), reads
// the answer and answers 200, before any Rust runs. What the runtime spends on the outgoing
// request is in login/end's row too; this row says how much.
const { token_endpoint: tokenEndpoint } = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();
const floor = [
  `if (request.url.endsWith("/auth/js-exchange")) { const r = await fetch(${JSON.stringify(tokenEndpoint)}, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" }, body: "grant_type=authorization_code&code=bench&redirect_uri=http%3A%2F%2Flocalhost%2F&client_id=bench", redirect: "manual" }); return new Response(await r.arrayBuffer(), { status: 200, headers: { "content-type": "application/json", "cache-control": "no-store" } }); }`,
];
const worker = await startBenchWorker({}, { entryLines: RUNTIME === "workerd" ? floor : undefined });
const cpu = parts({ runtime: worker, IdP: idp });
const rows = {};
try {
  console.error(`agent benchmark in ${RUNTIME_LABEL}: ${N} logins, ${REFRESHES} refreshes of one session`);
  // Sign in at the IdP first, then post the callbacks back to back: the measured block holds
  // login/end calls only, so the CPU each part spent in it is theirs.
  const callbacks = [];
  for (let i = 0; i < N + WARMUP; i++) {
    const jar = new CookieJar();
    const start = await jar.fetch(`${ORIGIN}/auth/login/start`, { method: "POST", headers, body: "{}" });
    const { authorizationUrl } = await start.json();
    callbacks.push({ jar, callback: await loginAtIdp(jar, authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` }) });
  }
  const sessions = [];
  // The first WARMUP warm the isolate (and V8's optimising tier) and the IdP's caches.
  rows.loginEnd = await sequential("POST /auth/login/end (code exchange + ID token + cookies)", cpu, N, async (i) => {
    const { jar, callback } = callbacks[i];
    const end = await jar.fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers, body: JSON.stringify({ pageUrl: callback }) });
    if (end.status !== 200) throw new Error(`login/end answered ${end.status}: ${await end.text()}`);
    sessions.push({ jar, csrf: (await end.json()).csrf });
    return true;
  }, WARMUP);
  const refresh = ({ jar, csrf }) => async () => {
    const res = await jar.fetch(`${ORIGIN}/auth/refresh`, { method: "POST", headers: { origin: ORIGIN, "x-edgeward-csrf": csrf } });
    if (res.status !== 204) throw new Error(`refresh answered ${res.status}: ${await res.text()}`);
    return true;
  };
  // WARMUP refreshes of another session warm the refresh coordinator's code; the measured
  // session has made none before its first.
  const [warm, measured] = sessions.slice(-2);
  for (let i = 0; i < WARMUP; i++) await refresh(warm)();
  rows.refreshFirst = await sequential(`POST /auth/refresh, the session's refreshes 1–${WINDOW}`, cpu, WINDOW, refresh(measured), 0);
  for (let i = 2 * WINDOW; i < REFRESHES; i++) await refresh(measured)();
  if (REFRESHES >= 2 * WINDOW) rows.refreshLast = await sequential(`POST /auth/refresh, the session's refreshes ${REFRESHES - WINDOW + 1}–${REFRESHES}`, cpu, WINDOW, refresh(measured), 0);
  rows.runtime = await sequential("404 at once, no cookie (the runtime's own cost)", cpu, 1000, async () => {
    const res = await fetch(`${ORIGIN}/auth/nothing-here`);
    await res.arrayBuffer();
    return res.status === 404;
  }, 50);
  if (RUNTIME === "workerd") {
    rows.jsExchange = await sequential("one POST to the IdP's token endpoint, answered by entry.mjs (the floor of one outgoing request)", cpu, N * 5, async () => {
      const res = await fetch(`${ORIGIN}/auth/js-exchange`, { method: "POST" });
      await res.arrayBuffer();
      return res.status === 200;
    }, 50);
  }
} finally {
  await worker.stop();
  await idp.stop();
}
mkdirSync(join(ROOT, "target/bench"), { recursive: true });
writeFileSync(join(ROOT, `target/bench/agent-${RUNTIME}.json`), JSON.stringify({ runtime: RUNTIME, refreshes: REFRESHES, rows }, null, 2));
