// Faults (issue 19): the IdP dies in the middle of a login, a refresh and an introspection and
// comes back (once with new signing keys); the API cuts its connection before answering, in the
// middle of its answer and while reading a request body. Each gives the documented JSON status,
// a session that was fine keeps its cookies, and the same action succeeds after recovery
// (README "Reliability", "Faults").
//
// "In the middle": the IdP is frozen (SIGSTOP) before the worker's request reaches it, so the
// request is sent and waits, then killed (SIGKILL): the worker sees its connection reset. A
// refresh is also cut after the IdP has rotated the token (its token endpoint holds the answer
// back, POST /_test/token-delay with `after`), which no token handler can recover from with a
// provider that treats a reused refresh token as theft: what the user sees then is shown too.
// The IdP keeps its grants in a file (IDP_STATE_FILE) so a restart is a restart, not a new IdP;
// its signing keys in another (IDP_KEYS_FILE), deleted once to rotate them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ORIGIN, ISSUER, API_ROUTES, API_PORT, startIdp, startWorker, startExampleApi } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";
import { signIn } from "../support/session.mjs";
import { loginAtIdp } from "../support/idp-login.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const within = () => AbortSignal.timeout(30_000);
const FLAKY_PORT = API_PORT + 1;
const FLAKY = `http://localhost:${FLAKY_PORT}`;
const dir = mkdtempSync(join(tmpdir(), "edgeward-faults-"));
const idpEnv = { IDP_STATE_FILE: join(dir, "idp-state.json"), IDP_KEYS_FILE: join(dir, "idp-keys.json") };
const parts = {};
/** What the flaky upstream saw, by path. */
const flakySeen = [];

before(async () => {
  // The flaky upstream: /flaky/reset cuts the connection before answering, /flaky/half sends
  // the head and half the body then cuts it, /flaky/read cuts while the request body arrives,
  // anything else answers 200.
  parts.flaky = createServer((req, res) => {
    const path = new URL(req.url, FLAKY).pathname;
    flakySeen.push(path);
    if (path.endsWith("/reset")) return req.socket.destroy();
    if (path.endsWith("/read")) {
      req.once("data", () => req.socket.destroy());
      return;
    }
    if (path.endsWith("/half")) {
      const body = JSON.stringify({ items: "x".repeat(64 * 1024) });
      res.writeHead(200, { "content-type": "application/json", "content-length": String(body.length) });
      res.write(body.slice(0, body.length / 2));
      setTimeout(() => req.socket.destroy(), 200);
      return;
    }
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ path }));
    });
  });
  await new Promise((r) => parts.flaky.listen(FLAKY_PORT, r));
  parts.idp = await startIdp(idpEnv);
  const routes = [
    ...JSON.parse(API_ROUTES),
    { prefix: "/api/flaky/", upstream: `${FLAKY}/flaky/`, methods: ["GET", "POST"] },
  ];
  // Short-lived access tokens are not needed: refreshes are asked for directly.
  parts.worker = await startWorker({ runtime: "workerd", vars: { EDGEWARD_API_ROUTES: JSON.stringify(routes) } });
  parts.api = await startExampleApi();
});

after(async () => {
  await parts.api?.stop();
  await parts.worker?.stop();
  await parts.idp?.stop();
  parts.flaky?.closeAllConnections();
  await new Promise((r) => (parts.flaky ? parts.flaky.close(r) : r()));
  rmSync(dir, { recursive: true, force: true });
});

/** Freezes the IdP (it takes connections but answers nothing). */
const freezeIdp = () => process.kill(parts.idp.child.pid, "SIGSTOP");
/** Kills the IdP at once (no shutdown of any kind), waiting until it is gone. */
async function killIdp() {
  const gone = new Promise((r) => parts.idp.child.once("exit", r));
  process.kill(parts.idp.child.pid, "SIGKILL");
  await gone;
  await parts.idp.stop();
}
/** Starts the IdP again with the same store; `rotate` deletes its keys first. */
async function restartIdp({ rotate = false } = {}) {
  if (rotate) rmSync(idpEnv.IDP_KEYS_FILE);
  parts.idp = await startIdp(idpEnv);
}
const jwksKids = async () => (await (await fetch(`${ISSUER}/jwks`)).json()).keys.map((k) => k.kid).sort();

/** The session's cookies (names and values), to show they were not touched. */
const cookiesOf = (s) => JSON.stringify([...(s.jar.cookies.get("localhost") ?? new Map())].map(([n, c]) => [n, c.value]).sort());
const session = async (s) => (await s.jar.fetch(`${ORIGIN}/auth/session`, { signal: within() })).json();
const refresh = (s) =>
  s.jar.fetch(`${ORIGIN}/auth/refresh`, { method: "POST", headers: { origin: ORIGIN, "x-edgeward-csrf": s.csrf }, signal: within() });
const whoami = (s) => s.jar.fetch(`${ORIGIN}/api/whoami/`, { signal: within() });

/** The answer must be the JSON error `code` with `status`. */
async function assertError(res, status, code, what) {
  const text = await res.text();
  assert.equal(res.status, status, `${what}: status (body ${text.slice(0, 200)})`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, `${what}: content type`);
  assert.equal(JSON.parse(text).code, code, `${what}: code`);
}

test("the IdP dies in the middle of a login: 502 idp_unavailable, and the same callback signs in once it is back", async () => {
  const jar = new CookieJar();
  const headers = { origin: ORIGIN, "content-type": "application/json" };
  const start = await jar.fetch(`${ORIGIN}/auth/login/start`, { method: "POST", headers, body: "{}" });
  assert.equal(start.status, 200);
  const pageUrl = await loginAtIdp(jar, (await start.json()).authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` });
  const flowCookies = JSON.stringify([...jar.cookies.get("localhost")].filter(([n]) => n.startsWith("__Host-")).map(([n, c]) => [n, c.value]));

  freezeIdp();
  const end = jar.fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers, body: JSON.stringify({ pageUrl }), signal: within() });
  await sleep(500);
  await killIdp();
  const failed = await end;
  assert.equal(failed.headers.getSetCookie().length, 0, "the failed login/end changes no cookie");
  await assertError(failed, 502, "idp_unavailable", "login/end with the IdP gone");
  const kept = JSON.stringify([...jar.cookies.get("localhost")].filter(([n]) => n.startsWith("__Host-")).map(([n, c]) => [n, c.value]));
  assert.equal(kept, flowCookies, "the login's cookie is kept for a retry");

  await restartIdp();
  const again = await jar.fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers, body: JSON.stringify({ pageUrl }), signal: within() });
  assert.equal(again.status, 200, `the same callback once the IdP is back: ${await again.clone().text()}`);
  const s = { jar, csrf: (await again.json()).csrf };
  assert.equal((await session(s)).isLoggedIn, true);
  assert.equal((await whoami(s)).status, 200, "and the session calls the API");
});

test("the IdP dies in the middle of a refresh: 502, the session untouched, and the refresh succeeds after a restart with new signing keys", async () => {
  const s = await signIn();
  assert.equal((await whoami(s)).status, 200, "a call before (its introspection is cached)");
  const before = cookiesOf(s);
  const oldKids = await jwksKids();

  await fetch(`${ISSUER}/_test/token-delay`, { method: "POST", body: JSON.stringify({ ms: 5000 }) });
  const inFlight = refresh(s);
  await sleep(700);
  await killIdp();
  const failed = await inFlight;
  assert.equal(failed.headers.getSetCookie().length, 0, "the failed refresh changes no cookie");
  await assertError(failed, 502, "idp_unavailable", "refresh with the IdP gone");
  assert.equal(cookiesOf(s), before, "cookies untouched");
  assert.equal((await session(s)).isLoggedIn, true, "still signed in while the IdP is down");
  assert.equal((await whoami(s)).status, 200, "and the API is reached with the access token it has");

  await restartIdp({ rotate: true });
  assert.notDeepEqual(await jwksKids(), oldKids, "the IdP signs with new keys");
  const again = await refresh(s);
  assert.equal(again.status, 204, `the refresh once the IdP is back: ${await again.text()}`);
  assert.notEqual(cookiesOf(s), before, "new tokens sealed");
  assert.equal((await session(s)).isLoggedIn, true);
  assert.equal((await whoami(s)).status, 200, "the new access token is introspected at the restarted IdP");
});

test("the IdP dies after rotating the refresh token, before answering: 502 first, then the reused token ends the session cleanly", async () => {
  const s = await signIn();
  const before = cookiesOf(s);
  await fetch(`${ISSUER}/_test/token-delay`, { method: "POST", body: JSON.stringify({ ms: 5000, after: true }) });
  const inFlight = refresh(s);
  await sleep(1500);
  await killIdp();
  await assertError(await inFlight, 502, "idp_unavailable", "refresh whose answer was lost");
  assert.equal(cookiesOf(s), before, "cookies untouched");

  await restartIdp();
  // The IdP rotated the token and never said so: presenting the old one is, for it, a reuse.
  const reused = await refresh(s);
  await assertError(reused, 401, "session_expired", "the old refresh token presented again");
  assert.ok(
    reused.headers.getSetCookie().some((c) => c.startsWith("__Host-edgeward-") && /max-age=0/i.test(c)),
    "the session's cookies are cleared",
  );
  assert.equal((await session(s)).isLoggedIn, false, "signed out, not a 500");
  const next = await signIn();
  assert.equal((await session(next)).isLoggedIn, true, "and a new sign-in works");
});

test("the IdP dies in the middle of an introspection: 502, the session untouched, and the call succeeds once it is back", async () => {
  const s = await signIn();
  const before = cookiesOf(s);
  freezeIdp();
  const call = whoami(s);
  await sleep(500);
  await killIdp();
  const failed = await call;
  assert.equal(failed.headers.getSetCookie().length, 0, "no cookie changed");
  await assertError(failed, 502, "idp_unavailable", "a first API call while the IdP dies");
  assert.equal(cookiesOf(s), before);

  await restartIdp();
  const again = await whoami(s);
  assert.equal(again.status, 200, `the same call once the IdP is back: ${await again.clone().text()}`);
  assert.equal((await again.json()).sub, "demo");
});

test("the API cuts the connection before answering, or while the request body arrives: 502 upstream_unavailable, and the next call works", async () => {
  const s = await signIn();
  const before = cookiesOf(s);
  await assertError(await s.jar.fetch(`${ORIGIN}/api/flaky/reset`, { signal: within() }), 502, "upstream_unavailable", "reset before the answer");
  const body = JSON.stringify({ data: "y".repeat(256 * 1024) });
  const post = await s.jar.fetch(`${ORIGIN}/api/flaky/read`, {
    method: "POST",
    headers: { origin: ORIGIN, "x-edgeward-csrf": s.csrf, "content-type": "application/json" },
    body,
    signal: within(),
  });
  await assertError(post, 502, "upstream_unavailable", "reset while the request body arrives");
  assert.equal(cookiesOf(s), before, "cookies untouched");
  const ok = await s.jar.fetch(`${ORIGIN}/api/flaky/fine`, { signal: within() });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { path: "/flaky/fine" });
  assert.ok(flakySeen.includes("/flaky/reset") && flakySeen.includes("/flaky/read"), "the upstream saw both calls");
});

test("the API cuts the connection in the middle of its answer: the browser's read fails, never a complete-looking body", async () => {
  const s = await signIn();
  const res = await s.jar.fetch(`${ORIGIN}/api/flaky/half`, { signal: within() });
  assert.equal(res.status, 200, "the head was already on its way");
  // The length the API declared is passed on, and the cut reaches the browser as a failed read
  // (fetch: a socket error), not as a shorter body that looks whole.
  assert.equal(res.headers.get("content-length"), String(JSON.stringify({ items: "x".repeat(64 * 1024) }).length));
  const read = await res.text().then(
    (text) => ({ text }),
    (error) => ({ error }),
  );
  assert.ok(read.error, `the read must fail, got ${read.text?.length} bytes`);
  assert.equal((await session(s)).isLoggedIn, true, "the session is fine");
  assert.equal((await s.jar.fetch(`${ORIGIN}/api/flaky/fine`, { signal: within() })).status, 200, "and the next call works");
});
