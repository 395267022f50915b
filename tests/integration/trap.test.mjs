// A wasm trap (a Rust panic: `panic = "abort"`) in one request must not break the others: the
// trapped request answers the JSON 500, requests in flight at that moment finish as they would
// have, the Durable Objects keep their state, and later requests work (README "Traps").
//
// Against a test build of the worker (cargo feature `test-trap`, built by scripts/build-worker.sh
// into build/worker-test-trap/, never into build/worker/), which panics on purpose:
// `POST /auth/_test/trap` in the worker's fetch, `POST /auth/_test/trap/{refresh,sessions}` inside
// a Durable Object of that class. Server-side sessions, so a session lives in EdgewardSessions;
// what is in flight: a proxied call to an upstream that answers late (a small server here), and a
// refresh that waits in EdgewardRefresh for a slow token endpoint (the IdP's token-delay hook).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { createHash } from "node:crypto";
import { ROOT, ORIGIN, ISSUER, API, API_PORT, API_ROUTES, startIdp, startWorker } from "../support/stack.mjs";
import { signIn, openCookie } from "../support/session.mjs";

const ADMIN = "admin-token-for-the-trap-tests-0123456789abcdef";
const FEATURES = "test-trap";
// Unoptimised unless asked otherwise: it compiles in a fraction of the time and traps the same
// way (scripts/build-worker.sh builds both profiles with panic = "abort").
const BUILD = process.env.EDGEWARD_BUILD || "dev";
const SLOW_MS = 2000;
const SID = "__Host-edgeward-sid";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha256 = (s) => createHash("sha256").update(s).digest("hex");
/** Every request gives up after 30 s, so a hang fails the test instead of stalling it. */
const within = () => AbortSignal.timeout(30_000);

const parts = {};
let upstreamCalls = 0;

before(async () => {
  // Built here, with room for a first build of the test bundle; wrangler's own build step then
  // finds it up to date.
  const env = { ...process.env, EDGEWARD_WORKER_FEATURES: FEATURES, EDGEWARD_BUILD: BUILD };
  const built = spawnSync("bash", ["scripts/build-worker.sh"], { cwd: ROOT, env, stdio: "inherit" });
  assert.equal(built.status, 0, "the test build of the worker");

  // The upstream behind /api/slow/: answers after ?ms= milliseconds.
  parts.upstream = createServer((req, res) => {
    upstreamCalls += 1;
    const url = new URL(req.url, API);
    setTimeout(() => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ path: url.pathname, bearer: /^Bearer /.test(req.headers.authorization ?? "") }));
    }, Number(url.searchParams.get("ms") ?? 0));
  });
  await new Promise((r) => parts.upstream.listen(API_PORT, r));

  parts.idp = await startIdp();
  const routes = [...JSON.parse(API_ROUTES), { prefix: "/api/slow/", upstream: `${API}/slow/`, methods: ["GET"] }];
  parts.worker = await startWorker({
    script: `build/worker-${FEATURES}/entry.mjs`,
    env: { EDGEWARD_WORKER_FEATURES: FEATURES, EDGEWARD_BUILD: BUILD },
    vars: {
      EDGEWARD_SESSION_MODE: "server",
      EDGEWARD_ADMIN_TOKEN: ADMIN,
      EDGEWARD_API_ROUTES: JSON.stringify(routes),
    },
  });
});

after(async () => {
  await fetch(`${ISSUER}/_test/token-delay`, { method: "POST", body: '{"ms":0}' }).catch(() => {});
  await parts.worker?.stop();
  await parts.idp?.stop();
  parts.upstream?.closeAllConnections();
  await new Promise((r) => (parts.upstream ? parts.upstream.close(r) : r()));
});

const tokenDelay = async (ms) =>
  assert.equal((await fetch(`${ISSUER}/_test/token-delay`, { method: "POST", body: JSON.stringify({ ms }) })).status, 204);
const refreshGrants = async () => (await (await fetch(`${ISSUER}/_test/stats`)).json()).grants.refresh_token ?? 0;
const refresh = (s) =>
  s.jar.fetch(`${ORIGIN}/auth/refresh`, {
    method: "POST",
    headers: { origin: ORIGIN, "x-edgeward-csrf": s.csrf },
    signal: within(),
  });
const slowCall = (s, name) => s.jar.fetch(`${ORIGIN}/api/slow/${name}?ms=${SLOW_MS}`, { signal: within() });
const session = async (s) => (await s.jar.fetch(`${ORIGIN}/auth/session`, { signal: within() })).json();
const listed = async (s) => {
  const id = openCookie(SID, s.jar.get(ORIGIN, SID).value).id;
  const r = await fetch(`${ORIGIN}/auth/admin/sessions?sub=demo`, { headers: { authorization: `Bearer ${ADMIN}` }, signal: within() });
  assert.equal(r.status, 200, "the admin endpoint (EdgewardSessions) answers");
  return (await r.json()).sessions.some((x) => x.handle === sha256(id));
};

/** Sets off a trap at `path`; returns its response's status, content type and body. */
async function trap(path) {
  const r = await fetch(`${ORIGIN}${path}`, { method: "POST", signal: within() });
  return { status: r.status, type: r.headers.get("content-type") ?? "", body: await r.text() };
}

/** What the trapped request must answer: the same JSON 500 as every internal failure. */
function assertInternalError(answer, what) {
  assert.equal(answer.status, 500, `${what}: status (body: ${answer.body.slice(0, 200)})`);
  assert.match(answer.type, /^application\/json/, `${what}: content type`);
  assert.deepEqual(JSON.parse(answer.body), { code: "internal", message: "internal error" }, what);
}

test("a trap in the worker's fetch: the trapped request gets the JSON 500, nothing else breaks", async () => {
  const s = await signIn();
  assert.ok(await listed(s), "the session is in EdgewardSessions");
  const grants = await refreshGrants();

  // In flight when the trap happens: a proxied call, and a refresh waiting in EdgewardRefresh.
  await tokenDelay(SLOW_MS);
  const call = slowCall(s, "during-worker-trap");
  const first = refresh(s);
  await sleep(600);

  assertInternalError(await trap("/auth/_test/trap"), "the trapped request");

  // A second refresh of the same token, after the trap: it meets the flight the first one
  // started in EdgewardRefresh (its in-memory state), so the IdP sees one grant.
  const second = refresh(s);
  const [c, r1, r2] = await Promise.all([call, first, second]);
  await tokenDelay(0);
  assert.equal(c.status, 200, "the proxied call in flight");
  assert.deepEqual(await c.json(), { path: "/slow/during-worker-trap", bearer: true });
  assert.equal(r1.status, 204, `the refresh in flight: ${await r1.text()}`);
  assert.equal(r2.status, 204, `the refresh that joined it: ${await r2.text()}`);
  assert.equal(await refreshGrants(), grants + 1, "one grant: the flight survived the worker's trap");

  // The session in EdgewardSessions, and requests after the trap.
  assert.equal((await session(s)).isLoggedIn, true);
  assert.ok(await listed(s), "still listed");
  const later = await slowCall(s, "after-worker-trap");
  assert.equal(later.status, 200);
  assert.equal((await later.json()).path, "/slow/after-worker-trap");
});

test("a trap inside a Durable Object: the caller gets the JSON 500, other objects and the worker go on", async () => {
  const s = await signIn();
  const grants = await refreshGrants();

  // A refresh waiting in one EdgewardRefresh object while another object of the class traps.
  await tokenDelay(SLOW_MS);
  const call = slowCall(s, "during-object-trap");
  const first = refresh(s);
  await sleep(600);

  assertInternalError(await trap("/auth/_test/trap/refresh"), "the trapped EdgewardRefresh object");
  const second = refresh(s);
  // The other class traps too, while the refresh still waits for the IdP.
  assertInternalError(await trap("/auth/_test/trap/sessions"), "the trapped EdgewardSessions object");

  const [c, r1, r2] = await Promise.all([call, first, second]);
  await tokenDelay(0);
  assert.equal(c.status, 200, "the proxied call in flight");
  assert.equal(r1.status, 204, `the refresh in flight in the other object: ${await r1.text()}`);
  assert.equal(r2.status, 204, `the refresh that joined it: ${await r2.text()}`);
  assert.equal(await refreshGrants(), grants + 1, "one grant: the other object's flight survived");

  // The session registry object works after its class trapped, and keeps the session.
  assert.equal((await session(s)).isLoggedIn, true);
  assert.ok(await listed(s), "still listed");
  assert.equal((await refresh(s)).status, 204, "a later refresh");
});

test("a trap that leaves shared state locked (a RefCell borrowed for good) breaks no later request", async () => {
  const s = await signIn();
  const call = slowCall(s, "during-poison");
  await sleep(300);
  assertInternalError(await trap("/auth/_test/trap/poison"), "the trapped request");
  assert.equal((await call).status, 200, "the call in flight");
  for (let i = 0; i < 3; i++) assert.equal((await session(s)).isLoggedIn, true, `request ${i} after the trap`);
});

test("a trap that is not a panic: what was in flight on that instance answers the JSON 500 at once, other lanes go on", async () => {
  const s = await signIn();
  const grants = await refreshGrants();
  await tokenDelay(SLOW_MS);
  const call = slowCall(s, "during-abort");
  const first = refresh(s);
  await sleep(600);

  const t0 = Date.now();
  assertInternalError(await trap("/auth/_test/trap/abort"), "the trapped request");
  // Nothing says which request trapped, and the instance's memory may be inconsistent: every
  // request in flight on the worker's instance fails with it, without waiting for its upstream.
  const [c, r1] = await Promise.all([call, first]);
  assert.equal(c.status, 500, "the proxied call in flight on the same instance");
  assert.deepEqual(await c.json(), { code: "internal", message: "internal error" });
  assert.equal(r1.status, 500, "the refresh's worker side, in flight on the same instance");
  // (Had they gone on, the upstream would have answered 200 after SLOW_MS.)
  console.log(`the requests in flight answered ${Date.now() - t0} ms after the trap`);

  // The refresh goes on in EdgewardRefresh (another lane): asked again, it answers from there
  // (one grant), and the session goes on.
  const again = await refresh(s);
  await tokenDelay(0);
  assert.equal(again.status, 204, `the refresh asked again: ${await again.text()}`);
  assert.equal(await refreshGrants(), grants + 1, "one grant");
  assert.equal((await session(s)).isLoggedIn, true);
  assert.equal((await slowCall(s, "after-abort")).status, 200, "a request after the trap");
});

test("trap after trap: each trapped request gets the JSON 500, the ones around them do not notice", async () => {
  const s = await signIn();
  const calls = Array.from({ length: 6 }, (_, i) => slowCall(s, `around-${i}`));
  await sleep(300);
  const traps = [];
  for (let i = 0; i < 3; i++) {
    traps.push(trap("/auth/_test/trap"), trap("/auth/_test/trap/sessions"), trap("/auth/_test/trap/refresh"));
    await sleep(100);
  }
  for (const [i, answer] of (await Promise.all(traps)).entries()) assertInternalError(answer, `trap ${i}`);
  for (const [i, c] of (await Promise.all(calls)).entries()) {
    assert.equal(c.status, 200, `call ${i}`);
    assert.equal((await c.json()).path, `/slow/around-${i}`);
  }
  assert.equal((await session(s)).isLoggedIn, true);
  assert.equal((await refresh(s)).status, 204);
  assert.ok(upstreamCalls >= 10);
});

// Faults (issue 19): a call to a Durable Object that fails without a trap — the object throws,
// as an overloaded or unreachable one does — armed for the next N calls to that class.
const failObjects = async (cls, count) =>
  assert.equal((await fetch(`${ORIGIN}/auth/_test/fault/${cls}`, { method: "POST", body: String(count), signal: within() })).status, 204);
const cookiesOf = (s) => JSON.stringify([...s.jar.cookies.get("localhost")].filter(([n]) => n.startsWith("__Host-")).map(([n, c]) => [n, c.value]));

test("a Durable Object call fails: the documented status, the session's cookies untouched, and the same request works after", async () => {
  const s = await signIn();
  const before = cookiesOf(s);
  const grants = await refreshGrants();

  // The refresh coordinator cannot be reached: the refresh fails as a passing failure, nothing
  // is rotated at the IdP, and asked again it succeeds.
  await failObjects("refresh", 1);
  const failed = await refresh(s);
  const body = await failed.text();
  assert.equal(failed.status, 502, `refresh with EdgewardRefresh failing: ${body}`);
  assert.equal(JSON.parse(body).code, "idp_unavailable");
  assert.equal(failed.headers.getSetCookie().length, 0, "no cookie changed");
  assert.equal(cookiesOf(s), before);
  assert.equal(await refreshGrants(), grants, "no grant was made");
  const again = await refresh(s);
  assert.equal(again.status, 204, `the refresh asked again: ${await again.text()}`);
  assert.equal(await refreshGrants(), grants + 1);

  // The session store cannot be reached (server-side sessions live there): 503, cookies kept,
  // and the session is there afterwards.
  const kept = cookiesOf(s);
  await failObjects("sessions", 1);
  const read = await s.jar.fetch(`${ORIGIN}/auth/session`, { signal: within() });
  const readBody = await read.text();
  assert.equal(read.status, 503, `session read with EdgewardSessions failing: ${readBody}`);
  assert.equal(JSON.parse(readBody).code, "session_store_unavailable");
  assert.equal(read.headers.get("retry-after"), "5");
  assert.equal(read.headers.getSetCookie().length, 0, "no cookie changed");
  assert.equal(cookiesOf(s), kept);
  assert.equal((await session(s)).isLoggedIn, true, "the same read once the store answers");
  assert.ok(await listed(s), "and the session is still stored");
});
