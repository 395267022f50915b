// What providers differ on, live: profile claims only at userinfo (oidc-provider with
// `conformIdTokenClaims`, the package's default; django-oauth-toolkit with sub-only ID tokens),
// and silent sign-in (`prompt=none`) against oidc-provider.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { useStack, startWorker, ORIGIN, ISSUER, WORKER_PORT } from "../support/stack.mjs";
import { startDot, signInAt, IDPS_CLIENT_SECRET } from "../support/idps.mjs";
import { CookieJar } from "../support/jar.mjs";
import { loginAtIdp } from "../support/idp-login.mjs";
import { signIn, openCookie } from "../support/session.mjs";

useStack({
  idp: { IDP_CLAIMS_AT_USERINFO: "1" },
  worker: { vars: { EDGEWARD_SILENT_SIGN_IN: "on" } },
});

const headers = { origin: ORIGIN, "content-type": "application/json" };

async function idpStats() {
  return (await fetch(`${ISSUER}/_test/stats`)).json();
}

async function setUserinfoSub(sub) {
  const res = await fetch(`${ISSUER}/_test/userinfo-sub`, {
    method: "POST",
    body: JSON.stringify({ sub }),
  });
  assert.equal(res.status, 204);
}

/** login/start with `body`, the IdP (its form only when `username` is given), then login/end. */
async function login(jar, body, { username } = {}) {
  const start = await jar.fetch(`${ORIGIN}/auth/login/start`, { method: "POST", headers, body: JSON.stringify(body) });
  assert.equal(start.status, 200, await start.clone().text());
  const { authorizationUrl } = await start.json();
  const callback = username
    ? await loginAtIdp(jar, authorizationUrl, { username, password: username, callbackPrefix: `${ORIGIN}/callback` })
    : await redirectsOnly(jar, authorizationUrl);
  const end = await jar.fetch(`${ORIGIN}/auth/login/end`, {
    method: "POST",
    headers,
    body: JSON.stringify({ pageUrl: callback }),
  });
  return { callback: new URL(callback), end, body: await end.json() };
}

async function session(jar) {
  const res = await jar.fetch(`${ORIGIN}/auth/session`);
  assert.equal(res.status, 200);
  return res.json();
}

/** Follows the provider's redirects back to the callback; a page to show the user fails. */
async function redirectsOnly(jar, url) {
  for (let hop = 0; hop < 10; hop++) {
    if (url.startsWith(`${ORIGIN}/callback`)) return url;
    const res = await jar.fetch(url);
    assert.ok(res.status >= 300 && res.status < 400, `a page at ${url}: ${res.status}`);
    url = new URL(res.headers.get("location"), url).href;
  }
  throw new Error("too many redirects");
}

const jwtClaims = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());

test("claims only at userinfo: asked once at login, kept in the ID cookie", async () => {
  const before = (await idpStats()).userinfo ?? 0;
  const { jar } = await signIn();
  const s = await session(jar);
  assert.equal(s.isLoggedIn, true);
  const { sub, name, email, preferred_username } = s.claims;
  assert.deepEqual(
    { sub, name, email, preferred_username },
    { sub: "demo", name: "Demo User", email: "demo@example.com", preferred_username: "demo" },
  );
  // The ID token itself has none of them (the provider's conformIdTokenClaims).
  const id = openCookie("__Host-edgeward-id", jar.get(ORIGIN, "__Host-edgeward-id").value);
  const idToken = JSON.stringify(id).match(/eyJ[\w-]+\.[\w-]+\.[\w-]+/)?.[0];
  assert.ok(idToken, "the ID cookie holds the ID token");
  const claims = jwtClaims(idToken);
  assert.equal(claims.sub, "demo");
  for (const name of ["name", "email", "preferred_username"]) assert.equal(claims[name], undefined, name);
  // Once at login; showing the session again asks nobody.
  await session(jar);
  assert.equal((await idpStats()).userinfo, before + 1);
});

test("attack: a userinfo answer about another user refuses the login, no session", async () => {
  await setUserinfoSub("alice");
  try {
    const jar = new CookieJar();
    const { end, body } = await login(jar, {}, { username: "demo" });
    assert.equal(end.status, 400);
    assert.equal(body.code, "login_failed");
    assert.doesNotMatch(JSON.stringify(body), /alice/);
    for (const name of ["__Host-edgeward-id", "__Host-edgeward-at", "__Host-edgeward-rt", "__Host-edgeward-login"]) {
      assert.equal(jar.get(ORIGIN, name), undefined, name);
    }
    assert.equal((await session(jar)).isLoggedIn, false);
  } finally {
    await setUserinfoSub(null);
  }
});

test("silent sign-in without an IdP session: 401 login_required, no session, no loop", async () => {
  const jar = new CookieJar();
  const signedOut = await session(jar);
  assert.equal(signedOut.isLoggedIn, false);
  assert.equal(signedOut.silentSignIn, true, "the SPA is told it may try");

  const { callback, end, body } = await login(jar, { extraParams: { prompt: "none" } });
  // The provider answered at once, without a form: the browser never saw a login page.
  assert.equal(callback.searchParams.get("error"), "login_required");
  assert.equal(end.status, 401);
  assert.equal(body.code, "login_required");
  assert.equal(jar.get(ORIGIN, "__Host-edgeward-login"), undefined, "the login is over");
  assert.equal((await session(jar)).isLoggedIn, false);
});

test("silent sign-in with an IdP session: signed in without a form", async () => {
  // A browser that signed in at the provider earlier (its session cookie is in the jar).
  const { jar } = await signIn();
  for (const name of ["__Host-edgeward-id", "__Host-edgeward-at", "__Host-edgeward-rt"]) {
    jar.cookies.get("localhost").delete(name);
  }
  assert.equal((await session(jar)).isLoggedIn, false);
  const { callback, end, body } = await login(jar, { extraParams: { prompt: "none" } });
  assert.ok(callback.searchParams.get("code"), callback.href);
  assert.equal(end.status, 200, JSON.stringify(body));
  const s = await session(jar);
  assert.equal(s.isLoggedIn, true);
  assert.equal(s.claims.name, "Demo User");
  assert.equal(s.silentSignIn, undefined, "said only to a signed-out SPA");
});

test("other provider errors keep their answer: access_denied is 400 login_failed", async () => {
  const jar = new CookieJar();
  const start = await jar.fetch(`${ORIGIN}/auth/login/start`, { method: "POST", headers, body: "{}" });
  const state = new URL((await start.json()).authorizationUrl).searchParams.get("state");
  const page = `${ORIGIN}/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(ISSUER)}`;
  const end = await jar.fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers, body: JSON.stringify({ pageUrl: page }) });
  assert.equal(end.status, 400);
  assert.equal((await end.json()).code, "login_failed");
});

describe("django-oauth-toolkit with sub-only ID tokens", () => {
  const origin = `http://localhost:${WORKER_PORT + 1}`;
  const parts = {};
  before(async () => {
    parts.idp = await startDot({ origin, idTokenClaims: "sub" });
    parts.worker = await startWorker({
      port: WORKER_PORT + 1,
      vars: { OIDC_ISSUER: parts.idp.issuer, OIDC_CLIENT_SECRET: IDPS_CLIENT_SECRET, EDGEWARD_TOKEN_TYPES: "Bearer,none" },
    });
  });
  after(async () => {
    for (const part of ["worker", "idp"]) await parts[part]?.stop();
  });

  test("the claims come from its userinfo, the ID token has only sub", async () => {
    assert.ok(parts.idp.discovery.userinfo_endpoint, "DOT publishes userinfo");
    const { jar } = await signInAt(parts.idp, origin);
    const res = await jar.fetch(`${origin}/auth/session`);
    const s = await res.json();
    assert.equal(s.isLoggedIn, true);
    assert.match(s.claims.sub, /^\d+$/, "DOT's sub is the user's database id");
    assert.equal(s.claims.name, "Demo User");
    assert.equal(s.claims.preferred_username, "demo");
    assert.equal(s.claims.email, "demo@example.com");
    const id = openCookie("__Host-edgeward-id", jar.get(origin, "__Host-edgeward-id").value, origin);
    const claims = jwtClaims(JSON.stringify(id).match(/eyJ[\w-]+\.[\w-]+\.[\w-]+/)[0]);
    assert.equal(claims.sub, s.claims.sub);
    for (const name of ["name", "email", "preferred_username"]) assert.equal(claims[name], undefined, name);
  });
});
