// The independent OpenID providers of tests/integration/independent-idps.test.mjs, started with
// a fresh state per run and stopped with their process group (like stack.mjs's IdP):
// django-oauth-toolkit (PyPI, in target/idps/venv) and Glewlwyd (Debian package), both installed
// by scripts/setup.sh. Each knows how a browser signs in there (`login`), without a browser.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT, artifactDir, assertPortFree, launch } from "./stack.mjs";
import { provisionGlewlwyd } from "../idps/glewlwyd/provision.mjs";
import { CookieJar } from "./jar.mjs";

export const DOT_PORT = Number(process.env.TEST_DOT_PORT || 9520);
export const GLEWLWYD_PORT = Number(process.env.TEST_GLEWLWYD_PORT || 9510);
export const IDPS_CLIENT_SECRET = "independent-idp-secret";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls the discovery document until it answers 200, or the launched process dies. */
async function waitForDiscovery(server, issuer, what, timeoutMs = 60_000) {
  const url = `${issuer}/.well-known/openid-configuration`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.child.exitCode !== null) throw new Error(`${what} exited: ${server.output().slice(-2000)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return res.json();
    } catch {}
    if (Date.now() > deadline) throw new Error(`${what} did not come up at ${url} in ${timeoutMs} ms`);
    await sleep(200);
  }
}

function freshState(name) {
  const dir = join(artifactDir(), "idps", name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Starts django-oauth-toolkit with the worker at `origin` (and `extraOrigins`) registered
 * (callback, post-logout URI). `idTokenClaims: "sub"` keeps the profile claims out of its ID
 * tokens (they are then only at userinfo). Returns `{ name, issuer, discovery, login, stop }`.
 */
export async function startDot({ origin, extraOrigins = [], port = DOT_PORT, clientId = "edgeward", idTokenClaims = "all" } = {}) {
  await assertPortFree(port, "django-oauth-toolkit");
  const issuer = `http://localhost:${port}/o`;
  const server = launch("idp-dot", "bash", [join(ROOT, "tests/idps/dot/serve.sh")], {
    DOT_PORT: String(port),
    DOT_STATE: freshState("dot"),
    DOT_CLIENT_ID: clientId,
    DOT_CLIENT_SECRET: IDPS_CLIENT_SECRET,
    DOT_REDIRECT_URIS: [origin, ...extraOrigins].map((o) => `${o}/callback`).join(" "),
    DOT_POST_LOGOUT_URIS: [origin, ...extraOrigins].map((o) => `${o}/`).join(" "),
    DOT_ID_TOKEN_CLAIMS: idTokenClaims,
  });
  try {
    const discovery = await waitForDiscovery(server, issuer, "django-oauth-toolkit");
    return { name: "django-oauth-toolkit", issuer, discovery, login: loginAtDot, stop: () => server.stop() };
  } catch (e) {
    await server.stop();
    throw e;
  }
}

/**
 * Starts Glewlwyd and provisions it for the worker at `origin` (callback, post-logout URI and
 * back-channel logout at the worker; `extraOrigins` get callbacks too). Returns `{ name, issuer, base, discovery, login, stop }`.
 */
export async function startGlewlwyd({ origin, extraOrigins = [], port = GLEWLWYD_PORT, clientId = "edgeward" } = {}) {
  await assertPortFree(port, "Glewlwyd");
  const base = `http://localhost:${port}`;
  const issuer = `${base}/api/oidc`;
  const state = freshState("glewlwyd");
  const server = launch("idp-glewlwyd", "bash", [join(ROOT, "tests/idps/glewlwyd/serve.sh")], {
    GW_PORT: String(port),
    GW_STATE: state,
  });
  try {
    // The admin API answers before the OIDC plugin exists.
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (server.child.exitCode !== null) throw new Error(`Glewlwyd exited: ${server.output().slice(-2000)}`);
      const up = await fetch(`${base}/config`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (Date.now() > deadline) throw new Error(`Glewlwyd did not come up at ${base}`);
      await sleep(100);
    }
    await provisionGlewlwyd({
      base,
      state,
      clientId,
      clientSecret: IDPS_CLIENT_SECRET,
      redirectUris: [origin, ...extraOrigins].map((o) => `${o}/callback`),
      postLogoutUris: [origin, ...extraOrigins].map((o) => `${o}/`),
      backchannelUri: `${origin}/auth/backchannel-logout`,
    });
    const discovery = await waitForDiscovery(server, issuer, "Glewlwyd");
    const login = (jar, url, options) => loginAtGlewlwyd(jar, url, { ...options, base, clientId });
    return { name: "Glewlwyd", issuer, base, discovery, login, stop: () => server.stop() };
  } catch (e) {
    await server.stop();
    throw e;
  }
}

/**
 * The browser's part of a login at django-oauth-toolkit: the authorization endpoint sends it to
 * Django's login form, which posts back with the CSRF token of the page (and its cookie), then
 * redirects to the authorization endpoint again and on to the app. Returns the callback URL.
 */
export async function loginAtDot(jar, authorizationUrl, { username = "demo", password = "demo", callbackPrefix }) {
  let url = authorizationUrl;
  for (let hop = 0; hop < 10; hop++) {
    if (url.startsWith(callbackPrefix)) return url;
    const res = await jar.fetch(url);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get("location"), url).href;
      continue;
    }
    const html = await res.text();
    const csrf = html.match(/name="csrfmiddlewaretoken" value="([^"]+)"/)?.[1];
    const next = html.match(/name="next" value="([^"]*)"/)?.[1];
    if (res.status !== 200 || !csrf || next === undefined) {
      throw new Error(`unexpected django-oauth-toolkit answer at ${url}: ${res.status} ${html.slice(0, 300)}`);
    }
    const post = await jar.fetch(url, {
      method: "POST",
      // Django checks the Referer of a form post only over https; Origin must match if present.
      headers: { "content-type": "application/x-www-form-urlencoded", referer: url },
      body: new URLSearchParams({ csrfmiddlewaretoken: csrf, username, password, next: unescapeHtml(next) }).toString(),
    });
    if (post.status === 200) throw new Error("django-oauth-toolkit refused the credentials");
    if (post.status !== 302) throw new Error(`django-oauth-toolkit's login answered ${post.status}`);
    url = new URL(post.headers.get("location"), url).href;
  }
  throw new Error("too many redirects at django-oauth-toolkit");
}

const unescapeHtml = (s) =>
  s.replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#x27;|&#39;/g, "'");

/**
 * The browser's part of a login at Glewlwyd. Its login page is a JavaScript app; this does what
 * the app does, over the same REST API: the authorization endpoint always answers with a
 * redirect to `login.html?callback_url=<the authorization URL>`; the app posts the credentials
 * to `/api/auth/` (a session cookie), records the user's consent for the client's scopes with
 * `PUT /api/auth/grant/<client>`, and sends the browser back to `callback_url` with the flag
 * `g_continue`, which makes the endpoint issue the code. Returns the callback URL.
 */
export async function loginAtGlewlwyd(jar, authorizationUrl, { username = "demo", password = "demo", callbackPrefix, base, clientId }) {
  const first = await jar.fetch(authorizationUrl);
  const loginPage = new URL(first.headers.get("location") ?? "", authorizationUrl);
  const back = loginPage.searchParams.get("callback_url");
  if (first.status !== 302 || !back) throw new Error(`unexpected Glewlwyd answer: ${first.status} ${loginPage}`);
  const auth = await jar.fetch(`${base}/api/auth/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (auth.status === 401) throw new Error("Glewlwyd refused the credentials");
  if (auth.status !== 200) throw new Error(`Glewlwyd's /api/auth/ answered ${auth.status}`);
  const scope = new URL(authorizationUrl).searchParams.get("scope");
  const grant = await jar.fetch(`${base}/api/auth/grant/${encodeURIComponent(clientId)}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ scope }),
  });
  if (grant.status !== 200) throw new Error(`Glewlwyd's consent answered ${grant.status}`);
  const code = await jar.fetch(`${back}&g_continue`);
  const location = code.headers.get("location") ?? "";
  if (code.status !== 302 || !location.startsWith(callbackPrefix)) {
    throw new Error(`Glewlwyd did not send the browser back: ${code.status} ${location.slice(0, 200)}`);
  }
  return location;
}

/**
 * A sign-in at `provider` through the worker at `origin`, as session.mjs's `signIn` does for the
 * local IdP. Returns `{ jar, csrf, callback, loginCookie, authorizationUrl }`: the callback URL
 * and a copy of the login cookie let a test replay the authorization response.
 */
export async function signInAt(provider, origin) {
  const jar = new CookieJar();
  const headers = { origin, "content-type": "application/json" };
  const start = await jar.fetch(`${origin}/auth/login/start`, { method: "POST", headers, body: "{}" });
  if (start.status !== 200) throw new Error(`login/start answered ${start.status}: ${await start.text()}`);
  const { authorizationUrl } = await start.json();
  const loginCookie = jar.get(origin, "__Host-edgeward-login").value;
  const callback = await provider.login(jar, authorizationUrl, { callbackPrefix: `${origin}/callback` });
  const end = await jar.fetch(`${origin}/auth/login/end`, { method: "POST", headers, body: JSON.stringify({ pageUrl: callback }) });
  const body = await end.json();
  if (end.status !== 200) throw new Error(`login/end answered ${end.status}: ${JSON.stringify(body)}`);
  return { jar, csrf: body.csrf, callback, loginCookie, authorizationUrl };
}
