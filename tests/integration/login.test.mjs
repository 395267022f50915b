// The OAuth agent's login against the real IdP (oidc-provider) and the real worker runtime.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useStack, startWorker, ORIGIN, ISSUER, WORKER_PORT } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";
import { loginAtIdp } from "../support/idp-login.mjs";
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { artifactDir } from "../support/stack.mjs";

const stack = useStack({ idp: true, worker: true });

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

const SESSION_COOKIES = ["__Host-edgeward-at", "__Host-edgeward-rt", "__Host-edgeward-id"];

/** login/start, then the IdP's form: returns the callback URL the browser would land on. */
async function toCallback(jar, body = { returnTo: "/profile" }) {
  const start = await loginStart(jar, body);
  assert.equal(start.status, 200);
  const { authorizationUrl } = await start.json();
  return loginAtIdp(jar, authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` });
}

function loginEnd(jar, pageUrl, headers = { origin: ORIGIN, ...json }) {
  return jar.fetch(`${ORIGIN}/auth/login/end`, {
    method: "POST",
    headers,
    body: JSON.stringify({ pageUrl }),
  });
}

test("a full login: callback → login/end → session, tokens only in sealed cookies", async () => {
  const jar = new CookieJar();
  const callback = await toCallback(jar);
  const end = await loginEnd(jar, callback);
  const body = await end.json();
  assert.equal(end.status, 200, JSON.stringify(body));
  assert.equal(body.handled, true);
  assert.equal(body.isLoggedIn, true);
  assert.equal(body.returnTo, "/profile");
  assert.equal(body.csrf.length, 43);
  assert.equal(jar.get(ORIGIN, "__Host-edgeward-login"), undefined, "the login cookie is cleared");

  const sizes = {};
  for (const name of SESSION_COOKIES) {
    const c = jar.get(ORIGIN, name);
    assert.ok(c, `${name} is set`);
    for (const attr of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"]) {
      assert.ok(c.attrs.includes(attr), `${attr} in ${name}`);
    }
    assert.ok(!c.attrs.some((a) => /^domain=/i.test(a)), `${name} has no Domain`);
    assert.match(c.value, /^3\.t1\.[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]+$/, `${name} is sealed`);
    sizes[name] = c.raw.length;
    assert.ok(c.raw.length < 4096, `${name} is ${c.raw.length} bytes`);
  }
  writeFileSync(join(artifactDir(), "cookie-sizes.json"), JSON.stringify(sizes, null, 2));
  // No token, and nothing of the session, in any body the browser sees.
  assert.doesNotMatch(JSON.stringify(body), /eyJ/);

  const session = await (await jar.fetch(`${ORIGIN}/auth/session`)).json();
  assert.equal(session.isLoggedIn, true);
  assert.equal(session.claims.sub, "demo");
  assert.equal(session.claims.name, "Demo User");
  assert.equal(session.claims.email, "demo@example.com");
  assert.equal(session.csrf, body.csrf);
  assert.ok(session.accessTokenExpiresAt > Date.now() / 1000);
  assert.doesNotMatch(JSON.stringify(session), /eyJ|access_token|refresh_token/);

  // login/end without an authorization response reports the session.
  const report = await (await loginEnd(jar, `${ORIGIN}/callback`)).json();
  assert.deepEqual(report, { handled: false, isLoggedIn: true, csrf: body.csrf });
  // The ID token's signature was checked by workerd's WebCrypto, not by the Rust fallback
  // (which warns; wrangler relays the worker's console a moment later).
  await new Promise((r) => setTimeout(r, 1500));
  assert.doesNotMatch(stack.worker.output(), /WebCrypto could not/);
});

test("a replayed callback is refused: the login cookie is single-use, the code too", async () => {
  const jar = new CookieJar();
  const callback = await toCallback(jar);
  const loginCookie = jar.get(ORIGIN, "__Host-edgeward-login").value;
  assert.equal((await loginEnd(jar, callback)).status, 200);

  const again = await loginEnd(jar, callback);
  assert.equal(again.status, 400);
  assert.equal((await again.json()).code, "invalid_state");

  // Even with the old login cookie put back, the IdP refuses the code a second time.
  const attacker = new CookieJar();
  attacker.set(ORIGIN, "__Host-edgeward-login", loginCookie);
  const replay = await loginEnd(attacker, callback);
  const body = await replay.json();
  assert.equal(replay.status, 400);
  assert.equal(body.code, "login_failed");
  assert.match(body.message, /invalid_grant/);
  assert.equal(attacker.get(ORIGIN, "__Host-edgeward-id"), undefined);
});

test("a state that is not this browser's is invalid_state, and sets no session", async () => {
  const jar = new CookieJar();
  const callback = new URL(await toCallback(jar));
  callback.searchParams.set("state", "forged-state");
  const res = await loginEnd(jar, callback.href);
  assert.equal(res.status, 400);
  assert.equal((await res.json()).code, "invalid_state");
  for (const name of SESSION_COOKIES) assert.equal(jar.get(ORIGIN, name), undefined, name);

  // A callback from another browser's login (no login cookie here) is refused too.
  const other = await loginEnd(new CookieJar(), (await toCallback(new CookieJar())));
  assert.equal(other.status, 400);
  assert.equal((await other.json()).code, "invalid_state");
});

test("an error from the IdP is login_failed with its code", async () => {
  const jar = new CookieJar();
  await loginStart(jar);
  const res = await loginEnd(jar, `${ORIGIN}/callback?error=access_denied&state=x`);
  const body = await res.json();
  assert.equal(res.status, 400);
  assert.equal(body.code, "login_failed");
  assert.match(body.message, /access_denied/);
});

test("RFC 9207: a response without iss, or naming the issuer otherwise, is refused (mix-up)", async () => {
  // The local IdP's discovery says authorization_response_iss_parameter_supported: it always
  // sends iss, so a response without it was not made by it for this login.
  const discovery = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();
  assert.equal(discovery.authorization_response_iss_parameter_supported, true);
  const variants = {
    "no iss": (url) => url.searchParams.delete("iss"),
    "a trailing slash": (url) => url.searchParams.set("iss", `${ISSUER}/`),
    "another case": (url) => url.searchParams.set("iss", ISSUER.toUpperCase()),
  };
  const outcomes = [];
  for (const [what, change] of Object.entries(variants)) {
    const jar = new CookieJar();
    const callback = new URL(await toCallback(jar));
    change(callback);
    const res = await loginEnd(jar, callback.href);
    outcomes.push(`${what}: ${res.status} ${(await res.json()).code ?? "(signed in)"}`);
  }
  assert.deepEqual(outcomes, Object.keys(variants).map((what) => `${what}: 400 login_failed`));
});

test("an acr asked for and not met is refused", async () => {
  // The local IdP states no acr: asking for one cannot be satisfied.
  const jar = new CookieJar();
  const callback = await toCallback(jar, { extraParams: { acr_values: "urn:edgeward:test:gold" } });
  const res = await loginEnd(jar, callback);
  assert.equal(res.status, 400, "signed in although the acr asked for was not met");
  assert.equal((await res.json()).code, "login_failed");
  assert.equal(jar.get(ORIGIN, "__Host-edgeward-id"), undefined);
});

test("login/end refuses a foreign Origin and a pageUrl on another origin", async () => {
  const jar = new CookieJar();
  const callback = await toCallback(jar);
  const foreign = await loginEnd(jar, callback, { ...json, origin: "https://evil.example" });
  assert.equal(foreign.status, 403);
  assert.equal((await foreign.json()).code, "origin_rejected");
  const elsewhere = await loginEnd(jar, callback.replace(ORIGIN, "https://evil.example"));
  assert.equal(elsewhere.status, 400);
  assert.equal((await elsewhere.json()).code, "invalid_request");
});

test("tampered session cookies count as no session, never as an error", async () => {
  const jar = new CookieJar();
  await loginEnd(jar, await toCallback(jar));
  assert.equal((await (await jar.fetch(`${ORIGIN}/auth/session`)).json()).isLoggedIn, true);

  const variants = {
    flipped: (v) => v.slice(0, -5) + (v.at(-5) === "A" ? "B" : "A") + v.slice(-4),
    truncated: (v) => v.slice(0, 40),
    "other key id": (v) => v.replace(/^3\.t1\./, "3.zz."),
    garbage: () => "%%%not-a-cookie",
  };
  for (const [what, change] of Object.entries(variants)) {
    const tampered = new CookieJar();
    for (const name of SESSION_COOKIES) tampered.set(ORIGIN, name, jar.get(ORIGIN, name).value);
    tampered.set(ORIGIN, "__Host-edgeward-id", change(jar.get(ORIGIN, "__Host-edgeward-id").value));
    const res = await tampered.fetch(`${ORIGIN}/auth/session`);
    assert.equal(res.status, 200, what);
    assert.deepEqual(await res.json(), { isLoggedIn: false }, what);
  }
  // A value moved from one cookie to another does not open either.
  const moved = new CookieJar();
  for (const name of SESSION_COOKIES) moved.set(ORIGIN, name, jar.get(ORIGIN, name).value);
  moved.set(ORIGIN, "__Host-edgeward-id", jar.get(ORIGIN, "__Host-edgeward-at").value);
  assert.deepEqual(await (await moved.fetch(`${ORIGIN}/auth/session`)).json(), { isLoggedIn: false });
});

test("an IdP that never answers is a 502 after the outgoing timeout, not a hung request", async () => {
  // A server that accepts connections and never answers.
  const silent = createServer(() => {});
  await new Promise((r) => silent.listen(0, "127.0.0.1", r));
  const port = WORKER_PORT + 3;
  const slow = await startWorker({ port, vars: { OIDC_ISSUER: `http://127.0.0.1:${silent.address().port}` } });
  try {
    const origin = `http://localhost:${port}`;
    const started = Date.now();
    const res = await fetch(`${origin}/auth/login/start`, {
      method: "POST",
      headers: { origin, ...json },
      body: "{}",
      signal: AbortSignal.timeout(30_000),
    });
    const elapsed = Date.now() - started;
    const body = await res.json();
    assert.equal(res.status, 502);
    assert.equal(body.code, "idp_unavailable");
    // The browser reads a fixed message; the cause (and the IdP's address) only reach the log.
    assert.equal(body.message, "the identity provider is unavailable");
    assert.ok(elapsed >= 9_000 && elapsed < 25_000, `answered after ${elapsed} ms`);
    await new Promise((r) => setTimeout(r, 500));
    assert.match(slow.output(), /idp_unavailable: .*no answer within 10 s/);
  } finally {
    await slow.stop();
    silent.closeAllConnections?.();
    silent.close();
  }
});
