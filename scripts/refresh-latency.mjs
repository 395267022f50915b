// scripts/refresh-latency.mjs — what `POST /auth/refresh` costs as one session's refreshes
// accumulate, in `wrangler dev` (without its inspector, as scripts/bench-agent.mjs runs it) with
// the release build, against the local IdP (README "Performance"). Prints, for N successive
// refreshes of one session (default 400): the p50 of refreshes 31–40 and of the last 10, and the
// CPU that wrangler dev's own processes (its process group: workerd and wrangler, no one else's)
// spent per refresh over refreshes 11–40, the last 30 and 11–N, above what they spend per 404
// answered at once; the latency of N direct refresh-token grants at the IdP (its own share, which
// every refresh includes); and how many refresh coordinator objects workerd made.
//
//   TEST_WORKER_PORT=8880 TEST_IDP_PORT=9180 node scripts/refresh-latency.mjs [N]
//
// A measurement, not a test: nothing here passes or fails on a number. CPU comes from /proc in
// 10 ms ticks, so a window of 30 calls is good to about ±0.5 ms per call.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startIdp, startWorker, ORIGIN, ISSUER, CLIENT_SECRET } from "../tests/support/stack.mjs";
import { signIn, openCookie } from "../tests/support/session.mjs";

const rounds = Number(process.argv[2] || 400);
const p50 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => `${x.toFixed(1)} ms`;

/** CPU seconds used so far by the processes of process group `group` (Linux /proc). */
function cpuOfGroup(group) {
  let seconds = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === group) seconds += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {}
  }
  return seconds;
}

/** Runs `once` n times; the latency of each, and CPU ms per call of the worker's processes. */
async function timed(n, once, group, windows = []) {
  const took = [];
  const cpu = [];
  for (let i = 0; i <= n; i++) {
    if (group) cpu[i] = cpuOfGroup(group);
    if (i === n) break;
    const t0 = performance.now();
    await once(i);
    took.push(performance.now() - t0);
  }
  const perCall = windows.map(([from, to]) => ((cpu[to] - cpu[from]) * 1000) / (to - from));
  return { took, perCall };
}

function report(what, took) {
  const parts = [`first ${ms(took[0])}`];
  if (took.length >= 40) parts.push(`p50 of 31–40 ${ms(p50(took.slice(30, 40)))}`);
  parts.push(`p50 of the last 10 ${ms(p50(took.slice(-10)))}`);
  console.log(`${what} (${took.length}): ${parts.join(", ")}`);
}

const idp = await startIdp();
const worker = await startWorker({ lean: true });
const group = worker.child.pid;
try {
  const { jar, csrf } = await signIn();
  // Warm the worker's isolate and the IdP's discovery before measuring.
  await jar.fetch(`${ORIGIN}/auth/session`);
  const floor = await timed(
    300,
    async () => {
      const r = await fetch(`${ORIGIN}/auth/nothing-here`);
      await r.arrayBuffer();
      if (r.status !== 404) throw new Error(`the 404 answered ${r.status}`);
    },
    group,
    [[100, 300]],
  );
  const [floorCpu] = floor.perCall;
  console.log(`GET /auth/nothing-here: p50 ${ms(p50(floor.took.slice(100)))}, CPU ${ms(floorCpu)} per call`);
  const windows = [[10, 40], [rounds - 30, rounds], [10, rounds]];
  const viaWorker = await timed(
    rounds,
    async (i) => {
      const r = await jar.fetch(`${ORIGIN}/auth/refresh`, {
        method: "POST",
        headers: { origin: ORIGIN, "x-edgeward-csrf": csrf },
      });
      if (r.status !== 204) throw new Error(`refresh ${i + 1} answered ${r.status}: ${await r.text()}`);
    },
    group,
    windows,
  );
  report("POST /auth/refresh", viaWorker.took);
  console.log(
    `  CPU per refresh above the 404: ${windows.map(([f, t], i) => `refreshes ${f + 1}–${t} ${ms(viaWorker.perCall[i] - floorCpu)}`).join(", ")}`,
  );

  // The IdP's own share: the same grant, made straight at its token endpoint by another session's
  // refresh token.
  const other = await signIn();
  let token = openCookie("__Host-edgeward-rt", other.jar.get(ORIGIN, "__Host-edgeward-rt").value).token;
  const discovery = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();
  const basic = `Basic ${Buffer.from(`edgeward:${CLIENT_SECRET}`).toString("base64")}`;
  const { took: direct } = await timed(rounds, async (i) => {
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
