// The agent and the proxy against two OpenID providers nobody here wrote, installed from the
// registries by scripts/setup.sh and started with a fresh state by this suite:
// django-oauth-toolkit (PyPI) and Glewlwyd (Debian). For each: a login (code + PKCE S256, RFC
// 9207 `iss`), the session's claims, an API call through the proxy (introspected and minted),
// refresh with rotation, logout with revocation, and hostile cases (a wrong `iss`, a replayed
// code, a reused rotated refresh token). Where a provider lacks a feature, the test shows what
// edgeward does instead. See README "Providers" for what each quirk is and what edgeward does.
//
// One provider, one worker and one example API at a time (the API trusts one worker); the
// provider is shared by the provider's tests. The refresh grace is off, so a reused refresh
// token reaches the provider.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startExampleApi, ORIGIN, API, API_PORT, WORKER_PORT } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";
import { openCookie } from "../support/session.mjs";
import { startDot, startGlewlwyd, signInAt, IDPS_CLIENT_SECRET } from "../support/idps.mjs";

const SESSION_COOKIES = ["__Host-edgeward-at", "__Host-edgeward-rt", "__Host-edgeward-id"];
const JSON_HEADERS = { origin: ORIGIN, "content-type": "application/json" };
const BASIC = `Basic ${Buffer.from(`edgeward:${IDPS_CLIENT_SECRET}`).toString("base64")}`;

const post = (jar, path, csrf) =>
  jar.fetch(`${ORIGIN}${path}`, { method: "POST", headers: { origin: ORIGIN, ...(csrf ? { "x-edgeward-csrf": csrf } : {}) } });
const snapshot = (jar) => Object.fromEntries(SESSION_COOKIES.map((n) => [n, jar.get(ORIGIN, n)?.value]));
function jarOf(values) {
  const jar = new CookieJar();
  for (const [name, value] of Object.entries(values)) if (value) jar.set(ORIGIN, name, value);
  return jar;
}
const session = async (jar) => (await jar.fetch(`${ORIGIN}/auth/session`)).json();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** The ID cookie's content (binding with the IdP's `sid` as `b.s`, the raw ID token). */
const idCookieOf = (jar) => openCookie("__Host-edgeward-id", jar.get(ORIGIN, "__Host-edgeward-id").value);
/** The refresh token sealed in a jar's cookie (what only the worker can read). */
const refreshTokenOf = (jar) => openCookie("__Host-edgeward-rt", jar.get(ORIGIN, "__Host-edgeward-rt").value).token;

/** A refresh-token grant straight at the provider, as the worker's client. */
async function refreshAtProvider(discovery, refreshToken) {
  const res = await fetch(discovery.token_endpoint, {
    method: "POST",
    headers: { authorization: BASIC, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }).toString(),
  });
  return { status: res.status, body: await res.text() };
}

/** The same suite for each provider; `expect` holds what differs between them. */
function providerSuite(name, start, { vars, routes, claims, expect }) {
  describe(name, () => {
    const parts = {};
    before(async () => {
      parts.idp = await start({ origin: ORIGIN });
      parts.worker = await startWorker({
        vars: {
          OIDC_ISSUER: parts.idp.issuer,
          OIDC_CLIENT_SECRET: IDPS_CLIENT_SECRET,
          EDGEWARD_REFRESH_GRACE: "0",
          EDGEWARD_API_ROUTES: JSON.stringify(routes),
          ...vars,
        },
      });
      parts.api = await startExampleApi();
    });
    after(async () => {
      for (const part of ["api", "worker", "idp"]) await parts[part]?.stop();
    });

    test("login: code flow with PKCE S256, the provider's iss on the callback, its claims in the session", async () => {
      const { jar, csrf, callback, authorizationUrl } = await signInAt(parts.idp, ORIGIN);
      const asked = new URL(authorizationUrl).searchParams;
      assert.equal(asked.get("code_challenge_method"), "S256");
      assert.equal(new URL(callback).searchParams.get("iss"), parts.idp.issuer, "RFC 9207 iss from the provider");
      assert.ok(csrf);
      const s = await session(jar);
      assert.equal(s.isLoggedIn, true);
      for (const [claim, value] of Object.entries(claims)) assert.equal(s.claims[claim], value, claim);
      assert.match(s.claims.sub, expect.sub);
    });

    test("an API call through the proxy: the provider's token introspected, a worker token minted for the API", async () => {
      const { jar } = await signInAt(parts.idp, ORIGIN);
      const res = await jar.fetch(`${ORIGIN}/api/whoami`);
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.sub, (await session(jar)).claims.sub, "the API sees the session's user");
      assert.equal(body.issuer, ORIGIN, "a token the worker minted");
      assert.equal(body.clientId, "edgeward");
      assert.ok(body.scopes.includes("openid"));
    });

    test("refresh rotates the refresh token; the provider then refuses the old one", async () => {
      const { jar, csrf } = await signInAt(parts.idp, ORIGIN);
      const before = snapshot(jar);
      const oldRefresh = refreshTokenOf(jar);
      const res = await post(jar, "/auth/refresh", csrf);
      assert.equal(res.status, 204, await res.text());
      const after = snapshot(jar);
      assert.notEqual(after["__Host-edgeward-at"], before["__Host-edgeward-at"], "new access token");
      assert.notEqual(refreshTokenOf(jar), oldRefresh, "rotated refresh token");
      assert.equal((await session(jar)).isLoggedIn, true);
      assert.equal((await jar.fetch(`${ORIGIN}/api/whoami`)).status, 200, "the new access token works through the proxy");
      // The new refresh token is good for the next refresh too.
      assert.equal((await post(jar, "/auth/refresh", csrf)).status, 204);
    });

    test("hostile: a rotated refresh token presented again ends that session and, at the provider, its family", async () => {
      const { jar, csrf } = await signInAt(parts.idp, ORIGIN);
      const stolen = snapshot(jar);
      assert.equal((await post(jar, "/auth/refresh", csrf)).status, 204);
      const replay = await post(jarOf(stolen), "/auth/refresh", csrf);
      const body = await replay.json();
      assert.equal(replay.status, 401, `${JSON.stringify(body)} (the provider answered the reuse ${expect.reuseAnswer})`);
      assert.equal(body.code, "session_expired");
      // The provider revoked the chain, so the current session's refresh is refused as well.
      const current = await post(jar, "/auth/refresh", csrf);
      assert.equal(current.status, 401);
      assert.equal((await current.json()).code, "session_expired");
      for (const n of SESSION_COOKIES) assert.equal(jar.get(ORIGIN, n), undefined, `${n} cleared`);
    });

    test("logout revokes the refresh token at the provider and points at its end-session endpoint", async () => {
      const { jar, csrf } = await signInAt(parts.idp, ORIGIN);
      const refresh = refreshTokenOf(jar);
      const res = await post(jar, "/auth/logout", csrf);
      assert.equal(res.status, 200);
      const url = new URL((await res.json()).logoutUrl);
      assert.equal(`${url.origin}${url.pathname}`, parts.idp.discovery.end_session_endpoint);
      assert.ok(url.searchParams.get("id_token_hint"));
      assert.equal(url.searchParams.get("post_logout_redirect_uri"), `${ORIGIN}/`);
      assert.equal((await session(jar)).isLoggedIn, false);
      const after = await refreshAtProvider(parts.idp.discovery, refresh);
      assert.equal(after.status, expect.revokedRefreshStatus, `the revoked refresh token at the provider: ${after.body}`);
    });

    test("hostile: a callback whose iss names another issuer is refused, and no code is exchanged", async () => {
      const jar = new CookieJar();
      const start = await jar.fetch(`${ORIGIN}/auth/login/start`, { method: "POST", headers: JSON_HEADERS, body: "{}" });
      const { authorizationUrl } = await start.json();
      const callback = new URL(await parts.idp.login(jar, authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` }));
      const code = callback.searchParams.get("code");
      callback.searchParams.set("iss", "https://evil.example");
      const end = await jar.fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ pageUrl: callback.href }) });
      assert.equal(end.status, 400);
      assert.equal((await end.json()).code, "login_failed");
      assert.equal((await session(jar)).isLoggedIn, false);
      // The code was never sent to the provider: it is still good there (PKCE aside, it is
      // refused only for the missing verifier, not as used).
      const exchange = await fetch(parts.idp.discovery.token_endpoint, {
        method: "POST",
        headers: { authorization: BASIC, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: `${ORIGIN}/callback`, code_verifier: "x".repeat(43) }).toString(),
      });
      assert.notEqual(exchange.status, 200);
    });

    test("a callback without iss: refused when the provider's discovery promises it (RFC 9207), else accepted", async () => {
      const jar = new CookieJar();
      const start = await jar.fetch(`${ORIGIN}/auth/login/start`, { method: "POST", headers: JSON_HEADERS, body: "{}" });
      const { authorizationUrl } = await start.json();
      const callback = new URL(await parts.idp.login(jar, authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` }));
      assert.ok(callback.searchParams.get("iss"), "the provider sent iss");
      callback.searchParams.delete("iss");
      const end = await jar.fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ pageUrl: callback.href }) });
      const body = await end.json();
      assert.equal(
        Boolean(parts.idp.discovery.authorization_response_iss_parameter_supported),
        expect.promisesIss,
        "what discovery says",
      );
      if (expect.promisesIss) {
        assert.equal(end.status, 400, JSON.stringify(body));
        assert.equal(body.code, "login_failed");
        assert.equal((await session(jar)).isLoggedIn, false);
      } else {
        assert.equal(end.status, 200, JSON.stringify(body));
        assert.equal((await session(jar)).isLoggedIn, true);
      }
    });

    test("hostile: an authorization response replayed with a copy of its login cookie is refused", async () => {
      const first = await signInAt(parts.idp, ORIGIN);
      const attacker = new CookieJar();
      attacker.set(ORIGIN, "__Host-edgeward-login", first.loginCookie);
      const replay = await attacker.fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ pageUrl: first.callback }) });
      const body = await replay.json();
      assert.equal(replay.status, expect.replay.status, JSON.stringify(body));
      assert.equal(body.code, expect.replay.code);
      assert.equal((await session(attacker)).isLoggedIn, false);
      // What the provider does to the first exchange's tokens.
      const api = await first.jar.fetch(`${ORIGIN}/api/whoami`);
      assert.equal(api.status, expect.replay.firstSessionApi, "the first session's API call after the replay");
    });

    expect.extra?.(parts);
  });
}

// A second worker on the next port, for a phantom mode the first does not run.
const ORIGIN2 = `http://localhost:${WORKER_PORT + 1}`;
const API2 = `http://localhost:${API_PORT + 1}`;
const GLEWLWYD_SCOPES = "openid profile email offline_access";

providerSuite("django-oauth-toolkit", (o) => startDot({ ...o, extraOrigins: [ORIGIN2] }), {
  vars: {
    // DOT's introspection answer names no token_type (its refresh tokens introspect inactive).
    EDGEWARD_TOKEN_TYPES: "Bearer,none",
  },
  routes: [{ prefix: "/api/whoami/", upstream: `${API}/whoami/`, methods: ["GET"] }],
  claims: { name: "Demo User", email: "demo@example.com", preferred_username: "demo" },
  expect: {
    sub: /^[0-9]+$/, // the Django user's primary key
    promisesIss: true,
    reuseAnswer: "400 invalid_grant",
    revokedRefreshStatus: 400,
    // DOT answers the second use of a code with invalid_grant and leaves the first exchange's
    // tokens alone.
    replay: { status: 400, code: "login_failed", firstSessionApi: 200 },
    extra(parts) {
      test("no back-channel logout: a sign-out at the provider ends the worker's session at its next refresh", async () => {
        const { jar, csrf } = await signInAt(parts.idp, ORIGIN);
        const id = idCookieOf(jar);
        assert.equal(id.b.s, undefined, "DOT's ID token has no sid");
        // The user signs out at DOT itself (RP-initiated logout without the worker): DOT deletes
        // the user's tokens for the client, and tells nobody.
        const end = new URL(parts.idp.discovery.end_session_endpoint);
        end.searchParams.set("id_token_hint", id.id_token);
        end.searchParams.set("client_id", "edgeward");
        end.searchParams.set("post_logout_redirect_uri", `${ORIGIN}/`);
        const out = await jar.fetch(end.href);
        assert.equal(out.status, 302, "DOT signed the user out");
        assert.equal(out.headers.get("location"), `${ORIGIN}/`);
        // The worker learns it from the provider at the next refresh (invalid_grant): the session
        // ends there, everywhere.
        const res = await post(jar, "/auth/refresh", csrf);
        assert.equal(res.status, 401);
        assert.equal((await res.json()).code, "session_expired");
        assert.equal((await session(jar)).isLoggedIn, false);
        // And the back-channel endpoint has nothing to take from DOT: a token it did not sign
        // is refused.
        const bcl = await fetch(`${ORIGIN}/auth/backchannel-logout`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ logout_token: id.id_token }).toString(),
        });
        assert.equal(bcl.status, 400, "an ID token is no logout token");
      });

      test("no JWT introspection: introspect-jwt is a clear 502 (use introspect-mint), nothing forwarded", async (t) => {
        const worker = await startWorker({
          port: WORKER_PORT + 1,
          vars: {
            OIDC_ISSUER: parts.idp.issuer,
            OIDC_CLIENT_SECRET: IDPS_CLIENT_SECRET,
            EDGEWARD_TOKEN_TYPES: "Bearer,none",
            EDGEWARD_PHANTOM_MODE: "introspect-jwt",
            EDGEWARD_API_ROUTES: JSON.stringify([{ prefix: "/api/whoami/", upstream: `${API2}/whoami/`, methods: ["GET"] }]),
          },
        });
        t.after(() => worker.stop());
        const { jar } = await signInAt(parts.idp, ORIGIN2);
        const res = await jar.fetch(`${ORIGIN2}/api/whoami`);
        assert.equal(res.status, 502);
        assert.deepEqual(await res.json(), { code: "idp_unavailable", message: "the identity provider is unavailable" });
        // The session itself is unharmed.
        assert.equal((await (await jar.fetch(`${ORIGIN2}/auth/session`)).json()).isLoggedIn, true);
      });
    },
  },
});

providerSuite("Glewlwyd", (o) => startGlewlwyd({ ...o, extraOrigins: [ORIGIN2] }), {
  vars: {
    // No refresh token without offline_access.
    OIDC_SCOPES: GLEWLWYD_SCOPES,
    // Its answer to a dead refresh token is a bare 400 (README "Providers").
    OIDC_QUIRKS: "bare-400-is-invalid-grant",
  },
  // Glewlwyd's access tokens name the scope string as their audience.
  routes: [
    {
      prefix: "/api/whoami/",
      upstream: `${API}/whoami/`,
      methods: ["GET"],
      acceptAudiences: [GLEWLWYD_SCOPES],
    },
  ],
  claims: { name: "Demo User", email: "demo@example.com", preferred_username: "demo" },
  expect: {
    sub: /^[A-Za-z0-9_-]{16,}$/, // a random public identifier
    // Glewlwyd sends iss on every response but does not say so in discovery.
    promisesIss: false,
    reuseAnswer: "400 with an empty body",
    revokedRefreshStatus: 400,
    // Glewlwyd answers a replayed code 403 invalid_code and revokes the tokens of the first
    // exchange.
    replay: { status: 400, code: "login_failed", firstSessionApi: 401 },
    extra(parts) {
      test("back-channel logout: a sign-out at Glewlwyd ends the worker's session (its logout token has no exp, typ JWT)", async () => {
        const { jar } = await signInAt(parts.idp, ORIGIN);
        const other = await signInAt(parts.idp, ORIGIN);
        const sid = idCookieOf(jar).b.s;
        assert.ok(sid, "Glewlwyd's ID token carries its session id");
        assert.equal((await jar.fetch(`${ORIGIN}/api/whoami`)).status, 200);
        // What Glewlwyd's sign-out page does once the user confirms: it ends the OIDC session,
        // and Glewlwyd posts a logout token to the client's back-channel URI (the worker).
        const end = await jar.fetch(`${parts.idp.base}/api/oidc/session/${encodeURIComponent(sid)}`, { method: "DELETE" });
        assert.equal(end.status, 200, "Glewlwyd ended its session");
        let api;
        for (let i = 0; i < 50; i++) {
          api = await jar.fetch(`${ORIGIN}/api/whoami`);
          if (api.status === 401) break;
          await sleep(100);
        }
        assert.equal(api.status, 401, "the worker's session ended");
        assert.equal((await api.json()).code, "session_expired");
        assert.equal((await session(jar)).isLoggedIn, false);
        // Another session (another Glewlwyd session) lives on.
        assert.equal((await session(other.jar)).isLoggedIn, true);
      });

      test("introspect-jwt: Glewlwyd's signed introspection answer goes to the API as it is; a revoked token is 401", async (t) => {
        const worker = await startWorker({
          port: WORKER_PORT + 1,
          vars: {
            OIDC_ISSUER: parts.idp.issuer,
            OIDC_CLIENT_SECRET: IDPS_CLIENT_SECRET,
            OIDC_SCOPES: GLEWLWYD_SCOPES,
            OIDC_QUIRKS: "bare-400-is-invalid-grant",
            EDGEWARD_PHANTOM_MODE: "introspect-jwt",
            EDGEWARD_API_ROUTES: JSON.stringify([
              { prefix: "/api/whoami/", upstream: `${API2}/whoami/`, methods: ["GET"], acceptAudiences: [GLEWLWYD_SCOPES] },
            ]),
          },
        });
        t.after(() => worker.stop());
        // The API trusts Glewlwyd's keys; the answer's audience is the scope string.
        const api = await startExampleApi({
          port: API_PORT + 1,
          trust: { issuer: parts.idp.issuer, jwksUrl: parts.idp.discovery.jwks_uri, audience: GLEWLWYD_SCOPES },
        });
        t.after(() => api.stop());
        const { jar } = await signInAt(parts.idp, ORIGIN2);
        const res = await jar.fetch(`${ORIGIN2}/api/whoami`);
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.equal(body.issuer, parts.idp.issuer, "Glewlwyd's JWT, not one the worker minted");
        assert.equal(body.sub, (await (await jar.fetch(`${ORIGIN2}/auth/session`)).json()).claims.sub);
        assert.match(body.request.headers.authorization, /^Bearer eyJ/);

        // A fresh session whose access token is revoked at Glewlwyd before its first call: the
        // worker must not forward it. (Glewlwyd answers the JWT introspection of a revoked token
        // with a bare 400.)
        const victim = await signInAt(parts.idp, ORIGIN2);
        const access = openCookie("__Host-edgeward-at", victim.jar.get(ORIGIN2, "__Host-edgeward-at").value, ORIGIN2).token;
        const revoke = await fetch(parts.idp.discovery.revocation_endpoint, {
          method: "POST",
          headers: { authorization: BASIC, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ token: access, token_type_hint: "access_token" }).toString(),
        });
        assert.equal(revoke.status, 200);
        const refused = await victim.jar.fetch(`${ORIGIN2}/api/whoami`);
        const answer = await refused.json();
        assert.equal(refused.status, 401, JSON.stringify(answer));
        assert.equal(answer.code, "unauthorized");
      });
    },
  },
});
