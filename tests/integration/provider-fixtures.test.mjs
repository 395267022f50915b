// The hosted providers that cannot run here (Auth0, Entra ID, Okta's two kinds of authorization
// server, Google, Keycloak, Curity), as their documentation describes them: the fixture of
// tests/idps/fixtures/ serves each one's discovery, JWKS, endpoints and token shapes with keys
// made at start. For each, the worker (one workerd process per provider, the built bundle) signs
// a user in, reads the session, refreshes by that provider's rules, logs out (revoking where the
// provider can), and meets one hostile case; the proxy runs where the provider's tokens can
// reach an API. Then all of them on one worker (EDGEWARD_PROVIDERS), with a mix-up between two.
// README "Providers" lists, per provider, what this proves and the settings.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { startWorker, startExampleApi, ROOT, WORKER_PORT, API_PORT } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";
import { openCookie } from "../support/session.mjs";
import { startFixtureProviders, loginAtFixture } from "../idps/fixtures/server.mjs";
import { USERS } from "../idps/fixtures/shapes.mjs";

const FIXTURE_PORT = Number(process.env.TEST_FIXTURE_IDP_PORT || 9600);
const ORIGIN = `http://localhost:${WORKER_PORT}`;
const API = `http://localhost:${API_PORT}`;
const SECRET = "fixture-client-secret";
const API_AUDIENCE = "https://api.example";
const OFFLINE = "openid profile email offline_access";

const post = (jar, path, csrf, body) =>
  jar.fetch(`${ORIGIN}${path}`, {
    method: "POST",
    headers: { origin: ORIGIN, "content-type": "application/json", ...(csrf ? { "x-edgeward-csrf": csrf } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
const session = async (jar) => (await jar.fetch(`${ORIGIN}/auth/session`)).json();
const refreshTokenOf = (jar) => openCookie("__Host-edgeward-rt", jar.get(ORIGIN, "__Host-edgeward-rt").value).token;
const SESSION_COOKIES = ["__Host-edgeward-at", "__Host-edgeward-rt", "__Host-edgeward-id"];
function copyOf(jar) {
  const copy = new CookieJar();
  for (const n of SESSION_COOKIES) {
    const c = jar.get(ORIGIN, n);
    if (c) copy.set(ORIGIN, n, c.value);
  }
  return copy;
}

let fixture;
let bundle;

/** A login through the worker at the fixture: login/start (with `params`), the redirect, login/end. */
async function signIn(params = {}) {
  const jar = new CookieJar();
  const body = {
    ...(params.extraParams ? { extraParams: params.extraParams } : {}),
    ...(params.provider ? { provider: params.provider } : {}),
  };
  const start = await post(jar, "/auth/login/start", null, body);
  const startBody = await start.json();
  assert.equal(start.status, 200, JSON.stringify(startBody));
  const callback = await loginAtFixture(jar, startBody.authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` });
  const end = await post(jar, "/auth/login/end", null, { pageUrl: callback });
  const endBody = await end.json();
  return { jar, csrf: endBody.csrf, status: end.status, body: endBody, callback, authorizationUrl: startBody.authorizationUrl };
}

/**
 * One provider: `vars` for the worker (the issuer and client are filled in), `extraParams` for
 * every login, `expect` what differs. `api`: start the example API trusting the worker (`"worker"`)
 * or the provider's keys (`{ audience }`).
 */
function providerCase(shape, { label = shape, tenant, vars = {}, extraParams, api, expect }) {
  describe(label, () => {
    const parts = {};
    before(async () => {
      const issuer = fixture.base(shape, tenant);
      parts.worker = await startWorker({
        runtime: "workerd",
        bundle,
        vars: {
          OIDC_ISSUER: issuer,
          OIDC_CLIENT_SECRET: SECRET,
          EDGEWARD_REFRESH_GRACE: "0",
          EDGEWARD_API_ROUTES: JSON.stringify([
            { prefix: "/api/whoami/", upstream: `${API}/whoami/`, methods: ["GET"], ...(expect.routeExtras ?? {}) },
          ]),
          ...vars,
        },
      });
      if (api === "worker") parts.api = await startExampleApi();
      else if (api) {
        parts.api = await startExampleApi({
          trust: { issuer: api.issuer ?? issuer, jwksUrl: fixture.endpointUrl(shape, "jwks", tenant), audience: api.audience },
        });
      }
    });
    after(async () => {
      await parts.api?.stop();
      await parts.worker?.stop();
    });

    test("login: the provider's claims in the session", async () => {
      const { jar, status, body, callback } = await signIn({ extraParams });
      assert.equal(status, 200, JSON.stringify(body));
      const s = await session(jar);
      assert.equal(s.isLoggedIn, true);
      assert.match(s.claims.sub, expect.sub);
      for (const [claim, value] of Object.entries(expect.claims)) assert.equal(s.claims[claim], value, claim);
      if (expect.issParam) assert.equal(new URL(callback).searchParams.get("iss"), fixture.issuer(shape, tenant));
    });

    test(`refresh: ${expect.rotates ? "a new refresh token each time" : "the same refresh token kept (the provider does not rotate)"}`, async () => {
      const { jar, csrf } = await signIn({ extraParams });
      const first = refreshTokenOf(jar);
      const res = await post(jar, "/auth/refresh", csrf);
      assert.equal(res.status, 204, await res.text());
      if (expect.rotates) assert.notEqual(refreshTokenOf(jar), first);
      else assert.equal(refreshTokenOf(jar), first);
      assert.equal((await post(jar, "/auth/refresh", csrf)).status, 204, "and again");
      assert.equal((await session(jar)).isLoggedIn, true);
    });

    test(`logout: ${expect.revocation ? "the refresh token revoked at the provider" : "nothing to revoke at (no revocation endpoint)"}, ${expect.endSession ? "its end-session URL" : "no end-session URL"}`, async () => {
      const { jar, csrf } = await signIn({ extraParams });
      const refresh = refreshTokenOf(jar);
      const before = fixture.calls.length;
      const res = await post(jar, "/auth/logout", csrf);
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      const revocations = fixture.calls.slice(before).filter((c) => c.shape === shape && c.endpoint === "revocation");
      if (expect.revocation) {
        assert.deepEqual(revocations.map((c) => c.form.token), [refresh]);
        assert.equal(fixture.refreshTokens.get(refresh).state, "revoked");
      } else {
        assert.equal(revocations.length, 0);
      }
      if (expect.endSession) {
        const url = new URL(body.logoutUrl);
        assert.equal(`${url.origin}${url.pathname}`, fixture.endpointUrl(shape, "end_session", tenant ?? "common"));
        assert.equal(url.searchParams.get("post_logout_redirect_uri"), `${ORIGIN}/`);
        assert.ok(url.searchParams.get("id_token_hint"));
      } else {
        assert.equal(body.logoutUrl ?? null, null, "no end-session endpoint: the SPA stays on its own page");
      }
      assert.equal((await session(jar)).isLoggedIn, false);
    });

    if (expect.reuse) {
      test(`hostile: a rotated refresh token presented again (the provider answers ${expect.reuse}) ends the session`, async () => {
        const { jar, csrf } = await signIn({ extraParams });
        const stolen = copyOf(jar);
        assert.equal((await post(jar, "/auth/refresh", csrf)).status, 204);
        const replay = await post(stolen, "/auth/refresh", csrf);
        const body = await replay.json();
        assert.equal(replay.status, 401, JSON.stringify(body));
        assert.equal(body.code, "session_expired");
        const current = await post(jar, "/auth/refresh", csrf);
        assert.equal(current.status, 401, "the provider ended the whole family");
      });
    }

    if (api) {
      test(`the proxy: ${expect.proxy}`, async () => {
        const { jar } = await signIn({ extraParams });
        const res = await jar.fetch(`${ORIGIN}/api/whoami/`);
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.equal(body.sub, (await session(jar)).claims.sub);
        if (api === "worker") assert.equal(body.issuer, ORIGIN, "a token the worker minted");
      });
    }

    for (const hostile of expect.hostile ?? []) test(`hostile: ${hostile.name}`, () => hostile.run({ signIn, extraParams, tenant }));
  });
}

before(async () => {
  const build = spawnSync("bash", ["scripts/build-worker.sh"], { cwd: ROOT, stdio: "inherit" });
  if (build.status !== 0) throw new Error(`scripts/build-worker.sh failed (${build.status ?? build.signal})`);
  bundle = join(ROOT, "build", "worker");
  fixture = await startFixtureProviders({
    port: FIXTURE_PORT,
    clients: [{ clientId: "edgeward", secret: SECRET, redirectUris: [`${ORIGIN}/callback`], postLogoutUris: [`${ORIGIN}/`] }],
  });
});
after(async () => {
  await fixture?.stop();
});

providerCase("auth0", {
  vars: {
    OIDC_SCOPES: OFFLINE,
    OIDC_AUTH_PARAMS: `audience=${encodeURIComponent(API_AUDIENCE)}`,
    EDGEWARD_PHANTOM_MODE: "passthrough",
  },
  api: { audience: API_AUDIENCE },
  expect: {
    sub: /^auth0\|00u1alice$/,
    claims: { name: "Alice Liddell", email: USERS.alice.email },
    rotates: true,
    revocation: true,
    endSession: true,
    reuse: "403 invalid_grant",
    proxy: "the JWT access token Auth0 issues for the `audience` goes to the API as it is (passthrough)",
  },
});

providerCase("entra", {
  tenant: USERS.alice.tenant,
  vars: { OIDC_SCOPES: OFFLINE },
  expect: {
    sub: /^pairwise-/,
    claims: { name: "Alice Liddell", preferred_username: USERS.alice.email },
    rotates: true,
    revocation: false,
    endSession: true,
    hostile: [
      {
        name: "a user of another tenant is refused by a single-tenant configuration (the provider says access_denied: 400 login_failed, no session)",
        async run({ tenant }) {
          const jar = new CookieJar();
          const start = await post(jar, "/auth/login/start", null, { extraParams: { login_hint: "mallory" } });
          const { authorizationUrl } = await start.json();
          const callback = await loginAtFixture(jar, authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` });
          assert.equal(new URL(callback).searchParams.get("error"), "access_denied");
          const end = await post(jar, "/auth/login/end", null, { pageUrl: callback });
          assert.equal(end.status, 400);
          assert.equal((await end.json()).code, "login_failed");
          assert.equal((await session(jar)).isLoggedIn, false);
          assert.ok(tenant);
        },
      },
    ],
  },
});

providerCase("entra", {
  label: "entra (multi-tenant: the organizations endpoint, one tenant allowed)",
  tenant: "organizations",
  vars: { OIDC_SCOPES: OFFLINE, OIDC_TENANTS: USERS.alice.tenant },
  expect: {
    sub: /^pairwise-/,
    claims: { name: "Alice Liddell" },
    rotates: true,
    revocation: false,
    endSession: true,
    hostile: [
      {
        name: "a user of a tenant not on OIDC_TENANTS signs in at the provider, and the worker refuses the ID token (400 login_failed, no session)",
        async run() {
          const { jar, status, body, callback } = await signIn({ extraParams: { login_hint: "mallory" } });
          assert.ok(new URL(callback).searchParams.get("code"), "the provider let mallory in");
          assert.equal(status, 400, JSON.stringify(body));
          assert.equal(body.code, "login_failed");
          assert.equal((await session(jar)).isLoggedIn, false);
        },
      },
    ],
  },
});

providerCase("okta-org", {
  vars: { OIDC_SCOPES: OFFLINE },
  api: "worker",
  expect: {
    sub: /^00u1alice$/,
    claims: { name: "Alice Liddell", email: USERS.alice.email },
    rotates: true,
    revocation: true,
    endSession: true,
    reuse: "400 invalid_grant",
    proxy: "the org server's opaque token introspected, a worker token minted",
  },
});

providerCase("okta-custom", {
  vars: { OIDC_SCOPES: OFFLINE },
  api: "worker",
  expect: {
    sub: /^00u1alice$/,
    claims: { name: "Alice Liddell" },
    rotates: true,
    revocation: true,
    endSession: true,
    reuse: "400 invalid_grant",
    routeExtras: { acceptAudiences: ["api://default"] },
    proxy: "the custom server's JWT (aud api://default) introspected, a worker token minted",
  },
});

providerCase("google", {
  vars: { OIDC_AUTH_PARAMS: "access_type=offline&prompt=consent", OIDC_ALLOWED_PARAMS: "login_hint" },
  expect: {
    sub: /^1\d+$/,
    claims: { name: "Alice Liddell", email: USERS.alice.email },
    rotates: false,
    revocation: true,
    endSession: false,
  },
});

providerCase("keycloak", {
  vars: {},
  api: "worker",
  expect: {
    sub: /^f1e2d3c4-/,
    claims: { name: "Alice Liddell", preferred_username: "alice" },
    issParam: true,
    rotates: true,
    revocation: true,
    endSession: true,
    reuse: "400 invalid_grant (\"Stale token\")",
    routeExtras: { acceptAudiences: ["account"] },
    proxy: "its JWT access token (aud account) introspected, a worker token minted",
  },
});

providerCase("curity", {
  vars: { EDGEWARD_PHANTOM_MODE: "introspect-jwt" },
  api: { audience: "edgeward" },
  expect: {
    sub: /^alice$/,
    // Its ID token carries `sub` only; the profile comes from its userinfo.
    claims: { name: "Alice Liddell", email: USERS.alice.email },
    issParam: true,
    rotates: true,
    revocation: true,
    endSession: true,
    reuse: "400 invalid_grant",
    proxy: "the phantom token: introspection answers the JWT itself (Accept: application/jwt), forwarded to the API",
  },
});

// Every hosted provider's shape on ONE worker (EDGEWARD_PROVIDERS), each with its own settings
// and secret: a user signs in with each, each session names its provider, and a response of one
// provider posted into a login started for another is refused (mix-up, RFC 9700 §4.4).
describe("all seven on one worker", () => {
  const parts = {};
  const PROVIDERS = [
    { id: "auth0", shape: "auth0", settings: { scopes: OFFLINE, authParams: `audience=${encodeURIComponent(API_AUDIENCE)}` } },
    { id: "entra", shape: "entra", tenant: "organizations", settings: { scopes: OFFLINE, tenants: [USERS.alice.tenant] } },
    { id: "okta-org", shape: "okta-org", settings: { scopes: OFFLINE } },
    { id: "okta-custom", shape: "okta-custom", settings: { scopes: OFFLINE } },
    { id: "google", shape: "google", settings: { authParams: "access_type=offline&prompt=consent", allowedParams: ["login_hint"] } },
    { id: "keycloak", shape: "keycloak", settings: {} },
    { id: "curity", shape: "curity", settings: {} },
  ];
  before(async () => {
    const secrets = Object.fromEntries(PROVIDERS.map((p) => [`OIDC_CLIENT_SECRET_${p.id.toUpperCase().replace(/-/g, "_")}`, SECRET]));
    parts.worker = await startWorker({
      runtime: "workerd",
      bundle,
      vars: {
        OIDC_ISSUER: "",
        OIDC_CLIENT_ID: "",
        OIDC_CLIENT_SECRET: "",
        EDGEWARD_PROVIDERS: JSON.stringify(
          PROVIDERS.map((p) => ({ id: p.id, name: p.shape, issuer: fixture.base(p.shape, p.tenant), clientId: "edgeward", ...p.settings })),
        ),
        ...secrets,
      },
    });
  });
  after(async () => {
    await parts.worker?.stop();
  });

  test("a user signs in with each provider on the same worker; each session names its provider", async () => {
    const listed = await (await fetch(`${ORIGIN}/auth/providers`)).json();
    assert.deepEqual(listed.providers.map((p) => p.id), PROVIDERS.map((p) => p.id));
    for (const p of PROVIDERS) {
      const { jar, status, body } = await signIn({ provider: p.id });
      assert.equal(status, 200, `${p.id}: ${JSON.stringify(body)}`);
      const s = await session(jar);
      assert.equal(s.isLoggedIn, true, p.id);
      assert.equal(s.provider, p.id);
      // Curity's ID token has only `sub`: its name comes from userinfo.
      assert.equal(s.claims.name, "Alice Liddell", p.id);
    }
  });

  test("hostile: Keycloak's authorization response posted into a login started for Curity is refused", async () => {
    const jar = new CookieJar();
    // The victim's browser starts a login at curity ...
    const start = await post(jar, "/auth/login/start", null, { provider: "curity" });
    const { authorizationUrl } = await start.json();
    const curityState = new URL(authorizationUrl).searchParams.get("state");
    // ... and the attacker's keycloak response, with that state, arrives at the callback.
    const other = new CookieJar();
    const kc = await post(other, "/auth/login/start", null, { provider: "keycloak" });
    const kcCallback = new URL(await loginAtFixture(other, (await kc.json()).authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` }));
    kcCallback.searchParams.set("state", curityState);
    const before = fixture.calls.filter((c) => c.endpoint === "token").length;
    const end = await post(jar, "/auth/login/end", null, { pageUrl: kcCallback.href });
    const body = await end.json();
    assert.equal(end.status, 400, JSON.stringify(body));
    assert.equal(body.code, "login_failed");
    assert.equal(fixture.calls.filter((c) => c.endpoint === "token").length, before, "no code went to any token endpoint");
    assert.equal((await session(jar)).isLoggedIn, false);
  });
});
