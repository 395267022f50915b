// Refresh and logout against the real IdP and workerd; an IdP outage mid-session.
//
// The refresh coordinator's grace window is off here (EDGEWARD_REFRESH_GRACE=0), so a replayed
// refresh token reaches the IdP, which takes it for theft; refresh-flight.test.mjs shows the
// default, where a replay within the window gets the refresh it raced with.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useStack, ORIGIN, ISSUER } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";
import { signIn } from "../support/session.mjs";

const stack = useStack({ idp: true, worker: { vars: { EDGEWARD_REFRESH_GRACE: "0" } } });

const SESSION_COOKIES = ["__Host-edgeward-at", "__Host-edgeward-rt", "__Host-edgeward-id"];

const post = (jar, path, csrf, origin = ORIGIN) =>
  jar.fetch(`${ORIGIN}${path}`, {
    method: "POST",
    headers: { origin, ...(csrf ? { "x-edgeward-csrf": csrf } : {}) },
  });

const snapshot = (jar) => Object.fromEntries(SESSION_COOKIES.map((n) => [n, jar.get(ORIGIN, n)?.value]));

function copyJar(values) {
  const jar = new CookieJar();
  for (const [name, value] of Object.entries(values)) if (value) jar.set(ORIGIN, name, value);
  return jar;
}

test("refresh rotates the tokens; the old refresh token then ends the session (theft)", async () => {
  const { jar, csrf } = await signIn();
  const before = snapshot(jar);
  const res = await post(jar, "/auth/refresh", csrf);
  assert.equal(res.status, 204, await res.text());
  const after = snapshot(jar);
  assert.notEqual(after["__Host-edgeward-at"], before["__Host-edgeward-at"], "new access token");
  assert.notEqual(after["__Host-edgeward-rt"], before["__Host-edgeward-rt"], "rotated refresh token");
  assert.equal(after["__Host-edgeward-id"], before["__Host-edgeward-id"]);
  assert.equal((await (await jar.fetch(`${ORIGIN}/auth/session`)).json()).isLoggedIn, true);

  // Replaying the pre-rotation cookies: the IdP sees a rotated token reused.
  const stale = copyJar(before);
  const replay = await post(stale, "/auth/refresh", csrf);
  assert.equal(replay.status, 401);
  assert.equal((await replay.json()).code, "session_expired");
  for (const name of SESSION_COOKIES) assert.equal(stale.get(ORIGIN, name), undefined, `${name} cleared`);
  // ...and the IdP revoked the whole grant, so the current session cannot refresh either.
  const current = await post(jar, "/auth/refresh", csrf);
  assert.equal(current.status, 401);
  assert.equal((await current.json()).code, "session_expired");
});

test("refresh needs the CSRF header, an allowed Origin and a session", async () => {
  const { jar, csrf } = await signIn();
  const cases = [
    [await post(jar, "/auth/refresh", undefined), 403, "csrf_rejected"],
    [await post(jar, "/auth/refresh", "x".repeat(43)), 403, "csrf_rejected"],
    [await post(jar, "/auth/refresh", csrf, "https://evil.example"), 403, "origin_rejected"],
    [await post(new CookieJar(), "/auth/refresh", csrf), 401, "unauthorized"],
  ];
  for (const [res, status, code] of cases) {
    assert.equal(res.status, status, code);
    assert.equal((await res.json()).code, code);
  }
  // None of the refusals touched the session.
  assert.equal((await post(jar, "/auth/refresh", csrf)).status, 204);
});

test("logout clears the cookies, revokes the refresh token and gives the IdP logout URL", async () => {
  const { jar, csrf } = await signIn();
  const before = snapshot(jar);
  const denied = await post(jar, "/auth/logout", undefined);
  assert.equal(denied.status, 403);

  const res = await post(jar, "/auth/logout", csrf);
  assert.equal(res.status, 200);
  const { logoutUrl } = await res.json();
  const url = new URL(logoutUrl);
  assert.equal(`${url.origin}${url.pathname}`, `${ISSUER}/session/end`);
  assert.ok(url.searchParams.get("id_token_hint"));
  assert.equal(url.searchParams.get("post_logout_redirect_uri"), `${ORIGIN}/`);
  for (const name of SESSION_COOKIES) assert.equal(jar.get(ORIGIN, name), undefined, `${name} cleared`);
  assert.deepEqual(await (await jar.fetch(`${ORIGIN}/auth/session`)).json(), { isLoggedIn: false });

  // The IdP accepts the logout URL (it shows its confirmation form).
  const idpLogout = await fetch(logoutUrl, { redirect: "manual" });
  assert.equal(idpLogout.status, 200);

  // The refresh token was revoked: cookies kept from before logout no longer refresh.
  const kept = await post(copyJar(before), "/auth/refresh", csrf);
  assert.equal(kept.status, 401);
  assert.equal((await kept.json()).code, "session_expired");
});

test("the IdP stopped mid-session: refresh is a 502 and the session stays intact", async () => {
  const { jar, csrf } = await signIn();
  const before = snapshot(jar);
  await stack.idp.stop();
  const res = await post(jar, "/auth/refresh", csrf);
  const body = await res.json();
  assert.equal(res.status, 502, JSON.stringify(body));
  assert.equal(body.code, "idp_unavailable");
  assert.deepEqual(snapshot(jar), before, "no cookie changed");
  const session = await (await jar.fetch(`${ORIGIN}/auth/session`)).json();
  assert.equal(session.isLoggedIn, true);
});
