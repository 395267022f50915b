// Single-flight refresh through the Durable Object (EdgewardRefresh, one per session), in workerd.
// Two "tabs" (cookie jars holding one session) fire 50 API calls on an expired access token; each
// call that gets 401 refreshes and retries, as the SPA's client does. The IdP rotates refresh tokens
// and revokes the whole grant when an old one comes back, so more than one grant would end the
// session.
//
// The access token "expires" the way a browser sees it: its cookie is gone (the browser drops
// it at its Max-Age, the token's expiry). The token itself lives 300 s at the IdP, so a retry
// is never refused for lateness: wrangler dev passes every request through one Durable Object
// (its ProxyWorker), which holds only a few connections open at once, so under 50 parallel calls
// some wait in steps of 5 s (measured: 1–47 s for all 50 on a 2-core machine; with 30 s tokens,
// late retries met an expired token).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { useStack, ORIGIN, ISSUER } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";
import { signIn } from "../support/session.mjs";

const stack = useStack({ idp: true, worker: true, api: true });

const refreshGrants = async () => (await (await fetch(`${ISSUER}/_test/stats`)).json()).grants.refresh_token ?? 0;

function copyOf(jar) {
  const copy = new CookieJar();
  for (const [name, cookie] of jar.cookies.get("localhost") ?? []) copy.set(ORIGIN, name, cookie.value);
  return copy;
}

/** One API call the way the SPA's client makes it: on 401, refresh once, retry once. */
async function call(jar, csrf, i) {
  const url = `${ORIGIN}/api/echo/call-${i}`;
  const first = await jar.fetch(url);
  if (first.status !== 401) return { status: first.status, refreshed: false };
  await first.body?.cancel();
  const refresh = await jar.fetch(`${ORIGIN}/auth/refresh`, {
    method: "POST",
    headers: { origin: ORIGIN, "x-edgeward-csrf": csrf },
  });
  if (refresh.status !== 204) return { status: refresh.status, refreshed: true, error: await refresh.text() };
  const retry = await jar.fetch(url);
  return { status: retry.status, refreshed: true, body: await retry.json() };
}

test("50 parallel calls from two tabs on an expired access token make exactly one refresh grant", async () => {
  const { jar, csrf } = await signIn();
  const tabs = [jar, copyOf(jar)];
  for (const tab of tabs) tab.cookies.get("localhost").delete("__Host-edgeward-at");
  const before = await refreshGrants();

  const t0 = Date.now();
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => call(tabs[i % 2], csrf, i)));
  console.log(`50 calls with a refresh took ${Date.now() - t0} ms`);
  const failed = results.filter((r) => r.status !== 200);
  assert.deepEqual(failed, [], "no call failed");
  assert.ok(results.every((r) => r.refreshed), "every call found its access token expired");
  assert.equal(await refreshGrants(), before + 1, "one refresh-token grant at the IdP");

  // Both tabs hold the rotated session and keep working.
  for (const tab of tabs) assert.equal((await tab.fetch(`${ORIGIN}/api/whoami`)).status, 200);
});

test("within the grace window a late refresh with the old token gets the same refresh", async () => {
  const { jar, csrf } = await signIn();
  const stale = copyOf(jar);
  const before = await refreshGrants();
  const refresh = (j) => j.fetch(`${ORIGIN}/auth/refresh`, { method: "POST", headers: { origin: ORIGIN, "x-edgeward-csrf": csrf } });
  assert.equal((await refresh(jar)).status, 204);
  // A tab that missed the first refresh (its cookies still hold the old refresh token).
  assert.equal((await refresh(stale)).status, 204, "not taken for theft");
  assert.equal(await refreshGrants(), before + 1);
  assert.equal(stale.get(ORIGIN, "__Host-edgeward-rt").value.length > 0, true);
  // Both now hold the same rotated refresh token: the next refresh is one grant, and works.
  assert.equal((await refresh(stale)).status, 204);
  assert.equal((await (await jar.fetch(`${ORIGIN}/auth/session`)).json()).isLoggedIn, true);
});

/**
 * The refresh coordinator objects workerd has made so far: each gets its own SQLite file, even
 * though it stores nothing (named by the object's id, a hash of its name).
 */
function coordinatorObjects() {
  const dir = join(stack.worker.persist, "v3", "do", "edgeward-EdgewardRefresh");
  try {
    return readdirSync(dir).filter((f) => /^[0-9a-f]{64}\.sqlite$/.test(f));
  } catch (e) {
    if (e.code === "ENOENT") return [];
    throw e;
  }
}

// Each refresh presents the token the one before rotated in: one grant each, all in the session's
// one object (before, each rotated token had an object of its own: 40 here).
test("successive refreshes of one session meet one coordinator object, not one per rotated token", async () => {
  const before = new Set(coordinatorObjects());
  const { jar, csrf } = await signIn();
  const grantsBefore = await refreshGrants();
  const rounds = 40;
  const took = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const refresh = await jar.fetch(`${ORIGIN}/auth/refresh`, {
      method: "POST",
      headers: { origin: ORIGIN, "x-edgeward-csrf": csrf },
    });
    took.push(performance.now() - t0);
    assert.equal(refresh.status, 204, `refresh ${i + 1}: ${await refresh.text()}`);
  }
  // Each refresh presented a new (rotated) refresh token: one grant each.
  assert.equal(await refreshGrants(), grantsBefore + rounds);
  const last = took.slice(-10).sort((a, b) => a - b);
  console.log(
    `${rounds} successive refreshes: first ${took[0].toFixed(1)} ms, p50 of the last 10 ${((last[4] + last[5]) / 2).toFixed(1)} ms`,
  );
  const made = coordinatorObjects().filter((f) => !before.has(f));
  assert.equal(made.length, 1, `one coordinator object for the session, made: ${made.length}`);
  assert.equal((await (await jar.fetch(`${ORIGIN}/auth/session`)).json()).isLoggedIn, true);
});
