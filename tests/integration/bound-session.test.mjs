// One bound session, against workerd and the real IdP (the security review's first and fifth
// items): cookies of two people's sessions in one jar are refused on every path, before and
// after the victim's session is ended by back-channel logout and by the admin; copies of
// logged-out cookies stop working; the session registry is split over Durable Objects by user;
// and when the registry cannot be reached, session checks fail closed (503, cookies kept).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { useStack, startWorker, ORIGIN, ISSUER, WORKER_PORT, ROOT } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";
import { signIn, openCookie } from "../support/session.mjs";
import { signedLogoutToken } from "../support/tokens.mjs";

const ADMIN = "admin-token-for-the-integration-tests-0123456789";
const stack = useStack({ idp: true, worker: { vars: { EDGEWARD_ADMIN_TOKEN: ADMIN } }, api: true });

const AT = "__Host-edgeward-at";
const RT = "__Host-edgeward-rt";
const ID = "__Host-edgeward-id";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const grants = async () => (await (await fetch(`${ISSUER}/_test/stats`)).json()).grants.refresh_token ?? 0;

/** Every cookie of ours in `jar`, as [name, value] pairs. */
const cookiesOf = (jar) =>
  [...(jar.cookies.get("localhost") ?? new Map())]
    .filter(([name]) => name.startsWith("__Host-edgeward-"))
    .map(([name, c]) => [name, c.value]);

function jarOf(pairs) {
  const jar = new CookieJar();
  for (const [name, value] of pairs) jar.set(ORIGIN, name, value);
  return jar;
}

const refresh = (jar, csrf, origin = ORIGIN) =>
  jar.fetch(`${origin}/auth/refresh`, { method: "POST", headers: { origin, "x-edgeward-csrf": csrf } });
const sessionOf = async (jar, origin = ORIGIN) => (await jar.fetch(`${origin}/auth/session`)).json();

test("a jar mixing someone's token cookies with one's own session is refused on every path", async () => {
  const victim = await signIn(ORIGIN, { user: "alice" });
  const mallory = await signIn(ORIGIN, { user: "demo" });
  // Mallory keeps her own session's other cookies (she knows its CSRF value) and puts copies of
  // Alice's access and refresh cookies in place of her own.
  const mixed = () =>
    jarOf([
      ...cookiesOf(mallory.jar).filter(([name]) => name !== AT && name !== RT),
      [AT, victim.jar.get(ORIGIN, AT).value],
      [RT, victim.jar.get(ORIGIN, RT).value],
    ]);

  // While Alice's session is live.
  const jar = mixed();
  assert.deepEqual(await sessionOf(jar), { isLoggedIn: false }, "no session, as either of them");
  assert.equal(jar.get(ORIGIN, AT), undefined, "and the cookies are cleared");
  const before = await grants();
  const res = await refresh(mixed(), mallory.csrf);
  assert.equal(res.status, 401);
  assert.equal((await res.json()).code, "session_expired");
  assert.equal(await grants(), before, "Alice's refresh token never reached the IdP");

  // Alice's session ends at the IdP (back-channel logout) and by the admin.
  const sid = openCookie(ID, victim.jar.get(ORIGIN, ID).value).b.s;
  const token = await signedLogoutToken({ sid, sub: "alice" });
  const delivered = await fetch(`${ORIGIN}/auth/backchannel-logout`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ logout_token: token }).toString(),
  });
  assert.equal(delivered.status, 200);
  const revokeAll = await fetch(`${ORIGIN}/auth/admin/sessions?sub=alice`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  assert.equal(revokeAll.status, 200);

  // Every path refuses the mixed jar: the proxy judges Alice's access cookie by its own session.
  const api = await mixed().fetch(`${ORIGIN}/api/whoami`);
  assert.equal(api.status, 401);
  assert.equal((await api.json()).code, "session_expired");
  const again = await refresh(mixed(), mallory.csrf);
  assert.equal(again.status, 401);
  assert.equal((await again.json()).code, "session_expired");
  assert.deepEqual(await sessionOf(mixed()), { isLoggedIn: false });
  assert.equal(await grants(), before);
  // Mallory's own session is untouched.
  assert.equal((await sessionOf(mallory.jar)).isLoggedIn, true);
  assert.equal((await mallory.jar.fetch(`${ORIGIN}/api/whoami`)).status, 200);
});

test("copies of a logged-out session's cookies are refused", async () => {
  const { jar, csrf } = await signIn();
  const copy = jarOf(cookiesOf(jar));
  assert.equal((await copy.fetch(`${ORIGIN}/api/whoami`)).status, 200);
  const out = await jar.fetch(`${ORIGIN}/auth/logout`, {
    method: "POST",
    headers: { origin: ORIGIN, "x-edgeward-csrf": csrf, "content-type": "application/json" },
    body: "{}",
  });
  assert.equal(out.status, 200);
  const api = await copy.fetch(`${ORIGIN}/api/whoami`);
  assert.equal(api.status, 401);
  assert.equal((await api.json()).code, "session_expired");
  assert.deepEqual(await sessionOf(copy), { isLoggedIn: false });
});

test("server mode: two users' sessions live in two Durable Objects", async () => {
  const port = WORKER_PORT + 5;
  const origin = `http://localhost:${port}`;
  const worker = await startWorker({ port, vars: { EDGEWARD_SESSION_MODE: "server" } });
  try {
    const demo = await signIn(origin, { user: "demo" });
    const alice = await signIn(origin, { user: "alice" });
    assert.equal((await sessionOf(demo.jar, origin)).claims.sub, "demo");
    assert.equal((await sessionOf(alice.jar, origin)).claims.sub, "alice");
    // workerd keeps each Durable Object in its own SQLite file.
    const dir = join(worker.persist, "v3", "do", "edgeward-EdgewardSessions");
    const objects = readdirSync(dir).filter((f) => /^[0-9a-f]{64}\.sqlite$/.test(f));
    assert.equal(objects.length, 2, `one object per user: ${readdirSync(dir)}`);
  } finally {
    await worker.stop();
  }
});

test("a registry that cannot be reached: session checks fail closed, the cookies stay", async () => {
  const port = WORKER_PORT + 6;
  const origin = `http://localhost:${port}`;
  const config = join(ROOT, "tests", "integration", "config", "registry-unreachable.toml");
  const worker = await startWorker({ port, config });
  try {
    // Signing in needs no registry in stateless mode; using the session does.
    const { jar, csrf } = await signIn(origin);
    const session = await jar.fetch(`${origin}/auth/session`);
    assert.equal(session.status, 503);
    assert.equal((await session.json()).code, "session_store_unavailable");
    assert.equal(session.headers.getSetCookie().length, 0, "cookies untouched");
    const api = await jar.fetch(`${origin}/api/whoami`);
    assert.equal(api.status, 503);
    const res = await refresh(jar, csrf, origin);
    assert.equal(res.status, 503);
    assert.equal(res.headers.getSetCookie().length, 0);
    assert.ok(jar.get(origin, AT) && jar.get(origin, RT) && jar.get(origin, ID), "every cookie kept");
    // Logging out still clears the cookies.
    const out = await jar.fetch(`${origin}/auth/logout`, {
      method: "POST",
      headers: { origin, "x-edgeward-csrf": csrf, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(out.status, 200);
    assert.equal(jar.get(origin, ID), undefined);
    await sleep(300);
    assert.match(worker.output(), /session_store_unavailable: session registry sessions-\d{3}/);
  } finally {
    await worker.stop();
  }
});

test("another deployment sharing the cookie key does not take this one's cookies", async () => {
  // Staging and production with one key: a session of one, presented to the other.
  const port = WORKER_PORT + 7;
  const other = `http://localhost:${port}`;
  const worker = await startWorker({ port });
  try {
    const { jar } = await signIn();
    const copy = jarOf(cookiesOf(jar));
    const res = await fetch(`${other}/auth/session`, { headers: { cookie: copy.header(ORIGIN) } });
    assert.deepEqual(await res.json(), { isLoggedIn: false }, "a session of another deployment");
    const api = await fetch(`${other}/api/whoami`, { headers: { cookie: copy.header(ORIGIN) } });
    assert.equal(api.status, 401);
  } finally {
    await worker.stop();
  }
});
