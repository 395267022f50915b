// scripts/refresh-latency.mjs — how long `POST /auth/refresh` takes as one session's refreshes
// accumulate, in `wrangler dev` with the release build, against the local IdP (README
// "Performance"). Prints, for N successive refreshes of one session (default 400): the p50 of
// refreshes 31–40 and of the last 10, the same for N direct refresh-token grants at the IdP (the
// IdP's own share, which every refresh includes), and how many refresh coordinator objects
// workerd made.
//
//   TEST_WORKER_PORT=8880 TEST_IDP_PORT=9180 node scripts/refresh-latency.mjs [N]
//
// A measurement, not a test: nothing here passes or fails on a number.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { startIdp, startWorker, ORIGIN, ISSUER, CLIENT_SECRET } from "../tests/support/stack.mjs";
import { signIn, openCookie } from "../tests/support/session.mjs";

const rounds = Number(process.argv[2] || 400);
const p50 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => `${x.toFixed(1)} ms`;

async function timed(n, once) {
  const took = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await once(i);
    took.push(performance.now() - t0);
  }
  return took;
}

function report(what, took) {
  const parts = [`first ${ms(took[0])}`];
  if (took.length >= 40) parts.push(`p50 of 31–40 ${ms(p50(took.slice(30, 40)))}`);
  parts.push(`p50 of the last 10 ${ms(p50(took.slice(-10)))}`);
  console.log(`${what} (${took.length}): ${parts.join(", ")}`);
}

const idp = await startIdp();
const worker = await startWorker();
try {
  const { jar, csrf } = await signIn();
  // Warm the worker's isolate and the IdP's discovery before measuring.
  await jar.fetch(`${ORIGIN}/auth/session`);
  const viaWorker = await timed(rounds, async (i) => {
    const r = await jar.fetch(`${ORIGIN}/auth/refresh`, {
      method: "POST",
      headers: { origin: ORIGIN, "x-edgeward-csrf": csrf },
    });
    if (r.status !== 204) throw new Error(`refresh ${i + 1} answered ${r.status}: ${await r.text()}`);
  });
  report("POST /auth/refresh", viaWorker);

  // The IdP's own share: the same grant, made straight at its token endpoint by another session's
  // refresh token.
  const other = await signIn();
  let token = openCookie("__Host-edgeward-rt", other.jar.get(ORIGIN, "__Host-edgeward-rt").value).token;
  const discovery = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();
  const basic = `Basic ${Buffer.from(`edgeward:${CLIENT_SECRET}`).toString("base64")}`;
  const direct = await timed(rounds, async (i) => {
    const r = await fetch(discovery.token_endpoint, {
      method: "POST",
      headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: token }),
    });
    if (r.status !== 200) throw new Error(`direct grant ${i + 1} answered ${r.status}: ${await r.text()}`);
    token = (await r.json()).refresh_token;
  });
  report("the IdP's grant alone", direct);

  const dir = join(worker.persist, "v3", "do", "edgeward-EdgewardRefresh");
  let objects = 0;
  try {
    objects = readdirSync(dir).filter((f) => /^[0-9a-f]{64}\.sqlite$/.test(f)).length;
  } catch {}
  console.log(`refresh coordinator objects made: ${objects}`);
} finally {
  await worker.stop();
  await idp.stop();
}
