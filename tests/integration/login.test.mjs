// The OAuth agent's login against the real IdP (oidc-provider) and the real worker runtime.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startIdp, startWorker, ORIGIN, ISSUER, WORKER_PORT } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";

let idp, worker;
before(async () => {
  idp = await startIdp();
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
  await idp?.stop();
});

const json = { "content-type": "application/json" };

async function loginStart(jar, body = {}, headers = { origin: ORIGIN, ...json }) {
  return jar.fetch(`${ORIGIN}/auth/login/start`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
}

test("login/start leads to the IdP's login form with a PKCE request it accepts", async () => {
  const jar = new CookieJar();
  const res = await loginStart(jar, { returnTo: "/profile" });
  assert.equal(res.status, 200);
  const { authorizationUrl } = await res.json();
  const url = new URL(authorizationUrl);
  assert.equal(`${url.origin}${url.pathname}`, `${ISSUER}/auth`);
  assert.equal(url.searchParams.get("code_challenge_method"), "S256");

  const login = jar.get(ORIGIN, "__Host-edgeward-login");
  assert.ok(login, "the login cookie is set");
  for (const attr of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"]) {
    assert.ok(login.attrs.includes(attr), `${attr} in ${login.raw}`);
  }
  assert.ok(!login.raw.includes(url.searchParams.get("state")), "state is sealed, not readable");

  // The IdP accepts the request (client, redirect URI, PKCE) and sends the browser to its form.
  const auth = await jar.fetch(authorizationUrl);
  assert.equal(auth.status, 303, await auth.text());
  const interaction = new URL(auth.headers.get("location"), ISSUER).href;
  assert.match(interaction, /\/interaction\//);
  const form = await jar.fetch(interaction);
  assert.equal(form.status, 200);
  assert.match(await form.text(), /Sign in to the local IdP/);
});

test("login/start refuses a foreign or missing Origin and sets no cookie", async () => {
  for (const headers of [json, { ...json, origin: "https://evil.example" }]) {
    const jar = new CookieJar();
    const res = await loginStart(jar, {}, headers);
    assert.equal(res.status, 403);
    assert.equal((await res.json()).code, "origin_rejected");
    assert.equal(jar.get(ORIGIN, "__Host-edgeward-login"), undefined);
  }
});

test("login/start refuses an open redirect in returnTo", async () => {
  const res = await loginStart(new CookieJar(), { returnTo: "https://evil.example/" });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).code, "invalid_request");
});

test("an unreachable IdP is a 502 idp_unavailable and sets nothing", async () => {
  const port = WORKER_PORT + 2;
  const down = await startWorker({ port, vars: { OIDC_ISSUER: "http://localhost:1" } });
  try {
    const jar = new CookieJar();
    const origin = `http://localhost:${port}`;
    const res = await jar.fetch(`${origin}/auth/login/start`, {
      method: "POST",
      headers: { origin, ...json },
      body: "{}",
    });
    assert.equal(res.status, 502);
    const body = await res.json();
    assert.equal(body.code, "idp_unavailable");
    assert.equal(res.headers.getSetCookie().length, 0);
  } finally {
    await down.stop();
  }
});
