// The soak run (issue 19): SOAK_USERS virtual users (20) against the whole local stack — the
// local IdP, the worker in one workerd process (SOAK_RUNTIME=wrangler: in `wrangler dev`), the
// example API behind the proxy — for SOAK_SECONDS (60). Each user, over and over: signs in
// (login/start, the IdP's form, login/end), then for SOAK_ROUNDS (30) rounds reads the session, GETs
// and POSTs through the proxy, refreshing when the API says the access token has expired
// (access tokens live SOAK_TOKEN_TTL seconds, 4, so that happens many times), and signs out.
// Requests are bounded: each user waits SOAK_PAUSE_MS (150) between rounds, and at most one
// request of a user is in flight.
//
// It reports requests by endpoint and status, latency percentiles, refreshes made, the worker
// process's resident memory at the start and the end (its peak, and every 10 s; with
// SOAK_INSPECTOR=<port>, also the isolate's JavaScript heap through workerd's inspector), and fails (exit 1) on any
// status it did not expect, and on a lost session: a signed-in user whose session read says
// signed out, or whose refresh is refused. Numbers, not a test; tests/integration/soak.test.mjs
// runs a short one.
//
// Uses the test ports (TEST_WORKER_PORT 8790, TEST_IDP_PORT 9090, TEST_API_PORT 8095): not beside
// scripts/test.sh.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { ORIGIN, startIdp, startWorker, startExampleApi } from "../tests/support/stack.mjs";
import { CookieJar } from "../tests/support/jar.mjs";
import { loginAtIdp } from "../tests/support/idp-login.mjs";
import { connectInspector } from "./inspector.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resident memory of a process and its children, in KiB (Linux /proc). */
function rssKiB(pid) {
  const of = (p) => {
    try {
      return Number(readFileSync(`/proc/${p}/status`, "utf8").match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0);
    } catch {
      return 0;
    }
  };
  let total = of(pid);
  for (const child of childrenOf(pid)) total += rssKiB(child);
  return total;
}
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Where a process's resident memory is (Linux /proc/<pid>/smaps), in KiB: `wasm`, its
 * WebAssembly linear memories (each an accessible mapping followed by the rest of its 4 GiB
 * reservation, which is what V8 reserves for a 32-bit memory with guard pages), with their
 * count; `code`, the executable mappings (V8's compiled code, workerd's own); `files`, other
 * file mappings; `anonymous`, the rest (V8's heaps, malloc's arenas, SQLite's caches, stacks).
 */
export function memoryMap(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, "utf8");
  } catch {
    return undefined;
  }
  const vmas = [];
  for (const line of text.split("\n")) {
    const head = line.match(/^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/);
    if (head) {
      vmas.push({ kib: (parseInt(head[2], 16) - parseInt(head[1], 16)) / 1024, perms: head[3], path: head[4], rss: 0 });
      continue;
    }
    const rss = line.match(/^Rss:\s+(\d+) kB/);
    if (rss && vmas.length) vmas.at(-1).rss = Number(rss[1]);
  }
  const map = { wasm: 0, memories: 0, code: 0, files: 0, anonymous: 0 };
  const GiB4 = 4 * 1024 * 1024;
  vmas.forEach((v, i) => {
    const next = vmas[i + 1];
    if (v.perms === "rw-p" && !v.path && next?.perms === "---p" && Math.abs(v.kib + next.kib - GiB4) <= 64 * 1024) {
      map.wasm += v.rss;
      map.memories += 1;
    } else if (v.perms.includes("x")) map.code += v.rss;
    else if (v.path.startsWith("/")) map.files += v.rss;
    else map.anonymous += v.rss;
  });
  return map;
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);

/**
 * Runs the virtual users against a running stack at `origin` for `seconds`; returns the report.
 * `workerPid`: the worker's process, for its memory.
 */
export async function soak({ origin = ORIGIN, seconds = 60, users = 20, rounds = 30, pauseMs = 150, workerPid, heap, log = console.error } = {}) {
  const counts = new Map(); // "endpoint status" -> n
  const latency = new Map(); // endpoint -> [ms]
  const problems = [];
  let refreshes = 0;
  let sessions = 0;
  const headers = { origin, "content-type": "application/json" };

  /** One request: timed, counted, and checked against the statuses it may answer. */
  async function call(jar, endpoint, url, init, expected) {
    const t0 = performance.now();
    let res;
    try {
      res = await jar.fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      counts.set(`${endpoint} error`, (counts.get(`${endpoint} error`) ?? 0) + 1);
      problems.push(`${endpoint}: ${error.cause?.code ?? error.message}`);
      return undefined;
    }
    const body = await res.text();
    const ms = performance.now() - t0;
    (latency.get(endpoint) ?? latency.set(endpoint, []).get(endpoint)).push(ms);
    const key = `${endpoint} ${res.status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (!expected.includes(res.status)) problems.push(`${endpoint} answered ${res.status}: ${body.slice(0, 200)}`);
    return { status: res.status, body };
  }

  const memory = { start: workerPid ? rssKiB(workerPid) : undefined, peak: 0, samples: [], map: workerPid ? [memoryMap(workerPid)] : [] };
  const until = Date.now() + seconds * 1000;
  const began = Date.now();
  let ticks = 0;
  const sampler = setInterval(async () => {
    if (!workerPid) return;
    const now = rssKiB(workerPid);
    memory.peak = Math.max(memory.peak, now);
    // One sample every 10 s, for the trend (and the isolate's JavaScript heap, when asked).
    if (++ticks % 20 === 0) {
      const at = Math.round((Date.now() - began) / 1000);
      memory.samples.push([at, now]);
      if (heap) (memory.heap ??= []).push([at, await heap().catch(() => undefined)]);
    }
  }, 500);

  async function user(n) {
    while (Date.now() < until && problems.length === 0) {
      const jar = new CookieJar();
      const start = await call(jar, "POST /auth/login/start", `${origin}/auth/login/start`, { method: "POST", headers, body: "{}" }, [200]);
      if (!start) return;
      const pageUrl = await loginAtIdp(jar, JSON.parse(start.body).authorizationUrl, { callbackPrefix: `${origin}/callback` });
      const end = await call(jar, "POST /auth/login/end", `${origin}/auth/login/end`, { method: "POST", headers, body: JSON.stringify({ pageUrl }) }, [200]);
      if (!end || end.status !== 200) return;
      sessions += 1;
      const csrf = JSON.parse(end.body).csrf;
      const withCsrf = { ...headers, "x-edgeward-csrf": csrf };

      /** A proxied call; on 401 (the access token expired) one refresh, then the call again. */
      const api = async (endpoint, url, init) => {
        let r = await call(jar, endpoint, url, init, [200, 401]);
        if (r?.status !== 401) return r;
        const refreshed = await call(jar, "POST /auth/refresh", `${origin}/auth/refresh`, { method: "POST", headers: withCsrf }, [204]);
        if (refreshed?.status !== 204) {
          problems.push(`user ${n}: session lost at refresh`);
          return undefined;
        }
        refreshes += 1;
        r = await call(jar, endpoint, url, init, [200]);
        return r;
      };

      for (let round = 0; round < rounds && Date.now() < until && problems.length === 0; round++) {
        const s = await call(jar, "GET /auth/session", `${origin}/auth/session`, {}, [200]);
        if (!s) return;
        if (s.status === 200 && JSON.parse(s.body).isLoggedIn !== true) {
          problems.push(`user ${n}: signed out while signed in (session read)`);
          return;
        }
        if (!(await api("GET /api/whoami/", `${origin}/api/whoami/`, {}))) return;
        const sent = JSON.stringify({ user: n, round });
        const post = await api("POST /api/echo/", `${origin}/api/echo/soak`, { method: "POST", headers: withCsrf, body: sent });
        if (!post) return;
        if (post.status === 200 && JSON.parse(post.body).request?.body !== sent) problems.push(`user ${n}: the API did not get the body sent`);
        await sleep(pauseMs);
      }
      const out = await call(jar, "POST /auth/logout", `${origin}/auth/logout`, { method: "POST", headers: withCsrf, body: "{}" }, [200]);
      if (!out) return;
      const after = await call(jar, "GET /auth/session", `${origin}/auth/session`, {}, [200]);
      if (after?.status === 200 && JSON.parse(after.body).isLoggedIn !== false) problems.push(`user ${n}: still signed in after logout`);
    }
  }

  const t0 = Date.now();
  await Promise.all(Array.from({ length: users }, (_, n) => user(n)));
  clearInterval(sampler);
  const elapsed = (Date.now() - t0) / 1000;
  memory.end = workerPid ? rssKiB(workerPid) : undefined;
  if (workerPid) memory.map.push(memoryMap(workerPid));
  memory.peak = Math.max(memory.peak, memory.end ?? 0);

  const endpoints = [...latency].map(([endpoint, samples]) => {
    const sorted = samples.sort((a, b) => a - b);
    return { endpoint, n: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) };
  });
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const report = { users, seconds: elapsed, requests: total, perSecond: total / elapsed, sessions, refreshes, counts: Object.fromEntries([...counts].sort()), endpoints, memory, problems };
  log(`soak: ${users} users, ${elapsed.toFixed(1)} s, ${total} requests (${report.perSecond.toFixed(0)}/s), ${sessions} sign-ins, ${refreshes} refreshes`);
  for (const [key, n] of [...counts].sort()) log(`  ${key.padEnd(32)} ${n}`);
  log(`  ${"endpoint".padEnd(24)} ${"n".padStart(6)} ${"p50 ms".padStart(8)} ${"p90 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)}`);
  for (const e of endpoints) {
    log(`  ${e.endpoint.padEnd(24)} ${String(e.n).padStart(6)} ${e.p50.toFixed(1).padStart(8)} ${e.p90.toFixed(1).padStart(8)} ${e.p99.toFixed(1).padStart(8)} ${e.max.toFixed(1).padStart(8)}`);
  }
  if (workerPid) {
    log(`  worker memory (RSS): ${(memory.start / 1024).toFixed(1)} MiB at the start, ${(memory.end / 1024).toFixed(1)} MiB at the end, ${(memory.peak / 1024).toFixed(1)} MiB at most`);
    log(`  every 10 s: ${memory.samples.map(([t, kib]) => `${t} s ${(kib / 1024).toFixed(0)}`).join(", ")} MiB`);
    const [from, to] = memory.map;
    if (from && to) {
      const mib = (k) => (k / 1024).toFixed(1);
      log(
        `  where (start -> end, MiB): WebAssembly memories ${mib(from.wasm)} (${from.memories}) -> ${mib(to.wasm)} (${to.memories}), ` +
          `code ${mib(from.code)} -> ${mib(to.code)}, files ${mib(from.files)} -> ${mib(to.files)}, other anonymous ${mib(from.anonymous)} -> ${mib(to.anonymous)}`,
      );
    }
    if (memory.heap) {
      const mib = (n) => (n / 1048576).toFixed(1);
      log(`  the isolate's JavaScript heap, used / reserved: ${memory.heap.map(([t, h]) => `${t} s ${h ? `${mib(h.usedSize)}/${mib(h.totalSize)}` : "?"}`).join(", ")} MiB`);
    }
  }
  for (const p of problems.slice(0, 20)) log(`  PROBLEM: ${p}`);
  return report;
}

/** Reads the worker isolate's heap through workerd's inspector on `port` (V8's `Runtime.getHeapUsage`). */
async function heapReader(port) {
  const inspector = await connectInspector(port);
  return { read: () => inspector.post("Runtime.getHeapUsage"), close: inspector.close };
}

/** Starts the stack (access tokens living `tokenTtl` seconds), soaks, stops it. */
export async function soakStack({ seconds, users, runtime = "workerd", tokenTtl = 4, profile = "release", ...rest } = {}) {
  const parts = {};
  let heap;
  try {
    parts.idp = await startIdp({ IDP_ACCESS_TOKEN_TTL: String(tokenTtl) });
    const inspector = Number(process.env.SOAK_INSPECTOR) || undefined;
    parts.worker = await startWorker({ runtime, inspector: runtime === "workerd" ? inspector : undefined });
    heap = inspector && runtime === "workerd" ? await heapReader(inspector) : undefined;
    // The optimised build: the debug one spends milliseconds of CPU on each token's signature,
    // which would make the run measure the fixture.
    parts.api = await startExampleApi({ profile });
    // Every user signs in once first, so the start's memory is a warm worker's.
    await soak({ seconds: 3, users, rounds: 2, log: () => {} });
    return await soak({ seconds, users, workerPid: parts.worker.child.pid, heap: heap?.read, ...rest });
  } finally {
    heap?.close();
    for (const name of ["api", "worker", "idp"]) await parts[name]?.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await soakStack({
    seconds: Number(process.argv[2] || process.env.SOAK_SECONDS || 60),
    users: Number(process.env.SOAK_USERS || 20),
    rounds: Number(process.env.SOAK_ROUNDS || 30),
    pauseMs: Number(process.env.SOAK_PAUSE_MS || 150),
    tokenTtl: Number(process.env.SOAK_TOKEN_TTL || 4),
    runtime: process.env.SOAK_RUNTIME || "workerd",
  });
  if (report.problems.length) {
    console.error(`soak: FAILED, ${report.problems.length} problem(s)`);
    process.exit(1);
  }
  console.error("soak: passed (no unexpected status, no lost session)");
}
