// Server-side session mode (EDGEWARD_SESSION_MODE=server) against workerd: the tokens stay in
// the EdgewardSessions Durable Object, the browser holds one small cookie with a random session
// id, and the store knows sessions only by the id's SHA-256. Also: the admin endpoint, the
// single-flight refresh and back-channel logout in this mode. Access tokens live 300 s (3 s
// where a test needs one to expire).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { useStack, ORIGIN, ISSUER } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";
import { signIn, openCookie, sealCookie } from "../support/session.mjs";

const ADMIN = "admin-token-for-the-integration-tests-0123456789";
const stack = useStack({
  idp: true,
  worker: { vars: { EDGEWARD_SESSION_MODE: "server", EDGEWARD_ADMIN_TOKEN: ADMIN } },
  api: true,
});

const SID = "__Host-edgeward-sid";
const setAccessTtl = (seconds) =>
  fetch(`${ISSUER}/_test/access-token-ttl`, { method: "POST", body: JSON.stringify({ seconds }) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha256 = (s) => createHash("sha256").update(s).digest("hex");
const session = async (jar) => (await jar.fetch(`${ORIGIN}/auth/session`)).json();
const admin = (method, query, token = ADMIN) =>
  fetch(`${ORIGIN}/auth/admin/sessions?${query}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });

/** Every file under `dir`, as bytes. */
function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [readFileSync(path)];
  });
}

function copyOf(jar) {
  const copy = new CookieJar();
  for (const [name, cookie] of jar.cookies.get("localhost") ?? []) copy.set(ORIGIN, name, cookie.value);
  return copy;
}

test("one small cookie; the tokens stay in the Durable Object, keyed by the id's hash", async () => {
  const { jar } = await signIn();
  const ours = [...jar.cookies.get("localhost").keys()].filter((n) => n.startsWith("__Host-edgeward-"));
  assert.deepEqual(ours, [SID], "only the session-id cookie");
  const cookie = `${SID}=${jar.get(ORIGIN, SID).value}`;
  assert.ok(cookie.length < 200, `the cookie is ${cookie.length} bytes`);

  const s = await session(jar);
  assert.equal(s.isLoggedIn, true);
  assert.equal(s.claims.name, "Demo User");
  assert.ok(s.csrf);
  assert.equal((await jar.fetch(`${ORIGIN}/api/whoami`)).status, 200);

  const id = openCookie(SID, jar.get(ORIGIN, SID).value).id;
  assert.ok(Buffer.from(id, "base64url").length >= 16, "at least 128 random bits");
  const listed = await (await admin("GET", "sub=demo")).json();
  const mine = listed.sessions.find((x) => x.handle === sha256(id));
  assert.ok(mine, "listed under the SHA-256 of the id");
  assert.ok(mine.createdAt > 0 && mine.userAgent);
  assert.ok(!JSON.stringify(listed).includes(id), "the listing never shows the id");

  // What workerd wrote to disk for the Durable Object holds the handle, never the id.
  const stored = filesUnder(stack.worker.persist);
  assert.ok(stored.some((b) => b.includes(sha256(id))), "found the store");
  assert.ok(!stored.some((b) => b.includes(id)), "the raw session id is not stored");
});

test("a tampered or guessed session id is refused and its cookie cleared", async () => {
  const { jar } = await signIn();
  const sealed = jar.get(ORIGIN, SID).value;
  const tampered = copyOf(jar);
  tampered.set(ORIGIN, SID, sealed.slice(0, -4) + (sealed.endsWith("AAAA") ? "BBBB" : "AAAA"));
  assert.equal((await session(tampered)).isLoggedIn, false);
  assert.equal((await tampered.fetch(`${ORIGIN}/api/whoami`)).status, 401);

  // Even a cookie sealed with the right key (which an attacker does not have) is refused when
  // the id is not a session's.
  const guessed = new CookieJar();
  guessed.set(ORIGIN, SID, sealCookie(SID, { id: "AAAAAAAAAAAAAAAAAAAAAA", sub: "demo" }, Math.floor(Date.now() / 1000) + 3600));
  const res = await guessed.fetch(`${ORIGIN}/auth/session`);
  assert.equal((await res.json()).isLoggedIn, false);
  assert.equal(guessed.get(ORIGIN, SID), undefined, "the unknown id's cookie is cleared");
  assert.equal((await session(jar)).isLoggedIn, true, "the real session is untouched");
});

test("logout deletes the stored session", async () => {
  const { jar, csrf } = await signIn();
  const id = openCookie(SID, jar.get(ORIGIN, SID).value).id;
  const copy = copyOf(jar);
  const out = await jar.fetch(`${ORIGIN}/auth/logout`, { method: "POST", headers: { origin: ORIGIN, "x-edgeward-csrf": csrf } });
  assert.equal(out.status, 200);
  const listed = await (await admin("GET", "sub=demo")).json();
  assert.ok(!listed.sessions.some((x) => x.handle === sha256(id)), "gone from the store");
  assert.equal((await session(copy)).isLoggedIn, false, "a copy of the old cookie is worth nothing");
});

test("admin: 401 without the secret; revoke one; revoke all of a user's sessions", async () => {
  assert.equal((await admin("GET", "sub=demo", null)).status, 401);
  assert.equal((await admin("GET", "sub=demo", "wrong-token-wrong-token-wrong-token")).status, 401);
  assert.equal((await admin("DELETE", "sub=demo", null)).status, 401);
  const a = await signIn();
  const b = await signIn();
  const handle = sha256(openCookie(SID, a.jar.get(ORIGIN, SID).value).id);
  const one = await (await admin("DELETE", `sub=demo&session=${handle}`)).json();
  assert.equal(one.revoked, 1);
  assert.equal((await session(a.jar)).isLoggedIn, false, "refused at its next request");
  assert.equal((await session(b.jar)).isLoggedIn, true);
  const all = await (await admin("DELETE", "sub=demo")).json();
  assert.ok(all.revoked >= 1);
  assert.equal((await session(b.jar)).isLoggedIn, false);
  assert.equal((await (await admin("GET", "sub=demo")).json()).sessions.length, 0);
  // Times are in seconds: a login within the same second as a revoke-all counts as before it.
  await sleep(1100);
  assert.equal((await session((await signIn()).jar)).isLoggedIn, true, "a new login after it works");
});

test("server mode: 50 parallel calls from two tabs on an expired access token, one refresh grant", async () => {
  // The session's access token lives 3 s and has expired when the calls start; the one the
  // refresh brings lives 300 s, so no retry is refused for lateness however long wrangler dev's
  // proxy keeps it waiting (it queues parallel requests in 5 s steps; over 60 s measured on a
  // busy machine).
  await setAccessTtl(3);
  const { jar, csrf } = await signIn();
  await setAccessTtl(300);
  const tabs = [jar, copyOf(jar)];
  await sleep(4000);
  const grants = async () => (await (await fetch(`${ISSUER}/_test/stats`)).json()).grants.refresh_token ?? 0;
  const before = await grants();
  const call = async (tab, i) => {
    const url = `${ORIGIN}/api/echo/${i}`;
    const first = await tab.fetch(url);
    if (first.status !== 401) return first.status;
    await first.body?.cancel();
    const r = await tab.fetch(`${ORIGIN}/auth/refresh`, { method: "POST", headers: { origin: ORIGIN, "x-edgeward-csrf": csrf } });
    if (r.status !== 204) return r.status;
    return (await tab.fetch(url)).status;
  };
  const statuses = await Promise.all(Array.from({ length: 50 }, (_, i) => call(tabs[i % 2], i)));
  assert.deepEqual(statuses.filter((s) => s !== 200), [], `statuses: ${statuses.join(",")}`);
  assert.equal(await grants(), before + 1);
});

test("server mode: signing out at the IdP ends the session (back-channel logout)", async () => {
  const { jar } = await signIn();
  const page = await jar.fetch(`${ISSUER}/session/end?client_id=edgeward`);
  const xsrf = (await page.text()).match(/name="xsrf" value="([^"]+)"/)?.[1];
  await jar.fetch(`${ISSUER}/session/end/confirm`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ xsrf, logout: "yes" }).toString(),
  });
  let live = true;
  for (let i = 0; i < 50 && live; i++) {
    live = (await session(copyOf(jar))).isLoggedIn;
    if (live) await sleep(100);
  }
  assert.equal(live, false);
});
